"""How much detail a camera's frames hold: the factor they were blown up by from what the sensor saw.

    factor = blow_up(frame)                      # 1.0 for a sharp frame, ~4-6 for one shrunk 7x and blown back
    detail = SiteDetail(); detail.observe(frame, index); detail.factor   # a site's, its median
    person_detail_px(height_px, detail.factor)   # how many pixels of detail a person spans
    crop_detail_px(crop, mask)                   # the same for a training crop and its person's mask

A silhouette says where a person's limbs are only where the frame resolves them. A low-resolution
camera whose frames are scaled up for the network (issue 19's "low-resolution scenes"; the demo's
``lr-32`` site: 4-14 px of detail across its walker, who is 25-85 px tall in the frame) gives the
background subtractor a blob with no limbs in it, and a fit of the limbs to that blob flings the arms
out over it (docs/REAL_POSE.md, "Limbs only where the frame resolves them"). Pixels of the frame are
not pixels of detail: this reads the second.

The reading: shrink the frame's luminance by s (area), blow it back up (bicubic) and compare. Up to
the factor the frame was blown up by, this loses almost nothing; beyond it, the detail it has. The
loss is measured against the frame's fine content (the luminance minus its blur at
``COARSE_SIGMA``), so that it is a share, the same for busy and plain scenes; the factor is the
largest step of :data:`LADDER`, walked up from the smallest, whose loss stays within
:data:`LOST_SHARE`. On the labelled clips, pets-walk and their enlarged copies (``bench.clip_variant``)
it reads 1 for the clips as recorded, 2 for frames shrunk to 96/224 and blown back, 4 for 52/224
and 4-6 for 32/224 (2.3, 4.3 and 7: under the truth above 4), 3 for HallAndMonitor enlarged 3x
(docs/REAL_POSE.md, "Limbs only where the frame resolves them"). Noise on a sharp frame (8/255)
changes nothing; noise on a blown-up frame reads as detail that is not there (4/255 on frames blown
up 7x: 4 instead of 4-6 on the clips, 1.5 instead of 4 on a synthetic scene blown up 4x,
``tests/test_detail.py``), so a noisy low-resolution camera is taken for a sharper one. skimage's
``blur_effect`` scores blur without a unit; the factor is what a person's height in pixels is
divided by.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

LADDER: tuple[float, ...] = (1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0)
# A step of the ladder is within the frame's blow-up while shrinking by it and back loses at most
# this share of the fine content: sharp frames lose 0.2-0.3 at 1.5, frames blown up 2.3x lose 0.05
# at 1.5 and 0.18 at 3 (``tests/test_detail.py``; the frames above).
LOST_SHARE = 0.15
COARSE_SIGMA = 16.0  # px: what a blur this wide keeps is layout, not detail
MIN_SIDE = 16  # a frame smaller than this on its shorter side is not read (nothing to shrink)


def blow_up(frame: np.ndarray) -> float:
    """(H, W) or (H, W, 3) uint8 RGB frame -> the factor (1.0 or a step of :data:`LADDER`) it was
    blown up by from the detail it holds: 1.0 for a frame as sharp as its pixels; a flat frame
    (no fine content at all) reads 1.0, as nothing says it lost any."""
    image = np.asarray(frame)
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(f"a frame is (H, W) or (H, W, 3), got {image.shape}")
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    grey = image.astype(np.float32)
    h, w = grey.shape
    if min(h, w) < MIN_SIDE:
        raise ValueError(f"a frame of {w}x{h} px is too small to read its detail (at least {MIN_SIDE} px a side)")
    fine = float(np.sqrt(np.mean((grey - cv2.GaussianBlur(grey, (0, 0), COARSE_SIGMA)) ** 2)))
    if fine < 1e-3:
        return 1.0
    factor = 1.0
    for s in LADDER:
        small = cv2.resize(grey, (max(2, round(w / s)), max(2, round(h / s))), interpolation=cv2.INTER_AREA)
        back = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        if float(np.sqrt(np.mean((grey - back) ** 2))) > LOST_SHARE * fine:
            break
        factor = s
    return factor


def person_detail_px(height_px: float, factor: float) -> float:
    """A person's height in frame pixels and the frame's blow-up factor -> their height in pixels of detail."""
    if not factor >= 1.0:
        raise ValueError(f"a blow-up factor is >= 1, got {factor}")
    return float(height_px) / factor


def crop_detail_px(crop: np.ndarray, mask: np.ndarray) -> float:
    """(S, S, 3) uint8 crop and its person's (S, S) bool mask -> the person's height in pixels of
    detail: the mask's rows over the factor the crop was blown up by (:func:`blow_up`); 0.0 for an
    empty mask. A training crop's counterpart of :func:`person_detail_px`, where the frame's factor
    and the box's height in frame pixels stand for these two."""
    rows = np.flatnonzero(np.asarray(mask).any(axis=1))
    if rows.size == 0:
        return 0.0
    return person_detail_px(float(rows[-1] - rows[0] + 1), blow_up(crop))


class SiteDetail:
    """A static camera's blow-up factor, read off every ``every``-th frame it sends (the first
    included), the median of the last ``memory`` readings: one reading costs a few milliseconds, a
    camera's resolution does not change from frame to frame. ``factor`` is 1.0 until the first."""

    def __init__(self, every: int = 50, memory: int = 9):
        if every < 1 or memory < 1:
            raise ValueError(f"every and memory are >= 1, got {every} and {memory}")
        self.every = every
        self._seen: deque[float] = deque(maxlen=memory)

    def observe(self, frame: np.ndarray, index: int) -> None:
        """The site's frame number ``index`` (from 0): read where it is one of every ``every``."""
        if index % self.every == 0:
            self._seen.append(blow_up(frame))

    @property
    def factor(self) -> float:
        return float(np.median(self._seen)) if self._seen else 1.0

    @property
    def known(self) -> bool:
        """Whether a frame has been read yet (before that ``factor`` is 1.0 for want of one)."""
        return bool(self._seen)
