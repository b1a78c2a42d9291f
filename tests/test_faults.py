"""Faults tried for real: a worker SIGKILLed, and one told to stop (SIGTERM), mid-adaptation."""

from __future__ import annotations

import os
import signal
import time

import pytest
from fastapi.testclient import TestClient

from runtime.settings import Settings
from service.app import create_app
from tests.conftest import start_worker
from tests.service_helpers import site_jpegs, tiny_checkpoint, wait_for_job, wait_running


@pytest.fixture(scope="module")
def setup(tmp_path_factory, redis_url):
    root = tmp_path_factory.mktemp("faults")
    ckpt = tiny_checkpoint(root / "source.pt")
    env = {"SILHOUETTE_SOURCE_CHECKPOINT": str(ckpt), "SILHOUETTE_ARTIFACT_DIR": str(root / "artifacts")}
    settings = Settings(
        source_checkpoint=ckpt,
        artifact_dir=root / "artifacts",
        redis_url=redis_url,
        adapt_queue=f"faults-{os.getpid()}",
        warmup_frames=5,
        min_adapt_crops=8,
        job_silence_s=6.0,
    )
    with TestClient(create_app(settings)) as client:
        yield client, env, redis_url, settings.adapt_queue, root / "artifacts"


def long_job_on_a_fresh_worker(setup, site: str, seed: int):
    """Buffer a site, start a worker of its own, and have it adapting a 5,000-iteration job:
    (the worker generator, its process, the job)."""
    client, env, redis_url, queue, _ = setup
    for data in site_jpegs(30, seed=seed):
        client.post(f"/v1/sites/{site}/pose", content=data, headers={"content-type": "image/jpeg"})
    workers = start_worker(redis_url, env, queue=queue)
    _, _, proc = next(workers)
    job = client.post(f"/v1/sites/{site}/adapt", json={"iterations": 5000, "batch": 4}).json()
    wait_running(client, job["id"])
    return workers, proc, job


def test_sigkill_mid_adaptation_leaves_models_untouched_and_the_job_failed(setup):
    client, _, _, _, artifacts = setup
    workers, proc, job = long_job_on_a_fresh_worker(setup, "dock", seed=9)
    os.killpg(proc.pid, signal.SIGKILL)  # the worker and its pool child, no warning
    proc.wait(timeout=10)
    next(workers, None)
    done = wait_for_job(client, job["id"], timeout=60)
    assert done["state"] == "failed" and "worker lost" in done["error"]
    versions = client.get("/v1/sites/dock/versions").json()
    assert [v["id"] for v in versions] == ["source"] and versions[0]["active"]
    site_dir = artifacts / "sites" / "dock"
    visible = [p.name for p in (site_dir / "versions").iterdir()] if (site_dir / "versions").exists() else []
    assert all(name.startswith(".tmp-") for name in visible)  # nothing half-written is visible as a version
    assert not list((site_dir / "snapshots").glob("*.npz"))  # and no buffered frames are left behind
    # the site is unlocked: a new request starts a new job
    again = client.post("/v1/sites/dock/adapt", json={"iterations": 2})
    assert again.status_code == 202 and again.json()["id"] != job["id"]
    client.delete(f"/v1/jobs/{again.json()['id']}")


def test_sigterm_mid_adaptation_stops_the_job_cleanly_and_the_worker_exits(setup):
    """Warm shutdown (what `docker compose stop` sends): the running job is interrupted at its next
    iteration, recorded as such, and the worker exits well inside the compose grace period."""
    client, _, _, _, artifacts = setup
    workers, proc, job = long_job_on_a_fresh_worker(setup, "quay", seed=10)
    t = time.monotonic()
    proc.send_signal(signal.SIGTERM)  # to Celery's main process only, as docker does to PID 1
    proc.wait(timeout=60)
    stopped_in = time.monotonic() - t
    next(workers, None)
    done = wait_for_job(client, job["id"], timeout=30)
    assert done["state"] == "failed" and "shut down" in done["error"], done
    assert stopped_in < 60
    versions = client.get("/v1/sites/quay/versions").json()
    assert [v["id"] for v in versions] == ["source"] and versions[0]["active"]
    assert not list((artifacts / "sites" / "quay" / "snapshots").glob("*.npz"))
    again = client.post("/v1/sites/quay/adapt", json={"iterations": 2})
    assert again.status_code == 202 and again.json()["id"] != job["id"]  # the site is unlocked
    client.delete(f"/v1/jobs/{again.json()['id']}")
