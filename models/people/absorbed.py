"""People the background absorbed: someone in view while a site learnt its background.

A site learns its background from its first frames. Someone already in view then, who stays on
the spot, is learnt with it: standing still they are background, as a mannequin would be;
exercising (jumping jacks, bending, a slow martial-art form) they show only where a limb is now and
was not while the model learnt, arms and feet in pieces, never the torso (docs/REAL_FOOTAGE.md,
"People in view from the first frame"). Their pieces are no person's shape, so nobody is answered.

Where they move does show. The pixels that were foreground at some time in the last
``memory_frames`` (the *activity envelope*) cover the reach of their limbs, a region around the
whole body. A region of it that was active from the start, that nobody walked into and whose
foreground now is only pieces (:meth:`ActivityEnvelope.regions`) is segmented in the current frame
by GrabCut (OpenCV's iterated graph cut over colour models, :func:`complete`): this frame's
foreground is sure foreground, the envelope probable foreground, the rest of the region's box
probable background and a ring around it sure background. The finder (models.people.finder) puts
the completed silhouette in the place of the pieces where it has a person's shape and reads as a
person to the silhouette classifier, and judges its track more strictly than others (a swaying
plant is completed too).

    envelope = ActivityEnvelope(AbsorbedConfig())
    for frame, fg_mask in ...:                      # working resolution, in time order
        envelope.observe(fg_mask)
        for box, region in envelope.regions(fg_mask, arrived=[(box, origin), ...]):
            mask = complete(frame_small, fg_mask, box, region, config)   # (h, w) bool or None
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from models.people.blobs import WorkBox, share_inside

GRABCUT_SEED = 0


@dataclass(frozen=True)
class AbsorbedConfig:
    # 2 s at 25 fps: a slow exercise (a bend to the floor takes 4 s) still fills its reach within
    # a repetition's half, and a walker's trail is long and thin rather than a body's shape.
    memory_frames: int = 50
    close_fraction: float = 0.04  # of the working height: the closing that joins a body's pieces
    min_height_fraction: float = 0.1  # of the working height: smaller regions are not people
    min_aspect: float = 0.8  # height over width: a jumping jack's reach is 1.2-1.5, a walk-in's trail is wider
    # The foreground now over the envelope's area: above this the pieces are a body already (a
    # walker, someone the model knows the background behind) and are left to the usual finder.
    max_fragment_share: float = 0.5
    # ... and where a piece now is most of the region's height and solid, it is a body already (a
    # person walking out of the spot they were learnt on, the ghost they leave): left to the finder.
    whole_height_share: float = 0.6
    whole_fill: float = 0.2  # a jumping jack's arms and legs spread leave a quarter of its box
    # Only someone in view while the background was learnt is absorbed, and they show from the
    # start: a region must lie this much in the activity of the first ``memory_frames`` after
    # warm-up. People who walk in later are whole (the model knows the background behind them),
    # and a completion around them could only swallow them.
    first_share: float = 0.3
    # A confirmed track this share of a region's height tall, half inside it, is someone there
    # already, not a limb's piece (a track on one leg of an absorbed person is a third of their
    # region). With neither this nor the rule on where tracks were confirmed, HallAndMonitor's man
    # bending over his box joined the far woman in one region and missed people went 16 -> 53 of 432.
    walker_height_share: float = 0.4
    # Pieces side by side (two arms either side of a torso that never moves) are one region when
    # their boxes overlap over half the shorter's height with a gap under this share of the taller's.
    side_gap: float = 0.35
    pad_fraction: float = 0.15  # of the region's larger side: the ring GrabCut learns background from
    grabcut_side_px: int = 128  # GrabCut runs on the region scaled down to at most this side
    grabcut_iterations: int = 3

    def __post_init__(self) -> None:
        if self.memory_frames < 2:
            raise ValueError(f"memory_frames={self.memory_frames} must be >= 2")
        if not 0 < self.max_fragment_share <= 1:
            raise ValueError(f"max_fragment_share={self.max_fragment_share} must lie in (0, 1]")
        if self.grabcut_side_px < 16:
            raise ValueError(f"grabcut_side_px={self.grabcut_side_px} must be >= 16")


def side_by_side(boxes: Sequence[tuple[int, ...]], max_gap: float) -> list[list[int]]:
    """Groups of (x, y, w, h) boxes, as 1-based labels, joined where two overlap vertically by at
    least half the shorter's height and lie at most ``max_gap`` times the taller's height apart
    horizontally (transitively: three pieces in a row are one group)."""
    parent = list(range(len(boxes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (xa, ya, wa, ha) in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            xb, yb, wb, hb = boxes[j]
            v = min(ya + ha, yb + hb) - max(ya, yb)
            gap = max(xa, xb) - min(xa + wa, xb + wb)
            if v >= 0.5 * min(ha, hb) and gap <= max_gap * max(ha, hb):
                parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(boxes)):
        groups.setdefault(root(i), []).append(i + 1)
    return list(groups.values())


class ActivityEnvelope:
    """Where a site's foreground has been over its last ``memory_frames`` frames (working pixels)."""

    def __init__(self, config: AbsorbedConfig = AbsorbedConfig()):
        self.config = config
        self._last: np.ndarray | None = None  # (h, w) int32: the frame each pixel was last foreground
        self._frame = 0  # frames observed since the start (or the last reset)
        self._first: np.ndarray | None = None  # (h, w) bool: the activity of the first memory_frames

    def reset(self) -> None:
        """Forget everything (a relearnt background absorbs whoever is in view then)."""
        self._last = None
        self._first = None
        self._frame = 0

    def observe(self, mask: np.ndarray) -> None:
        """Adds one frame's (h, w) bool foreground (a new size starts afresh)."""
        if self._last is None or self._last.shape != mask.shape:
            self.reset()
            self._last = np.full(mask.shape, -(2**30), np.int32)
        self._frame += 1
        self._last[mask] = self._frame
        if self._frame <= self.config.memory_frames:
            self._first = mask.copy() if self._first is None else self._first | mask

    def envelope(self) -> np.ndarray | None:
        """(h, w) bool: the pixels that were foreground within the memory; None before any frame."""
        if self._last is None:
            return None
        return self._last > self._frame - self.config.memory_frames

    def regions(
        self, mask: np.ndarray, arrived: Sequence[tuple[WorkBox, tuple[float, float]]] = ()
    ) -> list[tuple[WorkBox, np.ndarray]]:
        """The envelope's regions that may hold an absorbed person: (box, (h, w) bool region mask).
        A region is a body's height tall at least and no wider than ``1 / min_aspect`` times that,
        clear of the frame's left and right edges, ``first_share`` of it active in the first
        ``memory_frames`` observed; this frame's foreground ``mask`` is only pieces of it (a walker,
        or anyone whose background the model knows, is whole in it); and nobody is in it or has
        left it: of ``arrived`` (confirmed tracks' boxes and the points where they were confirmed,
        working px), no box half inside the region that is ``walker_height_share`` of its height
        tall or whose track was confirmed outside it (someone passing a swaying plant, or bending
        over a desk beside someone else; a track on one of an absorbed person's limbs is small and
        starts inside their region), and none that tall, confirmed inside it, now outside it."""
        c = self.config
        env = self.envelope()
        if env is None or env.shape != mask.shape:
            return []
        h = mask.shape[0]
        k = max(round(c.close_fraction * h) | 1, 3)
        closed = cv2.morphologyEx(env.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
        n, labels, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
        out = []
        # specks (noise, a flicker) neither make a region nor join one
        pieces = [r for r in range(1, n) if stats[r, cv2.CC_STAT_HEIGHT] >= 0.5 * c.min_height_fraction * h]
        for group in side_by_side([tuple(int(v) for v in stats[r, :4]) for r in pieces], c.side_gap):
            group = [pieces[g - 1] for g in group]
            x0 = min(int(stats[r, 0]) for r in group)
            y0 = min(int(stats[r, 1]) for r in group)
            x1 = max(int(stats[r, 0] + stats[r, 2]) for r in group)
            y1 = max(int(stats[r, 1] + stats[r, 3]) for r in group)
            box = (x0, y0, x1, y1)
            if y1 - y0 < c.min_height_fraction * h or y1 - y0 < c.min_aspect * (x1 - x0):
                continue
            if x0 == 0 or x1 == mask.shape[1]:
                continue  # someone coming in or going out, cut by the frame's edge
            if any(self._taken(box, b, origin) for b, origin in arrived):
                continue
            region = np.isin(labels, group)
            if self._first is None or (self._first & region).sum() < c.first_share * region.sum():
                continue  # nobody was moving here when the background was learnt
            if mask[region].sum() > c.max_fragment_share * region.sum() or self._holds_a_body(mask, box):
                continue
            out.append((box, region))
        return out

    def _taken(self, region_box: WorkBox, box: WorkBox, origin: tuple[float, float]) -> bool:
        """Whether a confirmed track's ``box``, confirmed at ``origin``, says the region is nobody
        absorbed: someone is in it (half inside it, ``walker_height_share`` of its height tall or
        confirmed outside it), or someone confirmed in it, that tall, has walked out of it (what
        the region holds then is their ghost: GrabCut completed it, the classifier scored it a
        person, and rendered jumping jacks had 15 false persons after the walk out)."""
        x0, y0, x1, y1 = region_box
        tall = box[3] - box[1] >= self.config.walker_height_share * (y1 - y0)
        born_inside = x0 <= origin[0] < x1 and y0 <= origin[1] < y1
        if share_inside(box, region_box) >= 0.5:
            return tall or not born_inside
        return tall and born_inside

    def _holds_a_body(self, mask: np.ndarray, box: WorkBox) -> bool:
        """Whether this frame's foreground inside ``box`` has a piece ``whole_height_share`` of the
        box's height tall that fills ``whole_fill`` of its own box."""
        x0, y0, x1, y1 = box
        stats = cv2.connectedComponentsWithStats(mask[y0:y1, x0:x1].astype(np.uint8), connectivity=8)[2][1:]
        bw, bh, area = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_AREA]
        whole = (bh >= self.config.whole_height_share * (y1 - y0)) & (area >= self.config.whole_fill * bw * bh)
        return bool(whole.any())


