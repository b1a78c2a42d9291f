"""Scores for person finding on labelled real footage: pure functions on NumPy arrays, no I/O.

Ground truth follows CDnet / SBI: one (H, W) uint8 mask per frame, 0 background, 255 foreground
(people and objects that moved), 170 an uncertain band around the foreground that is left out of
every score. CDnet's other two codes are accepted too: 50 (hard shadow) is scored as background and
85 (outside the region of interest) is left out like 170.

    tp, fp, fn = foreground_counts(pred, gt)              # pixels, 170 ignored
    people = label_people(gt)                             # labelled people of one frame
    m = match_boxes(boxes, people, gt)                    # what each returned box is, what happened to each person
    m.counts()                                            # {"boxes": 3, "false": 1, "fragments": 1, ...}

Boxes are (x0, y0, x1, y1) in pixel edges, as the service returns them: pixel column c (centre at
c) is inside when x0 <= c < x1, so a blob over columns 10..19 has x0 = 9.5, x1 = 19.5.

How a returned box is classed (every box gets exactly one kind, so the kinds add up to the boxes):

- ``false``: under :data:`FALSE_PERSON_MAX_FOREGROUND` of its scored pixels are labelled foreground;
- ``non_person``: on labelled foreground, but on no labelled person (a moved object too small to
  be a person, say);
- ``fragment``: holds under :data:`WHOLE_MIN_SHARE` of the pixels of the person it overlaps most;
- ``whole``: holds at least :data:`WHOLE_MIN_SHARE` of that person.

Independently, a box that holds at least :data:`COVER_MIN_SHARE` of each of two or more people
is ``merged``. A labelled person is *covered* by a box (not a false one) that holds at least
:data:`COVER_MIN_SHARE` of their pixels: ``missed`` when no box covers them, ``split`` when two
or more do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

GT_BACKGROUND = 0
GT_SHADOW = 50  # CDnet: hard shadow, scored as background
GT_OUTSIDE_ROI = 85  # CDnet: outside the region of interest, ignored
GT_UNKNOWN = 170  # the uncertain band around the foreground, ignored
GT_FOREGROUND = 255
GT_VALUES = (GT_BACKGROUND, GT_SHADOW, GT_OUTSIDE_ROI, GT_UNKNOWN, GT_FOREGROUND)
GT_IGNORED = (GT_OUTSIDE_ROI, GT_UNKNOWN)

# A labelled person: an 8-connected component of the 255 mask at least this big (the same floor
# the service puts on its own blobs, models.background.BackgroundConfig).
PERSON_MIN_AREA_FRACTION = 0.002  # of the frame
PERSON_MIN_HEIGHT_PX = 16
# A returned box with less labelled foreground than this among its scored pixels is a false person.
FALSE_PERSON_MAX_FOREGROUND = 0.15
# A box covers a person when it holds at least this share of the person's pixels.
COVER_MIN_SHARE = 0.20
# A box holding less than this share of the person it overlaps most is a fragment of that person.
WHOLE_MIN_SHARE = 0.50
# Labelled people of consecutive frames are one track when their masks overlap at least this much (IoU).
TRACK_LINK_MIN_IOU = 0.30

BOX_KINDS = ("whole", "fragment", "non_person", "false")


def check_gt(gt: np.ndarray) -> np.ndarray:
    """A ground-truth mask, checked: (H, W) uint8 with CDnet's codes only; raises ValueError otherwise."""
    gt = np.asarray(gt)
    if gt.ndim != 2:
        raise ValueError(f"a ground-truth mask is (H, W), got shape {gt.shape}")
    if gt.dtype != np.uint8:
        raise ValueError(f"a ground-truth mask is uint8, got {gt.dtype}")
    bad = np.setdiff1d(np.unique(gt), GT_VALUES)
    if bad.size:
        raise ValueError(f"ground-truth values {bad.tolist()} are none of CDnet's codes {GT_VALUES}")
    return gt


def scored(gt: np.ndarray) -> np.ndarray:
    """(H, W) uint8 ground truth -> (H, W) bool: the pixels that count (not 170, not outside the ROI)."""
    return ~np.isin(gt, GT_IGNORED)


