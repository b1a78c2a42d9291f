"""The person finder of one camera: foreground -> blobs -> people -> tracks.

    finder = PersonFinder(FinderConfig())
    found = finder.apply(frame)                    # (H, W, 3) RGB uint8, frames in time order
    for person in found.people:                    # confirmed tracks seen in this frame
        person.track_id, person.blob.box, person.blob.mask

Only confirmed tracks are answered (a blob must be a person-shaped candidate for
``confirm_hits`` frames in a row), so flicker, ghosts and one-frame blobs are never people.
The boxes of confirmed people who have walked some way are protected from the background's
learning, so people who stop and stand still stay found; the whole ones (and completed people,
below) teach the site's person height per row. Two tracked people whose blobs join (crossing,
walking side by side) are cut apart along their predicted boxes and answered as two, each with its
id (a part so placed does not count as walking); people who come into view side by side or in
file, one blob from the start, are cut apart by their heads (:mod:`models.people.cutting`,
``FinderConfig.rows``); one who walks in front of
something that moves (a swaying plant) keeps its part of the blob they make together. A track that never moved
far (a swaying plant, a parked van) is answered only while its silhouettes read as a person's
(:mod:`models.people.personness`, ``FinderConfig.person_check``). Someone in view while the
background was learnt, exercising on the spot, shows only in pieces; where they keep moving, the
pieces are replaced by the silhouette GrabCut completes (:mod:`models.people.absorbed`,
``FinderConfig.absorbed``), judged by the classifier more strictly than other tracks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, get_args

import cv2
import numpy as np

from models.heading import UNKNOWN
from models.people.absorbed import AbsorbedConfig, ActivityEnvelope, complete
from models.people.blobs import Box, PersonBlob, connected_blobs, working_box
from models.people.cutting import RowConfig, carve, held_by, lies_in, split_blob, split_row
from models.people.extent import SiteShape, inside, running_aspect, whole_box
from models.people.foreground import Foreground, ForegroundConfig, ForegroundModel, Subtractor
from models.people.ghosts import GhostTest
from models.people.grouping import GroupingConfig, PersonScale, looks_like_a_person, merge_fragments
from models.people.personness import OnnxPersonness, Personness, load_personness, score_blobs
from models.people.tracking import Track, Tracker, TrackerConfig
from models.people.walk import approach_of

GHOST_VOTE = 0.4  # weight of each ghost test in a track's running vote
GHOST_EVERY = 2  # a track's ghost test runs on every second frame it is seen
SHARED_MAX_MISSED = 2  # frames a track may have gone unseen and still claim its part of a shared blob
PersonCheck = Literal["unmoved", "always", "off"]
DEFAULT_PERSON_CHECK: PersonCheck = "unmoved"
DEFAULT_ABSORBED = True  # whether a finder completes people its background absorbed (FinderConfig.absorbed)
PERSON_VOTE = 0.2  # weight of each frame's silhouette score in a track's running person vote
PERSON_MIN_VOTE = 0.2  # a track the classifier judges is first answered once its vote is at least this
# ...and, once answered, refused only when its vote falls under this: a rendered swaying plant votes
# 0.00, while a real person bent over a monitor (HallAndMonitor, JPEG) dips to 0.15 for a few frames
# (docs/REAL_FOOTAGE.md, "Telling a plant from a person").
PERSON_KEEP_VOTE = 0.05
# A silhouette GrabCut completed (models.people.absorbed) must read as a person more surely: a
# swaying plant's completed silhouette scored 0.12-0.82 on median over rendered sway scenes (above
# 0.5 on 0-62% of frames), an exercising person's 1.0 (above 0.5 on 78-100%; a throwaway count
# while building it, docs/REAL_FOOTAGE.md, "Completing absorbed people").
ABSORBED_MIN_VOTE = 0.8
ABSORBED_KEEP_VOTE = 0.5
ROW_PART_MIN_SCORE = 0.5  # each part of a row of people cut apart (models.people.cutting) reads as a person


def is_ghost(track: Track) -> bool:
    return track.ghostly > 0.5


# A track whose box centre moves by this share of its height a frame is walking (1.2 m/s is 0.03 at
# 25 fps); a completed silhouette's box jitters by less as the limbs swing.
WALKING_SPEED = 0.015


def is_walking(track: Track) -> bool:
    """Whether a track is someone walking, confirmed or not: it has walked in, or its box moves by
    ``WALKING_SPEED`` of its height a frame; never while it answers a completed silhouette, whose
    box grows and shrinks with the limbs."""
    if track.absorbed:
        return False
    speed = float(np.hypot(*track.velocity)) / max(track.box[3] - track.box[1], 1.0)
    return (track.confirmed and track.has_moved) or speed >= WALKING_SPEED


def passing(a: Track, b: Track) -> bool:
    """Whether two tracks pass each other rather than walk together: they head opposite ways and
    their velocities differ by ``WALKING_SPEED`` of their mean height a frame or more. (People in
    a row head the same way; one coming in at the frame's edge beside another has a box that
    grows, so its speed is not theirs.)"""
    (ax, ay), (bx, by) = a.velocity, b.velocity
    height = 0.5 * ((a.box[3] - a.box[1]) + (b.box[3] - b.box[1]))
    return ax * bx + ay * by < 0 and float(np.hypot(ax - bx, ay - by)) >= WALKING_SPEED * max(height, 1.0)


def reads_as_person(track: Track, check: PersonCheck = DEFAULT_PERSON_CHECK) -> bool:
    """Whether a track may be answered as a person. With ``check="unmoved"`` (the default) it walked
    in or its silhouettes read as one: the classifier only judges tracks that never went far, since
    a plant, a flag or a curtain moves in place, and the real people it misjudges (carrying things,
    bent over, in twos) mostly walk (docs/REAL_FOOTAGE.md, "Telling a plant from a person")."""
    if check == "off" or track.personness is None or (check == "unmoved" and track.has_moved and not track.absorbed):
        return True  # (a completed silhouette is judged however far its box has jittered)
    # Two thresholds, so that a person already answered is not dropped for a few doubtful frames.
    if track.absorbed:
        return track.personness >= (ABSORBED_KEEP_VOTE if track.answered else ABSORBED_MIN_VOTE)
    return track.personness >= (PERSON_KEEP_VOTE if track.answered else PERSON_MIN_VOTE)


@lru_cache(maxsize=1)
def shipped_personness() -> OnnxPersonness:
    """The shipped silhouette classifier, loaded once per process (every site shares it; read-only)."""
    return load_personness()


@dataclass(frozen=True)
class FinderConfig:
    foreground: ForegroundConfig = field(default_factory=ForegroundConfig)
    grouping: GroupingConfig = field(default_factory=GroupingConfig)
    tracking: TrackerConfig = field(default_factory=TrackerConfig)
    min_area_fraction: float = 0.002  # of the frame: smaller blobs are noise, not people
    max_people: int = 64  # candidates per frame, largest first (a crowd seen from above has dozens)
    # which tracks the silhouette classifier (models.people.personness) may refuse: "unmoved" (those
    # that never went far from where they were confirmed), "always" (every track) or "off"
    person_check: PersonCheck = DEFAULT_PERSON_CHECK
    # People in view while the background was learnt, found where they keep moving
    # (models.people.absorbed; None: not looked for). Measured on rendered scenes and the real clips
    # (docs/REAL_FOOTAGE.md, "People in view from the first frame").
    absorbed: AbsorbedConfig | None = field(default_factory=lambda: AbsorbedConfig() if DEFAULT_ABSORBED else None)
    # People side by side or in file, one blob, cut apart by their heads (models.people.cutting; None:
    # not cut). Measured on the group hard case and the real clips (docs/REAL_FOOTAGE.md, "A group
    # walking together").
    rows: RowConfig | None = field(default_factory=RowConfig)
    # A track that never walked whose blob nothing moves in is a ghost, even where the edge test
    # cannot tell (models.people.ghosts; False: the edge test alone). Measured on sites started while
    # people were in view (docs/REAL_FOOTAGE.md, "A site started while people walk in view").
    stillness: bool = True

    def __post_init__(self) -> None:
        if self.person_check not in get_args(PersonCheck):
            raise ValueError(f"person_check={self.person_check!r}; choose from {', '.join(get_args(PersonCheck))}")

    @classmethod
    def with_warmup(
        cls,
        frames: int,
        method: Subtractor = "mog2",
        person_check: PersonCheck = DEFAULT_PERSON_CHECK,
        absorbed: bool = DEFAULT_ABSORBED,
    ) -> FinderConfig:
        return cls(
            foreground=ForegroundConfig(warmup_frames=frames, method=method),
            person_check=person_check,
            absorbed=AbsorbedConfig() if absorbed else None,
        )


@dataclass
class FoundPerson:
    track_id: int
    blob: PersonBlob
    whole: bool  # not cut by the frame's edge
    # the box the whole person would fill, past the frame's edges that cut them (models.people.extent;
    # the blob's box where none does, or nothing says how far)
    extent: Box
    approach: int = UNKNOWN  # TOWARDS the camera (the box grows), AWAY (it shrinks) or UNKNOWN


@dataclass
class FrameFind:
    """One frame's people (confirmed tracks seen in it, largest first) and the state of the
    site's background model; ``foreground`` is the mask the people were cut from."""

    people: list[FoundPerson]
    warming_up: bool
    relearning: bool
    foreground: Foreground


