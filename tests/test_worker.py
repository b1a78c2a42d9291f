"""The Celery app against a real Redis and a real worker process."""

import os


def test_a_real_worker_answers_through_redis(celery_worker_process):
    app, queue, _ = celery_worker_process
    result = app.send_task("worker.ping", queue=queue).get(timeout=30)
    assert result["pid"] != os.getpid()
    # prefork: the task ran in a child of the worker's parent process, which imported no torch
    assert result["cuda_initialized"] is False


def test_worker_settings_guard_long_jobs():
    from runtime.celery_client import make_celery
    from runtime.settings import Settings, get_settings

    app = make_celery(Settings(redis_url="redis://127.0.0.1:6379/15"))
    conf = app.conf
    assert conf.task_acks_late and conf.worker_prefetch_multiplier == 1
    assert conf.worker_max_tasks_per_child == 1
    assert conf.broker_transport_options["visibility_timeout"] > get_settings().max_job_seconds
