"""The Celery application: Redis broker and result backend, settings from the environment.

    celery -A worker.celery_app worker --concurrency 1

The worker's parent process must never initialise CUDA (a forked child cannot use a CUDA
context made before the fork), so this module imports no torch; tasks import it themselves.
"""
from __future__ import annotations

import os

from celery import Celery

from service.settings import get_settings


def make_celery(redis_url: str | None = None) -> Celery:
    settings = get_settings()
    url = redis_url or settings.redis_url or "redis://127.0.0.1:6379/0"
    app = Celery("silhouette_adapt", broker=url, backend=url, include=["worker.tasks"])
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # A fresh child per job hands GPU memory back after every adaptation.
        worker_max_tasks_per_child=1,
        # Redis re-delivers unacknowledged tasks after this long: it must outlast the longest job,
        # or a long adaptation would run twice.
        broker_transport_options={"visibility_timeout": settings.max_job_seconds + 600},
        result_backend_transport_options={"visibility_timeout": settings.max_job_seconds + 600},
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
    )
    return app


app = make_celery(os.environ.get("SILHOUETTE_REDIS_URL"))
