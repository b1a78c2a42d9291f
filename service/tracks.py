"""Each site's recent answers per track, kept for exports (``GET /v1/sites/{site}/tracks/...``).

Each :class:`service.sites.Site` holds a :class:`TrackHistory` beside its crop buffer, and
:func:`service.pipeline.process_frame` records every answered person in it, so ``/pose``,
``/pose/batch``, the WebSocket stream and the offline command all feed it. A person's body frame
by frame is personal data: the history is bounded in frames per track, tracks per site, bytes per
site and age, and is forgotten with the site's buffer.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from runtime.settings import Settings
from runtime.site_ids import check_site_id
from service.errors import BadRequest, NotFound

if TYPE_CHECKING:  # the pipeline and the sites hold a history: imported for the types only
    from service.pipeline import FrameResult, PersonResult
    from service.sites import SiteRegistry


@dataclass(frozen=True)
class TrackLimits:
    max_frames: int  # per track, the most recent kept
    max_tracks: int  # per site, the least recently seen go first
    max_bytes: int  # per site, the oldest frames go first
    max_age_s: float

    @classmethod
    def of(cls, settings: Settings) -> TrackLimits:
        return cls(
            settings.track_max_frames, settings.track_max_tracks, settings.track_max_bytes, settings.track_max_age_s
        )


@dataclass(frozen=True)
class TrackFrame:
    """One person in one frame, as it was answered (copies: no view keeps a whole batch alive)."""

    frame_index: int
    time: float  # unix seconds when it was answered
    model_version: str
    image_size: tuple[int, int]  # (width, height) of the frame in pixels
    box: np.ndarray  # (4,) float32 x0, y0, x1, y1, frame pixels
    square: np.ndarray  # (3,) float64 the crop (cx, cy, side), frame pixels
    pose: np.ndarray  # (72,) float32 SMPL θ, axis-angle, root first
    betas: np.ndarray  # (10,) float32
    camera: np.ndarray  # (3,) float32 crop weak perspective (s, t_x, t_y)
    joints: np.ndarray  # (24, 3) float32 root-centred, metres, camera axes (x right, y down, z forward)
    joints_2d: np.ndarray  # (24, 2) float32 frame pixels
    vertices: np.ndarray  # (V, 3) float16, like joints: the precision /pose serves them in
    silhouette_iou: float  # the mesh's IoU with the person's silhouette as served; NaN where not fitted

    @classmethod
    def of(cls, p: PersonResult, frame_index: int, now: float, version: str, image_size: tuple[int, int]) -> TrackFrame:
        return cls(
            frame_index=frame_index,
            time=now,
            model_version=version,
            image_size=image_size,
            box=np.array(p.box, np.float32),
            square=np.array(p.square, np.float64),
            pose=np.array(p.pose, np.float32),
            betas=np.array(p.betas, np.float32),
            camera=np.array(p.camera, np.float32),
            joints=np.array(p.joints, np.float32),
            joints_2d=np.array(p.joints_2d, np.float32),
            vertices=np.asarray(p.vertices).astype(np.float16),
            silhouette_iou=float("nan") if p.silhouette_iou is None else float(p.silhouette_iou),
        )

    @property
    def nbytes(self) -> int:
        arrays = (self.box, self.square, self.pose, self.betas, self.camera, self.joints, self.joints_2d, self.vertices)
        return sum(a.nbytes for a in arrays)


@dataclass(frozen=True)
class TrackSummary:
    track_id: int
    frames: int
    first_frame: int
    last_frame: int
    first_time: float
    last_time: float


class TrackHistory:
    """One site's tracks: per track id its frames in arrival order, bounded by ``limits``; thread-safe
    (requests of one site record concurrently)."""

    def __init__(self, limits: TrackLimits):
        self.limits = limits
        self.tracks: dict[int, deque[TrackFrame]] = {}
        self.nbytes = 0
        self._lock = threading.Lock()

    def record(self, result: FrameResult, image_size: tuple[int, int], now: float | None = None) -> None:
        """Keep every person of an answered frame, answered at ``now`` (unix seconds; unset: now);
        ``image_size`` is the frame's (width, height)."""
        now = time.time() if now is None else now
        with self._lock:
            for p in result.persons:
                self._add(TrackFrame.of(p, result.frame_index, now, result.model_version, image_size), p.track_id)
            self._evict(now)

    def _add(self, frame: TrackFrame, track_id: int) -> None:
        ring = self.tracks.setdefault(track_id, deque())
        ring.append(frame)
        self.nbytes += frame.nbytes
        while len(ring) > self.limits.max_frames:
            self.nbytes -= ring.popleft().nbytes

    def _evict(self, now: float) -> None:
        limits = self.limits
        for ring in self.tracks.values():
            while ring and now - ring[0].time > limits.max_age_s:
                self.nbytes -= ring.popleft().nbytes
        while self.nbytes > limits.max_bytes:
            # The track whose oldest frame is the oldest of all gives it up.
            oldest = min((r for r in self.tracks.values() if r), key=lambda r: r[0].time)
            self.nbytes -= oldest.popleft().nbytes
        for tid in [t for t, r in self.tracks.items() if not r]:
            del self.tracks[tid]
        while len(self.tracks) > limits.max_tracks:
            stale = min(self.tracks, key=lambda t: self.tracks[t][-1].time)
            self.nbytes -= sum(f.nbytes for f in self.tracks.pop(stale))

    def summaries(self) -> list[TrackSummary]:
        """The kept tracks, by id."""
        with self._lock:
            self._evict(time.time())
            return [
                TrackSummary(
                    track_id=tid,
                    frames=len(r),
                    first_frame=min(f.frame_index for f in r),
                    last_frame=max(f.frame_index for f in r),
                    first_time=r[0].time,
                    last_time=r[-1].time,
                )
                for tid, r in sorted(self.tracks.items())
            ]

    def frames(self, track_id: int) -> list[TrackFrame] | None:
        """One track's frames (arrival order), None if it is not kept."""
        with self._lock:
            self._evict(time.time())
            ring = self.tracks.get(track_id)
            return None if ring is None else list(ring)

    def clear(self) -> int:
        """Forget every track; returns how many frames there were."""
        with self._lock:
            n = sum(len(r) for r in self.tracks.values())
            self.tracks.clear()
            self.nbytes = 0
            return n


