"""Ghosts: foreground where something was, not where something is.

When a person who stood in view while the background was learnt walks away, the background model
still holds them: the floor they uncover differs from it, and background subtraction reports a
person-shaped blob there until the model relearns it (hundreds of frames). Such a ghost has the
edges of the departed person in the *background* image along its outline, and none in the
*frame*; a real person has them in the frame. The test compares the two along the blob's
boundary (Cucchiara et al.'s edge test for ghosts, on gradient magnitudes).

    ghostly = edge_share(blob_mask, frame_grey, background_grey) < GHOST_EDGE_SHARE
"""

from __future__ import annotations

import cv2
import numpy as np

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
