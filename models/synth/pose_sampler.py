"""Human joint limits in SMPL's parameterisation, and a sampler of poses that respects them.

SMPL's pose is an axis-angle per joint, applied in a frame aligned with the world at rest
(T-pose: y up, the body facing +z, x towards the body's left). Limits are given here as ranges
of intrinsic Euler angles about x, y and z per joint, which is how joint ranges are usually
written; a pose is plausible when every joint's angles fall inside its ranges. Euler angles
keep their middle angle within +-90 degrees, so each joint uses the order whose middle axis has
the smallest range: XYZ for the trunk and legs (knees and hips bend about x by up to 2.4 rad),
YXZ for the arms (elbows bend and shoulders swing forwards about y).

Sign conventions (worked out on the body model, see tests/test_pose_sampler.py):
hip x < 0 swings the leg forwards; knee x > 0 bends the knee; spine x > 0 leans forwards;
left shoulder z < 0 lowers the left arm, right shoulder z > 0 lowers the right one;
left elbow y < 0 and right elbow y > 0 bend the elbows (forearm forwards in the T-pose).
"""

from __future__ import annotations

import torch
from pytorch3d.transforms import (
    axis_angle_to_matrix,
    euler_angles_to_matrix,
    matrix_to_axis_angle,
    matrix_to_euler_angles,
)

from models.body_layout import JOINT_NAMES, NUM_JOINTS

Range = tuple[float, float]

# (x, y, z) Euler ranges in radians, per joint; the root is free (it is the body's orientation).
_LIMITS: dict[str, tuple[Range, Range, Range]] = {
    "spine1": ((-0.35, 0.7), (-0.45, 0.45), (-0.35, 0.35)),
    "spine2": ((-0.25, 0.45), (-0.35, 0.35), (-0.25, 0.25)),
    "spine3": ((-0.25, 0.45), (-0.35, 0.35), (-0.25, 0.25)),
    "neck": ((-0.5, 0.6), (-0.7, 0.7), (-0.4, 0.4)),
    "head": ((-0.4, 0.5), (-0.5, 0.5), (-0.3, 0.3)),
    "left_hip": ((-2.0, 0.6), (-0.7, 0.7), (-0.3, 0.9)),
    "right_hip": ((-2.0, 0.6), (-0.7, 0.7), (-0.9, 0.3)),
    "left_knee": ((0.0, 2.4), (-0.1, 0.1), (-0.1, 0.1)),
    "right_knee": ((0.0, 2.4), (-0.1, 0.1), (-0.1, 0.1)),
    "left_ankle": ((-0.7, 0.5), (-0.35, 0.35), (-0.3, 0.3)),
    "right_ankle": ((-0.7, 0.5), (-0.35, 0.35), (-0.3, 0.3)),
    "left_foot": ((-0.4, 0.4), (-0.1, 0.1), (-0.1, 0.1)),
    "right_foot": ((-0.4, 0.4), (-0.1, 0.1), (-0.1, 0.1)),
    "left_collar": ((-0.2, 0.2), (-0.35, 0.35), (-0.35, 0.35)),
    "right_collar": ((-0.2, 0.2), (-0.35, 0.35), (-0.35, 0.35)),
    "left_shoulder": ((-1.2, 1.2), (-1.7, 0.7), (-1.5, 1.3)),
    "right_shoulder": ((-1.2, 1.2), (-0.7, 1.7), (-1.3, 1.5)),
    "left_elbow": ((-1.0, 1.0), (-2.6, 0.0), (-0.2, 0.2)),
    "right_elbow": ((-1.0, 1.0), (0.0, 2.6), (-0.2, 0.2)),
    "left_wrist": ((-0.9, 0.9), (-0.5, 0.5), (-0.9, 0.9)),
    "right_wrist": ((-0.9, 0.9), (-0.5, 0.5), (-0.9, 0.9)),
    "left_hand": ((-0.3, 0.3), (-0.2, 0.2), (-0.3, 0.3)),
    "right_hand": ((-0.3, 0.3), (-0.2, 0.2), (-0.3, 0.3)),
}


