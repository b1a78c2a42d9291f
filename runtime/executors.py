"""Where adaptation jobs run: on a thread of this process, or on Celery workers.

EmbeddedExecutor(run)          no Redis configured: one job at a time on a thread (the laptop mode)
CeleryExecutor(settings)       jobs go to the workers' queue through the Redis broker
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from runtime.celery_client import ADAPT_TASK, make_celery
from runtime.jobs import JobRecord
from runtime.settings import Settings


class Executor(Protocol):
    def submit(self, job: JobRecord) -> None: ...
    def backlog(self) -> tuple[int, str | None]: ...
    def shutdown(self) -> None: ...


class EmbeddedExecutor:
    """Runs jobs one at a time on a thread of this process."""

    def __init__(self, run: Callable[[str, str, dict], object]):
        self._run = run
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="adapt")

    def submit(self, job: JobRecord) -> None:
        self._pool.submit(self._run, job.id, job.site, job.config)

    def backlog(self) -> tuple[int, str | None]:
        """(jobs waiting, the oldest one's id): a thread of this process takes them; none wait unseen."""
        return 0, None

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class CeleryExecutor:
    def __init__(self, settings: Settings):
        self.app = make_celery(settings)
        self.queue = settings.adapt_queue

    def submit(self, job: JobRecord) -> None:
        self.app.send_task(ADAPT_TASK, args=[job.id, job.site, job.config], queue=self.queue, task_id=job.id)

    def backlog(self) -> tuple[int, str | None]:
        """(messages waiting in the queue, the oldest one's job id), read from the broker itself.

        Kombu's Redis transport keeps a queue as a list, pushed on the left and popped on the
        right, each message a JSON envelope whose headers carry the task id (our job id)."""
        with self.app.connection_for_write() as conn:
            client = conn.default_channel.client
            waiting = int(client.llen(self.queue))
            oldest = client.lindex(self.queue, -1) if waiting else None
        if oldest is None:
            return waiting, None
        try:
            return waiting, json.loads(oldest)["headers"]["id"]
        except (ValueError, KeyError, TypeError):
            return waiting, None

    def shutdown(self) -> None:
        pass