def foreground_counts(pred: np.ndarray, gt: np.ndarray) -> tuple[int, int, int]:
    """Pixel counts (tp, fp, fn) of a predicted foreground against the ground truth, 170 and 85 ignored.

    pred: (H, W) bool; gt: (H, W) uint8 with CDnet's codes."""
    gt = check_gt(gt)
    pred = np.asarray(pred)
    if pred.shape != gt.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from the ground truth's {gt.shape}")
    pred = pred.astype(bool)
    keep = scored(gt)
    true = gt == GT_FOREGROUND
    tp = int(np.count_nonzero(pred & true & keep))
    fp = int(np.count_nonzero(pred & ~true & keep))
    fn = int(np.count_nonzero(~pred & true & keep))
    return tp, fp, fn


def precision_recall_f(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """CDnet's precision, recall and F-measure from counts summed over frames; NaN where a ratio is 0/0."""
    for name, v in (("tp", tp), ("fp", fp), ("fn", fn)):
        if v < 0:
            raise ValueError(f"{name} = {v} is negative")
    p = tp / (tp + fp) if tp + fp else float("nan")
    r = tp / (tp + fn) if tp + fn else float("nan")
    f = 2 * p * r / (p + r) if tp else (0.0 if fp + fn else float("nan"))
    return p, r, f


@dataclass(frozen=True)
class LabelledPerson:
    """One labelled person: mask (H, W) bool of their 255 pixels, box (x0, y0, x1, y1) in pixel edges, area in px."""

    mask: np.ndarray
    box: tuple[float, float, float, float]
    area: int


def label_people(
    gt: np.ndarray, min_area_fraction: float = PERSON_MIN_AREA_FRACTION, min_height_px: int = PERSON_MIN_HEIGHT_PX
) -> list[LabelledPerson]:
    """(H, W) uint8 ground truth -> its labelled people, largest first: the 8-connected components
    of the 255 mask with area >= min_area_fraction of the frame and height >= min_height_px."""
    gt = check_gt(gt)
    if not 0 <= min_area_fraction < 1:
        raise ValueError(f"min_area_fraction = {min_area_fraction} is not in [0, 1)")
    if min_height_px < 0:
        raise ValueError(f"min_height_px = {min_height_px} is negative")
    h, w = gt.shape
    n, labels, stats, _ = cv2.connectedComponentsWithStats((gt == GT_FOREGROUND).astype(np.uint8), connectivity=8)
    people = []
    for k in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[k])
        if area < min_area_fraction * h * w or bh < min_height_px:
            continue
        people.append(LabelledPerson(mask=labels == k, box=(x - 0.5, y - 0.5, x + bw - 0.5, y + bh - 0.5), area=area))
    return sorted(people, key=lambda p: -p.area)


def box_slices(box, shape: tuple[int, int]) -> tuple[slice, slice]:
    """A box (x0, y0, x1, y1) in pixel edges -> (rows, columns) slices of the pixels whose centres it
    holds (x0 <= c < x1), clipped to a frame of ``shape`` (H, W)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    if not (np.isfinite([x0, y0, x1, y1]).all() and x0 <= x1 and y0 <= y1):
        raise ValueError(f"box {(x0, y0, x1, y1)} is not (x0, y0, x1, y1) with x0 <= x1 and y0 <= y1")
    h, w = shape
    c0, c1 = (int(np.clip(np.ceil(v), 0, w)) for v in (x0, x1))
    r0, r1 = (int(np.clip(np.ceil(v), 0, h)) for v in (y0, y1))
    return slice(r0, r1), slice(c0, c1)


def person_overlaps(boxes: np.ndarray, people: list[LabelledPerson], shape: tuple[int, int]) -> np.ndarray:
    """(B, 4) boxes and P people -> (B, P) int: how many of each person's pixels lie in each box."""
    out = np.zeros((len(boxes), len(people)), dtype=np.int64)
    for i, box in enumerate(boxes):
        rows, cols = box_slices(box, shape)
        for j, person in enumerate(people):
            out[i, j] = np.count_nonzero(person.mask[rows, cols])
    return out