_ARMS = {n for n in JOINT_NAMES if n.split("_")[-1] in ("collar", "shoulder", "elbow", "wrist", "hand")}
# Per joint: the Euler order, and where x, y, z sit in it.
_ORDERS = {"XYZ": [0, 1, 2], "YXZ": [1, 0, 2]}
_ORDER = ["YXZ" if n in _ARMS else "XYZ" for n in JOINT_NAMES]


def joint_limits() -> torch.Tensor:
    """(24, 3, 2) ranges of the x, y, z angles; the root's row is unbounded."""
    lim = torch.empty(NUM_JOINTS, 3, 2)
    lim[0, :, 0], lim[0, :, 1] = -torch.pi, torch.pi
    for j, name in enumerate(JOINT_NAMES[1:], start=1):
        lim[j] = torch.tensor(_LIMITS[name])
    return lim


def euler_to_pose(euler: torch.Tensor) -> torch.Tensor:
    """(..., 24, 3) angles about x, y, z (each joint in its own Euler order) -> (..., 72) axis-angle."""
    R = torch.empty(*euler.shape, 3, dtype=euler.dtype, device=euler.device)
    for order, perm in _ORDERS.items():
        joints = [j for j, o in enumerate(_ORDER) if o == order]
        R[..., joints, :, :] = euler_angles_to_matrix(euler[..., joints, :][..., perm], order)
    return matrix_to_axis_angle(R).flatten(-2)


def pose_to_euler(pose: torch.Tensor) -> torch.Tensor:
    """(..., 72) axis-angle pose -> (..., 24, 3) angles about x, y, z (each joint in its Euler order)."""
    R = axis_angle_to_matrix(pose.unflatten(-1, (NUM_JOINTS, 3)))
    e = torch.empty(R.shape[:-1], dtype=R.dtype, device=R.device)
    for order, perm in _ORDERS.items():
        joints = [j for j, o in enumerate(_ORDER) if o == order]
        e[..., joints, :] = matrix_to_euler_angles(R[..., joints, :, :], order)[..., perm]
    return e


def limit_violations(pose: torch.Tensor, tolerance: float = 0.05) -> torch.Tensor:
    """(..., 72) poses -> (..., 23) bool: which body joints leave their ranges by more than ``tolerance`` rad."""
    e = pose_to_euler(pose)[..., 1:, :]
    lim = joint_limits()[1:].to(e)
    outside = (e < lim[..., 0] - tolerance) | (e > lim[..., 1] + tolerance)
    return outside.any(-1)


def sample_poses(
    n: int, generator: torch.Generator | None = None, spread: float = 0.3, root: bool = False
) -> torch.Tensor:
    """Random plausible body poses, (n, 72).

    Each joint angle is a normal draw around the middle of its range (the middle is where the
    joint rests in a relaxed stance, with arms lowered) with a standard deviation of ``spread``
    times the range, clipped to the range. ``root``: also draw a random orientation for the
    root (otherwise it is the identity).
    """
    lim = joint_limits()
    lo, hi = lim[..., 0], lim[..., 1]
    centre = (lo + hi) / 2
    centre[JOINT_NAMES.index("left_shoulder"), 2] = -1.1  # arms relaxed downwards, not at mid-range
    centre[JOINT_NAMES.index("right_shoulder"), 2] = 1.1
    centre[JOINT_NAMES.index("left_elbow"), 1] = -0.4
    centre[JOINT_NAMES.index("right_elbow"), 1] = 0.4
    for knee in ("left_knee", "right_knee"):
        centre[JOINT_NAMES.index(knee), 0] = 0.3
    for hip in ("left_hip", "right_hip"):
        centre[JOINT_NAMES.index(hip), 0] = -0.3
    e = centre + spread * (hi - lo) * torch.randn(n, NUM_JOINTS, 3, generator=generator)
    e = torch.maximum(torch.minimum(e, hi), lo)
    if not root:
        e[:, 0] = 0.0
    return euler_to_pose(e)
