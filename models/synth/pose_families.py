"""Poses that everyday motion and the free sampler rarely give: raised and crossed arms, bent torsos,
sitting, crouching, lunges, jumping jacks.

    poses = sample_pose_families(1000, torch.Generator().manual_seed(0))    # (1000, 72), root identity

Each family sets ranges for the joints that define it (intrinsic Euler angles, the sampler's
convention: see :mod:`models.synth.pose_sampler` for the signs) on top of a relaxed free pose;
everything is clipped to the joint limits, so every pose stays plausible.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from models.body_layout import JOINT_NAMES
from models.synth.pose_sampler import euler_to_pose, joint_limits, pose_to_euler, sample_poses

Span = tuple[float, float]
# family -> {joint: (x span, y span, z span)}; None keeps the free pose's angle.
_FAMILIES: dict[str, dict[str, tuple[Span | None, Span | None, Span | None]]] = {
    "raised_arms": {
        "left_shoulder": (None, (-0.6, 0.3), (0.2, 1.3)),
        "right_shoulder": (None, (-0.3, 0.6), (-1.3, -0.2)),
        "left_elbow": (None, (-1.6, 0.0), None),
        "right_elbow": (None, (0.0, 1.6), None),
    },
    "one_arm_up": {
        "left_shoulder": (None, (-0.6, 0.3), (0.0, 1.3)),
        "left_elbow": (None, (-1.2, 0.0), None),
    },
    "crossed_arms": {
        "left_shoulder": (None, (-1.6, -0.8), (-1.0, -0.2)),
        "right_shoulder": (None, (0.8, 1.6), (0.2, 1.0)),
        "left_elbow": (None, (-2.6, -1.5), None),
        "right_elbow": (None, (1.5, 2.6), None),
    },
    "arms_forward": {
        "left_shoulder": (None, (-1.6, -0.9), (-0.4, 0.4)),
        "right_shoulder": (None, (0.9, 1.6), (-0.4, 0.4)),
        "left_elbow": (None, (-1.5, 0.0), None),
        "right_elbow": (None, (0.0, 1.5), None),
    },
    "bent_torso": {
        "spine1": ((0.3, 0.7), None, None),
        "spine2": ((0.15, 0.45), None, None),
        "spine3": ((0.15, 0.45), None, None),
        "left_hip": ((-1.0, -0.2), None, None),
        "right_hip": ((-1.0, -0.2), None, None),
    },
    "sitting": {
        "left_hip": ((-1.9, -1.2), None, None),
        "right_hip": ((-1.9, -1.2), None, None),
        "left_knee": ((1.2, 2.0), None, None),
        "right_knee": ((1.2, 2.0), None, None),
    },
    "crouching": {
        "left_hip": ((-2.0, -1.4), None, None),
        "right_hip": ((-2.0, -1.4), None, None),
        "left_knee": ((1.8, 2.4), None, None),
        "right_knee": ((1.8, 2.4), None, None),
        "spine1": ((0.2, 0.7), None, None),
    },
    "lunge": {
        "left_hip": ((-1.3, -0.5), None, None),
        "right_hip": ((0.1, 0.6), None, None),
        "left_knee": ((0.5, 1.6), None, None),
        "right_knee": ((0.2, 1.2), None, None),
        "left_shoulder": (None, (-1.4, -0.2), (-0.6, 0.6)),
        "right_shoulder": (None, (0.2, 1.4), (-0.6, 0.6)),
    },
    "jumping_jack": {
        "left_shoulder": (None, (-0.3, 0.3), (0.3, 1.3)),
        "right_shoulder": (None, (-0.3, 0.3), (-1.3, -0.3)),
        "left_hip": (None, None, (0.2, 0.8)),
        "right_hip": (None, None, (-0.8, -0.2)),
    },
}
FAMILIES = tuple(_FAMILIES)
# The free sampler centres the hips at mid-range, which spreads the legs 0.3 rad apart; people stand
# with their legs together unless a family spreads them.
_BASE: dict[str, tuple[Span | None, Span | None, Span | None]] = {
    "left_hip": (None, (-0.2, 0.2), (-0.05, 0.15)),
    "right_hip": (None, (-0.2, 0.2), (-0.15, 0.05)),
}


def sample_pose_families(
    n: int,
    generator: torch.Generator | None = None,
    spread: float = 0.15,
    families: Sequence[str] = FAMILIES,
    mirror_share: float = 0.5,
) -> torch.Tensor:
    """(n, 72) poses with the root at identity, ``families`` in equal shares, in random order.

    ``mirror_share`` of the poses are mirrored left-right by swapping the families' left and right
    spans (a raised right arm as often as a raised left one)."""
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    unknown = [f for f in families if f not in _FAMILIES]
    if unknown or not families:
        raise ValueError(f"unknown pose families {unknown or families!r}: choose from {FAMILIES}")
    euler = pose_to_euler(sample_poses(n, generator, spread=spread))
    lim = joint_limits()
    chosen = torch.tensor([FAMILIES.index(f) for f in families])
    family = chosen[torch.randint(len(chosen), (n,), generator=generator)]
    mirror = torch.rand(n, generator=generator) < mirror_share
    u = torch.rand(n, len(JOINT_NAMES), 3, generator=generator)
    for joint, spans in _BASE.items():
        j = JOINT_NAMES.index(joint)
        for axis, span in enumerate(spans):
            if span is not None:
                euler[:, j, axis] = span[0] + (span[1] - span[0]) * u[:, j, axis]
    u = torch.rand(n, len(JOINT_NAMES), 3, generator=generator)
    for f, name in enumerate(FAMILIES):
        for joint, spans in _FAMILIES[name].items():
            for axis, span in enumerate(spans):
                if span is None:
                    continue
                for flip in (False, True):
                    rows = (family == f) & (mirror == flip)
                    target, (lo, hi) = joint, span
                    if flip:  # the other side; y and z angles change sign under a left-right mirror
                        target = _other_side(joint)
                        lo, hi = (-hi, -lo) if axis > 0 else (lo, hi)
                    j = JOINT_NAMES.index(target)
                    euler[rows, j, axis] = lo + (hi - lo) * u[rows, j, axis]
    euler = torch.maximum(torch.minimum(euler, lim[..., 1]), lim[..., 0])
    euler[:, 0] = 0.0
    return euler_to_pose(euler)


def _other_side(joint: str) -> str:
    if joint.startswith("left_"):
        return "right_" + joint[len("left_") :]
    if joint.startswith("right_"):
        return "left_" + joint[len("right_") :]
    return joint
