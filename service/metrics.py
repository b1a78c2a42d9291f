"""Prometheus metrics of one API process."""
from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

CONTENT_TYPE = CONTENT_TYPE_LATEST
REGISTRY = CollectorRegistry()
REQUEST_LATENCY = Histogram("pose_request_seconds", "Time to answer a pose request", ["route"], registry=REGISTRY,
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
PERSONS = Counter("pose_persons_total", "People found in frames", registry=REGISTRY)
STREAM_DROPPED = Counter("stream_frames_dropped_total", "Stream frames dropped under backpressure", registry=REGISTRY)
LOADED = Gauge("models_loaded", "ONNX sessions in memory", registry=REGISTRY)
SWAPS = Gauge("model_swaps", "Hot swaps since start", registry=REGISTRY)


def render(service) -> bytes:
    LOADED.set(service.server.loaded_versions())
    SWAPS.set(service.server.swaps)
    return generate_latest(REGISTRY)
