"""The real service, driven over HTTP for the real-footage benchmarks: started under uvicorn in a
subprocess (embedded mode, no Redis, a temporary artifact directory), frames posted to ``/pose``."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.footage_io import ROOT

log = logging.getLogger(__name__)

POSE_PARAMS = {"vertices": "false", "buffer": "false"}
READY_TIMEOUT_S = 300.0
REQUEST_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


DROPPED_ENV = ("SILHOUETTE_REDIS_URL", "SILHOUETTE_API_KEY")  # the benchmark's service runs embedded, open


def service_overrides(artifacts: Path, warmup_frames: int, method: str = "mog2") -> dict[str, str]:
    """What the benchmark sets in the service's environment, whatever this process's says."""
    return {
        "SILHOUETTE_ARTIFACT_DIR": str(artifacts),
        "SILHOUETTE_WARMUP_FRAMES": str(warmup_frames),
        "SILHOUETTE_BACKGROUND_METHOD": method,
        "SILHOUETTE_REQUIRE_API_KEY": "false",
        "PYTHONPATH": str(ROOT),
    }


def service_env(artifacts: Path, warmup_frames: int, method: str = "mog2") -> dict[str, str]:
    """The environment of the service process: embedded mode (no Redis, no API key), CPU ONNX provider."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    return env | service_overrides(artifacts, warmup_frames, method)


def given_settings() -> str:
    """The service settings this process passes on from its environment (``SILHOUETTE_*``, less
    those :func:`service_env` replaces), as a shell prefix for a run's recorded command: a run made
    with a setting changed says so."""
    replaced = (*DROPPED_ENV, *service_overrides(Path(), 0))
    given = sorted((k, v) for k, v in os.environ.items() if k.startswith("SILHOUETTE_") and k not in replaced)
    return "".join(f"{k}={shlex.quote(v)} " for k, v in given)


@contextmanager
def running_service(warmup_frames: int, artifacts: Path | None = None, method: str = "mog2") -> Iterator[str]:
    """``uvicorn service.app:create_app --factory`` in a subprocess on a free local port; yields its
    URL once /readyz answers 200, and stops it on the way out."""
    from scripts.serve import free_port  # here, not above: scripts.serve imports the app and uvicorn

    with tempfile.TemporaryDirectory(prefix="real-footage-") as tmp:
        artifacts = artifacts or Path(tmp) / "artifacts"
        port = free_port()
        log_path = Path(tmp) / "service.log"
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "service.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        with open(log_path, "wb") as service_log:
            proc = subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=service_env(artifacts, warmup_frames, method),
                stdout=service_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, proc, log_path)
            log.info("service ready at %s (pid %d)", url, proc.pid)
            yield url
        finally:
            stop(proc)


def wait_ready(url: str, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the service exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the service was not ready in {READY_TIMEOUT_S:.0f} s: {log_path.read_text()[-2000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def post_frame(client: httpx.Client, site: str, data: bytes, encoding: str) -> tuple[dict, float]:
    """One encoded frame to /pose -> (the JSON answer, the round trip in ms)."""
    t = time.perf_counter()
    r = client.post(
        f"/v1/sites/{site}/pose", params=POSE_PARAMS, content=data, headers={"content-type": f"image/{encoding}"}
    )
    ms = 1000 * (time.perf_counter() - t)
    r.raise_for_status()
    return r.json(), ms
