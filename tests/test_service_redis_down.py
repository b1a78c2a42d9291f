"""Redis away: /pose keeps answering from loaded models; /adapt and readiness say 503 with a reason."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from runtime.settings import Settings
from service.app import create_app
from tests.service_helpers import site_jpegs, tiny_checkpoint


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("redis-down")
    settings = Settings(
        source_checkpoint=tiny_checkpoint(root / "source.pt"),
        artifact_dir=root / "artifacts",
        redis_url="redis://127.0.0.1:1/0",
        warmup_frames=5,
        min_adapt_crops=8,
    )
    with TestClient(create_app(settings)) as c:
        yield c


def test_pose_answers_and_adapt_says_503(client):
    for data in site_jpegs(30, seed=8):
        assert (
            client.post("/v1/sites/yard/pose", content=data, headers={"content-type": "image/jpeg"}).status_code == 200
        )
    r = client.post("/v1/sites/yard/adapt", json={"iterations": 4})
    assert r.status_code == 503 and "unreachable" in r.json()["detail"] and r.headers["retry-after"]
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["job_store"].startswith("unreachable")
    assert client.get("/v1/jobs/abc").status_code == 503
    assert client.get("/healthz").status_code == 200
