"""Foreground regions as blobs: connected components of a mask, with boxes in frame pixels.

Frame coordinates follow OpenCV (pixel centres at integers), as in :mod:`models.crops`: a box
(x0, y0, x1, y1) holds the outer edges of its pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

Box = tuple[float, float, float, float]
WorkBox = tuple[int, int, int, int]  # x0, y0, x1, y1 in working pixels, x1 and y1 exclusive


@dataclass
class PersonBlob:
    """One foreground region: box (x0, y0, x1, y1) in frame pixel edges, its own mask (H, W) bool, area in px."""

    box: Box
    mask: np.ndarray
    area: int
    # Cut from a larger blob along a track's predicted box (models.people.cutting.carve): where it
    # is, is that prediction, not a measurement.
    cut: bool = False

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def fill(self) -> float:
        """The share of its box the region covers (a person is 0.3-0.8; flicker outlines are sparse)."""
        return self.area / max(self.width * self.height, 1.0)


def union_box(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def share_inside(inner: Box | WorkBox, outer: Box | WorkBox) -> float:
    """The share of box ``inner``'s area that lies inside box ``outer``."""
    w = min(inner[2], outer[2]) - max(inner[0], outer[0])
    h = min(inner[3], outer[3]) - max(inner[1], outer[1])
    area = (inner[2] - inner[0]) * (inner[3] - inner[1])
    return max(w, 0.0) * max(h, 0.0) / area if area > 0 else 0.0


def working_box(box: Box, scale: float, pad: int = 0) -> WorkBox:
    """A box in frame pixel edges -> the working pixels it covers (a mask ``scale`` times smaller
    than the frame; the exclusive end rounded outwards by one), ``pad`` more on each side; not
    clipped to the image."""
    x0, y0, x1, y1 = box
    return (
        int((x0 + 0.5) / scale) - pad,
        int((y0 + 0.5) / scale) - pad,
        int((x1 + 0.5) / scale) + 1 + pad,
        int((y1 + 0.5) / scale) + 1 + pad,
    )


def box_iou(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def connected_blobs(mask: np.ndarray, min_area: int, min_height: float, scale: float = 1.0) -> list[PersonBlob]:
    """Connected components (8-neighbour) of a (h, w) bool mask that are at least ``min_area``
    pixels and ``min_height`` tall, both measured in the mask's pixels, largest first.

    ``scale`` maps the mask's pixels to the frame's (a mask computed at half resolution has
    ``scale`` 2): boxes are returned in frame pixels and each blob's mask is upsampled to the
    frame, (round(h * scale), round(w * scale)) bool."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = [k for k in range(1, n) if stats[k, 4] >= min_area and stats[k, 3] >= min_height]
    if not keep:
        return []
    h, w = mask.shape
    full = (round(w * scale), round(h * scale))
    if scale != 1.0:
        labels = cv2.resize(labels.astype(np.int32), full, interpolation=cv2.INTER_NEAREST)
    out = []
    for k in keep:
        x, y, bw, bh, area = (int(v) for v in stats[k])
        box = (x * scale - 0.5, y * scale - 0.5, (x + bw) * scale - 0.5, (y + bh) * scale - 0.5)
        out.append(PersonBlob(box=box, mask=labels == k, area=round(area * scale * scale)))
    return sorted(out, key=lambda b: -b.area)


def merge_blobs(blobs: list[PersonBlob]) -> PersonBlob:
    """One blob of several: the union of their masks and boxes."""
    if not blobs:
        raise ValueError("merge_blobs needs at least one blob, got none")
    box = blobs[0].box
    mask = blobs[0].mask.copy()
    for b in blobs[1:]:
        box = union_box(box, b.box)
        mask |= b.mask
    return PersonBlob(box=box, mask=mask, area=sum(b.area for b in blobs))
