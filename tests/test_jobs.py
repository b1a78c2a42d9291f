"""runtime/jobs.py: MemoryJobStore and RedisJobStore (a real Redis) pass the same tests."""

from __future__ import annotations

import time
import uuid

import pytest

from runtime.jobs import (
    CANCELLED_BY_USER,
    SHUTDOWN,
    TERMINAL,
    JobRecord,
    MemoryJobStore,
    RedisJobStore,
    new_job,
)

LOCK_TTL_S = 120


@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        yield MemoryJobStore()
        return
    redis_url = request.getfixturevalue("redis_url")
    prefix = f"test-jobs-{uuid.uuid4().hex[:12]}"
    redis_store = RedisJobStore(redis_url, lock_ttl_s=LOCK_TTL_S, prefix=prefix)
    try:
        yield redis_store
    finally:
        keys = list(redis_store.r.scan_iter(match=f"{prefix}:*"))
        if keys:
            redis_store.r.delete(*keys)
        redis_store.r.close()


def put_job(store, site: str = "lobby", state: str = "queued", **config) -> JobRecord:
    job = new_job(site, config).model_copy(update={"state": state})
    store.put(job)
    return job


# -- records --------------------------------------------------------------------------------------
def test_a_job_put_is_got_back_equal(store):
    job = put_job(store, iterations=50, variant="ours")
    got = store.get(job.id)
    assert got == job and got.config == {"iterations": 50, "variant": "ours"} and got.state == "queued"


def test_an_unknown_job_is_none_for_get_and_update(store):
    assert store.get("no-such-job") is None
    assert store.update("no-such-job", state="running") is None
    assert store.get("no-such-job") is None  # update never creates a record


def test_update_changes_the_named_fields_and_the_update_time_only(store):
    job = put_job(store)
    before = time.time()
    updated = store.update(job.id, state="running", progress={"iteration": 3})
    assert updated.state == "running" and updated.progress == {"iteration": 3}
    assert updated.updated >= before and updated.created == job.created
    assert updated.site == job.site and updated.config == job.config
    assert store.get(job.id) == updated


def test_records_handed_out_are_copies(store):
    job = put_job(store)
    job.state = "failed"  # the caller's object, changed after put
    got = store.get(job.id)
    assert got.state == "queued"
    got.progress = {"iteration": 99}
    assert store.get(job.id).progress is None


# -- a site's jobs -------------------------------------------------------------------------------
def test_site_jobs_lists_a_sites_jobs_newest_first_with_their_latest_state(store):
    older = put_job(store, site="hall")
    time.sleep(0.01)
    newer = put_job(store, site="hall")
    other = put_job(store, site="yard")
    store.update(older.id, state="succeeded", result={"activated": True})
    listed = store.site_jobs("hall")
    assert [j.id for j in listed] == [newer.id, older.id]
    assert listed[1].state == "succeeded" and listed[1].result == {"activated": True}
    assert [j.id for j in store.site_jobs("yard")] == [other.id]
    assert store.site_jobs("nobody") == []
    assert [j.id for j in store.site_jobs("hall", limit=1)] == [newer.id]


def test_site_jobs_keeps_only_the_newest(store, monkeypatch):
    import runtime.jobs

    monkeypatch.setattr(runtime.jobs, "SITE_JOBS_KEPT", 3)
    jobs = []
    for k in range(5):
        job = new_job("hall", {}).model_copy(update={"created": 1000.0 + k})
        store.put(job)
        jobs.append(job)
    assert [j.id for j in store.site_jobs("hall")] == [j.id for j in reversed(jobs[2:])]


# -- cancellation ---------------------------------------------------------------------------------
def test_request_cancel_keeps_the_first_reason(store):
    job = put_job(store)
    assert store.cancel_reason(job.id) is None
    store.request_cancel(job.id, SHUTDOWN)
    store.request_cancel(job.id)  # the user's cancel comes second: the shutdown reason stands
    assert store.cancel_reason(job.id) == SHUTDOWN