def select(
    frames: list[TrackFrame],
    start: int | None = None,
    end: int | None = None,
    since: float | None = None,
    until: float | None = None,
) -> list[TrackFrame]:
    """The frames with ``start <= frame_index <= end`` and ``since <= time <= until`` (each bound optional),
    in frame order. :class:`BadRequest` for a reversed range or one that holds none of the frames."""
    if start is not None and end is not None and start > end:
        raise BadRequest(f"start={start} is after end={end}")
    if since is not None and until is not None and since > until:
        raise BadRequest(f"since={since} is after until={until}")
    ordered = sorted(frames, key=lambda f: f.frame_index)
    chosen = [
        f
        for f in ordered
        if (start is None or f.frame_index >= start)
        and (end is None or f.frame_index <= end)
        and (since is None or f.time >= since)
        and (until is None or f.time <= until)
    ]
    if not chosen:
        held = (
            f"frames {ordered[0].frame_index}-{ordered[-1].frame_index}, "
            f"times {ordered[0].time:.3f}-{ordered[-1].time:.3f}"
            if ordered
            else "no frames"
        )
        asked = ", ".join(
            f"{k}={v}" for k, v in (("start", start), ("end", end), ("since", since), ("until", until)) if v is not None
        )
        raise BadRequest(f"the range {asked} holds none of the track's frames (it has {held})")
    return chosen


class TrackRegistry:
    """The sites' histories looked up by site id, with the errors the API answers."""

    def __init__(self, sites: SiteRegistry):
        self._sites = sites

    def _history(self, site_id: str) -> TrackHistory:
        site = self._sites.find(check_site_id(site_id))
        if site is None or site.tracks is None:
            raise NotFound(f"no site {site_id} in this process: send it frames first")
        return site.tracks

    def summaries(self, site_id: str) -> list[TrackSummary]:
        """The site's tracks, by id; :class:`NotFound` for a site this process has no frames of."""
        return self._history(site_id).summaries()

    def frames(self, site_id: str, track_id: int) -> list[TrackFrame]:
        """One track's frames (arrival order); :class:`NotFound` for an unknown site or track."""
        history = self._history(site_id)
        frames = history.frames(track_id)
        if frames is None:
            known = ", ".join(str(t.track_id) for t in history.summaries()) or "none"
            raise NotFound(f"site {site_id} has no track {track_id} (tracks kept: {known})")
        return frames

    def clear(self, site_id: str) -> int:
        """Forget a site's tracks; returns how many frames there were."""
        site = self._sites.find(check_site_id(site_id))
        return site.tracks.clear() if site is not None and site.tracks is not None else 0
