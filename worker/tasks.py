"""Worker tasks: ``adapt_site`` runs one adaptation job; ``ping`` reports a worker's state.

Torch is imported inside the tasks, in the pool's child process, never in the parent."""
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


@app.task(name="worker.adapt_site")
def adapt_site(job_id: str, site: str, config: dict) -> dict:
    from service.adaptation_job import run_adaptation_job
    from service.jobs import RedisJobStore
    from service.model_store import ModelStore
    from service.settings import Settings

    settings = Settings()
    store = ModelStore(settings.artifact_dir, settings.source_checkpoint)
    jobs = RedisJobStore(settings.redis_url or "redis://127.0.0.1:6379/0", settings.max_job_seconds + 600)
    return run_adaptation_job(job_id, site, config, store, jobs, settings.body_model_path)