def complete(
    image: np.ndarray, mask: np.ndarray, box: WorkBox, region: np.ndarray, config: AbsorbedConfig
) -> np.ndarray | None:
    """The silhouette GrabCut finds in an envelope region of ``image`` ((h, w, 3) RGB uint8 at the
    working resolution), seeded by this frame's foreground ``mask`` (sure foreground), the
    ``region`` ((h, w) bool; probable foreground), the rest of ``box`` (probable background) and a
    ring ``pad_fraction`` of its larger side around it (sure background). Returns (h, w) bool, the
    largest connected part of the result; None where GrabCut finds no foreground or that part is
    less than ``whole_height_share`` of the region's height (a limb, not a body)."""
    h, w = mask.shape
    x0, y0, x1, y1 = box
    pad = max(round(config.pad_fraction * max(x1 - x0, y1 - y0)), 2)
    cx0, cy0, cx1, cy1 = max(x0 - pad, 0), max(y0 - pad, 0), min(x1 + pad, w), min(y1 + pad, h)
    seeds = np.full((cy1 - cy0, cx1 - cx0), cv2.GC_BGD, np.uint8)
    seeds[y0 - cy0 : y1 - cy0, x0 - cx0 : x1 - cx0] = cv2.GC_PR_BGD
    # The region itself, not its convex hull: the hull, which would hold a torso that never moves
    # between the limbs' pieces, holds the floor between spread legs too, and GrabCut took it
    # (rendered jumping jacks answered on 124 of 220 frames with the hull, 141-188 without; a real
    # torso moves with the hops and bends, and GrabCut takes it by its colour).
    seeds[region[cy0:cy1, cx0:cx1]] = cv2.GC_PR_FGD
    seeds[mask[cy0:cy1, cx0:cx1] & region[cy0:cy1, cx0:cx1]] = cv2.GC_FGD
    if not (seeds == cv2.GC_BGD).any() or not (seeds == cv2.GC_FGD).any():
        return None  # the region fills the frame, or nothing of it is foreground now
    crop = image[cy0:cy1, cx0:cx1]
    s = min(config.grabcut_side_px / max(crop.shape[:2]), 1.0)
    if s < 1.0:
        size = (max(round(crop.shape[1] * s), 1), max(round(crop.shape[0] * s), 1))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        seeds = cv2.resize(seeds, size, interpolation=cv2.INTER_NEAREST)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    # GrabCut starts its colour models with k-means drawn from OpenCV's global generator: seeded, the
    # same frame gives the same silhouette whatever ran before it in the process.
    cv2.setRNGSeed(GRABCUT_SEED)
    cv2.grabCut(
        np.ascontiguousarray(crop), seeds, (0, 0, 0, 0), bgd, fgd, config.grabcut_iterations, cv2.GC_INIT_WITH_MASK
    )
    found = ((seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(found, connectivity=8)
    if n < 2:
        return None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[best, cv2.CC_STAT_HEIGHT] < config.whole_height_share * seeds.shape[0] * (y1 - y0) / (cy1 - cy0):
        return None  # a piece, not the body the region holds: left to the finder as it was
    largest = (labels == best).astype(np.uint8)
    if s < 1.0:
        largest = cv2.resize(largest, (cx1 - cx0, cy1 - cy0), interpolation=cv2.INTER_NEAREST)
    out = np.zeros((h, w), bool)
    out[cy0:cy1, cx0:cx1] = largest.astype(bool)
    return out
