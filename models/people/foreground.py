"""Foreground from a static camera that survives real cameras: OpenCV MOG2, one model per site.

    fg = ForegroundModel(ForegroundConfig())
    for frame in frames:                      # (H, W, 3) RGB uint8, in time order
        out = fg.apply(frame, protect=boxes)  # out.mask (h, w) bool at the working resolution
        out.relearning, out.shift             # a light change being relearnt; the camera's shake

What surrounds MOG2, and why:
- **Resolution.** Frames wider than ``work_width`` are subtracted at that width (a 640x480 frame
  costs a quarter); masks come back at the working resolution with ``scale`` to the frame.
- **Shadows.** MOG2 marks them 127; they are background here (a shadow is not a silhouette).
- **Light changes** (a lamp, auto exposure, a cloud). Each channel's gain against the background
  is measured on the pixels that were background last frame and divided out, so a change of
  exposure is no foreground at all. What the gain cannot explain (a lamp lighting one side of
  the room) floods the mask: when more than ``flood_fraction`` of the frame is foreground, the
  model relearns fast (``relearn_rate`` for ``relearn_frames``) and says so.
- **Shake and drift.** Each frame is registered to the background by phase correlation at a
  small size, refined to a few hundredths of a pixel by ECC on the pixels that were background
  last frame, and shifted back before subtraction; the mask is shifted forward again, so it
  lies on the frame as it came. A jump larger than ``max_shift_fraction`` of the frame is a
  re-aimed camera, not shake: the model relearns.
- **People who stand still** stay foreground: pixels under ``protect`` (the boxes of tracked
  people) are not learnt (the model is updated on a copy of the frame where those pixels show
  the background).
- **Grey cameras** (a monochrome or infrared camera sending three equal channels). MOG2 adds the
  three channels' squared differences as if each carried its own noise, so three copies of one
  signal count every change of brightness three times over: a flickering highlight on a smooth
  pillar, sparse enough in colour for the opening to clear, came out solid and was answered as a
  person on 14 frames of a grey copy of IBMtest2 (never in colour). On a grey frame the threshold
  is multiplied by ``grey_threshold_factor`` (see :data:`GREY_THRESHOLD_FACTOR`). Judged frame by
  frame, so a day/night camera that turns grey at night is followed.
- **Speckle and holes**: an opening and a closing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import cv2
import numpy as np

from models.people.blobs import Box, working_box

SHADOW, FOREGROUND = 127, 255  # the subtractors' labels
SATURATED = 250  # a channel at or above this is clipped by the sensor
DARK = 16  # below this a channel is mostly noise
MIN_GAIN_CHANGE = 0.08  # smaller global changes of exposure are not divided out
ECC_BLUR = 3  # Gaussian kernel ECC smooths both images with (px at the registration width)
# ECC may go at most this far (registration px) from phase correlation's shift: its undershoot is
# under a pixel there (a 3 px shake at 640 px is 0.75 px at 160), and ECC led far off is following
# something else (a lamp lighting half the room drew it 2.5 px away in a test).
REFINE_MAX_STEP = 1.5
PROTECT_PAD = 2  # working px around a protected box also kept from learning (its edges blur)
MISMATCH_BORDER = 3  # registration px at each edge left out of the mismatch (what a shift brings in)
Subtractor = Literal["mog2", "knn"]
# Bounds and the measured middle. With independent noise in each channel, MOG2's test (squared
# distance over 16 variances) calls P(chi2, 3 dof > 16) = 0.11% of a colour camera's noise pixels
# foreground, and P(3 chi2, 1 dof > 16) = 2.1% of a grey camera's: a factor of 2 would make them
# equal (3 x 10.6, the 1-dof quantile at 0.11%, = 32; tests/test_people.py checks this by sampling).
# Real colour video shares much of its noise across channels (measured on the labelled clips and
# their grey copies: background pixels called foreground 0.82% / 0.90% on IBMtest2 at factor 1,
# 0.09% / 0.12% on HallAndMonitor), so the factor that suits it lies between 1 and 2. Measured on
# the grey copies through the service (docs/REAL_FOOTAGE.md, "Grey cameras"): 1 -> 14 false persons
# on IBMtest2, 18 missed people on HallAndMonitor; 1.5 -> 1 and 24; 2 -> 0 and 31.
GREY_THRESHOLD_FACTOR = 1.5
GREY_MAX_SPREAD = 4  # grey levels between a pixel's channels that a grey frame's codec leaves (0-3 seen)
GREY_SAMPLE = 8  # every 8th pixel of every 8th row is enough to tell (0.15 ms a 320x240 frame)
GREY_OUTLIERS = 0.01  # the share of those pixels whose channels may differ by more (a logo, a timestamp)


@dataclass(frozen=True)
class ForegroundConfig:
    # OpenCV's subtractors: "mog2" (the default, the design's) or "knn" (OpenCV's other one,
    # measured against it in docs/REAL_FOOTAGE.md).
    method: Subtractor = "mog2"
    knn_dist2_threshold: float = 400.0
    history: int = 500
    var_threshold: float = 16.0
    background_ratio: float = 0.5  # OpenCV's 0.9 absorbs anyone who lingers for 10% of the history
    detect_shadows: bool = True
    warmup_frames: int = 30  # frames before the mask is trusted
    work_width: int | None = 320  # subtract at this width (None: the frame's own)
    open_px: int = 3  # at the working resolution
    close_px: int = 7
    gain_compensation: bool = True
    flood_fraction: float = 0.35  # more foreground than this share of the frame: the light changed
    relearn_frames: int = 12  # about half a second at 25 fps
    relearn_rate: float = 0.2
    stabilise: bool = True
    register_width: int = 160  # phase correlation and its ECC refinement at this width
    refine_shift: bool = True  # refine phase correlation's shift by ECC (see ``_refine``)
    refine_iterations: int = 10
    refine_eps: float = 0.01  # registration pixels: ECC stops when its step is smaller
    min_shift_px: float = 0.35  # smaller shifts (working pixels) are left alone: noise of the estimate
    min_response: float = 0.2  # phase correlation's peak below this is no clear shift
    max_shift_fraction: float = 0.05  # of the working width: larger jumps are a re-aimed camera
    background_refresh: int = 10  # frames between two reads of the background image (gain, shift, protect)
    grey_threshold_factor: float = GREY_THRESHOLD_FACTOR  # the subtractor's threshold on grey frames (1: unchanged)

    def __post_init__(self) -> None:
        if self.method not in get_args(Subtractor):
            raise ValueError(f"unknown method {self.method!r}; choose from {get_args(Subtractor)}")
        if self.work_width is not None and self.work_width < 32:
            raise ValueError(f"work_width must be at least 32 pixels (or None), got {self.work_width}")
        if not 0 < self.flood_fraction <= 1:
            raise ValueError(f"flood_fraction must be in (0, 1], got {self.flood_fraction}")
        if self.grey_threshold_factor <= 0:
            raise ValueError(f"grey_threshold_factor must be positive, got {self.grey_threshold_factor}")


@dataclass
class Foreground:
    """One frame's foreground: ``mask`` (h, w) bool at the working resolution, ``scale`` from
    working to frame pixels, the camera ``shift`` (dx, dy) in frame pixels that was undone, and
    whether the model is ``warming_up`` or ``relearning`` (its mask is not to be trusted)."""

    mask: np.ndarray
    scale: float
    shift: tuple[float, float]
    warming_up: bool
    relearning: bool
    flooded: float  # the share of the frame that was foreground before relearning began


class ForegroundModel:
    """MOG2 plus what real cameras need around it (see the module's docstring), for one camera."""

    def __init__(self, config: ForegroundConfig = ForegroundConfig()):
        self.config = config
        self.frames_seen = 0
        self._subtractor = self._new_subtractor()
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (config.open_px, config.open_px))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (config.close_px, config.close_px))
        self._relearn_left = 0
        self._background: np.ndarray | None = None  # (h, w, 3) float32 at the working resolution
        self._background_grey: np.ndarray | None = None  # (h, w) float32, the same in grey
        self._reference: np.ndarray | None = None  # (rh, rw) float32 grey, for registration
        self._window: np.ndarray | None = None
        self._last_mask: np.ndarray | None = None

    def _new_subtractor(self) -> cv2.BackgroundSubtractor:
        c = self.config
        if c.method == "knn":
            return cv2.createBackgroundSubtractorKNN(
                history=c.history, dist2Threshold=c.knn_dist2_threshold, detectShadows=c.detect_shadows
            )
        mog = cv2.createBackgroundSubtractorMOG2(
            history=c.history, varThreshold=c.var_threshold, detectShadows=c.detect_shadows
        )
        mog.setBackgroundRatio(c.background_ratio)
        return mog

    @property
    def warming_up(self) -> bool:
        return self.frames_seen < self.config.warmup_frames

    @property
    def relearning(self) -> bool:
        return self._relearn_left > 0

    def scale_for(self, frame_shape: tuple[int, ...]) -> float:
        """Frame pixels per working pixel for frames of this (H, W, ...) shape."""
        w = self.config.work_width
        return 1.0 if w is None or frame_shape[1] <= w else frame_shape[1] / w

    def _working(self, frame: np.ndarray, scale: float) -> np.ndarray:
        if scale == 1.0:
            return frame
        h, w = frame.shape[:2]
        return cv2.resize(frame, (round(w / scale), round(h / scale)), interpolation=cv2.INTER_AREA)

    # -- the parts --------------------------------------------------------------------------
    def _follow_camera_colour(self, work: np.ndarray) -> None:
        """Sets the subtractor's threshold for a grey or a colour frame (see the module's docstring)."""
        c = self.config
        factor = c.grey_threshold_factor if is_grey(work) else 1.0
        sub = self._subtractor
        if isinstance(sub, cv2.BackgroundSubtractorMOG2) and sub.getVarThreshold() != c.var_threshold * factor:
            sub.setVarThreshold(c.var_threshold * factor)
        elif isinstance(sub, cv2.BackgroundSubtractorKNN) and sub.getDist2Threshold() != c.knn_dist2_threshold * factor:
            sub.setDist2Threshold(c.knn_dist2_threshold * factor)

    def _compensate_gain(self, work: np.ndarray) -> np.ndarray:
        """The frame with each channel's gain against the background divided out, measured on a
        sparse grid of the pixels that were background last frame and are neither dark nor clipped.
        Changes under ``MIN_GAIN_CHANGE`` are left to the model's own learning: on real footage the
        estimate itself wanders by a few percent (measured on IBMtest2), and dividing by that noise
        lit up flat bright walls."""
        if self._background is None or self._last_mask is None:
            return work
        # A cheap look first: most frames' overall brightness is where the background's is.
        coarse = float(work[::8, ::8].mean()) / max(float(self._background[::8, ::8].mean()), 1.0)
        if abs(coarse - 1.0) < MIN_GAIN_CHANGE / 2:
            return work
        seen = work[::4, ::4].astype(np.float32)
        known = self._background[::4, ::4]
        usable = ~self._last_mask[::4, ::4] & (seen.min(2) > DARK) & (seen.max(2) < SATURATED) & (known.min(2) > DARK)
        if usable.sum() < 64:
            return work
        # The median of per-pixel ratios: robust to a person who just walked in (not yet in the
        # mask), and not quantised like a ratio of two integer medians.
        gain = np.median(seen[usable] / known[usable], axis=0)
        if np.all(np.abs(gain - 1.0) < MIN_GAIN_CHANGE):
            return work
        out = np.clip(work.astype(np.float32) / np.maximum(gain, 0.05), 0, 255).astype(np.uint8)
        # A clipped pixel says nothing of the gain: divided, a white wall or a lit door would turn
        # grey against its white background and come out as foreground. Such pixels stay as they are.
        clipped = (work >= SATURATED).any(axis=2)
        out[clipped] = work[clipped]
        return out

    def _register(self, work: np.ndarray) -> tuple[float, float]:
        """(dx, dy) in working pixels by which this frame is moved against the background."""
        if self._reference is None:
            return 0.0, 0.0
        grey = self._grey_small(work)
        moving = None
        if self._last_mask is not None:
            # Moving people would pull the estimate along with them: only the background speaks.
            moving = cv2.resize(self._last_mask.astype(np.uint8), grey.shape[::-1], interpolation=cv2.INTER_AREA) > 0
        filled = grey.copy()
        if moving is not None:
            filled[moving] = self._reference[moving]
        (dx, dy), response = cv2.phaseCorrelate(self._reference, filled, self._window)
        if response < self.config.min_response:
            dx, dy = 0.0, 0.0
        if self.config.refine_shift:
            dx, dy = self._refine(grey, moving, (dx, dy))
        elif response < self.config.min_response:
            return 0.0, 0.0
        k = work.shape[1] / grey.shape[1]
        return dx * k, dy * k

    def _refine(self, grey: np.ndarray, moving: np.ndarray | None, start: tuple[float, float]) -> tuple[float, float]:
        """Phase correlation's shift ``start`` (pixels of the (rh, rw) grey frame) refined to a small
        fraction of a pixel by ECC (``cv2.findTransformECC``, translation only) against the
        background's image of the same size, on the pixels that were not ``moving`` (rh, rw) bool.
        Phase correlation's peak undershoots shifts over a pixel by 15-45% or is missed (measured on
        shake-3), and MOG2 turns what is left into lines of foreground along every sharp edge. ECC
        masks the people out instead of painting the background over them (which pulls the shift
        towards none), and its correlation is normalised (a change of exposure does not move it).
        Where it does not converge, phase correlation's shift stands."""
        assert self._reference is not None
        mask = np.full(grey.shape, 255, np.uint8)
        if moving is not None:
            mask[cv2.dilate(moving.astype(np.uint8), self._open) > 0] = 0
        warp = np.array([[1, 0, start[0]], [0, 1, start[1]]], np.float32)
        c = self.config
        criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, c.refine_iterations, c.refine_eps)
        try:
            _, found = cv2.findTransformECC(
                self._reference, grey, warp, cv2.MOTION_TRANSLATION, criteria, mask, ECC_BLUR
            )
        except cv2.error:  # no convergence (a flat frame, a flood of foreground)
            return start
        refined = float(found[0, 2]), float(found[1, 2])
        if max(abs(refined[0] - start[0]), abs(refined[1] - start[1])) > REFINE_MAX_STEP:
            return start
        # ECC's least squares follow a large moving object that last frame's mask does not hold yet
        # (someone who stood still and sets off); the median difference to the background does not.
        if self._mismatch(grey, refined, mask) >= self._mismatch(grey, start, mask):
            return start
        return refined

    def _mismatch(self, grey: np.ndarray, shift: tuple[float, float], mask: np.ndarray) -> float:
        """The median absolute grey difference between the (rh, rw) frame moved back by ``shift``
        and the background, on the pixels ``mask`` (uint8, 255: use) keeps, away from the borders."""
        assert self._reference is not None
        h, w = grey.shape
        back = np.array([[1, 0, -shift[0]], [0, 1, -shift[1]]], np.float32)
        moved = cv2.warpAffine(grey, back, (w, h), borderMode=cv2.BORDER_REPLICATE)
        m = MISMATCH_BORDER
        diff = np.abs(moved - self._reference)[m:-m, m:-m][mask[m:-m, m:-m] > 0]
        return float(np.median(diff)) if diff.size else 0.0

    def _grey_small(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        rw = min(self.config.register_width, w)
        grey = cv2.cvtColor(image.astype(np.uint8), cv2.COLOR_RGB2GRAY)
        return cv2.resize(grey, (rw, round(h * rw / w)), interpolation=cv2.INTER_AREA).astype(np.float32)

    def _refresh_background(self) -> None:
        bg = self._subtractor.getBackgroundImage()
        if bg is None:
            return
        self._background = bg.astype(np.float32)
        self._background_grey = cv2.cvtColor(bg, cv2.COLOR_RGB2GRAY).astype(np.float32)
        if self.config.stabilise:
            self._reference = self._grey_small(bg)
            if self._window is None or self._window.shape != self._reference.shape:
                h, w = self._reference.shape
                self._window = cv2.createHanningWindow((w, h), cv2.CV_32F)

    def _protected(self, work: np.ndarray, protect: list[Box], scale: float) -> np.ndarray:
        """A copy of the frame showing the background inside the boxes (in frame pixels)."""
        out = work.copy()
        bg = self._background.astype(np.uint8) if self._background is not None else None
        if bg is None:
            return work
        h, w = work.shape[:2]
        for box in protect:
            a, c, b, d = working_box(box, scale, pad=PROTECT_PAD)
            a, c, b, d = max(a, 0), max(c, 0), min(b, w), min(d, h)
            out[c:d, a:b] = bg[c:d, a:b]
        return out

    def background_grey(self) -> np.ndarray | None:
        """The background image as grey float32 at the working resolution (refreshed every
        ``background_refresh`` frames); None before the first refresh."""
        return self._background_grey

    # -- one frame ---------------------------------------------------------------------------
    def apply(self, frame: np.ndarray, protect: list[Box] | None = None, learn: bool = True) -> Foreground:
        """(H, W, 3) RGB uint8 -> this frame's foreground; ``protect`` holds boxes (frame pixels)
        whose pixels are not learnt (people being tracked); ``learn=False`` leaves the model as it is."""
        c = self.config
        warming_up = self.warming_up  # judged against the frames seen before this one
        scale = self.scale_for(frame.shape)
        work = self._working(frame, scale)
        h, w = work.shape[:2]
        shift = (0.0, 0.0)
        if c.stabilise and not warming_up:
            shift = self._register(work)
            if max(abs(shift[0]), abs(shift[1])) > c.max_shift_fraction * w:
                self._relearn_left = c.relearn_frames  # re-aimed, not shaken
                shift = (0.0, 0.0)
            elif max(abs(shift[0]), abs(shift[1])) < c.min_shift_px:
                shift = (0.0, 0.0)
            else:
                back = np.array([[1, 0, -shift[0]], [0, 1, -shift[1]]], np.float32)
                work = cv2.warpAffine(work, back, (w, h), borderMode=cv2.BORDER_REPLICATE)
        self._follow_camera_colour(work)
        if c.gain_compensation and not warming_up:
            work = self._compensate_gain(work)

        rate = c.relearn_rate if self.relearning else -1.0
        if not learn:
            raw = self._subtractor.apply(work, learningRate=0)
        elif protect and self._background is not None and not self.relearning:
            raw = self._subtractor.apply(work, learningRate=0)
            self._subtractor.apply(self._protected(work, protect, scale), learningRate=-1)
        else:
            raw = self._subtractor.apply(work, learningRate=rate)
        self.frames_seen += learn
        mask = cv2.morphologyEx((raw == FOREGROUND).astype(np.uint8), cv2.MORPH_OPEN, self._open)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self._close)
        if shift != (0.0, 0.0):
            forward = np.array([[1, 0, shift[0]], [0, 1, shift[1]]], np.float32)
            mask = cv2.warpAffine(mask, forward, (w, h), flags=cv2.INTER_NEAREST)
        fg = mask.astype(bool)

        flooded = float(fg.mean())
        if learn and not warming_up and not self.relearning and flooded > c.flood_fraction:
            self._relearn_left = c.relearn_frames
        elif self.relearning and learn:
            self._relearn_left -= 1
        if learn and (self.frames_seen % c.background_refresh == 0 or self._background is None):
            self._refresh_background()
        self._last_mask = fg
        return Foreground(
            mask=fg,
            scale=scale,
            shift=(shift[0] * scale, shift[1] * scale),
            warming_up=warming_up,
            relearning=self.relearning,
            flooded=flooded,
        )


