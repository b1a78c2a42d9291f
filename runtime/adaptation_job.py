"""One adaptation job, the same code in the embedded executor and in a Celery worker.

Reads the site's buffer snapshot, adapts the site's active model on the first 70% (in time),
scores old and new on the last 30% with the unsupervised health score, and writes and
activates a new version only when it explains the held-out silhouettes better. Whatever
happens (failure, cancellation, a worse model) the active version and the history stay as
they were; the snapshot is deleted in every case.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np

from models.atomic import atomic_path
from models.target_data import TargetSet
from runtime.jobs import SHUTDOWN, TERMINAL, JobStore, store_away
from runtime.model_store import ModelStore

log = logging.getLogger(__name__)
HELD_OUT_FRACTION = 0.3
STORE_PATIENCE_S = 300.0  # how long a finished job waits for the job store to come back


def patiently(call, what: str, patience_s: float = STORE_PATIENCE_S):
    """``call()``, retried while the job store is away: a job's outcome must outlive a Redis restart."""
    deadline = time.monotonic() + patience_s
    delay = 0.2
    while True:
        try:
            return call()
        except Exception as exc:
            if not store_away(exc) or time.monotonic() > deadline:
                raise
            log.warning("job store away while %s (%s); retrying", what, type(exc).__name__)
            time.sleep(delay)
            delay = min(2 * delay, 5.0)


def tolerant(call, default=None):
    """``call()``, or ``default`` while the job store is away: progress and cancellation polls
    must not kill a long adaptation over a broker blip."""
    try:
        return call()
    except Exception as exc:
        if not store_away(exc):
            raise
        return default


def save_snapshot(path: Path, target) -> None:
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(
            tmp,
            images=target.images,
            silhouettes=target.silhouettes,
            frame_index=target.frame_index,
            squares=target.squares,
            approach=target.approach,
        )


def load_snapshot(path: Path):
    with np.load(path) as f:
        # approach: absent from snapshots written before the walk was kept (all unknown then)
        return TargetSet(**{k: f[k] for k in ("images", "silhouettes", "frame_index", "squares", "approach") if k in f})


class Heartbeat:
    """Beats for a job from a thread of its own, so a slow iteration never looks like a dead worker."""

    def __init__(self, jobs: JobStore, job_id: str, every_s: float = 1.0):
        self._stop = threading.Event()

        def loop():
            while not self._stop.is_set():
                try:
                    jobs.beat(job_id)
                except Exception:  # noqa: BLE001 - a missed beat is not worth killing the job
                    log.warning("heartbeat for job %s failed", job_id)
                self._stop.wait(every_s)

        self._thread = threading.Thread(target=loop, name=f"beat-{job_id[:8]}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def stopped(jobs: JobStore, job_id: str, reason: str | None, iterations_done: int) -> dict:
    """Record a job stopped before its end: cancelled by a user, or interrupted by a worker shutdown."""
    outcome = {"state": "cancelled"}
    if reason == SHUTDOWN:
        outcome = {
            "state": "failed",
            "error": "interrupted: the worker was shut down before the job finished "
            "(nothing was written); POST /adapt again",
        }
    patiently(
        lambda: jobs.update(job_id, **outcome, result={"activated": False, "iterations_done": iterations_done}),
        f"recording that the job {outcome['state']}",
    )
    return outcome


def run_adaptation_job(
    job_id: str, site: str, config: dict, store: ModelStore, jobs: JobStore, body_model_path: Path | None = None
) -> dict:
    # Torch loads here, in the process that runs the job: a Celery worker's parent imports this
    # module and must never initialise CUDA before it forks.
    from models.adaptation import AdaptConfig, adapt
    from models.body_model import load_body_model
    from models.regressor import load_regressor

    snapshot = store.snapshot_path(site, job_id)
    heart = None
    try:
        record = jobs.get(job_id)
        if record is not None and record.state in TERMINAL:
            # A redelivered task whose job was already declared over (e.g. failed as "worker lost").
            return {"state": record.state}
        reason = jobs.cancel_reason(job_id)
        if reason is not None:
            return stopped(jobs, job_id, reason, 0)
        jobs.update(job_id, state="running", progress={"iteration": 0, "iterations": config.get("iterations")})
        heart = Heartbeat(jobs, job_id)
        target = load_snapshot(snapshot)
        train, held_out = target.split(1.0 - HELD_OUT_FRACTION)
        if len(train) == 0 or len(held_out) == 0:
            raise ValueError("the buffer spans too little time to hold frames out for scoring")
        parent = store.active(site)
        regressor = load_regressor(store.checkpoint(site, parent), load_body_model(body_model_path))
        cfg = AdaptConfig(**config)
        last = [0.0]

        def progress(p) -> None:
            if time.monotonic() - last[0] > 0.5 or p.iteration == p.iterations:
                last[0] = time.monotonic()
                tolerant(
                    lambda: jobs.update(
                        job_id,
                        progress={
                            "iteration": p.iteration,
                            "iterations": p.iterations,
                            "losses": p.losses,
                            "elapsed_s": round(p.elapsed_s, 2),
                            "remaining_s": round(p.remaining_s, 2),
                        },
                    )
                )

        result = adapt(
            regressor,
            train,
            cfg,
            held_out=held_out,
            progress=progress,
            should_stop=lambda: tolerant(lambda: jobs.cancel_reason(job_id) is not None, False),
            flip_average=store.flip_average,  # the gate judges the model as the site will be served it
        )
        report = result.report
        if report.cancelled:
            return stopped(jobs, job_id, tolerant(lambda: jobs.cancel_reason(job_id)), report.iterations_done)
        before, after = report.health_before, report.health_after
        if before is None or after is None:  # adapt() scores both whenever held_out is non-empty
            raise RuntimeError("adaptation returned no health scores for the held-out crops")
        summary = {
            "parent": parent,
            "health_before": before.as_dict(),
            "health_after": after.as_dict(),
            "train_crops": len(train),
            "held_out_crops": len(held_out),
            "wall_s": round(report.wall_s, 2),
            "ms_per_fit_iteration": report.ms_per_fit_iteration,
            "config": report.config,
            "activated": False,
            "version": None,
        }
        # Every adapted model is kept as a version; only one the gate passes is served. A refused one
        # stays for the operator to look at and, knowingly, to activate (the console's Activate button).
        slim = {k: v for k, v in report.as_dict().items() if k != "history"}
        version = store.write_version(site, result.regressor, parent, after.as_dict(), slim)
        summary["version"] = version.id
        if not after.beats(before):
            summary["reason"] = (
                "the adapted model does not explain the held-out silhouettes better: kept, not activated"
            )
        elif store.active(site) == parent:  # another job may have activated something meanwhile
            store.activate(site, version.id)
            summary["activated"] = True
        patiently(lambda: jobs.update(job_id, state="succeeded", result=summary), "recording the result")
        return summary
    except Exception as exc:
        log.exception("adaptation job %s for site %s failed", job_id, site)
        error = f"{type(exc).__name__}: {exc}"
        patiently(lambda: jobs.update(job_id, state="failed", error=error), "recording the failure")
        return {"state": "failed", "error": str(exc)}
    finally:
        if heart is not None:
            heart.stop()
        snapshot.unlink(missing_ok=True)
        patiently(lambda: jobs.unlock_site(site, job_id), "unlocking the site")
