"""Ghosts: foreground where something was, not where something is.

When a person who stood in view while the background was learnt walks away, the background model
still holds them: the floor they uncover differs from it, and background subtraction reports a
person-shaped blob there until the model relearns it (hundreds of frames). Such a ghost has the
edges of the departed person in the *background* image along its outline, and none in the
*frame*; a real person has them in the frame. The test compares the two along the blob's
boundary (Cucchiara et al.'s edge test for ghosts, on gradient magnitudes). A blob nothing in which
moves is still: for a track that never walked, a second sign of a ghost (see :data:`STILL_LAGS`).

    ghostly = edge_share(blob_mask, frame_grey, background_grey) < GHOST_EDGE_SHARE
    still = moving_share(blob_mask, change, change_level(change, ~foreground)) < STILL_SHARE
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from models.people.blobs import PersonBlob, working_box

GHOST_EDGE_SHARE = 0.4  # the frame's share of the boundary's edge strength below which a blob is a ghost
MIN_BOUNDARY_PX = 20


def gradient_magnitude(grey: np.ndarray) -> np.ndarray:
    """(h, w) float32 grey -> (h, w) |Sobel gradient|."""
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.magnitude(gx, gy)


def boundary(mask: np.ndarray) -> np.ndarray:
    """(h, w) bool -> the mask's inner boundary ring (h, w) bool, two pixels wide."""
    m = mask.astype(np.uint8)
    return (m - cv2.erode(m, np.ones((5, 5), np.uint8))).astype(bool)


def edge_share(mask: np.ndarray, frame_grey: np.ndarray, background_grey: np.ndarray) -> float:
    """The frame's share of the edge strength along a blob's boundary, against the background's:
    near 1 for an object in front of a flat background, near 0 for a ghost, 0.5 when both agree.
    All three arrays (h, w) over the same pixels; 0.5 (no evidence) for a boundary too short."""
    ring = boundary(mask)
    if ring.sum() < MIN_BOUNDARY_PX:
        return 0.5
    g_frame = float(gradient_magnitude(frame_grey)[ring].mean())
    g_background = float(gradient_magnitude(background_grey)[ring].mean())
    return g_frame / max(g_frame + g_background, 1e-6)


# The edge test needs the departed person's outline to be sharper in the background than what the
# frame shows there. A background learnt while someone moved about on the spot holds them blurred,
# over a wall with rails and a box whose edges are sharp: the ghost such a person left on
# HallAndMonitor (a site started at frame 100) scored an edge share of 0.45-0.53 on every test and
# was answered on 50 frames. What does tell it is that nothing in it moves. Over 16 frames, the share
# of its pixels that changed was 0.03-0.05 once she had gone; 0.29-1.00 (5th percentile 0.52 and
# up) on every person answered on that clip and on IBMtest2, a woman working at a shelf included;
# 0.10-0.23 (5th to 50th percentile) on the slowest thing the finder answers, a rendered tai chi form
# in view from the first frame (bench.in_view), which a lag of 8 frames and a share of 0.12 refused
# on 44 of 129 tests. Measured with throwaway scripts, docs/REAL_FOOTAGE.md, "A site started while
# people walk in view".
STILL_LAG = 16  # frames between the two images compared (two thirds of a second at 25 fps) ...
# ... and a shorter lag beside it, the larger share of the two counting: something that moves with a
# period dividing one lag (a swing of 4 frames, jumping jacks at 1 Hz on a 16 fps camera) is back
# where it was after it, not after both.
STILL_LAGS = (9, STILL_LAG)
STILL_MIN_LEVEL = 12.0  # grey levels a pixel must change by to count as moving ...
STILL_NOISE_LEVELS = 6.0  # ... and at least this many times the frame's median change off the foreground
STILL_SHARE = 0.06  # a blob with fewer of its pixels moving is still
NOISE_SAMPLE = 3  # the noise's median from every third pixel of every third row (a ninth of the cost)