def box_foreground_share(boxes: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(B, 4) boxes, (H, W) uint8 ground truth -> (B,) float: the share of each box's scored pixels
    that are labelled 255; NaN for a box with no scored pixel (all in the uncertain band or outside)."""
    gt = check_gt(gt)
    keep, true = scored(gt), gt == GT_FOREGROUND
    out = np.full(len(boxes), np.nan)
    for i, box in enumerate(boxes):
        rows, cols = box_slices(box, gt.shape)
        n = np.count_nonzero(keep[rows, cols])
        if n:
            out[i] = np.count_nonzero(true[rows, cols]) / n
    return out


def as_boxes(boxes) -> np.ndarray:
    """Any sequence of (x0, y0, x1, y1) -> (B, 4) float64; raises ValueError for another shape."""
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 4))
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"boxes are (B, 4) (x0, y0, x1, y1), got shape {arr.shape}")
    return arr


@dataclass
class FrameMatch:
    """The returned boxes of one frame against its labelled people.

    kinds: (B,) one of BOX_KINDS per box; best_person: (B,) index of the person each box overlaps
    most (-1 for none); merged: (B,) bool; covering: (P,) how many boxes cover each person;
    share: (B, P) float, the share of each person's pixels inside each box."""

    kinds: list[str]
    best_person: np.ndarray
    merged: np.ndarray
    covering: np.ndarray
    share: np.ndarray
    foreground_share: np.ndarray
    people_boxes: list[tuple[float, float, float, float]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """The frame's figures: boxes, people and every kind of error (see the module docstring)."""
        return {
            "boxes": len(self.kinds),
            "people": len(self.covering),
            **{k: self.kinds.count(k) for k in BOX_KINDS},
            "merged": int(self.merged.sum()),
            "missed": int(np.count_nonzero(self.covering == 0)),
            "split": int(np.count_nonzero(self.covering >= 2)),
            "found": int(np.count_nonzero(self.covering >= 1)),
        }


def classify_box(foreground_share: float, shares: np.ndarray) -> str:
    """One box's kind from the share of its scored pixels that is foreground and (P,) the share of
    each labelled person it holds."""
    if foreground_share < FALSE_PERSON_MAX_FOREGROUND:
        return "false"
    if shares.size == 0 or shares.max() == 0:
        return "non_person"
    return "whole" if shares.max() >= WHOLE_MIN_SHARE else "fragment"


def match_boxes(boxes, people: list[LabelledPerson], gt: np.ndarray) -> FrameMatch:
    """Returned boxes (B, 4) of one frame, its labelled people and its (H, W) uint8 ground truth ->
    a :class:`FrameMatch` (each box's kind, merged boxes, how many boxes cover each person)."""
    boxes = as_boxes(boxes)
    gt = check_gt(gt)
    overlap = person_overlaps(boxes, people, gt.shape)
    areas = np.array([p.area for p in people], dtype=np.float64)
    share = overlap / areas if len(people) else np.zeros((len(boxes), 0))
    fg = box_foreground_share(boxes, gt)
    # A box lying wholly in the uncertain band (NaN) is not judged false.
    kinds = [classify_box(1.0 if np.isnan(f) else f, share[i]) for i, f in enumerate(fg)]
    counts_as_box = np.array([k != "false" for k in kinds], dtype=bool)
    covers = (share >= COVER_MIN_SHARE) & counts_as_box[:, None]
    best = np.where(overlap.max(axis=1) > 0, overlap.argmax(axis=1), -1) if len(people) else np.full(len(boxes), -1)
    return FrameMatch(
        kinds=kinds,
        best_person=best,
        merged=covers.sum(axis=1) >= 2,
        covering=covers.sum(axis=0),
        share=share,
        foreground_share=fg,
        people_boxes=[p.box for p in people],
    )


def box_track_ids(answer_persons: list[dict]) -> list[int | None]:
    """The ``track_id`` of each person of a /pose answer, None where the answer carries none."""
    return [p.get("track_id") for p in answer_persons]


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two (H, W) bool masks; 0 when both are empty."""
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 0.0


def link_people(
    previous: list[LabelledPerson], previous_ids: list[int], current: list[LabelledPerson], next_id: int
) -> tuple[list[int], int]:
    """Ground-truth track ids for the labelled people of a frame: each takes the id of the previous
    frame's person its mask overlaps most (IoU >= TRACK_LINK_MIN_IOU; greedy, best pairs first, one to
    one); the others start new tracks from ``next_id``. Returns (ids, the next free id)."""
    if len(previous) != len(previous_ids):
        raise ValueError(f"{len(previous)} previous people but {len(previous_ids)} previous ids")
    pairs = sorted(
        ((mask_iou(p.mask, c.mask), i, j) for i, p in enumerate(previous) for j, c in enumerate(current)), reverse=True
    )
    ids: list[int | None] = [None] * len(current)
    taken: set[int] = set()
    for iou, i, j in pairs:
        if iou < TRACK_LINK_MIN_IOU:
            break
        if i not in taken and ids[j] is None:
            ids[j] = previous_ids[i]
            taken.add(i)
    for j in range(len(current)):
        if ids[j] is None:
            ids[j], next_id = next_id, next_id + 1
    return ids, next_id


def person_track_matches(match: FrameMatch, box_ids: list[int | None]) -> list[int | None]:
    """(P,) the track id of the box that holds the largest share of each labelled person, among the
    boxes that cover them; None where no box covers the person or that box carries no id."""
    out: list[int | None] = []
    for j in range(len(match.covering)):
        col = np.where(np.array([k != "false" for k in match.kinds], dtype=bool), match.share[:, j], 0.0)
        if col.size == 0 or col.max() < COVER_MIN_SHARE:
            out.append(None)
            continue
        out.append(box_ids[int(col.argmax())])
    return out


def count_id_switches(person_tracks: list[list[int]], matched_ids: list[list[int | None]]) -> int:
    """CLEAR-MOT identity switches: per frame, (P,) ground-truth track ids and (P,) the returned track
    id matched to each person (None: unmatched). A switch is a ground-truth track matched to an id
    other than the one it was last matched to."""
    if len(person_tracks) != len(matched_ids):
        raise ValueError(f"{len(person_tracks)} frames of tracks but {len(matched_ids)} frames of matches")
    last: dict[int, int] = {}
    switches = 0
    for tracks, ids in zip(person_tracks, matched_ids, strict=True):
        if len(tracks) != len(ids):
            raise ValueError(f"a frame has {len(tracks)} people but {len(ids)} matches")
        for t, i in zip(tracks, ids, strict=True):
            if i is None:
                continue
            if t in last and last[t] != i:
                switches += 1
            last[t] = i
    return switches


COUNT_KEYS = ("boxes", "people", *BOX_KINDS, "merged", "missed", "split", "found")


def summarise(frame_counts: list[dict[str, int]]) -> dict[str, float | int]:
    """Per-frame :meth:`FrameMatch.counts` -> totals over the frames and the rates the report shows:
    boxes and people per frame, each box kind and merged boxes as a share of the boxes, missed,
    split and found people as a share of the people (NaN where the denominator is 0)."""
    n = len(frame_counts)
    total = {k: int(sum(c[k] for c in frame_counts)) for k in COUNT_KEYS}

    def ratio(a: int, b: int) -> float:
        return a / b if b else float("nan")

    rates = {
        "frames": n,
        "boxes_per_frame": ratio(total["boxes"], n),
        "people_per_frame": ratio(total["people"], n),
        **{f"{k}_share_of_boxes": ratio(total[k], total["boxes"]) for k in (*BOX_KINDS, "merged")},
        **{f"{k}_share_of_people": ratio(total[k], total["people"]) for k in ("missed", "split", "found")},
        "frames_with_more_boxes_than_people": sum(c["boxes"] > c["people"] for c in frame_counts),
        "frames_with_fewer_boxes_than_people": sum(c["boxes"] < c["people"] for c in frame_counts),
    }
    return {**total, **rates}
