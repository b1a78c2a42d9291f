"""One blob holding several people, cut into them: by their heads, or along their tracks' boxes.

    parts = split_row(blob, person_height)        # a row of people; None: one person (or no row)
    a, b = split_blob(blob, box_a, box_b)          # two tracked people whose blobs joined
    part = carve(blob, predicted_box)              # one tracked person's part of a larger blob

Two tracked people whose blobs join (crossing, one passing another) are cut along the boxes their
tracks predict (the finder decides who is in a blob). People walking side by side or in file make
one blob from the first frame they are in view, so no track ever saw them apart: they are cut by
their heads. A row of people is as tall as one person and as wide as several; its top profile (the
first foreground row of each column) rises to a head over each of them and dips to the shoulders or
lower between two heads. A blob as wide as two people whose top profile has two or more heads
(standing out by a share of a person's height, far enough apart, narrow, a body under each) is cut
down the columns between the heads where the fewest foreground pixels are (the gap between two
bodies, legs aside), and the cut stands when each part is as tall and upright as a person. Raised
hands have no body under them; a bag's top or a slumped torso makes a broad bump, not a head. A
plant's crown can pass all of these, so the finder keeps a cut only where every part also reads as
a person to its silhouette classifier (:mod:`models.people.finder`). W4 (Haritaoglu et al., 2000)
finds the heads of a group in its silhouette's outline the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from scipy.signal import find_peaks, peak_widths

from models.people.blobs import Box, PersonBlob, share_inside

SHARED_BLOB_OVERLAP = 0.6  # share of a track's predicted box inside a blob: the track is in it
# A part cut along a predicted box narrower than this share of its height is a sliver, no one's
# body: a stale track's box at the frame's edge kept cutting one off a group as it came in (the
# group hard case at 320x240, seed 0: 9 false persons and 10 fragments, 1 and 2 without).
MIN_SPLIT_ASPECT = 0.15


@dataclass(frozen=True)
class RowConfig:
    """Shares of a person's height at the blob's row (the site's scale, or the blob's own height)."""

    min_width: float = 0.5  # a narrower blob holds one person
    head_prominence: float = 0.08  # how far the top profile dips between two heads
    head_spacing: float = 0.18  # the closest two heads' centres can be
    # A head is narrow: the profile's width at half its prominence (the rendered group's heads: 0.19
    # on median, 0.26 at the 90th percentile; on HallAndMonitor a bag's top and a torso 0.50-0.57,
    # a rendered plant's crown 0.25-0.77; docs/REAL_FOOTAGE.md, "A group walking together").
    max_head_width: float = 0.4
    min_part_width: float = 0.15  # narrower parts are limbs
    min_part_height: float = 0.6  # of the blob's height: each part stands on its own
    min_part_aspect: float = 1.5  # height over width: people in a row stand upright
    head_support: float = 0.45  # under each head the column is foreground this far (a raised hand's is not)
    min_support_fill: float = 0.8  # ... on this share of its rows
    cut_margin: float = 0.2  # of the span between two heads: a cut keeps this far from either

    def __post_init__(self) -> None:
        if not 0.0 <= self.cut_margin < 0.5:
            raise ValueError(f"cut_margin={self.cut_margin} is not in [0, 0.5)")


def top_profile(mask: np.ndarray) -> np.ndarray:
    """(h, w) bool -> (w,) float: each column's first foreground row, ``h`` where the column is empty."""
    h = mask.shape[0]
    return np.where(mask.any(axis=0), mask.argmax(axis=0), h).astype(np.float64)


def head_columns(
    profile: np.ndarray,
    person_height: float,
    cfg: RowConfig = RowConfig(),
    open_ends: tuple[bool, bool] = (False, False),
) -> np.ndarray:
    """(w,) top profile (rows, down is larger) -> the columns of its heads, left to right: the
    profile's highest points standing out by ``head_prominence``, ``head_spacing`` apart and no
    wider than ``max_head_width`` at half their prominence. An open end (the frame's edge cuts the
    blob there) may hold a head: someone walking in or out, whose head is on the blob's first or
    last column and so no peak of the profile alone."""
    floor = float(profile.max(initial=0.0)) + cfg.head_prominence * person_height + 1.0
    left, right = (1 if open_ends[0] else 0), (1 if open_ends[1] else 0)
    padded = np.concatenate([[floor] * left, profile, [floor] * right])
    peaks, _ = find_peaks(
        -padded,
        prominence=cfg.head_prominence * person_height,
        distance=max(cfg.head_spacing * person_height, 1.0),
    )
    if peaks.size:
        widths = peak_widths(-padded, peaks, rel_height=0.5)[0]
        peaks = peaks[widths <= cfg.max_head_width * person_height]
    return peaks - left


def supported(mask: np.ndarray, column: int, person_height: float, cfg: RowConfig = RowConfig()) -> bool:
    """Whether the (h, w) bool mask is foreground under its top at ``column`` on ``min_support_fill``
    of the ``head_support`` share of a person's height below it: a head has a body under it, a hand
    raised beside the head has only air."""
    top = int(mask[:, column].argmax())
    depth = max(round(cfg.head_support * person_height), 1)
    return float(mask[top : top + depth, column].mean()) >= cfg.min_support_fill


