"""From blobs to people: fragments of one body merged, blobs that are no person refused, and the
site's person height per image row, learnt as people are seen.

    scale = PersonScale()                          # one per site
    people = group_people(blobs, scale, (H, W))    # merged and filtered, largest first
    scale.observe(box)                             # a whole person who walked in: their box

On a static camera looking down at a floor, a standing person's height in pixels is close to a
linear function of the image row their feet stand on (the ground plane seen in perspective).
Once enough people have been seen, that line says whether two blobs stacked one over the other
are one person (their union is as tall as a person there) or two (a near and a far one), and
whether a blob is far too small or too large to be a person at its row.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from models.people.blobs import Box, PersonBlob, merge_blobs, union_box


@dataclass(frozen=True)
class GroupingConfig:
    min_overlap: float = 0.3  # horizontal overlap, of the narrower blob, for two blobs to be one body
    max_gap: float = 0.25  # vertical gap between them, of a person's height there
    max_union: float = 1.3  # the merged box may be at most this many times a person's height there
    max_union_unknown: float = 1.6  # ... of the taller part's height, before the scale is known
    # Before the scale is known, a person cut at the waist (trousers the colour of the floor) comes as
    # two parts of about half a person each, whose union is twice the taller: joined when neither
    # part has a whole person's shape (height over width) and together they have one.
    part_max_aspect: float = 2.0
    union_max_aspect: float = 4.5
    min_aspect: float = 0.6  # height over width: lying or huge-armed people aside, people are upright
    min_fill: float = 0.15  # foreground share of the box: light flicker and ghosts leave outlines
    height_range: tuple[float, float] = (0.45, 1.8)  # of a person's height at the row, once known
    min_height_px: float = 16.0


class PersonScale:
    """A person's height in pixels as a function of the image row of their feet, h = a + b * y,
    fitted to the boxes of whole people who walked in (as the finder feeds it; ridge on b: with
    people seen on few rows only, the line stays flat rather than wild)."""

    def __init__(self, memory: int = 400, min_samples: int = 30, ridge: float = 1e3):
        self._seen: deque[tuple[float, float]] = deque(maxlen=memory)
        self.min_samples = min_samples
        self.ridge = ridge
        self._fit: tuple[float, float] | None = None

    def observe(self, box: Box) -> None:
        self._seen.append((box[3], box[3] - box[1]))
        if len(self._seen) >= self.min_samples and len(self._seen) % 10 == 0:
            self._refit()

    def _refit(self) -> None:
        y, h = np.array(self._seen, dtype=np.float64).T
        yc, hc = y - y.mean(), h - h.mean()
        b = float((yc * hc).sum() / ((yc * yc).sum() + self.ridge))
        self._fit = (float(h.mean() - b * y.mean()), b)

    @property
    def known(self) -> bool:
        return self._fit is not None

    @property
    def line(self) -> tuple[float, float] | None:
        """(a, b) of h = a + b * y, None until known."""
        return self._fit

    def height_at(self, foot_y: float) -> float | None:
        """The expected height (pixels) of a person whose feet are on row ``foot_y``; None until known."""
        if self._fit is None:
            return None
        a, b = self._fit
        return max(a + b * foot_y, 1.0)


def overlap_x(a: Box, b: Box) -> float:
    """Horizontal overlap of two boxes as a share of the narrower one's width."""
    inter = min(a[2], b[2]) - max(a[0], b[0])
    return max(inter, 0.0) / max(min(a[2] - a[0], b[2] - b[0]), 1.0)


def aspect(box: Box) -> float:
    """A box's height over its width."""
    return (box[3] - box[1]) / max(box[2] - box[0], 1.0)


def one_body(a: Box, b: Box, scale: PersonScale, cfg: GroupingConfig) -> bool:
    """Whether two boxes hold parts of one person: stacked (they overlap horizontally), close
    (a small vertical gap) and no taller together than a person at their row (before that is
    known: than 1.6 times the taller part, or two halves that make one person's shape)."""
    if overlap_x(a, b) < cfg.min_overlap:
        return False
    union_h = max(a[3], b[3]) - min(a[1], b[1])
    gap = max(a[1], b[1]) - min(a[3], b[3])
    expected = scale.height_at(max(a[3], b[3]))
    if expected is None:
        taller = max(a[3] - a[1], b[3] - b[1])
        if gap > cfg.max_gap * taller:
            return False
        if union_h <= cfg.max_union_unknown * taller:
            return True
        halves = max(aspect(a), aspect(b)) < cfg.part_max_aspect
        return halves and aspect(union_box(a, b)) <= cfg.union_max_aspect
    return gap <= cfg.max_gap * expected and union_h <= cfg.max_union * expected


def merge_fragments(blobs: list[PersonBlob], scale: PersonScale, cfg: GroupingConfig) -> list[PersonBlob]:
    """Blobs with the parts of one body joined, largest first. Groups are tested again once they
    have grown (a head, a torso and legs join in two steps); decisions use boxes only, and masks
    are joined once at the end."""
    groups: list[list[int]] = [[i] for i in range(len(blobs))]
    boxes: list[Box] = [b.box for b in blobs]
    merged_any = True
    while merged_any:
        merged_any = False
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                if groups[i] and groups[j] and one_body(boxes[i], boxes[j], scale, cfg):
                    groups[i] += groups[j]
                    boxes[i] = union_box(boxes[i], boxes[j])
                    groups[j] = []
                    merged_any = True
    people = [merge_blobs([blobs[k] for k in g]) if len(g) > 1 else blobs[g[0]] for g in groups if g]
    return sorted(people, key=lambda b: -b.area)


def looks_like_a_person(blob: PersonBlob, scale: PersonScale, cfg: GroupingConfig) -> bool:
    """Shape and size tests a person's blob passes: tall enough, upright enough, solid enough,
    and, once the site's scale is known, of a person's height at its row."""
    if blob.height < cfg.min_height_px or blob.height < cfg.min_aspect * blob.width or blob.fill < cfg.min_fill:
        return False
    expected = scale.height_at(blob.box[3])
    if expected is None:
        return True
    lo, hi = cfg.height_range
    return lo * expected <= blob.height <= hi * expected


def group_people(
    blobs: list[PersonBlob], scale: PersonScale, cfg: GroupingConfig = GroupingConfig()
) -> list[PersonBlob]:
    """Blobs -> person candidates: fragments merged, non-person shapes dropped, largest first."""
    return [b for b in merge_fragments(blobs, scale, cfg) if looks_like_a_person(b, scale, cfg)]
