"""A rendered hard case and its labels: per-person instance maps and CDnet's masks made from them."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

BACKGROUND, UNCERTAIN, PERSON = 0, 170, 255  # CDnet's mask values


@dataclass(frozen=True)
class HardCase:
    """frames (T, H, W, 3) uint8 RGB; instances (T, H, W) int16 (0 background, k person k);
    amodal (T, P, H, W) bool, each person's whole rendered silhouette, occluded parts included;
    background (H, W, 3) uint8, the empty scene as frame 0 shows it; info: what ``case.json``
    holds; joints_2d (T, P, 24, 2) float32, each person's SMPL joints in the image's pixels
    (person k at index k - 1; occluded or out of view alike), None where not known."""

    frames: np.ndarray
    instances: np.ndarray
    amodal: np.ndarray
    background: np.ndarray
    info: dict = field(default_factory=dict)
    joints_2d: np.ndarray | None = None

    def groundtruth(self) -> np.ndarray:
        """(T, H, W) uint8 CDnet masks (see :func:`groundtruth`)."""
        return groundtruth(self.instances)


def groundtruth(instances: np.ndarray) -> np.ndarray:
    """(T, H, W) or (H, W) int instance maps -> uint8 CDnet masks of the same shape: 255 person,
    0 background, 170 a 2 px band across each person's boundary (the pixel on either side),
    including where one person meets another."""
    inst = np.asarray(instances)
    if inst.ndim == 2:
        return groundtruth(inst[None])[0]
    out = np.where(inst > 0, PERSON, BACKGROUND).astype(np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    for t, frame in enumerate(inst):
        for k in np.unique(frame[frame > 0]):
            m = (frame == k).astype(np.uint8)
            band = (cv2.dilate(m, kernel) > 0) & ~(cv2.erode(m, kernel) > 0)
            out[t][band] = UNCERTAIN
    return out
