"""What the operator console shows of each site while it runs: its latest frame and answer, and
its recent rate of people and latency.

Every answered frame is recorded here (a reference to the decoded frame and its result, no copy:
recording costs next to nothing); the frame is drawn, meshes and track ids on it, only when the
console asks for it. Only the latest frame of each site is kept, in memory: like the crop buffer
it shows people, so it is never written anywhere.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from service.imaging import encode_jpeg
from service.overlay import draw_mesh, mesh_pixels
from service.pipeline import FrameResult

WINDOW_S = 10.0  # persons per second and latency are over the frames of the last WINDOW_S seconds
WINDOW_FRAMES = 1000  # at most this many frames of a site are remembered for them
DRAW_MIN_WIDTH = 480  # a smaller frame is enlarged (whole times) before drawing, so ids stay legible
MESH_COLOURS = ((80, 200, 255), (255, 140, 60), (120, 230, 120), (230, 110, 220), (250, 220, 80))  # by track id
JPEG_QUALITY = 85


@dataclass(frozen=True)
class SiteRates:
    persons_per_s: float
    frames_per_s: float
    latency_p50_ms: float | None  # decode to answer, in this process; None without recent frames
    last_frame_age_s: float | None  # None before the first frame


@dataclass
class _SiteLive:
    frame: np.ndarray | None = None
    result: FrameResult | None = None
    at: float = 0.0
    recent: deque[tuple[float, int, float]] | None = None  # (time, persons, latency ms)


class LiveView:
    """The latest frame and answer of every site, and a window of (time, persons, latency) per frame."""

    def __init__(self) -> None:
        self._sites: dict[str, _SiteLive] = {}
        self._lock = threading.Lock()

    def record(self, site: str, frame: np.ndarray, result: FrameResult, latency_ms: float) -> None:
        now = time.time()
        with self._lock:
            live = self._sites.setdefault(site, _SiteLive(recent=deque(maxlen=WINDOW_FRAMES)))
            live.frame, live.result, live.at = frame, result, now
            if live.recent is not None:
                live.recent.append((now, len(result.persons), latency_ms))

    def rates(self, site: str) -> SiteRates:
        now = time.time()
        with self._lock:
            live = self._sites.get(site)
            if live is None or live.recent is None:
                return SiteRates(0.0, 0.0, None, None)
            window = [r for r in live.recent if now - r[0] <= WINDOW_S]
            age = now - live.at
        if not window:
            return SiteRates(0.0, 0.0, None, age)
        # Over the window, or since the first frame in it when the site started less than a window ago.
        span = max(min(WINDOW_S, now - window[0][0]), 1.0)
        return SiteRates(
            persons_per_s=sum(r[1] for r in window) / span,
            frames_per_s=len(window) / span,
            latency_p50_ms=float(np.median([r[2] for r in window])),
            last_frame_age_s=age,
        )

    def latest(self, site: str) -> tuple[np.ndarray, FrameResult] | None:
        with self._lock:
            live = self._sites.get(site)
            if live is None or live.frame is None or live.result is None:
                return None
            return live.frame, live.result


def draw_frame(frame: np.ndarray, result: FrameResult, faces: np.ndarray) -> np.ndarray:
    """The frame (RGB) with every answered person's mesh, box and track id drawn on it."""
    scale = max(1, -(-DRAW_MIN_WIDTH // frame.shape[1]))  # ceil: whole times, so pixels stay square
    out = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST) if scale > 1 else frame
    for p in result.persons:
        colour = MESH_COLOURS[p.track_id % len(MESH_COLOURS)]
        out = draw_mesh(out, scale * mesh_pixels(p.vertices, p.camera, p.square), faces, colour)
        x0, y0, x1, y1 = (round(scale * v) for v in p.box)
        cv2.rectangle(out, (x0, y0), (x1, y1), colour, 1)
        label = f"#{p.track_id}"
        (w, h), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
        top = max(y0 - h - base - 2, 0)
        cv2.rectangle(out, (x0, top), (x0 + w + 4, top + h + base + 2), colour, -1)
        cv2.putText(out, label, (x0 + 2, top + h + 1), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return out


def frame_jpeg(frame: np.ndarray, result: FrameResult, faces: np.ndarray) -> bytes:
    return encode_jpeg(draw_frame(frame, result, faces), JPEG_QUALITY)
