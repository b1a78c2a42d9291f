"""Where the rest of a person is when the frame's edge cuts them: their whole box, past the edge.

    whole = whole_box(box, (H, W), scale, aspect)       # box itself where nothing is cut or known

A person walking out of a static camera's view at the bottom shows their head and torso only. A
crop cut around that part (``models.crops.square_box``) shows the regressor a body that ends where
the frame does, and it draws a whole body squeezed into it: hips at the frame's bottom third, knees
at its edge. Cut around the whole person instead, the part past the edge filled as ``models.crops.crop``
fills it, the crop holds a body at its own size whose legs are hidden, which the regressor was
trained on (``models.synth.source_data``'s truncated and occluded crops); ``models.crops.in_frame``
then keeps the camera fit to the part the frame shows.

A person's whole height, read three ways, the first that holds:

- where the end of them the frame shows has not moved since they were last seen whole (within
  ``STILL_SHARE`` of their height: someone exercising on the spot whose raised hands leave the
  frame, someone standing at its bottom edge), the height they had then;
- the site's ground line (``models.people.grouping.PersonScale``, h = a + b * y_feet): with the
  feet cut off, the head's row t gives y_feet = (t + a) / (1 - b), read only where the line is
  shallow enough (b at most ``MAX_GROUND_SLOPE``) for a pixel of t not to move y_feet by many;
  with the head cut off, h at the feet's row;
- the track's own shape while it was whole (``Track.aspect``, its boxes' height over width, a
  running mean; for a person never seen whole, the site's whole people's, :class:`SiteShape`)
  times its width now, where neither side is cut.

The ground line reads heights best where it is known (pets-walk: within 10% for 65% of whole
people, the shape for 35-57% on the three clips; docs/REAL_POSE.md); the shape is what a short or steep site has.
The width of a person cut at a side comes from the height and the shape the same way. Nothing is
guessed where neither reading is known: the box stays as seen.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from models.people.blobs import Box
from models.people.grouping import PersonScale
from models.people.grouping import aspect as box_aspect

EDGE_MARGIN_PX = 2  # a box this close to the frame's edge is a person cut by it
# The ground line's slope (pixels of height per row of the feet) up to which it gives the feet's row
# from the head's: at 0.75 a pixel of the head's row moves the feet's by 4.
MAX_GROUND_SLOPE = 0.75
# A whole person at most this many times the part in view: a head and shoulders in the frame's
# corner say little, and a wrong guess there would shrink the visible part to nothing in the crop.
MAX_EXTENSION = 2.5
ASPECT_SMOOTHING = 0.2  # the weight of each new whole box in a track's running height over width
# How far (a share of their height) the end of a person the frame shows may have moved since they
# were last whole for them to count as where they were: a walker's head or feet move 1-3% a frame.
STILL_SHARE = 0.05


class SiteShape:
    """The height over width of a site's whole people (the median of the last ``memory`` boxes, None
    under ``min_samples``): how far a person never seen whole reaches past the frame's edge."""

    def __init__(self, memory: int = 400, min_samples: int = 10):
        self._seen: deque[float] = deque(maxlen=memory)
        self.min_samples = min_samples

    def observe(self, box: Box) -> None:
        self._seen.append(box_aspect(box))

    @property
    def aspect(self) -> float | None:
        return float(np.median(self._seen)) if len(self._seen) >= self.min_samples else None


def cut_edges(box: Box, shape: tuple[int, int], margin: float = EDGE_MARGIN_PX) -> tuple[bool, bool, bool, bool]:
    """Which edges of an (H, W) frame cut the box (frame pixel edges), coming within ``margin``
    pixels of it: (left, top, right, bottom)."""
    x0, y0, x1, y1 = box
    h, w = shape
    return x0 <= margin, y0 <= margin, x1 >= w - 1 - margin, y1 >= h - 1 - margin


def inside(box: Box, shape: tuple[int, int], margin: float = EDGE_MARGIN_PX) -> bool:
    """Whether a box (frame pixel edges) keeps more than ``margin`` pixels from every edge of an (H, W)
    frame: no edge cuts it (:func:`cut_edges`)."""
    return not any(cut_edges(box, shape, margin))


def running_aspect(aspect: float | None, box: Box, smoothing: float = ASPECT_SMOOTHING) -> float:
    """A track's running height over width, with one more whole box."""
    now = box_aspect(box)
    return now if aspect is None else aspect + smoothing * (now - aspect)


def height_from_ground(
    scale: PersonScale, top: float | None, feet: float | None, max_slope: float = MAX_GROUND_SLOPE
) -> float | None:
    """A person's whole height in pixels from the site's ground line, given the row of their head's
    top (their feet cut off) or of their feet (their head cut off); None where the line is unknown,
    or too steep to solve for the feet."""
    line = scale.line
    if line is None:
        return None
    a, b = line
    if feet is not None:
        return scale.height_at(feet)
    if top is None or b > max_slope:
        return None
    return scale.height_at((top + a) / (1.0 - b))


def whole_box(
    box: Box,
    shape: tuple[int, int],
    scale: PersonScale,
    aspect: float | None,
    last_whole: Box | None = None,
    margin: float = EDGE_MARGIN_PX,
    max_extension: float = MAX_EXTENSION,
) -> Box:
    """The box (x0, y0, x1, y1, frame pixel edges) the whole person would fill, reaching past the
    edges of the (H, W) frame that cut them; ``box`` where none does or nothing says how far.
    ``aspect``: the person's height over width while whole (the track's, else the site's people's;
    None: not known); ``last_whole``: the track's last box the frame did not cut (None: never seen
    whole)."""
    left, top, right, bottom = cut_edges(box, shape, margin)
    x0, y0, x1, y1 = box
    seen_h, seen_w = y1 - y0, x1 - x0
    height = None
    if top != bottom and last_whole is not None:  # one end cut: has the other moved since?
        was_h = last_whole[3] - last_whole[1]
        moved = abs(y0 - last_whole[1]) if bottom else abs(y1 - last_whole[3])
        if moved <= STILL_SHARE * was_h:
            height = was_h
    if height is None and top != bottom:  # the ground line reads the height from the end in view
        height = height_from_ground(scale, top=None if top else y0, feet=None if bottom else y1)
    if height is None and (top or bottom) and aspect is not None and not (left or right):
        height = aspect * seen_w
    if height is not None and (top or bottom):
        height = min(max(height, seen_h), max_extension * seen_h)
        if top and bottom:  # both ends cut: as much past each
            y0, y1 = y0 - (height - seen_h) / 2, y1 + (height - seen_h) / 2
        elif bottom:
            y1 = y0 + height
        else:
            y0 = y1 - height
    if (left != right) and aspect is not None:
        width = min(max((y1 - y0) / aspect, seen_w), max_extension * seen_w)
        if left:
            x0 = x1 - width
        else:
            x1 = x0 + width
    return x0, y0, x1, y1
