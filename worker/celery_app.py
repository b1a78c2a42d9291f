"""The workers' Celery application: Redis broker and result backend, settings from the environment.

    celery -A worker.celery_app worker -Q adapt --concurrency 1

The worker's parent process must never initialise CUDA (a forked child cannot use a CUDA
context made before the fork), so nothing imported here imports torch; the adaptation job
imports it in the pool's child, when it runs.
"""

from __future__ import annotations

import logging

from celery.signals import worker_shutting_down
from celery.worker import state

from runtime.celery_client import ADAPT_TASK, make_celery
from runtime.jobs import SHUTDOWN, RedisJobStore
from runtime.settings import get_settings

log = logging.getLogger(__name__)
app = make_celery(get_settings(), include=("worker.tasks",))


@worker_shutting_down.connect
def interrupt_running_jobs(sig=None, how=None, exitcode=None, **_) -> None:
    """On SIGTERM (warm shutdown) Celery waits for running tasks, but an adaptation can take longer
    than any grace period. Ask each running job to stop at its next iteration instead: it records
    itself as interrupted, writes nothing, unlocks its site, and the worker exits cleanly."""
    settings = get_settings()
    jobs = RedisJobStore(settings.broker_url, settings.job_lock_ttl_s)
    for request in list(state.active_requests):
        if request.name == ADAPT_TASK:
            try:
                jobs.request_cancel(request.id, SHUTDOWN)
            except Exception:  # noqa: BLE001 - Redis away: the job's silence will be noticed instead
                log.warning("could not ask job %s to stop (job store away)", request.id)
