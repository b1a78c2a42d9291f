"""A hinge that keeps a walker facing the way they walk, for adaptation.

A silhouette hardly tells a body's front from its back, so the alignment terms alone may turn a
body round, and on some shifts adaptation does (docs/RESULTS.md, "The camera's tilt"). A static
camera knows better for people who walk towards it or away from it: the finder's track says which
(models.people.walk.approach_of), and a person walking towards the camera faces it. The hinge is
zero wherever the body already faces the way its person walks (or the walk is unknown), so it only
ever turns wrong bodies round, never pulls right ones.

Facing is read as :func:`models.heading.facing` reads it in the image, on the 3D joints: seen from
the front a body shows its left shoulder and hip on the image's right, so the left-minus-right x of
the shoulders and the hips, summed, is positive for a body facing the camera.
"""

from __future__ import annotations

import torch

from models.heading import FACING_PAIRS

# Summed left-minus-right spread the hinge asks for, metres: about a tenth of a body's height, the
# spread models.heading.facing needs (FACING_MIN_SPREAD of the box's height) to call a facing at all.
FACING_MARGIN_M = 0.15


def facing_spread(joints: torch.Tensor) -> torch.Tensor:
    """(B, 24, 3) joints, camera axes (x right in the image) -> (B,) the left-minus-right x of the
    shoulders and the hips, summed, in the joints' units: positive for a body facing the camera."""
    return sum(joints[:, left, 0] - joints[:, right, 0] for left, right in FACING_PAIRS)  # type: ignore[return-value]


def facing_hinge(joints: torch.Tensor, approach: torch.Tensor, margin: float = FACING_MARGIN_M) -> torch.Tensor:
    """(B, 24, 3) joints, (B,) walks (+1 TOWARDS the camera, -1 AWAY, 0 unknown) -> (B,)
    ``relu(margin - approach * spread)`` where the walk is known, 0 where it is not."""
    if approach.shape != joints.shape[:1]:
        raise ValueError(f"approach must be (B,) = ({joints.shape[0]},), got {tuple(approach.shape)}")
    a = approach.to(joints.dtype)
    return torch.relu(margin - a * facing_spread(joints)) * (a != 0)
