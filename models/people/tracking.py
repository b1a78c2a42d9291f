"""Track ids for the people of one camera: boxes matched from frame to frame by overlap.

    tracker = Tracker(TrackerConfig())
    for boxes in frames:                       # each frame's person boxes, in frame pixels
        matches = tracker.update(boxes)        # one Track per box (None where none matched)
        [t for t in tracker.tracks if t.confirmed]

A track is born tentative and confirmed after ``confirm_hits`` matches in a row, so a blob that
flickers for a frame or two never becomes a person. A confirmed track survives
``max_missed`` frames without a match (a missed frame, an occlusion, two people crossing), its
box carried forward by its velocity, so it keeps its id when it is found again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from models.heading import UNKNOWN
from models.people.blobs import Box, box_iou


@dataclass(frozen=True)
class TrackerConfig:
    confirm_hits: int = 3
    max_missed: int = 25  # a second at 25 fps
    tentative_max_missed: int = 1
    min_iou: float = 0.2  # a box and a track's predicted box overlap at least this much to match
    max_centre_jump: float = 0.6  # ... or their centres lie within this share of the track's height
    smoothing: float = 0.5  # of the new velocity estimate against the old
    jump_iou: float = 0.5  # a matched box overlapping its last one less than this restarts the track's reach
    walk_window: int = 25  # boxes kept for reading a walk (models.people.walk.approach_of): 1 s at 25 fps


@dataclass
class Track:
    id: int
    box: Box
    velocity: tuple[float, float] = (0.0, 0.0)  # box centre, pixels per frame
    growth: float = 0.0  # the box's height, relative change per frame (smoothed like the velocity)
    hits: int = 1
    streak: int = 1  # matches in a row
    missed: int = 0
    confirmed: bool = False
    ghostly: float = 0.0  # a running vote, 0..1, that the track is a ghost (models.people.ghosts)
    ghost_tests: int = 0  # how many ghost tests have voted
    absorbed: bool = False  # its last match was a blob completed in an activity region (models.people.absorbed)
    personness: float | None = None  # a running vote, 0..1, that its silhouettes are a person's (None: no vote)
    answered: bool = False  # whether it has been answered as a person (the person check then asks less of it)
    reach: float = 0.0  # the farthest its box centre has gone from where it was confirmed, pixels
    origin: tuple[float, float] | None = None  # the box centre when it was confirmed
    # height over width of its boxes while the frame cut none of it, a running mean (None: never
    # seen whole): how far a person the frame cuts reaches past it (models.people.extent)
    aspect: float | None = None
    last_whole: Box | None = None  # its last box the frame cut none of
    # its walk (models.people.walk: TOWARDS the camera, AWAY or UNKNOWN) as last read while the frame
    # cut none of it: a box the frame's edge cuts no longer shows it, and the person keeps walking
    walk: int = UNKNOWN
    # (height, bottom y) of its last matched boxes, oldest first, at most TrackerConfig.walk_window
    recent: list[tuple[float, float]] = field(default_factory=list)

    @property
    def has_moved(self) -> bool:
        """Whether it has gone half its height from where it was confirmed: a person who walked in,
        not a ghost (the background a person left when the camera started) or an object that was
        always there, whose boxes only jitter in place (a path length would add the jitter up).
        Measured from the confirmation, not the birth: a ghost's track can be born on a blob that
        still held the person walking out of it."""
        return self.reach >= 0.5 * (self.box[3] - self.box[1])

    def predicted(self) -> Box:
        """The box moved on by the velocity for each frame since it was last seen."""
        k = self.missed + 1
        dx, dy = self.velocity[0] * k, self.velocity[1] * k
        x0, y0, x1, y1 = self.box
        return x0 + dx, y0 + dy, x1 + dx, y1 + dy


def centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def affinity(track: Track, box: Box, cfg: TrackerConfig) -> float:
    """How well a box continues a track: the IoU with its predicted box, or a small positive
    value when only their centres are close (a fast or partly seen person); 0 when they do not match."""
    p = track.predicted()
    iou = box_iou(p, box)
    if iou >= cfg.min_iou:
        return iou
    (px, py), (bx, by) = centre(p), centre(box)
    height = p[3] - p[1]
    if ((px - bx) ** 2 + (py - by) ** 2) ** 0.5 <= cfg.max_centre_jump * height:
        return cfg.min_iou * 0.5 * (1 - iou)  # below every IoU match: taken only when nothing overlaps
    return 0.0


def remember(track: Track, window: int) -> None:
    """Keep the track's box height and bottom, the last ``window`` of them."""
    track.recent.append((track.box[3] - track.box[1], track.box[3]))
    del track.recent[:-window]


