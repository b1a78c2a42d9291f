"""Worker tasks. Adaptation arrives with the adaptation engine; ``ping`` reports a worker's state."""
from __future__ import annotations

import os
import sys

from worker.celery_app import app


@app.task(name="worker.ping")
def ping() -> dict:
    """Which process answered, and whether torch (and CUDA) were touched in it."""
    torch = sys.modules.get("torch")
    return {
        "pid": os.getpid(),
        "parent_pid": os.getppid(),
        "torch_imported": torch is not None,
        "cuda_initialized": bool(torch is not None and torch.cuda.is_initialized()),
    }
