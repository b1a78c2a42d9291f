"""The command line of one worker process, for the tests and benchmarks that start real workers.

    subprocess.Popen(worker_command("adapt-test"), env=env)

The deployment's own (docker-compose.yml, the Dockerfile) spells the same options out, as the
exec form there must; these are the ones a short-lived local worker needs on top: a name of its own
and no gossip or mingle with other workers on the same broker.
"""

from __future__ import annotations

import sys


def worker_command(queue: str, loglevel: str = "WARNING") -> list[str]:
    """argv of a ``celery worker`` of :mod:`worker.celery_app` consuming ``queue`` alone: one
    prefork child (the engine takes the whole device), named after its queue."""
    if not queue:
        raise ValueError(f"queue={queue!r}: a worker needs a queue to consume")
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "worker.celery_app",
        "worker",
        "--concurrency",
        "1",
        "--pool",
        "prefork",
        "-Q",
        queue,
        "--loglevel",
        loglevel,
        "--without-gossip",
        "--without-mingle",
        "-n",
        f"{queue}@%h",
    ]
