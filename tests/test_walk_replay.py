"""bench/walk_replay.py: a walk rule replayed on a real_pose record turns round exactly the bodies
that face against a walk it reads, and the old rule is what it was."""

from __future__ import annotations

import numpy as np

from bench import pose_scores as ps
from bench.walk_replay import ema_rule, replay_real, rules, window_rule
from models.heading import AWAY, FACING_PAIRS, TOWARDS, UNKNOWN


def away_joints(cx: float, top: float, height: float) -> np.ndarray:
    """(24, 2) joints of a body seen from behind (its left shoulder and hip on the image's left)."""
    joints = np.zeros((24, 2))
    joints[:, 0], joints[:, 1] = cx, top + height / 2
    for left, right in FACING_PAIRS:
        joints[left, 0], joints[right, 0] = cx - 0.15 * height, cx + 0.15 * height
    joints[[16, 17], 1] = top + 0.2 * height  # the shoulders above the hips
    return joints


def record(frames: int = 30) -> dict:
    """One person walking towards the camera (box growing 2% a frame, feet coming down), answered
    facing away; BlazePose sees them face the camera."""
    people = []
    for k in range(frames):
        h = 60 * 1.02**k
        bottom = 150 + 1.5 * k
        box = [100.0, bottom - h, 100 + 0.4 * h, bottom]
        joints = away_joints(100 + 0.2 * h, bottom - h, h)
        people.append(
            {
                "frame": k,
                "track_id": 1,
                "box": box,
                "joints_2d": joints.tolist(),
                "blazepose": {
                    "found": True,
                    "limbs_2d": ps.mirrored(ps.smpl_limbs(joints)).tolist(),
                    "visibility": [1.0] * 12,
                },
            }
        )
    return {"frame_size": [480, 640], "per_person": {"served": people}}


def test_the_served_rule_turns_round_the_bodies_facing_against_a_walk_it_reads():
    rec = record()
    plain = replay_real(rec, rules()["no turning"])
    served = replay_real(rec, window_rule(25, 0.002, 0.5))
    assert plain["facing_compared"] == served["facing_compared"] == 30 and plain["facing_agree"] == 0
    # the walk is read from the 8th box on (APPROACH_MIN_FRAMES): every one of those is turned round
    assert served["walk_known"] == served["facing_agree"] == 30 - 7
    assert served["pck"] > plain["pck"]


def test_the_old_rule_reads_smoothed_frame_to_frame_growth():
    growing = [(k, (0.0, 100 - 50 * 1.02**k, 20.0, 100.0)) for k in range(10)]
    shrinking = [(k, (0.0, 100 - 50 * 0.98**k, 20.0, 100.0)) for k in range(10)]
    assert ema_rule(growing) == TOWARDS and ema_rule(shrinking) == AWAY and ema_rule(growing[:1]) == UNKNOWN
    # with its feet in place the new rule reads neither
    assert window_rule(25, 0.002, 0.5)(growing) == window_rule(25, 0.002, 0.5)(shrinking) == UNKNOWN
