"""Adaptation jobs: their records, a per-site lock, cancellation flags and heartbeats.

Two interchangeable stores (where jobs run: :mod:`runtime.executors`):
    MemoryJobStore   no Redis configured: one process (the embedded mode)
    RedisJobStore    Redis holds records, locks, flags and beats, shared by the API and the workers
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Literal, Protocol

import redis
from pydantic import BaseModel

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
TERMINAL: tuple[JobState, ...] = ("succeeded", "failed", "cancelled")
CANCELLED_BY_USER = "cancelled"
SHUTDOWN = "worker shutdown"  # a cancellation the worker asks for itself when it is told to stop
RECORD_TTL_S = 7 * 24 * 3600  # job records and cancellation flags outlive any job by days: clients read results late
BEAT_TTL_S = 24 * 3600
SITE_JOBS_KEPT = 50  # a site's newest jobs that site_jobs() can list (the console's job list)


def store_away(exc: BaseException) -> bool:
    """Whether ``exc`` says the job store could not be reached (Redis restarting, say)."""
    return isinstance(exc, (redis.ConnectionError, redis.TimeoutError, ConnectionError, TimeoutError))


def _text(raw: bytes | str | None) -> str | None:
    """A Redis reply as text; None for a missing or empty one. (Our client leaves replies undecoded,
    so they come as bytes; redis-py types them ``bytes | str`` since that is a connection option.)"""
    if not raw:
        return None
    return raw.decode() if isinstance(raw, bytes) else raw


class JobRecord(BaseModel):
    id: str
    site: str
    state: JobState = "queued"
    created: float
    updated: float
    config: dict = {}
    progress: dict | None = None
    result: dict | None = None
    error: str | None = None


def new_job(site: str, config: dict) -> JobRecord:
    now = time.time()
    return JobRecord(id=uuid.uuid4().hex, site=site, created=now, updated=now, config=config)


class JobStore(Protocol):
    def put(self, job: JobRecord) -> None: ...
    def get(self, job_id: str) -> JobRecord | None: ...
    def update(self, job_id: str, **fields) -> JobRecord | None: ...
    def request_cancel(self, job_id: str, reason: str = CANCELLED_BY_USER) -> None: ...
    def cancel_reason(self, job_id: str) -> str | None: ...
    def lock_site(self, site: str, job_id: str) -> str | None: ...
    def unlock_site(self, site: str, job_id: str) -> None: ...
    def beat(self, job_id: str) -> None: ...
    def last_beat(self, job_id: str) -> float | None: ...
    def site_jobs(self, site: str, limit: int = SITE_JOBS_KEPT) -> list[JobRecord]: ...


class MemoryJobStore:
    def __init__(self):
        self._jobs: dict[str, JobRecord] = {}
        self._cancel: dict[str, str] = {}
        self._locks: dict[str, str] = {}
        self._beats: dict[str, float] = {}
        self._mutex = threading.Lock()

    def beat(self, job_id: str) -> None:
        with self._mutex:
            self._beats[job_id] = time.time()

    def last_beat(self, job_id: str) -> float | None:
        with self._mutex:
            return self._beats.get(job_id)

    def put(self, job: JobRecord) -> None:
        with self._mutex:
            self._jobs[job.id] = job.model_copy()

    def get(self, job_id: str) -> JobRecord | None:
        with self._mutex:
            job = self._jobs.get(job_id)
            return job.model_copy() if job else None

    def site_jobs(self, site: str, limit: int = SITE_JOBS_KEPT) -> list[JobRecord]:
        """The site's newest jobs, newest first."""
        with self._mutex:
            mine = sorted((j for j in self._jobs.values() if j.site == site), key=lambda j: j.created, reverse=True)
            return [j.model_copy() for j in mine[: min(limit, SITE_JOBS_KEPT)]]

    def update(self, job_id: str, **fields) -> JobRecord | None:
        with self._mutex:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            self._jobs[job_id] = job = job.model_copy(update={**fields, "updated": time.time()})
            return job.model_copy()

    def request_cancel(self, job_id: str, reason: str = CANCELLED_BY_USER) -> None:
        with self._mutex:
            self._cancel.setdefault(job_id, reason)

    def cancel_reason(self, job_id: str) -> str | None:
        with self._mutex:
            return self._cancel.get(job_id)

    def lock_site(self, site: str, job_id: str) -> str | None:
        """Take the site's adaptation lock for ``job_id``; returns the holder's id if already taken."""
        with self._mutex:
            holder = self._locks.get(site)
            if holder is not None and self._jobs.get(holder) and self._jobs[holder].state not in TERMINAL:
                return holder
            self._locks[site] = job_id
            return None

    def unlock_site(self, site: str, job_id: str) -> None:
        with self._mutex:
            if self._locks.get(site) == job_id:
                del self._locks[site]


