"""Shared pieces of the service tests: a small source checkpoint and a tiny rendered site."""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import torch

from models.body_model import load_body_model
from models.regressor import PoseRegressor, RegressorConfig, load_regressor, save_regressor
from models.synth.camera_site import SiteConfig, make_site
from runtime.settings import SHIPPED_CHECKPOINT, Settings
from scripts.serve import free_port
from service.imaging import encode_jpeg


def tiny_checkpoint(path: Path) -> Path:
    """A 64-px regressor with an untrained CNN and the shipped prior decoder Psi: quick to export and
    to adapt, and it starts from the mean body, so adaptation visibly helps it."""
    torch.manual_seed(0)
    body = load_body_model()
    decoder = load_regressor(SHIPPED_CHECKPOINT, body).decoder
    save_regressor(PoseRegressor(RegressorConfig(image_size=64), body, decoder), path)
    return path


def small_service_settings(root: Path, api_key: str, **overrides) -> Settings:
    """A service on a tiny model, its artifacts under ``root``: 5 warm-up frames, models polled every 50 ms."""
    fields = {
        "source_checkpoint": tiny_checkpoint(root / "source.pt"),
        "artifact_dir": root / "artifacts",
        "warmup_frames": 5,
        "api_key": api_key,
        "model_poll_s": 0.05,
    }
    return Settings(**{**fields, **overrides})


def site_jpegs(frames: int = 40, seed: int = 3) -> list[bytes]:
    site = make_site(SiteConfig(width=160, height=120, focal=190.0, frames=frames, seed=seed), progress=False)
    return [encode_jpeg(f) for f in site.frames]


def wait_for_job(client, job_id: str, timeout: float = 300.0, headers: dict | None = None) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}", headers=headers or {}).json()
        if job["state"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s: {job}")


def wait_running(client, job_id: str, min_iteration: int = 2, timeout: float = 120.0) -> dict:
    """Wait until a job runs and has done ``min_iteration`` iterations (it is really adapting)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["state"] == "running" and (job.get("progress") or {}).get("iteration", 0) >= min_iteration:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} was not running after {timeout} s: {job}")


@contextmanager
def uvicorn_server(env: dict[str, str], *args: str, stdout=None, timeout: float = 180.0):
    """A real ``uvicorn service.app:app`` process on a free port (extra CLI ``args``); yields its
    URL once /readyz answers 200, and stops it afterwards."""
    import httpx
    import pytest

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "service.app:app", "--port", str(port), *args],
        env=env,
        stdout=stdout,
        stderr=subprocess.STDOUT if stdout else None,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail(f"uvicorn {' '.join(args)} did not become ready")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
