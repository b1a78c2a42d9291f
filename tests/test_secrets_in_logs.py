"""API keys never reach the logs: a real uvicorn process at debug level with its access log on,
asked with the right key, a wrong one and none, over HTTP and the WebSocket stream (which this
also shows a real uvicorn serves)."""

from __future__ import annotations

import json
import os

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.service_helpers import site_jpegs, tiny_checkpoint, uvicorn_server

KEY = "k3y-that-must-never-be-logged-5e1f"
WRONG = "wr0ng-key-that-must-never-be-logged-77"


def test_keys_never_appear_in_the_logs(tmp_path):
    env = {
        **os.environ,
        "SILHOUETTE_API_KEY": KEY,
        "SILHOUETTE_REQUIRE_API_KEY": "true",
        "SILHOUETTE_SOURCE_CHECKPOINT": str(tiny_checkpoint(tmp_path / "source.pt")),
        "SILHOUETTE_ARTIFACT_DIR": str(tmp_path / "artifacts"),
        "SILHOUETTE_WARMUP_FRAMES": "3",
    }
    env.pop("SILHOUETTE_REDIS_URL", None)
    log = tmp_path / "server.log"
    with log.open("w") as out, uvicorn_server(env, "--log-level", "debug", "--access-log", stdout=out) as url:
        frame = site_jpegs(2, seed=5)[0]
        with httpx.Client(base_url=url, timeout=60) as c:
            for key, code in ((KEY, 200), (WRONG, 401), (None, 401)):
                headers = {"content-type": "image/jpeg", **({"x-api-key": key} if key else {})}
                assert c.post("/v1/sites/logs-1/pose", content=frame, headers=headers).status_code == code
            assert c.post("/v1/sites/logs-1/adapt", json={}, headers={"x-api-key": KEY}).status_code == 409
            assert c.get("/v1/sites/logs-1", headers={"x-api-key": WRONG}).status_code == 401
        # The stream through a real uvicorn (the in-process test client cannot show that uvicorn
        # has a WebSocket library at all: without one it refuses every upgrade).
        ws_url = url.replace("http://", "ws://") + "/v1/sites/logs-1/stream"
        with connect(ws_url, additional_headers={"x-api-key": KEY}, open_timeout=10) as ws:
            ws.send(frame)
            assert json.loads(ws.recv(timeout=60))["site"] == "logs-1"
        with pytest.raises(InvalidStatus) as refused:
            connect(ws_url, additional_headers={"x-api-key": WRONG}, open_timeout=10)
        assert refused.value.response.status_code == 401 and b"X-API-Key" in refused.value.response.body
    text = log.read_text()
    assert "POST /v1/sites/logs-1/pose" in text and "401" in text  # the access log was on and saw them
    assert KEY not in text and WRONG not in text
