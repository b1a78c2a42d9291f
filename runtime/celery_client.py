"""The Celery application factory, shared by the API (which sends tasks) and the workers (which
run them). It imports no torch: a worker's parent process must never initialise CUDA (a forked
child cannot use a CUDA context made before the fork).

    app = make_celery(settings)                                   # the API: send only
    app = make_celery(settings, include=("worker.tasks",))        # the worker: register the tasks
"""

from __future__ import annotations

from collections.abc import Sequence

from celery import Celery

from runtime.settings import Settings

ADAPT_TASK = "worker.adapt_site"  # (job_id, site, config) -> summary dict
PING_TASK = "worker.ping"


def make_celery(settings: Settings, include: Sequence[str] = ()) -> Celery:
    url = settings.broker_url
    app = Celery("silhouette_adapt", broker=url, backend=url, include=list(include))
    visibility = {"visibility_timeout": settings.job_lock_ttl_s}
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # A fresh child per job hands GPU memory back after every adaptation.
        worker_max_tasks_per_child=1,
        # Redis re-delivers unacknowledged tasks after the visibility timeout: it must outlast the
        # longest job, or a long adaptation would run twice.
        broker_transport_options=visibility,
        result_backend_transport_options=visibility,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
    )
    return app
