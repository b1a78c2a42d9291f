"""SMPL's skeleton layout: joint names, the kinematic tree, extra and evaluation joints.

Shared by the open body model's builder and by every loader, so that both kinds of body
model (the shipped open one and a user's licensed SMPL file) answer in the same order.
"""

from __future__ import annotations

JOINT_NAMES: tuple[str, ...] = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hand",
    "right_hand",
)
PARENTS: tuple[int, ...] = (
    -1,
    0,
    0,
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    9,
    9,
    12,
    13,
    14,
    16,
    17,
    18,
    19,
    20,
    21,
)
NUM_JOINTS = len(JOINT_NAMES)
NUM_BODY_POSE = 3 * NUM_JOINTS  # theta: axis-angle per joint, root first (72 for SMPL)

# Extra joints smplx reads straight off vertices, in the order its VertexJointSelector appends them.
EXTRA_JOINT_NAMES: tuple[str, ...] = (
    "nose",
    "reye",
    "leye",
    "rear",
    "lear",
    "LBigToe",
    "LSmallToe",
    "LHeel",
    "RBigToe",
    "RSmallToe",
    "RHeel",
    "lthumb",
    "lindex",
    "lmiddle",
    "lring",
    "lpinky",
    "rthumb",
    "rindex",
    "rmiddle",
    "rring",
    "rpinky",
)

# The 14 LSP evaluation joints (MPJPE / PA-MPJPE), as SMPL joint indices; the last one, the
# head top, is a vertex (``HEAD_TOP``) because SMPL has no joint there.
EVAL_JOINT_NAMES: tuple[str, ...] = (
    "right_ankle",
    "right_knee",
    "right_hip",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_wrist",
    "right_elbow",
    "right_shoulder",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "neck",
    "head_top",
)
HEAD_TOP = "head_top"
EVAL_FROM_JOINTS: tuple[int, ...] = tuple(JOINT_NAMES.index(n) for n in EVAL_JOINT_NAMES[:-1])

# Left/right pairs, for mirroring checks and flip augmentation.
FLIP_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (JOINT_NAMES.index(n), JOINT_NAMES.index("right" + n[4:])) for n in JOINT_NAMES if n.startswith("left")
)