def is_grey(image: np.ndarray) -> bool:
    """Whether an (h, w, 3) uint8 image carries one signal in its three channels: on a sparse grid of
    pixels, at most ``GREY_OUTLIERS`` of them have channels more than ``GREY_MAX_SPREAD`` grey levels
    apart (a video codec or JPEG leaves a grey frame's channels a constant 0-3 levels apart; a colour
    camera's differ by tens, in a dim or colourless scene too, as each channel has its own noise)."""
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (h, w, 3) image, got shape {image.shape}")
    sample = image[::GREY_SAMPLE, ::GREY_SAMPLE]
    spread = sample.max(axis=2) - sample.min(axis=2)  # uint8: max >= min, no wrap-around
    return bool(np.count_nonzero(spread > GREY_MAX_SPREAD) <= GREY_OUTLIERS * spread.size)


# Offline (benchmarks, research): MOG2 at the video's own size, nothing registered or compensated,
# grey frames thresholded as colour ones: as the synthetic sites' figures in docs/ were measured.
OFFLINE = ForegroundConfig(
    work_width=None, gain_compensation=False, stabilise=False, warmup_frames=0, grey_threshold_factor=1.0
)


def video_foreground(frames: np.ndarray, config: ForegroundConfig = OFFLINE) -> np.ndarray:
    """A whole video (T, H, W, 3) -> foreground masks (T, H, W) bool at the video's size.

    Runs twice over the video so that the first frames, seen while the background was still
    being learnt, are judged against the learnt background too (offline use: benchmarks)."""
    if config.work_width is not None:
        raise ValueError(
            f"video_foreground works at the video's own size: work_width must be None, got {config.work_width}"
        )
    model = ForegroundModel(config)
    for f in frames:
        model.apply(f)
    return np.stack([model.apply(f, learn=False).mask for f in frames])
