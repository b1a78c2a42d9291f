"""The console's routes in-process (service/routers/console.py, service/live.py and the JSON it
reads): the sign-in and its cookie, 401 everywhere without the key, the site list, the drawn
frame and a site's jobs. The browser test (test_console_browser.py) drives the page itself."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from runtime.settings import Settings
from service.app import create_app
from service.deps import SESSION_COOKIE
from service.live import DRAW_MIN_WIDTH, LiveView, draw_frame
from service.pipeline import FrameResult
from tests.service_helpers import site_jpegs, tiny_checkpoint

KEY = "console-key-42"
HK = {"x-api-key": KEY}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("console") / "source.pt")


def app_with(checkpoint, tmp_path, key: str | None = KEY) -> TestClient:
    settings = Settings(
        source_checkpoint=checkpoint,
        artifact_dir=tmp_path / "artifacts",
        warmup_frames=5,
        min_adapt_crops=8,
        api_key=key,
        model_poll_s=0.05,
    )
    return TestClient(create_app(settings))


@pytest.fixture(scope="module")
def client(checkpoint, tmp_path_factory):
    with app_with(checkpoint, tmp_path_factory.mktemp("artifacts")) as c:
        for data in site_jpegs(20):
            assert c.post("/v1/sites/hall/pose", content=data, headers={**HK, "content-type": "image/jpeg"}).is_success
        yield c


def test_without_the_key_everything_is_401_and_the_console_asks_for_it(client):
    page = client.get("/console")
    assert page.status_code == 401 and 'name="key"' in page.text and 'action="/console/session"' in page.text
    for path in ("/console/console.js", "/console/console.css", "/v1/sites", "/v1/sites/hall/jobs"):
        assert client.get(path).status_code == 401, path
    assert client.get("/v1/sites/hall/frame.jpg", headers={"x-api-key": "wrong"}).status_code == 401
    assert client.get("/console/nothing-here", headers=HK).status_code == 404
    page = client.get("/console", headers=HK)
    assert page.status_code == 200 and 'id="adapt-form"' in page.text
    assert client.get("/console/console.js", headers=HK).headers["content-type"].startswith("text/javascript")


def test_signing_in_sets_a_cookie_that_is_not_the_key_and_changes_need_the_console_header(client):
    assert client.post("/console/session", data={"key": "wrong"}).status_code == 401
    signed = client.post("/console/session", data={"key": KEY}, follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/console"
    cookie = signed.cookies[SESSION_COOKIE]
    assert KEY not in cookie and "httponly" in signed.headers["set-cookie"].lower()
    assert "samesite=strict" in signed.headers["set-cookie"].lower()
    jar = {SESSION_COOKIE: cookie}
    browser = TestClient(client.app, cookies=jar)  # no `with`: the app's lifespan (its service) stays the module's
    assert browser.get("/console").status_code == 200
    assert browser.get("/v1/sites").status_code == 200
    # A change on the strength of the cookie alone could come from another origin's form.
    assert browser.post("/v1/sites/hall/versions/source/activate").status_code == 401
    assert browser.post("/v1/sites/hall/versions/source/activate", headers={"x-console": "1"}).status_code == 200
    forged = cookie[:-1] + ("1" if cookie.endswith("0") else "0")
    assert TestClient(client.app, cookies={SESSION_COOKIE: forged}).get("/v1/sites").status_code == 401
    out = client.post("/console/logout", follow_redirects=False)
    assert out.status_code == 303 and f'{SESSION_COOKIE}=""' in out.headers["set-cookie"]


def test_sites_list_with_recent_rates_and_the_drawn_frame(client):
    (hall,) = [s for s in client.get("/v1/sites", headers=HK).json() if s["id"] == "hall"]
    assert hall["frames_seen"] == 20 and hall["serving_version"] == "source"
    assert hall["persons_per_s"] > 0 and hall["frames_per_s"] > 0 and hall["latency_p50_ms"] > 0
    assert hall["last_frame_age_s"] < 60
    frame = client.get("/v1/sites/hall/frame.jpg", headers=HK)
    assert frame.status_code == 200 and frame.headers["content-type"] == "image/jpeg"
    assert frame.content[:2] == b"\xff\xd8"
    assert client.get("/v1/sites/nobody-yet/frame.jpg", headers=HK).status_code == 404
    assert client.get("/v1/sites/Bad.Id/frame.jpg", headers=HK).status_code == 422


def test_a_sites_jobs_newest_first(client):
    assert client.get("/v1/sites/hall/jobs", headers=HK).json() == []
    started = client.post("/v1/sites/hall/adapt", headers=HK, json={"iterations": 5000, "batch": 4}).json()
    client.delete(f"/v1/jobs/{started['id']}", headers=HK)
    (job,) = client.get("/v1/sites/hall/jobs", headers=HK).json()
    assert job["id"] == started["id"] and job["site"] == "hall"
    assert client.get("/v1/sites/Bad.Id/jobs", headers=HK).status_code == 422


def test_without_a_configured_key_the_console_opens_straight_away(checkpoint, tmp_path):
    with app_with(checkpoint, tmp_path, key=None) as c:
        assert c.get("/console").status_code == 200 and c.get("/v1/sites").json() == []


def test_rates_cover_the_recent_window_only(monkeypatch):
    import service.live

    clock = [1000.0]
    monkeypatch.setattr(service.live.time, "time", lambda: clock[0])
    live = LiveView()
    assert live.rates("a").latency_p50_ms is None and live.latest("a") is None
    result = FrameResult(
        persons=[], warming_up=False, relearning=False, frame_index=0, model_version="s", timings_ms={}
    )
    for k in range(20):  # 2 frames a second for 10 s, latency 10..29 ms
        clock[0] = 1000.0 + k / 2
        live.record("a", np.zeros((4, 4, 3), np.uint8), result, 10.0 + k)
    rates = live.rates("a")
    assert rates.frames_per_s == pytest.approx(20 / 9.5) and rates.latency_p50_ms == pytest.approx(19.5)
    clock[0] += 60  # nothing for a minute: nothing recent
    assert live.rates("a").frames_per_s == 0 and live.rates("a").last_frame_age_s == pytest.approx(60)


def test_small_frames_are_enlarged_whole_times_before_drawing():
    result = FrameResult(
        persons=[], warming_up=False, relearning=False, frame_index=0, model_version="s", timings_ms={}
    )
    drawn = draw_frame(np.zeros((120, 160, 3), np.uint8), result, np.zeros((0, 3), np.int64))
    assert drawn.shape == (360, 480, 3) and drawn.shape[1] >= DRAW_MIN_WIDTH