class Tracker:
    def __init__(self, config: TrackerConfig = TrackerConfig()):
        self.config = config
        self.tracks: list[Track] = []
        self._next_id = 1

    def update(self, boxes: list[Box], measured: Sequence[bool] | None = None) -> list[Track]:
        """Match this frame's boxes to the tracks (greedily, best affinity first), update them,
        start tentative tracks for the boxes left over and drop the lost; returns the track of
        each box, in the order of ``boxes``. A box not ``measured`` (one a track's own prediction
        placed, cut from a blob it shares) does not add to how far its track has gone."""
        cfg = self.config
        pairs = sorted(
            ((affinity(t, b, cfg), ti, bi) for ti, t in enumerate(self.tracks) for bi, b in enumerate(boxes)),
            reverse=True,
        )
        by_box: dict[int, Track] = {}
        used: set[int] = set()
        for score, ti, bi in pairs:
            if score <= 0:
                break
            if ti in used or bi in by_box:
                continue
            used.add(ti)
            by_box[bi] = self._continue(self.tracks[ti], boxes[bi], measured is None or measured[bi])
        for ti, t in enumerate(self.tracks):
            if ti not in used:
                t.missed += 1
                t.streak = 0
        for bi, b in enumerate(boxes):
            if bi not in by_box:
                by_box[bi] = self._start(b)
        self.tracks = [
            t for t in self.tracks if t.missed <= (cfg.max_missed if t.confirmed else cfg.tentative_max_missed)
        ]
        return [by_box[bi] for bi in range(len(boxes))]

    def _continue(self, track: Track, box: Box, measured: bool = True) -> Track:
        (ox, oy), (nx, ny) = centre(track.box), centre(box)
        k = track.missed + 1
        a = self.config.smoothing
        track.velocity = (
            (1 - a) * track.velocity[0] + a * (nx - ox) / k,
            (1 - a) * track.velocity[1] + a * (ny - oy) / k,
        )
        old_h, new_h = track.box[3] - track.box[1], box[3] - box[1]
        if old_h > 0:
            track.growth = (1 - a) * track.growth + a * ((new_h / old_h) ** (1 / k) - 1)
        if track.origin is not None and box_iou(track.box, box) < self.config.jump_iou:
            # The box jumped to another shape (a walker's track sliding onto a plant they passed, a
            # body joining a group): how far it has gone is measured afresh from here, and the person
            # check judges it afresh, its vote restarted; a walker's track left on a plant would
            # otherwise keep the walker's vote for a dozen frames (docs/REAL_FOOTAGE.md, "Telling a
            # plant from a person").
            track.origin, track.reach = (nx, ny), 0.0
            track.personness, track.answered = None, False
            track.recent, track.walk = [], UNKNOWN
            track.aspect, track.last_whole = None, None
        if track.origin is not None and measured:
            # (a predicted box moves on with the velocity: inside a blob two tracks share, a track on a
            # limb's piece of someone exercising would otherwise slide over them and count as walking)
            track.reach = max(track.reach, ((nx - track.origin[0]) ** 2 + (ny - track.origin[1]) ** 2) ** 0.5)
        track.box = box
        remember(track, self.config.walk_window)
        track.hits += 1
        track.streak += 1
        track.missed = 0
        if track.streak >= self.config.confirm_hits and not track.confirmed:
            track.confirmed = True
            track.origin = (nx, ny)
        return track

    def _start(self, box: Box) -> Track:
        confirmed = self.config.confirm_hits <= 1
        track = Track(id=self._next_id, box=box, confirmed=confirmed, origin=centre(box) if confirmed else None)
        remember(track, self.config.walk_window)
        self._next_id += 1
        self.tracks.append(track)
        return track

    def coast(self) -> None:
        """A frame in which nothing can be seen (the background is being relearnt): every track
        misses it, and none is dropped for it."""
        for t in self.tracks:
            t.streak = 0
