"""Prometheus metrics, correct with several API processes.

With ``PROMETHEUS_MULTIPROC_DIR`` set (the compose file sets it for uvicorn's workers), every
process writes its values to files there and ``/metrics`` sums them, whichever process answers;
without it, the metrics live in this process's registry.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
REGISTRY = CollectorRegistry()
_registry = None if MULTIPROCESS else REGISTRY  # multiprocess values live in files, collected when rendered

REQUEST_LATENCY = Histogram(
    "pose_request_seconds",
    "Time to answer a pose request",
    ["route"],
    registry=_registry,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
PERSONS = Counter("pose_persons_total", "People found in frames", registry=_registry)
STREAM_DROPPED = Counter("stream_frames_dropped_total", "Stream frames dropped under backpressure", registry=_registry)
LOADED = Gauge("models_loaded", "ONNX sessions in memory", registry=_registry, multiprocess_mode="livesum")
SWAPS = Gauge("model_swaps", "Hot swaps since start", registry=_registry, multiprocess_mode="livesum")
# The queue is one for all processes: the latest reading is the truth, not a sum over processes.
QUEUE_WAITING = Gauge(
    "adapt_queue_waiting",
    "Adaptation jobs waiting for a worker",
    registry=_registry,
    multiprocess_mode="livemostrecent",
)
QUEUE_OLDEST = Gauge(
    "adapt_queue_oldest_seconds",
    "How long the oldest waiting adaptation job has waited",
    registry=_registry,
    multiprocess_mode="livemostrecent",
)


def render(service) -> bytes:
    LOADED.set(service.server.loaded_versions())
    SWAPS.set(service.server.swaps)
    try:
        queue = service.queue_report()
        QUEUE_WAITING.set(queue["waiting"])
        QUEUE_OLDEST.set(queue["oldest_waiting_s"])
    except Exception:  # noqa: BLE001 - the broker may be away; the other metrics still render
        pass
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)
