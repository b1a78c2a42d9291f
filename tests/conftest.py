"""Shared fixtures: a real Redis (CI starts one on 127.0.0.1:6379) and real Celery worker processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

# Triton, which torch.onnx.export reaches through torch._dynamo, crashes the process (SIGSEGV in its
# import) when it is first loaded after Mesa's EGL, which the synthetic renderer loads: both bring
# an LLVM. Loaded first, both work (measured: tests/test_people.py then tests/test_personness.py).
with contextlib.suppress(ImportError):
    import torch._dynamo  # noqa: F401

from bench.footage_io import EVAL_PYTHON  # after torch._dynamo (above)
from runtime.jobs import KEY_PREFIX
from worker.command import worker_command

REDIS_URL = os.environ.get("SILHOUETTE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def eval_python() -> Path:
    """The real-image evaluation environment's Python (``make eval-env``: MediaPipe, OpenCV 4's HOG).
    Tests that need it skip where it is missing, and fail instead where SILHOUETTE_EVAL_ENV=required
    (.ci/run builds it and sets that)."""
    if not EVAL_PYTHON.exists():
        message = f"{EVAL_PYTHON} is absent (make eval-env)"
        if os.environ.get("SILHOUETTE_EVAL_ENV") == "required":
            pytest.fail(message)
        pytest.skip(message)
    return EVAL_PYTHON


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as exc:  # a test that needs Redis must fail loudly, not skip
        pytest.fail(f"Redis does not answer at {REDIS_URL} ({exc}); .ci/run starts one")
    # The job store's keys start empty: a run killed halfway leaves its sites' jobs queued there, and
    # the next run's /adapt on the same site then answers that job (200) instead of starting one
    # (202). Seen on a developer machine whose Redis outlives the runs; CI's is fresh anyway. Only
    # the job store's own keys go (SILHOUETTE_TEST_REDIS_URL may name a database that holds more).
    stale = list(client.scan_iter(match=f"{KEY_PREFIX}:*"))
    if stale:
        client.delete(*stale)
    return REDIS_URL


@pytest.fixture
def celery_worker_process(redis_url):
    """A real ``celery worker`` process on a queue of its own; yields (app, queue)."""
    yield from start_worker(redis_url, {})


def start_worker(redis_url: str, extra_env: dict[str, str], queue: str | None = None):
    from runtime.celery_client import make_celery
    from runtime.settings import Settings

    queue = queue or f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "SILHOUETTE_REDIS_URL": redis_url, **extra_env}
    proc = subprocess.Popen(
        worker_command(queue),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the pool's children go down with it
    )
    app = make_celery(Settings(redis_url=redis_url))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"celery worker exited: {proc.stdout.read()}")
            if app.control.ping(destination=[f"{queue}@{os.uname().nodename}"], timeout=0.5):
                break
        else:
            pytest.fail("celery worker did not come up within 60 s")
        yield app, queue, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
