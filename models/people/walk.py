"""Reading a track's walk: towards the camera, away from it, or neither clearly.

On a static camera a person walking towards it faces it (models.heading turns served bodies round
by it, and adaptation keeps walkers facing their walk). Read from the track's last boxes
(``Track.recent``: height and bottom row), so it needs no pose.
"""

from __future__ import annotations

import numpy as np

from models.heading import AWAY, TOWARDS, UNKNOWN
from models.people.tracking import Track

# Read over a track's last boxes (TrackerConfig.walk_window) by least squares, since a silhouette's
# height jumps by 10% from frame to frame where background subtraction loses a head or a foot.
# 0.2% a frame (5% a second at 25 fps: a walk at 1.2 m/s seen 25 m away): HallAndMonitor's walkers
# grow or shrink by 0.4-2% a frame along the corridor. Chosen with the feet share below and the
# window by replaying the answered boxes of the real clips and two synthetic sites
# (docs/REAL_POSE.md, "Reading the walk").
APPROACH_MIN_GROWTH = 0.002
APPROACH_MIN_FRAMES = 8  # boxes a track needs before its walk is read
# Walking towards a camera above the ground moves the feet down the image as the box grows (by the
# camera's height over the person's times the growth: 1.5 at 2.5 m); squatting, bending or sitting
# down shrinks the box with the feet where they were. The feet must move at least this share of the
# height's change, the same way, for the change to count as a walk.
APPROACH_MIN_FEET_SHARE = 0.5
# A person who walked and then stopped (to work at a desk, to do an exercise) keeps a walk in the
# window's slopes for up to a window's length. A still-walking check (over the last few boxes the
# feet still moving the walk's way, by this share of the window's height change) is off: replayed on
# the real clips it read walks on half as many of HallAndMonitor's boxes, whose feet jitter over 8
# frames, and served facing agreed with BlazePose's on 0.45 of them instead of 0.58
# (docs/REAL_POSE.md, "Walks that stop, walks that were").
APPROACH_STILL_FRAMES = 8
APPROACH_STILL_FEET_SHARE = 0.0


def approach_of(
    track: Track,
    min_growth: float = APPROACH_MIN_GROWTH,
    min_feet_share: float = APPROACH_MIN_FEET_SHARE,
    min_frames: int = APPROACH_MIN_FRAMES,
    still_frames: int = APPROACH_STILL_FRAMES,
    still_feet_share: float = APPROACH_STILL_FEET_SHARE,
) -> int:
    """Whether a track's person walks towards the camera (their box grows and its bottom comes down
    the image), away from it (it shrinks and its bottom goes up) or neither clearly: on a static
    camera, which way they face (models.heading). A box that grows or shrinks with its bottom in
    place is a body bending, squatting or standing up, not a walk. Both rates are the least-squares
    slopes over the track's last boxes (``track.recent``); over its last ``still_frames`` boxes the
    feet must still move the walk's way (a person who has stopped no longer shows which way they
    face; ``still_feet_share`` 0 or less: not checked)."""
    if len(track.recent) < min_frames:
        return UNKNOWN
    heights, bottoms = np.asarray(track.recent, dtype=np.float64).T
    if heights.min() <= 0:
        return UNKNOWN
    steps = np.arange(len(heights), dtype=np.float64)
    growth = np.polyfit(steps, np.log(heights), 1)[0]  # relative, a frame
    feet = np.polyfit(steps, bottoms, 1)[0]  # pixels a frame (y down)
    change = growth * heights.mean()  # pixels a frame
    if abs(growth) < min_growth or feet * np.sign(change) < min_feet_share * abs(change):
        return UNKNOWN
    if still_feet_share > 0 and still_frames >= 2:
        last = bottoms[-still_frames:]
        feet_now = np.polyfit(np.arange(len(last), dtype=np.float64), last, 1)[0]
        if feet_now * np.sign(change) < still_feet_share * abs(change):
            return UNKNOWN
    return TOWARDS if change > 0 else AWAY