def change_level(change: np.ndarray, background: np.ndarray) -> float:
    """The change in grey level a pixel must exceed to count as moving: :data:`STILL_MIN_LEVEL`, or
    :data:`STILL_NOISE_LEVELS` times the median ``change`` (h, w) over the ``background`` (h, w)
    bool pixels (every :data:`NOISE_SAMPLE`-th of every :data:`NOISE_SAMPLE`-th row), whichever is
    larger (a noisy camera's still pixels change more)."""
    still = change[::NOISE_SAMPLE, ::NOISE_SAMPLE][background[::NOISE_SAMPLE, ::NOISE_SAMPLE]]
    noise = float(np.median(still)) if still.size else 0.0
    return max(STILL_MIN_LEVEL, STILL_NOISE_LEVELS * noise)


def moving_share(mask: np.ndarray, change: np.ndarray, level: float) -> float:
    """The share of a blob's pixels (``mask`` (h, w) bool) whose ``change`` (h, w), the absolute
    grey-level difference between a frame and one a lag of :data:`STILL_LAGS` earlier, exceeds
    ``level``; 1.0 (no evidence of stillness) for an empty mask."""
    if not mask.any():
        return 1.0
    return float((change[mask] > level).mean())


class GhostTest:
    """Both tests on one site's blobs, frame by frame: :meth:`see` each frame (after the background
    is trusted), then :meth:`ghostly` on the blobs of that frame. Keeps the last :data:`STILL_LAG`
    frames in grey at the working resolution (77 KB each at 320x240)."""

    def __init__(self) -> None:
        self._greys: deque[np.ndarray] = deque(maxlen=STILL_LAG + 1)  # uint8, (h, w)
        self._background: np.ndarray | None = None
        self._still_pixels = np.zeros((0, 0), bool)  # (h, w) bool, the latest frame's background
        self._changes: list[np.ndarray] = []  # per lag of STILL_LAGS: |frame - the frame that many earlier|, uint8
        self._levels: list[float] = []  # their change_level, once a test of this frame needs them

    def see(self, frame: np.ndarray, foreground: np.ndarray, background_grey: np.ndarray | None) -> None:
        """``frame`` (H, W, 3) RGB uint8 as it came; ``foreground`` (h, w) bool, its mask at the
        working resolution; ``background_grey`` (h, w) float32, the background model's image (None
        while it has none: no test then)."""
        h, w = foreground.shape
        small = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA) if frame.shape[:2] != (h, w) else frame
        grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        self._greys.append(grey)
        self._background, self._still_pixels = background_grey, ~foreground
        full = len(self._greys) > STILL_LAG
        self._changes = [cv2.absdiff(grey, self._greys[-1 - lag]) for lag in STILL_LAGS] if full else []
        self._levels = []

    @property
    def ready(self) -> bool:
        return self._background is not None

    def _moving_share(self, mask: np.ndarray, window: tuple[slice, slice]) -> float:
        """The largest :func:`moving_share` of ``mask`` (over ``window`` of the frame) over the lags."""
        if not self._levels:
            self._levels = [change_level(change, self._still_pixels) for change in self._changes]
        return max(
            (
                moving_share(mask, change[window], level)
                for change, level in zip(self._changes, self._levels, strict=True)
            ),
            default=1.0,
        )

    def ghostly(self, blob: PersonBlob, scale: float, still_counts: bool) -> bool:
        """Whether a blob (its mask at the working resolution, its box in frame pixels, ``scale``
        frame pixels a working one) is a ghost: its outline's edges are the background's
        (:func:`edge_share`), or, where ``still_counts`` (a track that never walked), nothing in it
        moved over any of the last :data:`STILL_LAGS` frames (:func:`moving_share`)."""
        if self._background is None:
            return False
        h, w = self._background.shape
        x0, y0, x1, y1 = working_box(blob.box, scale, pad=2)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 - x0 < 4 or y1 - y0 < 4:
            return False
        window = (slice(y0, y1), slice(x0, x1))
        mask = cv2.resize(blob.mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)[window] > 0
        grey = self._greys[-1][window].astype(np.float32)
        if edge_share(mask, grey, self._background[window]) < GHOST_EDGE_SHARE:
            return True
        return still_counts and bool(self._changes) and self._moving_share(mask, window) < STILL_SHARE
