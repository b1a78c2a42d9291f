"""Worker tasks, thin: ``adapt_site`` runs one adaptation job (:mod:`runtime.adaptation_job`);
``ping`` reports a worker's state. Torch is imported by the job, in the pool's child process,
never in the parent."""

from __future__ import annotations

import os
import sys

from runtime.adaptation_job import run_adaptation_job
from runtime.celery_client import ADAPT_TASK, PING_TASK
from runtime.jobs import RedisJobStore
from runtime.model_store import ModelStore
from runtime.settings import get_settings
from worker.celery_app import app


@app.task(name=PING_TASK)
def ping() -> dict:
    """Which process answered, and whether torch (and CUDA) were touched in it."""
    torch = sys.modules.get("torch")
    return {
        "pid": os.getpid(),
        "parent_pid": os.getppid(),
        "torch_imported": torch is not None,
        "cuda_initialized": bool(torch is not None and torch.cuda.is_initialized()),
    }


@app.task(name=ADAPT_TASK)
def adapt_site(job_id: str, site: str, config: dict) -> dict:
    settings = get_settings()
    store = ModelStore(settings.artifact_dir, settings.source_checkpoint, settings.flip_average)
    jobs = RedisJobStore(settings.broker_url, settings.job_lock_ttl_s)
    return run_adaptation_job(job_id, site, config, store, jobs, settings.body_model_path)