def cut_columns(mask: np.ndarray, heads: np.ndarray, cfg: RowConfig = RowConfig()) -> list[int]:
    """(h, w) bool and (K,) head columns -> K - 1 columns to cut at: between each two heads, away
    from both by ``cut_margin`` of their span, the column with the fewest foreground pixels."""
    counts = mask.sum(axis=0)
    cuts = []
    for a, b in pairwise(heads):
        lo = a + max(round(cfg.cut_margin * (b - a)), 1)
        hi = b - max(round(cfg.cut_margin * (b - a)), 1)
        lo, hi = (lo, hi) if hi > lo else (a + 1, b)
        cuts.append(lo + int(np.argmin(counts[lo:hi])))
    return cuts


def split_row(blob: PersonBlob, person_height: float, cfg: RowConfig = RowConfig()) -> list[PersonBlob] | None:
    """A blob cut into the people of a row, left to right (each part's mask is the blob's in its
    columns, boxed tight); None when it is no row: narrower than ``min_width``, fewer than two
    heads with a body under each, or a part too narrow (unless the frame's edge cuts it), too
    short or too wide to be a person."""
    if person_height <= 0:
        raise ValueError(f"person_height={person_height} is not positive")
    if blob.width < cfg.min_width * person_height:
        return None
    x0, y0 = max(int(np.ceil(blob.box[0])), 0), max(int(np.ceil(blob.box[1])), 0)
    x1, y1 = int(np.ceil(blob.box[2])), int(np.ceil(blob.box[3]))
    crop = blob.mask[y0:y1, x0:x1]
    open_ends = (x0 == 0, x1 >= blob.mask.shape[1])
    heads = head_columns(top_profile(crop), person_height, cfg, open_ends)
    if len(heads) < 2 or not all(supported(crop, c, person_height, cfg) for c in heads):
        return None
    edges = [0, *cut_columns(crop, heads, cfg), crop.shape[1]]
    parts = []
    for lo, hi in pairwise(edges):
        mask = np.zeros_like(blob.mask)
        mask[y0:y1, x0 + lo : x0 + hi] = crop[:, lo:hi]
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        if rows.size == 0:
            return None
        box = (cols[0] - 0.5, rows[0] - 0.5, cols[-1] + 0.5, rows[-1] + 0.5)
        part = PersonBlob(box=box, mask=mask, area=int(mask.sum()))
        at_edge = (lo == 0 and open_ends[0]) or (hi == crop.shape[1] and open_ends[1])
        if (
            (part.width < cfg.min_part_width * person_height and not at_edge)
            or part.height < cfg.min_part_height * blob.height
            or part.height < cfg.min_part_aspect * part.width
        ):
            return None
        parts.append(part)
    return parts


# -- along tracks' predicted boxes (the finder knows from its tracks who is in a blob) ---------------


def lies_in(guess: Box, blob: PersonBlob) -> bool:
    """Whether a predicted box lies in a blob (``SHARED_BLOB_OVERLAP`` of it inside the blob's box)."""
    return share_inside(guess, blob.box) >= SHARED_BLOB_OVERLAP


def held_by(blob: PersonBlob, guesses: list[Box]) -> list[Box]:
    """The predicted boxes that lie in a blob."""
    return [g for g in guesses if lies_in(g, blob)]


def box_region(box: Box, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: the pixels whose centres lie in ``box`` (frame pixel edges)."""
    ys, xs = np.arange(shape[0]), np.arange(shape[1])
    rows = (ys >= box[1]) & (ys <= box[3])
    cols = (xs >= box[0]) & (xs <= box[2])
    return rows[:, None] & cols[None, :]


def split_blob(blob: PersonBlob, a: Box, b: Box) -> tuple[PersonBlob, PersonBlob] | None:
    """A blob holding two people, cut along their predicted boxes ``a`` and ``b``: each part's mask
    is the blob inside its box, pixels inside both going to the person in front, the one whose box
    reaches lower (on a floor seen from above, the nearer person's feet are lower in the image);
    each part's box is its predicted box within the blob's. While two people overlap, the mask
    cannot tell where either ends (the one behind shrinks to a head, the one in front loses the
    feet the other's legs cross), so each keeps the box and the velocity it came in with and is
    found again by them when they part. Cutting along the boxes, not down the middle, lets the
    two cross: a cut between their centres keeps the left one on the left. None when either part
    comes out empty (one hides the other wholly) or narrower than ``MIN_SPLIT_ASPECT`` of its height."""
    shape = blob.mask.shape
    in_a, in_b = box_region(a, shape), box_region(b, shape)
    if a[3] >= b[3]:
        in_b &= ~in_a
    else:
        in_a &= ~in_b
    part_a, part_b = carve(blob, a, in_a), carve(blob, b, in_b)
    if part_a is None or part_b is None or min(p.width / p.height for p in (part_a, part_b)) < MIN_SPLIT_ASPECT:
        return None
    return part_a, part_b


def carve(blob: PersonBlob, guess: Box, keep: np.ndarray | None = None) -> PersonBlob | None:
    """The part of a blob inside a predicted box ``guess`` (or inside the (H, W) bool region
    ``keep``), boxed by the intersection of ``guess`` and the blob's box; None when it is empty."""
    mask = blob.mask & (box_region(guess, blob.mask.shape) if keep is None else keep)
    x0, y0, x1, y1 = blob.box
    box = (max(guess[0], x0), max(guess[1], y0), min(guess[2], x1), min(guess[3], y1))
    if not mask.any() or box[2] <= box[0] or box[3] <= box[1]:
        return None
    return PersonBlob(box=box, mask=mask, area=int(mask.sum()), cut=True)
