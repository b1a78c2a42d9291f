"""Person crops from frames: square boxes around a silhouette, cut out and resized for the regressor.

The same code cuts crops for evaluation (from the true masks), for serving and for adaptation
(from background-subtraction silhouettes), so a crop means the same thing everywhere.

Frame coordinates follow OpenCV: pixel centres at integers (a pixel spans [i - 0.5, i + 0.5]).
Crop coordinates run from -1 to 1 across the crop's outer edges, as in :mod:`models.m2s`.
"""

from __future__ import annotations

import cv2
import numpy as np

SQUARE_PAD = 1.2  # a crop's side over its person box's long side


def square_box(box: tuple[float, float, float, float], pad: float = SQUARE_PAD) -> tuple[float, float, float]:
    """(x0, y0, x1, y1) -> (centre x, centre y, side): a square around the box, ``pad`` times its long side."""
    x0, y0, x1, y1 = box
    return (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) * pad


def mask_box(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """The outer edges (x0, y0, x1, y1) of a mask's pixels, in frame coordinates; None when empty."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return xs.min() - 0.5, ys.min() - 0.5, xs.max() + 0.5, ys.max() + 0.5


def crop_matrix(square: tuple[float, float, float], size: int) -> np.ndarray:
    """(2, 3) affine map from frame pixels to the pixels of a size x size crop of ``square`` (cx, cy, side):
    frame point p lands on crop pixel q = (p - c) * size / side + size / 2 - 0.5."""
    cx, cy, side = square
    scale = size / side
    return np.array([[scale, 0.0, size / 2 - 0.5 - cx * scale], [0.0, scale, size / 2 - 0.5 - cy * scale]])


def in_frame(square: tuple[float, float, float], shape: tuple[int, int], size: int) -> np.ndarray | None:
    """The pixels of a size x size crop of ``square`` whose centres fall inside an (H, W) frame, as an
    (size, size) bool mask; None where the whole crop does (the usual case: nothing to mask)."""
    h, w = shape
    cx, cy, side = square
    centres = (np.arange(size) + 0.5 - size / 2) * (side / size)  # crop pixel centres, frame offsets
    xs, ys = centres + cx, centres + cy
    cols = (xs >= -0.5) & (xs <= w - 0.5)
    rows = (ys >= -0.5) & (ys <= h - 0.5)
    if cols.all() and rows.all():
        return None
    return rows[:, None] & cols[None, :]


def crop(image: np.ndarray, square: tuple[float, float, float], size: int) -> np.ndarray:
    """Cut a square (cx, cy, side) out of an image (H, W[, C]) and resize it to size x size.

    Outside the image is filled with the border's mean colour (zeros for masks), so people at
    the frame's edge keep their place in the crop.
    """
    M = crop_matrix(square, size)
    if image.dtype == bool:
        out = cv2.warpAffine(image.astype(np.uint8), M, (size, size), flags=cv2.INTER_NEAREST, borderValue=0)
        return out.astype(bool)
    # The fill only has to look like the scene: a sparse sample's mean costs 1/64 of the full one,
    # which on a 640x480 frame was most of a crop's time.
    sample = image[::8, ::8]
    fill = tuple(float(v) for v in np.atleast_1d(sample.reshape(-1, image.shape[-1] if image.ndim == 3 else 1).mean(0)))
    return cv2.warpAffine(
        image, M, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=fill
    )


def uncrop_mask(mask: np.ndarray, square: tuple[float, float, float], shape: tuple[int, int]) -> np.ndarray:
    """A crop's (s, s) bool mask put back into an (H, W) frame: the inverse of :func:`crop` for masks,
    each frame pixel taking the crop value under its centre (bilinear, then above one half), so a
    low-resolution silhouette comes back smooth rather than blocky. Outside the square: False."""
    size = mask.shape[0]
    M = crop_matrix(square, size)  # frame -> crop, which is what WARP_INVERSE_MAP wants
    h, w = shape
    up = cv2.warpAffine(
        mask.astype(np.float32), M, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=0.0
    )
    return up > 0.5


def pixels_to_crop(points: np.ndarray, square: tuple[float, float, float]) -> np.ndarray:
    """Frame pixel coordinates (..., 2) -> crop coordinates in [-1, 1] (the regressor's camera)."""
    cx, cy, side = square
    return (points - np.array([cx, cy])) / (side / 2)


def crop_to_frame(points: np.ndarray, square: tuple[float, float, float]) -> np.ndarray:
    """Crop coordinates (..., 2) in [-1, 1] -> frame pixel coordinates."""
    cx, cy, side = square
    return points * (side / 2) + np.array([cx, cy])
