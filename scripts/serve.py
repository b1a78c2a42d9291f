"""Start the real service for a client in this process: the demo, benchmarks and tests.

with running_service(artifacts, free_port()) as url:
    httpx.post(f"{url}/v1/sites/lobby/pose", ...)
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from runtime.settings import Settings
from service.app import create_app

READY_POLLS = 600  # times READY_POLL_S: how long a service may take to export and load its model
READY_POLL_S = 0.2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_service(artifacts: Path, port: int, min_adapt_crops: int = 16) -> Iterator[str]:
    """The real app under uvicorn on a thread of this process (embedded mode); yields its URL.
    On the way out it waits for the app's own shutdown: an interpreter that exits while that
    thread still tears down ONNX Runtime and torch aborts ("terminate called without an active
    exception") and makes the demo fail after it has done its work."""
    os.environ["SILHOUETTE_ARTIFACT_DIR"] = str(artifacts)
    os.environ.pop("SILHOUETTE_REDIS_URL", None)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(Settings(min_adapt_crops=min_adapt_crops)), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(READY_POLLS):
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(READY_POLL_S)
        else:
            raise RuntimeError("the service did not become ready")
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=60)
