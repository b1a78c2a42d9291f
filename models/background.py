"""Silhouettes from a static camera: OpenCV MOG2 background subtraction, one model per site.

    bg = BackgroundModel()
    for frame in frames:                  # RGB uint8, in time order
        blobs = bg.apply(frame)           # one PersonBlob per person-sized foreground region
        if bg.warming_up: ...             # the background is still being learnt: blobs are unreliable

MOG2 marks shadows 127 and foreground 255; shadows are background here (a person's shadow on the
floor is not their silhouette). A morphological opening removes speckle and a closing fills
small holes before connected components split the foreground into people.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class BackgroundConfig:
    history: int = 500
    var_threshold: float = 16.0
    background_ratio: float = 0.5  # OpenCV default 0.9 absorbs anyone who lingers for 10% of the history
    detect_shadows: bool = True
    warmup_frames: int = 30  # frames before blobs are trusted
    open_px: int = 3
    close_px: int = 7
    min_area_fraction: float = 0.002  # of the frame: smaller blobs are noise, not people
    min_height_px: int = 16


@dataclass
class PersonBlob:
    """One foreground region: box (x0, y0, x1, y1) in frame pixel edges, its own mask (H, W) bool, area in px."""

    box: tuple[float, float, float, float]
    mask: np.ndarray
    area: int


class BackgroundModel:
    """MOG2 plus clean-up and person blobs, kept across the frames of one static camera."""

    def __init__(self, config: BackgroundConfig = BackgroundConfig()):
        self.config = config
        self.frames_seen = 0
        self._mog = cv2.createBackgroundSubtractorMOG2(
            history=config.history, varThreshold=config.var_threshold, detectShadows=config.detect_shadows
        )
        self._mog.setBackgroundRatio(config.background_ratio)
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (config.open_px, config.open_px))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (config.close_px, config.close_px))

    @property
    def warming_up(self) -> bool:
        return self.frames_seen < self.config.warmup_frames

    def foreground(self, frame: np.ndarray, learn: bool = True) -> np.ndarray:
        """(H, W, 3) RGB uint8 -> (H, W) bool foreground, shadows excluded, cleaned up."""
        raw = self._mog.apply(frame, learningRate=-1 if learn else 0)
        self.frames_seen += 1
        fg = (raw == 255).astype(np.uint8)
        fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, self._open)
        fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, self._close)
        return fg.astype(bool)

    def blobs(self, fg: np.ndarray) -> list[PersonBlob]:
        """Connected components of a foreground map that are big enough to be a person, largest first."""
        h, w = fg.shape
        n, labels, stats, _ = cv2.connectedComponentsWithStats(fg.astype(np.uint8), connectivity=8)
        out = []
        for k in range(1, n):
            x, y, bw, bh, area = stats[k]
            if area < self.config.min_area_fraction * h * w or bh < self.config.min_height_px:
                continue
            out.append(PersonBlob(box=(x - 0.5, y - 0.5, x + bw - 0.5, y + bh - 0.5), mask=labels == k, area=int(area)))
        return sorted(out, key=lambda b: -b.area)

    def apply(self, frame: np.ndarray, learn: bool = True) -> list[PersonBlob]:
        return self.blobs(self.foreground(frame, learn))


def silhouettes(
    frames: np.ndarray, config: BackgroundConfig = BackgroundConfig()
) -> tuple[np.ndarray, list[list[PersonBlob]]]:
    """A whole video (T, H, W, 3) -> foreground maps (T, H, W) bool and each frame's blobs.

    Runs twice over the video so that the first frames, seen while the background was still
    being learnt, are judged against the learnt background too (offline use: benchmarks)."""
    bg = BackgroundModel(config)
    for f in frames:
        bg.foreground(f)
    fgs = np.stack([bg.foreground(f, learn=False) for f in frames])
    return fgs, [bg.blobs(fg) for fg in fgs]
