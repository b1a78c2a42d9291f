"""The operator console end to end in a real headless browser (Debian's chromium and chromedriver,
through selenium) against a real ``uvicorn`` process in embedded mode, fed with a rendered camera
site: sign in with the API key, watch the live view, start an adaptation from the page, see its
progress move and a version appear and serve, roll back from the page.

.ci/run installs chromium and chromium-driver and sets SILHOUETTE_BROWSER_TEST=required, so in CI
a missing browser fails the test; elsewhere it is skipped. With SILHOUETTE_CONSOLE_SCREENSHOTS=DIR
the test saves its screenshots there (``SILHOUETTE_CONSOLE_SCREENSHOTS=docs`` refreshes the
README's).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.service_helpers import site_jpegs, tiny_checkpoint, uvicorn_server

KEY = "console-test-key-9f2c"
SITE = "lobby"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
# The Celery test's options (test_service_celery.py): short; the gate may pass or keep back what they make.
ADAPT = {"iterations": "16", "batch": "8", "lr": "0.0002", "s2d_gradient": "erosions"}
FEED_FPS = 4.0  # the live feed while the browser watches (kept out of the buffer, so the job sees the same crops)


def need_browser() -> None:
    if CHROMIUM and CHROMEDRIVER:
        return
    missing = "chromium and chromedriver (apt-get install chromium chromium-driver)"
    if os.environ.get("SILHOUETTE_BROWSER_TEST") == "required":
        pytest.fail(f"the console's browser test must run here, but {missing} are not installed")
    pytest.skip(f"needs {missing}")


def shoot(driver, name: str) -> None:
    folder = os.environ.get("SILHOUETTE_CONSOLE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / name))


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    need_browser()
    root = tmp_path_factory.mktemp("console")
    env = {
        **os.environ,
        "SILHOUETTE_API_KEY": KEY,
        "SILHOUETTE_SOURCE_CHECKPOINT": str(tiny_checkpoint(root / "source.pt")),
        "SILHOUETTE_ARTIFACT_DIR": str(root / "artifacts"),
        "SILHOUETTE_WARMUP_FRAMES": "5",
        "SILHOUETTE_MIN_ADAPT_CROPS": "8",
        "SILHOUETTE_MODEL_POLL_S": "0.05",
    }
    env.pop("SILHOUETTE_REDIS_URL", None)  # embedded: the job runs on a thread of the service
    with uvicorn_server(env, "--log-level", "warning") as url:
        yield url


@pytest.fixture(scope="module")
def fed(service):
    """The site fed with its frames (they fill its buffer), then a live feed until the module ends."""
    frames = site_jpegs()
    headers = {"x-api-key": KEY, "content-type": "image/jpeg"}
    with httpx.Client(base_url=service, timeout=60) as c:
        for data in frames:
            assert c.post(f"/v1/sites/{SITE}/pose", content=data, headers=headers).status_code == 200
    stop = threading.Event()
    loop = frames[::-1] + frames  # back and forth: the person walks on without jumping

    def feed() -> None:
        with httpx.Client(base_url=service, timeout=60) as c:
            i = 0
            while not stop.wait(1 / FEED_FPS):
                c.post(
                    f"/v1/sites/{SITE}/pose?buffer=false&vertices=false", content=loop[i % len(loop)], headers=headers
                )
                i += 1

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    yield service
    stop.set()
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser():
    need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1360,1100"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the page's console, for failures
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver, condition, timeout: float, what: str):
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)
    except WebDriverException as exc:
        seen = driver.execute_script("return document.body.innerText").strip()[:1500]
        logs = "\n".join(e["message"] for e in driver.get_log("browser"))[:1500]
        raise AssertionError(
            f"{what}: not seen within {timeout} s ({type(exc).__name__}) at {driver.current_url}\n"
            f"the page:\n{seen}\nthe browser's console:\n{logs}"
        ) from None


def gate_verdict(job_row: str) -> str | None:
    """ "kept" or "activated" once the job row states what the health gate did, else None."""
    if "kept, not activated" in job_row:
        return "kept"
    return "activated" if " · activated" in job_row else None


def click(driver, css: str, timeout: float = 10) -> None:
    """Click the first element ``css`` matches, finding it again if the page re-rendered it in between.

    The console redraws its tables every second (replaceChildren), so an element found one step
    before the click may be gone by the click; a person's click lands on whatever row is there.
    """
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    while True:
        try:
            driver.find_element(By.CSS_SELECTOR, css).click()
            return
        except StaleElementReferenceException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def text(driver, css: str) -> str:
    """The text of the first element ``css`` matches, read in one step (the page re-renders every second)."""
    return driver.execute_script("const e = document.querySelector(arguments[0]); return e ? e.innerText : ''", css)


VERSION_ROWS = "return [...document.querySelectorAll('#versions tr[data-version]')].map((r) => r.dataset.version)"
SERVING_ROWS = """return [...document.querySelectorAll('#versions tr[data-version]')]
    .filter((r) => r.innerText.includes('serving')).map((r) => r.dataset.version)"""


def test_every_console_route_is_401_without_the_key(service):
    with httpx.Client(base_url=service, timeout=30) as c:
        page = c.get("/console")
        assert page.status_code == 401 and 'name="key"' in page.text and "<script" not in page.text
        for path in ("/console/console.js", "/console/console.css", "/v1/sites", f"/v1/sites/{SITE}/jobs"):
            assert c.get(path).status_code == 401, path
        assert c.get(f"/v1/sites/{SITE}/frame.jpg", headers={"x-api-key": "wrong"}).status_code == 401
        assert c.post("/console/session", data={"key": "wrong"}).status_code == 401
        assert c.get("/console", headers={"x-api-key": KEY}).status_code == 200


def test_console_adapts_and_rolls_back_in_a_browser(fed, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    url = fed
    browser.get(f"{url}/console")
    key = browser.find_element(By.NAME, "key")
    key.send_keys("not-the-key")
    key.submit()
    wait(browser, lambda d: "not the API key" in d.page_source, 10, "the refusal of a wrong key")
    key = browser.find_element(By.NAME, "key")
    key.send_keys(KEY)
    key.submit()

    # The live view: the site, its drawn frame, people per second and latency.
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'[data-site="{SITE}"]'), 30, "the site in the list")
    wait(
        browser,
        lambda d: d.execute_script("const f = document.getElementById('frame'); return !f.hidden && f.naturalWidth"),
        30,
        "the site's drawn frame",
    )
    wait(browser, lambda d: float(text(d, "#persons") or 0) > 0, 30, "persons per second above 0")
    assert re.fullmatch(r"\d+ ms", text(browser, "#latency")), text(browser, "#latency")
    assert text(browser, "#serving") == "source"
    shoot(browser, "console.png")

    # The operator gives the camera's tilt; the site answers bodies turned by it from then on.
    assert text(browser, "#tilt") == "unknown"
    browser.find_element(By.CSS_SELECTOR, '#camera-form input[name="tilt_deg"]').send_keys("12.5")
    browser.find_element(By.ID, "set-camera").click()
    wait(browser, lambda d: text(d, "#tilt") == "12.5°", 30, "the camera tilt on the page")
    with httpx.Client(base_url=url, timeout=30, headers={"x-api-key": KEY}) as c:
        assert c.get(f"/v1/sites/{SITE}").json()["camera_tilt_deg"] == 12.5

    # The ghosts line, and relearning the background from the page (the server warms the site up again).
    assert text(browser, "#ghosts") == "none"
    assert text(browser, "#detail") == "as sharp as its pixels"  # the rendered site's frames (models.detail)
    browser.find_element(By.ID, "relearn-background").click()
    wait(browser, lambda d: "learning the background afresh" in text(d, "#message"), 30, "the relearn confirmed")

    # Start an adaptation from the page and watch its progress move.
    form = browser.find_element(By.ID, "adapt-form")
    for name in ("iterations", "batch", "lr"):
        form.find_element(By.NAME, name).send_keys(ADAPT[name])
    Select(form.find_element(By.NAME, "s2d_gradient")).select_by_visible_text(ADAPT["s2d_gradient"])
    browser.find_element(By.ID, "start-adapt").click()
    seen: set[int] = set()
    deadline = time.monotonic() + 240
    shot = False
    while time.monotonic() < deadline:
        state = text(browser, "#jobs tr[data-job] .state")
        done = text(browser, "#jobs tr[data-job] .iteration").split(" / ")[0]
        if state == "running" and done.isdigit():
            seen.add(int(done))
            if not shot and 0 < int(done) < int(ADAPT["iterations"]):
                shoot(browser, "console-job.png")
                shot = True
        if state in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.2)
    assert state == "succeeded", f"the job ended {state!r}: {text(browser, '#jobs')}"
    assert len({i for i in seen if i > 0}) >= 2, f"progress did not move on the page: {sorted(seen)}"

    # The new version appears; if the health gate did not activate it, the operator does, from the page.
    # The job row's outcome is the gate's verdict; the versions table refreshes on its own poll and
    # may show the new version a moment before it shows it serving, so only the verdict decides.
    new = wait(browser, lambda d: [v for v in d.execute_script(VERSION_ROWS) if v != "source"], 30, "a new version")[0]
    verdict = wait(browser, lambda d: gate_verdict(text(d, "#jobs tr[data-job]")), 30, "the gate's verdict")
    if verdict == "kept":
        click(browser, f'#versions tr[data-version="{new}"] button.activate')
    wait(browser, lambda d: new in d.execute_script(SERVING_ROWS), 30, "the new version serving")
    with httpx.Client(base_url=url, timeout=30, headers={"x-api-key": KEY}) as c:
        assert c.get(f"/v1/sites/{SITE}").json()["serving_version"] == new
    assert "→" in text(browser, "#jobs tr[data-job] .health")
    assert browser.execute_script("return document.querySelectorAll('#health-plot circle').length") == 2
    shoot(browser, "console-version.png")

    # Roll back from the page: the source model serves again.
    click(browser, '#versions tr[data-version="source"] button.activate')
    wait(
        browser,
        lambda d: "serving" in text(d, '#versions tr[data-version="source"]') and text(d, "#serving") == "source",
        30,
        "the source model serving again",
    )
    with httpx.Client(base_url=url, timeout=30, headers={"x-api-key": KEY}) as c:
        site = c.get(f"/v1/sites/{SITE}").json()
        assert site["serving_version"] == "source" and site["active_version"] == "source"
    shoot(browser, "console-rollback.png")

    # Signing out ends the session: the console asks for the key again.
    browser.find_element(By.CSS_SELECTOR, "header form button").click()
    wait(browser, lambda d: d.find_elements(By.NAME, "key"), 10, "the sign-in form after signing out")
