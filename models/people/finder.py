"""The person finder of one camera: foreground -> blobs -> people -> tracks.

    finder = PersonFinder(FinderConfig())
    found = finder.apply(frame)                    # (H, W, 3) RGB uint8, frames in time order
    for person in found.people:                    # confirmed tracks seen in this frame
        person.track_id, person.blob.box, person.blob.mask

Only confirmed tracks are answered (a blob must be a person-shaped candidate for
``confirm_hits`` frames in a row), so flicker, ghosts and one-frame blobs are never people.
The boxes of confirmed people who have walked some way are protected from the background's
learning, so people who stop and stand still stay found; the whole ones teach the site's person
height per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from models.crops import mask_box
from models.people.blobs import Box, PersonBlob, connected_blobs
from models.people.foreground import Foreground, ForegroundConfig, ForegroundModel, Subtractor
from models.people.ghosts import GHOST_EDGE_SHARE, edge_share
from models.people.grouping import GroupingConfig, PersonScale, group_people
from models.people.tracking import Track, Tracker, TrackerConfig

EDGE_MARGIN_PX = 2  # a box this close to the frame's edge is a person cut by it
GHOST_VOTE = 0.4  # weight of each ghost test in a track's running vote
GHOST_EVERY = 2  # a track's ghost test runs on every second frame it is seen
SHARED_BLOB_OVERLAP = 0.6  # share of a coasting track's predicted box inside another's blob: both are in it
SIDE_BY_SIDE_WIDTH = 1.3  # a blob is cut only if this many times the wider person's width
SIDE_BY_SIDE_APART = 0.4  # ... and their centres this many widths apart


def share_inside(inner: Box, outer: Box) -> float:
    """The share of box ``inner``'s area that lies inside box ``outer``."""
    w = min(inner[2], outer[2]) - max(inner[0], outer[0])
    h = min(inner[3], outer[3]) - max(inner[1], outer[1])
    area = (inner[2] - inner[0]) * (inner[3] - inner[1])
    return max(w, 0.0) * max(h, 0.0) / area if area > 0 else 0.0


def split_blob(blob: PersonBlob, a: Box, b: Box) -> tuple[PersonBlob, PersonBlob] | None:
    """A blob holding two people, cut between them: each pixel goes to the box whose centre column
    is nearer. None when either part comes out empty."""
    xs = np.arange(blob.mask.shape[1], dtype=np.float32)
    nearer_a = np.abs(xs - (a[0] + a[2]) / 2) <= np.abs(xs - (b[0] + b[2]) / 2)
    parts = []
    for keep in (nearer_a, ~nearer_a):
        mask = blob.mask & keep[None, :]
        box = mask_box(mask)
        if box is None:
            return None
        parts.append(PersonBlob(box=box, mask=mask, area=int(mask.sum())))
    return parts[0], parts[1]


def is_ghost(track: Track) -> bool:
    return track.ghostly > 0.5


@dataclass(frozen=True)
class FinderConfig:
    foreground: ForegroundConfig = field(default_factory=ForegroundConfig)
    grouping: GroupingConfig = field(default_factory=GroupingConfig)
    tracking: TrackerConfig = field(default_factory=TrackerConfig)
    min_area_fraction: float = 0.002  # of the frame: smaller blobs are noise, not people
    max_people: int = 64  # candidates per frame, largest first (a crowd seen from above has dozens)

    @classmethod
    def with_warmup(cls, frames: int, method: Subtractor = "mog2") -> FinderConfig:
        return cls(foreground=ForegroundConfig(warmup_frames=frames, method=method))


@dataclass
class FoundPerson:
    track_id: int
    blob: PersonBlob
    whole: bool  # not cut by the frame's edge


@dataclass
class FrameFind:
    """One frame's people (confirmed tracks seen in it, largest first) and the state of the
    site's background model; ``foreground`` is the mask the people were cut from."""

    people: list[FoundPerson]
    warming_up: bool
    relearning: bool
    foreground: Foreground


def inside(box: tuple[float, float, float, float], shape: tuple[int, int], margin: float = EDGE_MARGIN_PX) -> bool:
    """Whether a box (frame pixel edges) keeps ``margin`` pixels from every edge of an (H, W) frame."""
    x0, y0, x1, y1 = box
    h, w = shape
    return x0 > margin and y0 > margin and x1 < w - 1 - margin and y1 < h - 1 - margin