def test_request_cancel_defaults_to_the_users_reason_and_is_per_job(store):
    a, b = put_job(store), put_job(store)
    store.request_cancel(a.id)
    assert store.cancel_reason(a.id) == CANCELLED_BY_USER
    assert store.cancel_reason(b.id) is None


# -- site locks -----------------------------------------------------------------------------------
@pytest.mark.parametrize("state", ["queued", "running"])
def test_lock_site_returns_the_holder_while_its_job_is_not_terminal(store, state):
    holder = put_job(store, state=state)
    assert store.lock_site("lobby", holder.id) is None
    other = put_job(store)
    assert store.lock_site("lobby", other.id) == holder.id
    assert store.lock_site("lobby", other.id) == holder.id  # asking again changes nothing


@pytest.mark.parametrize("state", TERMINAL)
def test_lock_site_takes_a_stale_lock_whose_job_is_terminal(store, state):
    holder = put_job(store)
    assert store.lock_site("lobby", holder.id) is None
    store.update(holder.id, state=state)
    newcomer = put_job(store)
    assert store.lock_site("lobby", newcomer.id) is None
    third = put_job(store)
    assert store.lock_site("lobby", third.id) == newcomer.id  # the newcomer holds it now


def test_lock_site_takes_a_lock_whose_job_has_no_record(store):
    assert store.lock_site("lobby", "a-job-whose-record-is-gone") is None
    job = put_job(store)
    assert store.lock_site("lobby", job.id) is None
    assert store.lock_site("lobby", put_job(store).id) == job.id


def test_sites_have_separate_locks(store):
    a, b = put_job(store, site="lobby"), put_job(store, site="garage")
    assert store.lock_site("lobby", a.id) is None
    assert store.lock_site("garage", b.id) is None


def test_unlock_only_by_the_holder(store):
    holder = put_job(store, state="running")
    other = put_job(store)
    assert store.lock_site("lobby", holder.id) is None
    store.unlock_site("lobby", other.id)  # not the holder: nothing happens
    assert store.lock_site("lobby", other.id) == holder.id
    store.unlock_site("lobby", holder.id)
    assert store.lock_site("lobby", other.id) is None


def test_unlock_of_an_unlocked_site_is_harmless(store):
    store.unlock_site("lobby", "anyone")
    job = put_job(store)
    assert store.lock_site("lobby", job.id) is None


# -- heartbeats -----------------------------------------------------------------------------------
def test_last_beat_is_none_before_the_first_beat_then_the_latest_beat_time(store):
    job = put_job(store)
    assert store.last_beat(job.id) is None
    before = time.time()
    store.beat(job.id)
    first = store.last_beat(job.id)
    assert before <= first <= time.time()
    store.beat(job.id)
    assert store.last_beat(job.id) >= first
    assert store.last_beat(put_job(store).id) is None  # beats are per job


# -- Redis only: keys expire by themselves --------------------------------------------------------
def test_redis_site_lock_and_records_expire_by_themselves(redis_url):
    from runtime.jobs import BEAT_TTL_S, RECORD_TTL_S

    prefix = f"test-jobs-{uuid.uuid4().hex[:12]}"
    store = RedisJobStore(redis_url, lock_ttl_s=LOCK_TTL_S, prefix=prefix)
    try:
        job = new_job("lobby", {})
        store.put(job)
        store.request_cancel(job.id)
        store.beat(job.id)
        assert store.lock_site("lobby", job.id) is None
        r = store.r
        assert 0 < r.ttl(f"{prefix}:site-lock:lobby") <= LOCK_TTL_S
        assert RECORD_TTL_S - 60 < r.ttl(f"{prefix}:job:{job.id}") <= RECORD_TTL_S
        assert RECORD_TTL_S - 60 < r.ttl(f"{prefix}:cancel:{job.id}") <= RECORD_TTL_S
        assert BEAT_TTL_S - 60 < r.ttl(f"{prefix}:beat:{job.id}") <= BEAT_TTL_S
        assert store.ping()
    finally:
        keys = list(store.r.scan_iter(match=f"{prefix}:*"))
        if keys:
            store.r.delete(*keys)
        store.r.close()
