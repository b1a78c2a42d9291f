"""The Celery application: Redis broker and result backend, settings from the environment.

    celery -A worker.celery_app worker --concurrency 1

The worker's parent process must never initialise CUDA (a forked child cannot use a CUDA
context made before the fork), so this module imports no torch; tasks import it themselves.
"""
from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_shutting_down

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


@worker_shutting_down.connect
def interrupt_running_jobs(sig=None, how=None, exitcode=None, **_) -> None:
    """On SIGTERM (warm shutdown) Celery waits for running tasks, but an adaptation can take longer
    than any grace period. Ask each running job to stop at its next iteration instead: it records
    itself as interrupted, writes nothing, unlocks its site, and the worker exits cleanly."""
    from celery.worker import state

    from service.jobs import SHUTDOWN, RedisJobStore

    settings = get_settings()
    jobs = RedisJobStore(app.conf.broker_url or settings.redis_url, settings.max_job_seconds + 600)
    for request in list(state.active_requests):
        if request.name == "worker.adapt_site":
            try:
                jobs.request_cancel(request.id, SHUTDOWN)
            except Exception:  # noqa: BLE001 - Redis away: the job's silence will be noticed instead
                pass
