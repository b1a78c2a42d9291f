"""/metrics is right with several API processes: uvicorn with two workers, counts summed across them."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.service_helpers import site_jpegs, tiny_checkpoint


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("multi")
    (root / "prom").mkdir()
    port = free_port()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(root / "prom"),
           "SILHOUETTE_SOURCE_CHECKPOINT": str(tiny_checkpoint(root / "source.pt")),
           "SILHOUETTE_ARTIFACT_DIR": str(root / "artifacts"), "SILHOUETTE_WARMUP_FRAMES": "3"}
    env.pop("SILHOUETTE_REDIS_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "service.app:app", "--port", str(port), "--workers", "2",
                             "--log-level", "warning"], env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("uvicorn with two workers did not become ready")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_counts_are_summed_over_processes(server):
    persons, pids = 0, set()
    with httpx.Client(base_url=server, timeout=60) as c:
        for data in site_jpegs(24, seed=11):
            # a new connection each time, so both worker processes get requests
            r = httpx.post(f"{server}/v1/sites/hall/pose?vertices=false", content=data,
                           headers={"content-type": "image/jpeg", "connection": "close"}, timeout=60)
            assert r.status_code == 200
            persons += len(r.json()["persons"])
        for _ in range(4):
            text = c.get("/metrics", headers={"connection": "close"}).text
            line = next(l for l in text.splitlines() if l.startswith("pose_persons_total"))
            assert float(line.split()[-1]) == persons
            count = next(l for l in text.splitlines() if l.startswith("pose_request_seconds_count"))
            assert float(count.split()[-1]) == 24
    assert persons > 0
