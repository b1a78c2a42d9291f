"""Camera sites: each keeps its own background model and a bounded buffer of person crops.

Site ids are checked (:mod:`runtime.site_ids`) before a site is made or looked up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import get_args

import numpy as np

from models.camera_tilt import check_tilt
from models.detail import SiteDetail
from models.heading import UNKNOWN
from models.people.finder import FinderConfig, PersonFinder
from models.people.foreground import Subtractor
from models.target_data import TargetSet
from runtime.site_ids import check_site_id
from service.tracks import TrackHistory, TrackLimits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BufferLimits:
    """A site's buffer holds people's images, which are personal data: bounded in count, bytes and age."""

    max_crops: int
    max_bytes: int
    max_age_s: float


@dataclass
class BufferedCrop:
    time: float
    frame_index: int
    image: np.ndarray  # (S, S, 3) uint8
    silhouette: np.ndarray  # (s, s) bool
    square: tuple[float, float, float]
    approach: int = UNKNOWN  # the person's walk, TOWARDS the camera, AWAY or UNKNOWN (models.heading)

    @property
    def nbytes(self) -> int:
        return self.image.nbytes + self.silhouette.nbytes


class CropBuffer:
    """The crops a site's adaptation learns from, bounded by count, bytes and age (oldest go first)."""

    def __init__(self, limits: BufferLimits):
        self.limits = limits
        self._items: deque[BufferedCrop] = deque()
        self._bytes = 0
        self._lock = threading.Lock()

    def add(self, item: BufferedCrop) -> None:
        with self._lock:
            self._items.append(item)
            self._bytes += item.nbytes
            self._evict(time.time())

    def _evict(self, now: float) -> None:
        lim = self.limits
        while self._items and (
            len(self._items) > lim.max_crops or self._bytes > lim.max_bytes or now - self._items[0].time > lim.max_age_s
        ):
            self._bytes -= self._items.popleft().nbytes

    def __len__(self) -> int:
        with self._lock:
            self._evict(time.time())
            return len(self._items)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def clear(self) -> int:
        with self._lock:
            n = len(self._items)
            self._items.clear()
            self._bytes = 0
            return n

    def snapshot(self) -> TargetSet:
        with self._lock:
            self._evict(time.time())
            items = list(self._items)
        if not items:
            raise ValueError("the buffer is empty")
        return TargetSet(
            images=np.stack([i.image for i in items]),
            silhouettes=np.stack([i.silhouette for i in items]),
            frame_index=np.array([i.frame_index for i in items]),
            squares=np.array([i.square for i in items], dtype=np.float64),
            approach=np.array([i.approach for i in items], dtype=np.int64),
        )


class Site:
    def __init__(self, site_id: str, finder: FinderConfig, buffer: CropBuffer, tracks: TrackHistory | None = None):
        self.id = check_site_id(site_id)
        self.finder_config = finder
        self.finder = PersonFinder(finder)
        self.buffer = buffer
        self.tracks = tracks  # what the site answered per track, for exports (None: not kept)
        self.frames_seen = 0
        # The camera's tilt below the horizon, where the operator gave it (models.camera_tilt): the
        # answered bodies are turned by it. None: bodies stay upright in the camera.
        self.camera_tilt_deg: float | None = None
        # How far the camera's frames are blown up from the detail they hold (models.detail): the limb
        # fit leaves alone people the frame does not resolve.
        self.detail = SiteDetail()
        # The finder is stateful and not thread-safe: a site's frames go through it one at a time, in order.
        self.lock = threading.Lock()

    @property
    def background_method(self) -> Subtractor:
        return self.finder_config.foreground.method

    def set_background_method(self, method: Subtractor) -> None:
        """Subtract the background with ``method`` from the next frame on: the background is learnt
        afresh (the site warms up again) and tracks start over."""
        config = with_method(self.finder_config, method)
        finder = PersonFinder(config)  # a ValueError names an unknown method before anything changes
        with self.lock:
            self.finder_config, self.finder = config, finder
            if self.tracks is not None:  # the new finder numbers its tracks afresh
                self.tracks.clear()


def with_method(config: FinderConfig, method: Subtractor) -> FinderConfig:
    return replace(config, foreground=replace(config.foreground, method=method))


# The settings of a site that are saved with it (runtime.model_store.ModelStore.site_settings).
BACKGROUND_METHOD, CAMERA_TILT = "background_method", "camera_tilt_deg"


def site_settings(site: Site) -> dict:
    return {BACKGROUND_METHOD: site.background_method, CAMERA_TILT: site.camera_tilt_deg}


def read_saved(saved: dict, site_id: str) -> tuple[Subtractor | None, float | None]:
    """(background subtractor, camera tilt) from a site's saved settings, None where nothing was
    saved; a value that is no longer valid is None too (the default), and logged."""
    method = saved.get(BACKGROUND_METHOD)
    if method is not None and method not in get_args(Subtractor):
        log.warning("site %s: saved background method %r unknown, the default used", site_id, method)
        method = None
    tilt = saved.get(CAMERA_TILT)
    if tilt is not None:
        try:
            tilt = check_tilt(tilt)
        except (TypeError, ValueError) as e:
            log.warning("site %s: saved camera tilt not used: %s", site_id, e)
            tilt = None
    return method, tilt


class SiteRegistry:
    def __init__(
        self,
        finder: FinderConfig,
        limits: BufferLimits,
        track_limits: TrackLimits | None = None,
        saved: Callable[[str], dict] | None = None,
    ):
        """``saved(site_id)``: what the operator set for the site before (:func:`site_settings`), applied
        when the site is made: its background subtractor and its camera's tilt outlive the process."""
        self._sites: dict[str, Site] = {}
        self._finder = finder
        self._limits = limits
        self._track_limits = track_limits
        self._saved = saved
        self._lock = threading.Lock()

    def get(self, site_id: str) -> Site:
        """The site, made on its first frame."""
        check_site_id(site_id)
        with self._lock:
            site = self._sites.get(site_id)
            if site is None:
                tracks = TrackHistory(self._track_limits) if self._track_limits else None
                method, tilt = read_saved(self._saved(site_id), site_id) if self._saved else (None, None)
                finder = self._finder if method is None else with_method(self._finder, method)
                site = self._sites[site_id] = Site(site_id, finder, CropBuffer(self._limits), tracks)
                site.camera_tilt_deg = tilt
            return site

    def configure(self, site_id: str, method: Subtractor) -> Site:
        """Set a site's background subtractor, making the site if it has no frames yet; the site
        learns its background afresh, with the subtractor it had too (what an operator asks for to
        clear the ghosts of people who were in view when it was learnt)."""
        site = self.get(site_id)
        site.set_background_method(method)
        return site

    def find(self, site_id: str) -> Site | None:
        """The site if this process has seen frames of it; never makes one."""
        check_site_id(site_id)
        with self._lock:
            return self._sites.get(site_id)

    def ids(self) -> list[str]:
        with self._lock:
            return sorted(self._sites)