class PersonFinder:
    """Everything a site needs to find its people, kept across its frames (not thread-safe:
    one site's frames go through it one at a time, in order)."""

    def __init__(self, config: FinderConfig = FinderConfig()):
        self.config = config
        self.foreground = ForegroundModel(config.foreground)
        self.scale = PersonScale()
        self.tracker = Tracker(config.tracking)

    @property
    def warming_up(self) -> bool:
        return self.foreground.warming_up

    @property
    def frames_seen(self) -> int:
        return self.foreground.frames_seen

    def candidates(self, fg: Foreground, frame_shape: tuple[int, int]) -> list[PersonBlob]:
        """Person-shaped blobs of a foreground mask (fragments merged), largest first."""
        h, w = fg.mask.shape
        min_area = self.config.min_area_fraction * h * w
        min_height = self.config.grouping.min_height_px / fg.scale
        blobs = connected_blobs(fg.mask, int(min_area), min_height, fg.scale)
        return group_people(blobs, self.scale, self.config.grouping)[: self.config.max_people]

    def _grey_pair(self, frame: np.ndarray, fg: Foreground) -> tuple[np.ndarray, np.ndarray] | None:
        """(frame, background) grey float32 at the working resolution, for the ghost test."""
        background = self.foreground.background_grey()
        if background is None:
            return None
        h, w = background.shape
        small = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA) if fg.scale != 1.0 else frame
        return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32), background

    @staticmethod
    def _edge_share(blob: PersonBlob, scale: float, frame_grey: np.ndarray, background_grey: np.ndarray) -> float:
        """:func:`edge_share` on the blob's box, at the working resolution."""
        h, w = frame_grey.shape
        x0, y0 = max(int((blob.box[0] + 0.5) / scale) - 2, 0), max(int((blob.box[1] + 0.5) / scale) - 2, 0)
        x1, y1 = min(int((blob.box[2] + 0.5) / scale) + 3, w), min(int((blob.box[3] + 0.5) / scale) + 3, h)
        if x1 - x0 < 4 or y1 - y0 < 4:
            return 0.5
        mask = cv2.resize(blob.mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)[y0:y1, x0:x1]
        return edge_share(mask.astype(bool), frame_grey[y0:y1, x0:x1], background_grey[y0:y1, x0:x1])

    def _split_shared(self, blobs: list[PersonBlob], tracks: list[Track]) -> tuple[list[PersonBlob], list[Track]]:
        """People who cross or walk side by side become one blob for a while: a confirmed track that
        found no blob this frame but whose predicted box lies inside another confirmed track's blob
        gets its part of that blob, cut between the two (so both are answered, each with its id)."""
        for lost in [t for t in self.tracker.tracks if t.confirmed and t.missed == 1]:
            guess = lost.predicted()
            for i, (blob, owner) in enumerate(zip(blobs, tracks, strict=True)):
                if owner is lost or not owner.confirmed or share_inside(guess, blob.box) < SHARED_BLOB_OVERLAP:
                    continue
                mine = owner.predicted()
                widest = max(mine[2] - mine[0], guess[2] - guess[0])
                apart = abs((mine[0] + mine[2]) - (guess[0] + guess[2])) / 2
                if blob.width < SIDE_BY_SIDE_WIDTH * widest or apart < SIDE_BY_SIDE_APART * widest:
                    break  # one person's width, or two people one behind the other: no cut to make
                parts = split_blob(blob, owner.predicted(), guess)
                if parts is None:
                    break
                blobs[i] = parts[0]
                owner.box = parts[0].box
                blobs.append(parts[1])
                tracks.append(self.tracker.claim(lost, parts[1].box))
                break
        return blobs, tracks

    def apply(self, frame: np.ndarray) -> FrameFind:
        # Only people who walked in are kept out of the background's learning: a ghost (where a
        # person stood when the camera started) or an object that was always there must fade
        # into the background.
        protect = [t.predicted() for t in self.tracker.tracks if t.confirmed and t.has_moved and not is_ghost(t)]
        fg = self.foreground.apply(frame, protect=protect)
        if fg.warming_up or fg.relearning:
            self.tracker.coast()
            return FrameFind(people=[], warming_up=fg.warming_up, relearning=fg.relearning, foreground=fg)
        shape = frame.shape[:2]
        blobs = self.candidates(fg, shape)
        tracks = self.tracker.update([b.box for b in blobs])
        blobs, tracks = self._split_shared(blobs, tracks)
        people = []
        grey = self._grey_pair(frame, fg)
        for blob, track in zip(blobs, tracks, strict=True):
            if not track.confirmed:
                continue
            if grey is not None and track.hits % GHOST_EVERY == 0:
                share = self._edge_share(blob, fg.scale, *grey)
                track.ghostly += GHOST_VOTE * (float(share < GHOST_EDGE_SHARE) - track.ghostly)
            if is_ghost(track):
                continue
            whole = inside(blob.box, shape)
            if whole:
                self.scale.observe(blob.box)
            people.append(FoundPerson(track_id=track.id, blob=blob, whole=whole))
        return FrameFind(people=people, warming_up=False, relearning=False, foreground=fg)
