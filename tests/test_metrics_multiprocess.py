"""/metrics is right with several API processes: uvicorn with two workers, counts summed across them."""

from __future__ import annotations

import os

import httpx
import pytest

from tests.service_helpers import site_jpegs, tiny_checkpoint, uvicorn_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("multi")
    (root / "prom").mkdir()
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(root / "prom"),
        "SILHOUETTE_SOURCE_CHECKPOINT": str(tiny_checkpoint(root / "source.pt")),
        "SILHOUETTE_ARTIFACT_DIR": str(root / "artifacts"),
        "SILHOUETTE_WARMUP_FRAMES": "3",
    }
    env.pop("SILHOUETTE_REDIS_URL", None)
    with uvicorn_server(env, "--workers", "2", "--log-level", "warning") as url:
        yield url


def test_counts_are_summed_over_processes(server):
    persons = 0
    with httpx.Client(base_url=server, timeout=60) as c:
        for data in site_jpegs(24, seed=11):
            # a new connection each time, so both worker processes get requests
            r = httpx.post(
                f"{server}/v1/sites/hall/pose?vertices=false",
                content=data,
                headers={"content-type": "image/jpeg", "connection": "close"},
                timeout=60,
            )
            assert r.status_code == 200
            persons += len(r.json()["persons"])
        for _ in range(4):
            text = c.get("/metrics", headers={"connection": "close"}).text
            line = next(s for s in text.splitlines() if s.startswith("pose_persons_total"))
            assert float(line.split()[-1]) == persons
            count = next(s for s in text.splitlines() if s.startswith("pose_request_seconds_count"))
            assert float(count.split()[-1]) == 24
    assert persons > 0