KEY_PREFIX = "silhouette"  # every key the Redis job store writes starts with it and a colon


class RedisJobStore:
    """Records as JSON strings; the site lock is SET NX with a TTL beyond the longest job, so a
    lock whose worker died disappears by itself."""

    def __init__(self, url: str, lock_ttl_s: int, prefix: str = KEY_PREFIX):
        self.r = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self.ttl = lock_ttl_s
        self.p = prefix

    def _k(self, *parts: str) -> str:
        return ":".join((self.p, *parts))

    def put(self, job: JobRecord) -> None:
        index = self._k("site-jobs", job.site)  # the site's job ids by creation time, newest SITE_JOBS_KEPT
        with self.r.pipeline() as pipe:
            pipe.set(self._k("job", job.id), job.model_dump_json(), ex=RECORD_TTL_S)
            pipe.zadd(index, {job.id: job.created})
            pipe.zremrangebyrank(index, 0, -SITE_JOBS_KEPT - 1)
            pipe.expire(index, RECORD_TTL_S)
            pipe.execute()

    def site_jobs(self, site: str, limit: int = SITE_JOBS_KEPT) -> list[JobRecord]:
        """The site's newest jobs, newest first (records already expired are left out)."""
        newest = self.r.zrevrange(self._k("site-jobs", site), 0, min(limit, SITE_JOBS_KEPT) - 1)
        ids = [_text(i) for i in newest if isinstance(i, (bytes, str))]
        raws = self.r.mget([self._k("job", i) for i in ids if i]) if ids else []
        return [JobRecord.model_validate_json(raw) for raw in raws if raw]

    def get(self, job_id: str) -> JobRecord | None:
        raw = self.r.get(self._k("job", job_id))
        return JobRecord.model_validate_json(raw) if raw else None

    def update(self, job_id: str, **fields) -> JobRecord | None:
        job = self.get(job_id)
        if job is None:
            return None
        job = job.model_copy(update={**fields, "updated": time.time()})
        self.put(job)
        return job

    def request_cancel(self, job_id: str, reason: str = CANCELLED_BY_USER) -> None:
        self.r.set(self._k("cancel", job_id), reason, ex=RECORD_TTL_S, nx=True)  # the first reason stands

    def beat(self, job_id: str) -> None:
        self.r.set(self._k("beat", job_id), repr(time.time()), ex=BEAT_TTL_S)

    def last_beat(self, job_id: str) -> float | None:
        raw = self.r.get(self._k("beat", job_id))
        return float(raw) if raw else None

    def cancel_reason(self, job_id: str) -> str | None:
        return _text(self.r.get(self._k("cancel", job_id)))

    def lock_site(self, site: str, job_id: str) -> str | None:
        key = self._k("site-lock", site)
        if self.r.set(key, job_id, nx=True, ex=self.ttl):
            return None
        holder = _text(self.r.get(key))
        job = self.get(holder) if holder else None
        if job is None or job.state in TERMINAL:  # a stale lock: its job is over
            self.r.set(key, job_id, ex=self.ttl)
            return None
        return holder

    def unlock_site(self, site: str, job_id: str) -> None:
        key = self._k("site-lock", site)
        if (_text(self.r.get(key)) or "") == job_id:
            self.r.delete(key)

    def ping(self) -> bool:
        return bool(self.r.ping())