class PersonFinder:
    """Everything a site needs to find its people, kept across its frames (not thread-safe:
    one site's frames go through it one at a time, in order)."""

    def __init__(self, config: FinderConfig = FinderConfig()):
        self.config = config
        self.foreground = ForegroundModel(config.foreground)
        self.scale = PersonScale()
        self.shape = SiteShape()
        self.tracker = Tracker(config.tracking)
        self.personness: Personness | None = shipped_personness() if config.person_check != "off" else None
        self.envelope = ActivityEnvelope(config.absorbed) if config.absorbed is not None else None
        self.ghosts = GhostTest()

    @property
    def warming_up(self) -> bool:
        return self.foreground.warming_up

    @property
    def frames_seen(self) -> int:
        return self.foreground.frames_seen

    @property
    def ghosts_in_view(self) -> int:
        """Confirmed tracks seen in the last frame and refused as ghosts: where the background still
        holds someone who has left (it fades as the model relearns; relearning it clears it now)."""
        return sum(t.confirmed and t.missed == 0 and is_ghost(t) and not t.absorbed for t in self.tracker.tracks)

    def blobs(self, fg: Foreground) -> tuple[list[PersonBlob], list[PersonBlob]]:
        """(person-shaped blobs, refused blobs) of a foreground mask, fragments merged and rows of
        people cut apart, largest first."""
        h, w = fg.mask.shape
        min_area = self.config.min_area_fraction * h * w
        min_height = self.config.grouping.min_height_px / fg.scale
        blobs = connected_blobs(fg.mask, int(min_area), min_height, fg.scale)
        shaped: list[PersonBlob] = []
        refused: list[PersonBlob] = []
        for b in merge_fragments(blobs, self.scale, self.config.grouping):
            for part in self._row(b):
                (shaped if looks_like_a_person(part, self.scale, self.config.grouping) else refused).append(part)
        return sorted(shaped, key=lambda b: -b.area), sorted(refused, key=lambda b: -b.area)

    def _row(self, blob: PersonBlob) -> list[PersonBlob]:
        """The people of a blob that is a row of them (:func:`split_row`; a person's height there from
        the site's scale, or the blob's own before it is known), else the blob. A cut stands only
        where each part reads as a person to the classifier (a plant's crown has bumps like heads),
        and not where it would part two tracked people :func:`passing` each other."""
        if self.config.rows is None:
            return [blob]
        height = self.scale.height_at(blob.box[3]) or blob.height
        parts = split_row(blob, height, self.config.rows)
        if parts is None:
            return [blob]
        held = [t for t in self._recent_tracks() if lies_in(t.predicted(), blob)]
        if len(parts) == 2 and len(held) == 2 and passing(*held):
            # Two people passing each other are cut along their tracks' predicted boxes
            # (_split_shared): a cut by columns would keep the left one on the left.
            return [blob]
        if (
            self.personness is not None
            and score_blobs(self.personness, [(p.mask, p.box) for p in parts]).min() < ROW_PART_MIN_SCORE
        ):
            return [blob]
        return parts

    def candidates(self, fg: Foreground, frame_shape: tuple[int, int]) -> list[PersonBlob]:
        """Person-shaped blobs of a foreground mask (fragments merged), largest first."""
        return self.blobs(fg)[0][: self.config.max_people]

    def _walkers_in_refused(self, refused: list[PersonBlob]) -> list[PersonBlob]:
        """A person walking in front of something that moves (a swaying plant, a flickering screen)
        joins its foreground into one blob of no person's shape, which is refused. A confirmed
        track that walked in, seen within the last ``SHARED_MAX_MISSED`` frames, whose predicted box
        lies in such a blob, keeps its part of it: the blob inside the predicted box (two such
        tracks: cut between them as :meth:`_split_shared` does). Parts too sparse to be a body
        (``GroupingConfig.min_fill``) are dropped."""
        walkers = self._recent_boxes(walked_in=True)
        out: list[PersonBlob] = []
        for blob in refused:
            held = held_by(blob, walkers)
            if len(held) == 2:
                parts: list[PersonBlob] = list(split_blob(blob, held[0], held[1]) or [])
            else:
                parts = [p for p in (carve(blob, g) for g in held) if p is not None]
            out.extend(p for p in parts if p.fill >= self.config.grouping.min_fill)
        return out

    def _recent_tracks(self, walked_in: bool = False) -> list[Track]:
        """The confirmed tracks seen within the last ``SHARED_MAX_MISSED`` frames that are no ghosts
        (with ``walked_in``, only those that have moved)."""
        return [
            t
            for t in self.tracker.tracks
            if t.confirmed and t.missed <= SHARED_MAX_MISSED and not is_ghost(t) and (t.has_moved or not walked_in)
        ]

    def _recent_boxes(self, walked_in: bool = False) -> list[Box]:
        """The predicted boxes of :meth:`_recent_tracks`."""
        return [t.predicted() for t in self._recent_tracks(walked_in)]

    def _split_shared(self, blobs: list[PersonBlob]) -> list[PersonBlob]:
        """People who cross or walk side by side become one blob for a while. A blob that the
        predicted boxes of two (and only two) confirmed tracks lie in, both seen within the last
        ``SHARED_MAX_MISSED`` frames, is cut between those boxes before the tracker sees it, so
        each track keeps matching its own part and both are answered, each with its id. A track
        lost for longer (a coasting prediction drifting over someone else) cuts nothing."""
        guesses = self._recent_boxes()
        out: list[PersonBlob] = []
        for blob in blobs:
            held = held_by(blob, guesses)
            parts = split_blob(blob, held[0], held[1]) if len(held) == 2 else None
            out.extend(parts if parts is not None else [blob])
        return out

    def _absorbed(
        self, frame: np.ndarray, fg: Foreground, shaped: list[PersonBlob], refused: list[PersonBlob]
    ) -> tuple[list[PersonBlob], list[PersonBlob], list[PersonBlob]]:
        """People the background absorbed (:mod:`models.people.absorbed`): each activity region
        whose foreground is only pieces is segmented by GrabCut. Returns (shaped, refused) without
        the blobs lying mostly in a person-shaped blob GrabCut found, and those blobs; they are
        not cut between tracks (:meth:`_split_shared`), since the tracks the pieces had are in them."""
        if self.envelope is None or self.config.absorbed is None:
            return shaped, refused, []

        recent = [t for t in self.tracker.tracks if t.missed <= SHARED_MAX_MISSED and not is_ghost(t)]
        # Walkers leave no activity: their trail past a swaying plant would join it into one
        # region around both.
        activity = fg.mask.copy()
        for x0, y0, x1, y1 in (working_box(t.predicted(), fg.scale) for t in recent if is_walking(t)):
            activity[max(y0, 0) : y1, max(x0, 0) : x1] = False
        self.envelope.observe(activity)
        arrived = [
            (working_box(t.predicted(), fg.scale), (t.origin[0] / fg.scale, t.origin[1] / fg.scale))
            for t in recent
            if t.confirmed and not t.absorbed and t.origin is not None
        ]
        regions = self.envelope.regions(fg.mask, arrived)
        if not regions:
            return shaped, refused, []
        h, w = fg.mask.shape
        small = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA) if fg.scale != 1.0 else frame
        completed: list[PersonBlob] = []
        for box, region in regions:
            found = complete(small, fg.mask, box, region, self.config.absorbed)
            if found is None:
                continue
            blob = connected_blobs(found, 1, 1, fg.scale)[0]
            if not looks_like_a_person(blob, self.scale, self.config.grouping):
                continue  # (a plant, a walker joined to it): the pieces stay as they were
            if (
                self.personness is not None
                and score_blobs(self.personness, [(blob.mask, blob.box)])[0] < ABSORBED_MIN_VOTE
            ):
                # ... and where the silhouette does not read as a person now: replacing a plant's
                # pieces on some frames and not others restarts their tracks, and a fresh track's
                # first vote can answer a piece.
                continue
            shaped = [b for b in shaped if float(blob.mask[b.mask].mean()) < 0.5]
            refused = [b for b in refused if float(blob.mask[b.mask].mean()) < 0.5]
            completed.append(blob)
        return shaped, refused, completed

    def apply(self, frame: np.ndarray) -> FrameFind:
        # Only people who walked in are kept out of the background's learning: a ghost (where a
        # person stood when the camera started) or an object that was always there must fade
        # into the background.
        protect = [
            t.predicted()
            for t in self.tracker.tracks
            if t.confirmed and t.has_moved and not is_ghost(t) and reads_as_person(t, self.config.person_check)
        ]
        fg = self.foreground.apply(frame, protect=protect)
        if fg.warming_up or fg.relearning:
            if self.envelope is not None:
                self.envelope.reset()
            self.tracker.coast()
            return FrameFind(people=[], warming_up=fg.warming_up, relearning=fg.relearning, foreground=fg)
        shape = frame.shape[:2]
        shaped, refused, completed = self._absorbed(frame, fg, *self.blobs(fg))
        split = self._split_shared(shaped[: self.config.max_people])
        blobs = split + completed + self._walkers_in_refused(refused)
        tracks = self.tracker.update([b.box for b in blobs], measured=[not b.cut for b in blobs])
        for k, track in enumerate(tracks):  # what the track matched this frame, not once
            track.absorbed = len(split) <= k < len(split) + len(completed)
        if self.personness is not None and blobs:
            # Every sighting votes, tentative ones too, so a track's vote is formed by the time it is
            # confirmed; under "unmoved" only the tracks it judges pay for the forward pass.
            judged = [
                k for k, t in enumerate(tracks) if self.config.person_check == "always" or not t.has_moved or t.absorbed
            ]
            scores = score_blobs(self.personness, [(blobs[k].mask, blobs[k].box) for k in judged])
            for track, score in zip([tracks[k] for k in judged], scores, strict=True):
                vote = track.personness
                track.personness = float(score) if vote is None else vote + PERSON_VOTE * (float(score) - vote)
        people = []
        self.ghosts.see(frame, fg.mask, self.foreground.background_grey())
        for blob, track in zip(blobs, tracks, strict=True):
            if not track.confirmed:
                continue
            # A completed silhouette is where the background holds the person by construction, so
            # its outline has their edges in both images: the ghost test does not apply to it.
            if self.ghosts.ready and (track.ghost_tests == 0 or track.hits % GHOST_EVERY == 0) and not track.absorbed:
                # The first test is the vote, so that a ghost is refused from the frame its track is
                # confirmed: someone learnt with the background who walks off leaves one, and the
                # tracks it is seen by restart whenever the person's own track passes over it.
                still_counts = self.config.stillness and not track.has_moved
                ghostly = float(self.ghosts.ghostly(blob, fg.scale, still_counts))
                first = track.ghost_tests == 0
                track.ghostly = ghostly if first else track.ghostly + GHOST_VOTE * (ghostly - track.ghostly)
                track.ghost_tests += 1
            if (is_ghost(track) and not track.absorbed) or not reads_as_person(track, self.config.person_check):
                continue
            track.answered = True
            whole = inside(blob.box, shape)
            if whole:
                track.aspect = running_aspect(track.aspect, blob.box)
                track.last_whole = blob.box
                self.shape.observe(blob.box)
            if whole and (track.has_moved or track.absorbed):
                # Only people who walked in (or were completed whole) teach the site a person's height
                # at their row: a track the classifier answers where it stands may be a limb's piece of
                # someone exercising in view from the first frame, and pieces taught a scale that then
                # refused the whole body and the walk out (the tai chi rows of bench.in_view).
                self.scale.observe(blob.box)
            if whole:  # (a box the frame's edge cuts grows as they come in and shrinks as they leave)
                track.walk = approach_of(track)
            approach = track.walk
            ratio = track.aspect if track.aspect is not None else self.shape.aspect
            extent = blob.box if whole else whole_box(blob.box, shape, self.scale, ratio, track.last_whole)
            people.append(FoundPerson(track_id=track.id, blob=blob, whole=whole, extent=extent, approach=approach))
        return FrameFind(people=people, warming_up=False, relearning=False, foreground=fg)
