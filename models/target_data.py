"""The unlabelled target domain: person crops and their silhouettes from a static camera.

    target = site_target(frames, image_size=128, silhouette_size=64)   # MOG2 silhouettes
    train, held_out = target.split(0.7)                                # by time, never shuffled

Each person blob found by background subtraction gives one square crop of the frame (for the
regressor) and the same square cut from the blob's own mask (for the alignment losses), so the
regressor's crop camera and the silhouette share one coordinate frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import cv2
import numpy as np

from models.crops import crop, square_box
from models.heading import UNKNOWN
from models.people.blobs import Box, PersonBlob, connected_blobs
from models.people.extent import EDGE_MARGIN_PX, inside
from models.people.finder import FinderConfig
from models.people.foreground import OFFLINE, ForegroundConfig, video_foreground
from models.people.tracking import Tracker, TrackerConfig
from models.people.walk import approach_of

SILHOUETTE_SIZE = 64  # alignment losses run at this resolution (the paper's fitting is at the crop's)


@dataclass
class TargetSet:
    """images (N, S, S, 3) uint8; silhouettes (N, s, s) bool; frame_index (N,); squares (N, 3) = (cx, cy, side);
    approach (N,) int: whether each crop's person walks TOWARDS the camera, AWAY or UNKNOWN
    (models.heading; the finder's track), all UNKNOWN when not given."""

    images: np.ndarray
    silhouettes: np.ndarray
    frame_index: np.ndarray
    squares: np.ndarray
    approach: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # not given: every walk UNKNOWN

    def __post_init__(self) -> None:
        self.approach = np.asarray(self.approach, dtype=np.int64).reshape(-1)
        if len(self.approach) == 0:
            self.approach = np.full(len(self.images), UNKNOWN, dtype=np.int64)
        if len(self.approach) != len(self.images):
            raise ValueError(f"approach has {len(self.approach)} entries for {len(self.images)} crops")

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, idx: np.ndarray) -> TargetSet:
        return TargetSet(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    def split(self, fraction: float) -> tuple[TargetSet, TargetSet]:
        """The crops of the first ``fraction`` of the frames, and the rest (a split in time)."""
        if len(self) == 0:
            return self, self
        cut = self.frame_index.min() + fraction * (self.frame_index.max() + 1 - self.frame_index.min())
        first = self.frame_index < cut
        return self.subset(np.nonzero(first)[0]), self.subset(np.nonzero(~first)[0])


def plausible_person(blob: PersonBlob, frame_shape: tuple[int, int], margin: float = EDGE_MARGIN_PX) -> bool:
    """A whole, upright-ish person: not cut by the frame's edge, taller than a third of its width."""
    x0, y0, x1, y1 = blob.box
    return inside(blob.box, frame_shape, margin) and (y1 - y0) > 0.33 * (x1 - x0)


def crops_of(
    frame: np.ndarray,
    blobs: list[PersonBlob],
    image_size: int,
    silhouette_size: int,
    extents: list[Box] | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray], list[tuple[float, float, float]]]:
    """One (image crop, silhouette crop, square) per blob, the square around the blob's box or, given,
    its ``extents`` (the whole person's box where the frame's edge cuts them: models.people.extent)."""
    if extents is not None and len(extents) != len(blobs):
        raise ValueError(f"{len(extents)} extents for {len(blobs)} blobs")
    images, sils, squares = [], [], []
    for k, b in enumerate(blobs):
        sq = square_box(b.box if extents is None else extents[k])
        images.append(crop(frame, sq, image_size))
        # Cut at the image crop's resolution, then shrink by area: a nearest-neighbour cut
        # straight to the small size would alias thin limbs away.
        sils.append(shrink_silhouette(crop(b.mask, sq, image_size), silhouette_size))
        squares.append(sq)
    return images, sils, squares


def shrink_silhouette(mask: np.ndarray, size: int = SILHOUETTE_SIZE) -> np.ndarray:
    """A crop's (S, S) bool mask at the alignment losses' (size, size): by area, then above one half."""
    return cv2.resize(mask.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA) > 0.5


def walk_directions(blobs: list[list[PersonBlob]], config: TrackerConfig = TrackerConfig()) -> list[list[int]]:
    """Each blob's person's walk, TOWARDS the camera, AWAY or UNKNOWN, as the service's finder
    reads it (models.people.walk.approach_of): its boxes tracked from frame to frame, and the
    track's box growing or shrinking. Only the frames so far count, as when serving."""
    tracker = Tracker(config)
    return [[approach_of(track) for track in tracker.update([b.box for b in bl])] for bl in blobs]


def target_from_blobs(
    frames: np.ndarray, blobs: list[list[PersonBlob]], image_size: int, silhouette_size: int, largest_only: bool = False
) -> TargetSet:
    images, sils, index, squares, approach = [], [], [], [], []
    walks = walk_directions(blobs)
    for t, (frame, bl, walk) in enumerate(zip(frames, blobs, walks, strict=True)):
        keep = [k for k, b in enumerate(bl) if plausible_person(b, frame.shape[:2])]
        if largest_only:
            keep = keep[:1]
        im, si, sq = crops_of(frame, [bl[k] for k in keep], image_size, silhouette_size)
        images += im
        sils += si
        squares += sq
        index += [t] * len(im)
        approach += [walk[k] for k in keep]
    s, S = silhouette_size, image_size
    return TargetSet(
        images=np.stack(images) if images else np.zeros((0, S, S, 3), np.uint8),
        silhouettes=np.stack(sils) if sils else np.zeros((0, s, s), bool),
        frame_index=np.asarray(index, dtype=np.int64),
        squares=np.asarray(squares, dtype=np.float64).reshape(-1, 3),
        approach=np.asarray(approach, dtype=np.int64),
    )


def site_target(
    frames: np.ndarray,
    image_size: int = 128,
    silhouette_size: int = SILHOUETTE_SIZE,
    largest_only: bool = False,
    true_masks: np.ndarray | None = None,
    background: ForegroundConfig = OFFLINE,
) -> TargetSet:
    """Crops of a whole video (T, H, W, 3): from MOG2 silhouettes, or from ``true_masks`` (the oracle)."""
    if true_masks is None:
        blobs = video_blobs(video_foreground(frames, background))
    else:
        blobs = []
        for m in true_masks:
            ys, xs = np.nonzero(m)
            blobs.append(
                [
                    PersonBlob(
                        box=(xs.min() - 0.5, ys.min() - 0.5, xs.max() + 0.5, ys.max() + 0.5), mask=m, area=int(m.sum())
                    )
                ]
                if len(xs)
                else []
            )
    return target_from_blobs(frames, blobs, image_size, silhouette_size, largest_only)


def video_blobs(masks: np.ndarray, config: FinderConfig = FinderConfig()) -> list[list[PersonBlob]]:
    """Each frame's person-sized blobs of (T, H, W) masks, largest first (the finder's size limits)."""
    h, w = masks.shape[1:]
    min_area = int(config.min_area_fraction * h * w)
    return [connected_blobs(m, min_area, config.grouping.min_height_px) for m in masks]
