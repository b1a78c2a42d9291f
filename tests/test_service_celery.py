"""The deployed shape: the API with Redis, and a real Celery worker process running the job."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from runtime.settings import Settings
from service.app import create_app
from tests.conftest import start_worker
from tests.service_helpers import site_jpegs, tiny_checkpoint, wait_for_job


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, redis_url):
    root = tmp_path_factory.mktemp("deploy")
    ckpt = tiny_checkpoint(root / "source.pt")
    env = {"SILHOUETTE_SOURCE_CHECKPOINT": str(ckpt), "SILHOUETTE_ARTIFACT_DIR": str(root / "artifacts")}
    workers = start_worker(redis_url, env)
    _, queue, proc = next(workers)
    settings = Settings(
        source_checkpoint=ckpt,
        artifact_dir=root / "artifacts",
        redis_url=redis_url,
        adapt_queue=queue,
        warmup_frames=5,
        min_adapt_crops=8,
        model_poll_s=0.05,
    )
    with TestClient(create_app(settings)) as client:
        yield client, proc
    next(workers, None)


def test_frames_to_an_adapted_model_through_a_worker(deployment):
    client, worker = deployment
    for data in site_jpegs():
        assert (
            client.post("/v1/sites/gate-2/pose", content=data, headers={"content-type": "image/jpeg"}).status_code
            == 200
        )
    ready = client.get("/readyz").json()
    assert ready["mode"] == "celery" and ready["job_store"] == "ok" and ready["ready"]
    # The tiny model starts from the mean body, far off the silhouettes: there S2D's literal
    # gradient is the one that pulls limbs home (bench.swung_limbs). Measured on this site: by
    # the distance (the default) the held-out IoU fell, 0.35 -> 0.27 at the default lr and -> 0.31
    # at 2e-4, and the gate refused it; literally at the default lr it rose by 0.003, under the
    # gate's 0.005. The request also shows the worker honours the engine options it is sent.
    r = client.post(
        "/v1/sites/gate-2/adapt", json={"iterations": 16, "batch": 8, "s2d_gradient": "erosions", "lr": 2e-4}
    )
    assert r.status_code == 202
    job = wait_for_job(client, r.json()["id"])
    assert job["state"] == "succeeded", job.get("error")
    assert job["progress"]["iteration"] == 16
    result = job["result"]
    assert result["config"]["s2d_gradient"] == "erosions" and result["config"]["lr"] == 2e-4
    from models.health import Health

    # The version is always written; the gate activates it exactly when it scores better on the
    # held-out frames. Whether 16 iterations get past the gate here depends on float rounding (it
    # rose 0.0005-0.003 in IoU across machines, against the gate's 0.005), so the test follows the
    # gate either way; when it keeps the version, the operator activates it, as the console does.
    assert result["version"]
    assert result["activated"] == Health(**result["health_after"]).beats(Health(**result["health_before"])), result
    if not result["activated"]:
        assert "kept, not activated" in result["reason"], result
        assert client.post(f"/v1/sites/gate-2/versions/{result['version']}/activate").status_code == 200
    assert client.get("/v1/sites/gate-2").json()["active_version"] == result["version"]
    # every API process notices the new active version and swaps to it
    answer = client.post(
        "/v1/sites/gate-2/pose", content=site_jpegs(3, seed=4)[2], headers={"content-type": "image/jpeg"}
    )
    deadline = 50
    while answer.json()["model_version"] != result["version"] and deadline:
        deadline -= 1
        answer = client.post(
            "/v1/sites/gate-2/pose", content=site_jpegs(3, seed=4)[2], headers={"content-type": "image/jpeg"}
        )
    assert answer.json()["model_version"] == result["version"]
    assert worker.poll() is None  # the worker lives on; its child that ran the job is gone


def test_cancelling_a_running_job_leaves_no_version(deployment):
    client, _ = deployment
    for data in site_jpegs():
        client.post("/v1/sites/gate-3/pose", content=data, headers={"content-type": "image/jpeg"})
    r = client.post("/v1/sites/gate-3/adapt", json={"iterations": 5000, "batch": 4})
    assert r.status_code == 202, r.text
    job = r.json()
    import time

    for _ in range(200):
        if client.get(f"/v1/jobs/{job['id']}").json()["state"] == "running":
            break
        time.sleep(0.2)
    assert client.delete(f"/v1/jobs/{job['id']}").status_code == 200
    done = wait_for_job(client, job["id"], timeout=120)
    assert done["state"] == "cancelled"
    assert [v["id"] for v in client.get("/v1/sites/gate-3/versions").json()] == ["source"]


def test_a_job_no_worker_takes_is_reported_until_one_does(tmp_path, redis_url):
    """Workers that are up but stopped consuming (a known Celery failure after a broker restart)
    look, from the API, like no worker at all: a job that waits too long. Tried for real: the
    queue has no consumer at first, then a real worker starts on it."""
    import time
    import uuid

    ckpt = tiny_checkpoint(tmp_path / "source.pt")
    queue = f"test-stall-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        source_checkpoint=ckpt,
        artifact_dir=tmp_path / "artifacts",
        redis_url=redis_url,
        adapt_queue=queue,
        warmup_frames=5,
        min_adapt_crops=8,
        model_poll_s=0.05,
        queue_stall_s=1.0,
    )
    with TestClient(create_app(settings)) as client:
        for data in site_jpegs():
            client.post("/v1/sites/stall-1/pose", content=data, headers={"content-type": "image/jpeg"})
        job_id = client.post("/v1/sites/stall-1/adapt", json={"iterations": 2, "batch": 4}).json()["id"]
        assert client.get(f"/v1/jobs/{job_id}").json()["warning"] is None  # not yet overdue
        time.sleep(1.5)
        job = client.get(f"/v1/jobs/{job_id}").json()
        assert job["state"] == "queued" and "no worker has started it" in job["warning"] and queue in job["warning"]
        ready = client.get("/readyz")
        assert ready.status_code == 200  # frames are still served: /pose needs no worker
        assert ready.json()["adapt_queue"]["waiting"] == 1 and ready.json()["adapt_queue"]["stalled"]
        assert ready.json()["adapt_queue"]["oldest_waiting_s"] >= 1.0
        assert "adapt_queue_waiting 1.0" in client.get("/metrics").text
        workers = start_worker(
            redis_url,
            {"SILHOUETTE_SOURCE_CHECKPOINT": str(ckpt), "SILHOUETTE_ARTIFACT_DIR": str(tmp_path / "artifacts")},
            queue=queue,
        )
        next(workers)
        try:
            job = wait_for_job(client, job_id)
            assert job["state"] == "succeeded", job.get("error")
            assert job["warning"] is None
            assert client.get("/readyz").json()["adapt_queue"] == {
                "waiting": 0,
                "oldest_waiting_s": 0.0,
                "stalled": False,
            }
        finally:
            next(workers, None)
