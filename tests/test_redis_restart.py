"""Redis restarts, tried for real: a Redis server of the test's own (append-only file on, as in
docker-compose.yml) is stopped and started again under a running API and Celery worker."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runtime.settings import Settings
from service.app import create_app
from tests.conftest import start_worker
from tests.service_helpers import site_jpegs, tiny_checkpoint, wait_for_job, wait_running


class RedisServer:
    """``redis-server`` on a port of its own, persisted with AOF in ``folder``."""

    def __init__(self, folder: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.folder = folder
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                if redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    root = tmp_path_factory.mktemp("redis-restart")
    server = RedisServer(root)
    server.start()
    ckpt = tiny_checkpoint(root / "source.pt")
    env = {"SILHOUETTE_SOURCE_CHECKPOINT": str(ckpt), "SILHOUETTE_ARTIFACT_DIR": str(root / "artifacts")}
    workers = start_worker(server.url, env)
    _, queue, proc = next(workers)
    settings = Settings(
        source_checkpoint=ckpt,
        artifact_dir=root / "artifacts",
        redis_url=server.url,
        adapt_queue=queue,
        warmup_frames=5,
        min_adapt_crops=8,
        job_silence_s=8.0,
    )
    try:
        with TestClient(create_app(settings)) as client:
            yield client, server, proc
    finally:
        next(workers, None)
        if server.proc.poll() is None:
            server.stop()


def post(client, site: str, frames: list[bytes]) -> list[int]:
    return [
        client.post(f"/v1/sites/{site}/pose", content=d, headers={"content-type": "image/jpeg"}).status_code
        for d in frames
    ]


def wait_ready(client, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get("/readyz").status_code == 200:
            return
        time.sleep(0.5)
    raise AssertionError(f"not ready {timeout} s after Redis came back: {client.get('/readyz').json()}")


def test_idle_restart_pose_keeps_answering_and_adapt_recovers(deployment):
    client, server, worker = deployment
    frames = site_jpegs(40, seed=5)
    assert set(post(client, "gate-r", frames[:30])) == {200}
    server.stop()
    assert set(post(client, "gate-r", frames[30:])) == {200}  # served from the loaded model
    away = client.post("/v1/sites/gate-r/adapt", json={"iterations": 4, "batch": 4})
    assert away.status_code == 503 and away.headers["retry-after"]
    assert client.get("/readyz").status_code == 503
    server.start()
    wait_ready(client)
    # The worker must consume again after the broker restart (a known Celery failure mode).
    r = client.post("/v1/sites/gate-r/adapt", json={"iterations": 4, "batch": 4})
    assert r.status_code == 202, r.text
    job = wait_for_job(client, r.json()["id"], timeout=120)
    assert job["state"] == "succeeded", job
    assert worker.poll() is None


def test_restart_while_a_job_runs_ends_the_job_clearly(deployment):
    client, server, worker = deployment
    assert set(post(client, "gate-s", site_jpegs(40, seed=5))) == {200}
    r = client.post("/v1/sites/gate-s/adapt", json={"iterations": 5000, "batch": 4})
    assert r.status_code == 202, r.text
    job = r.json()
    wait_running(client, job["id"])
    server.stop()
    time.sleep(3.0)
    server.start()
    wait_ready(client)
    # The job rides out the outage: it keeps reporting progress, and it can still be cancelled.
    seen = client.get(f"/v1/jobs/{job['id']}").json()
    assert seen["state"] == "running", seen
    before = seen["progress"]["iteration"]
    deadline = time.monotonic() + 30
    while client.get(f"/v1/jobs/{job['id']}").json()["progress"]["iteration"] <= before:
        assert time.monotonic() < deadline, "no progress after Redis came back"
        time.sleep(0.5)
    assert client.delete(f"/v1/jobs/{job['id']}").status_code == 200
    done = wait_for_job(client, job["id"], timeout=60)
    assert done["state"] == "cancelled", done
    assert [v["id"] for v in client.get("/v1/sites/gate-s/versions").json()] == ["source"]
    assert worker.poll() is None
