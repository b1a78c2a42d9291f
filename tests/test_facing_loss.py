"""models/facing_loss.py: the walk's facing hinge against a brute-force loop (values and gradients),
its agreement with models.heading.facing on a posed body, and that descending it turns a body round."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pytorch3d.transforms import axis_angle_to_matrix

from models.body_layout import JOINT_NAMES
from models.body_model import load_body_model
from models.facing_loss import FACING_MARGIN_M, facing_hinge, facing_spread
from models.heading import AWAY, TOWARDS, UNKNOWN, facing

UPRIGHT = (np.pi, 0.0, 0.0)  # the body's y up turned to the camera's y down: facing the camera


@pytest.fixture(scope="module")
def body():
    return load_body_model()


def hinge_by_loop(joints: torch.Tensor, approach: torch.Tensor, margin: float) -> torch.Tensor:
    names = {n: i for i, n in enumerate(JOINT_NAMES)}
    out = []
    for b in range(joints.shape[0]):
        spread = joints[b, 0, 0] * 0
        for side in ("shoulder", "hip"):
            spread = spread + joints[b, names[f"left_{side}"], 0] - joints[b, names[f"right_{side}"], 0]
        a = float(approach[b])
        out.append(torch.clamp(margin - a * spread, min=0) if a != 0 else spread * 0)
    return torch.stack(out)


def test_the_hinge_matches_a_loop_in_value_and_gradient():
    torch.manual_seed(0)
    joints = (0.3 * torch.randn(9, 24, 3, dtype=torch.float64)).requires_grad_(True)
    approach = torch.tensor([TOWARDS, AWAY, UNKNOWN] * 3)
    got, ref = facing_hinge(joints, approach), hinge_by_loop(joints, approach, FACING_MARGIN_M)
    assert torch.allclose(got, ref) and (got > 0).any() and (got[approach == UNKNOWN] == 0).all()
    weights = torch.rand(9, dtype=torch.float64)
    (g,) = torch.autograd.grad((got * weights).sum(), joints)
    (r,) = torch.autograd.grad((hinge_by_loop(joints, approach, FACING_MARGIN_M) * weights).sum(), joints)
    assert torch.allclose(g, r) and g.abs().sum() > 0


def test_the_spread_agrees_with_the_facing_read_in_the_image(body):
    """A body facing the camera has a positive spread, and models.heading.facing says TOWARDS on
    the same joints projected; turned half round, both flip; the hinge is zero only for the walk it faces."""
    pose = torch.zeros(2, 24, 3)
    pose[0, 0] = torch.tensor(UPRIGHT)
    pose[1, 0] = torch.tensor([0.0, 0.0, np.pi])  # upright, facing away
    with torch.no_grad():
        out = body(torch.zeros(2, 10), axis_angle_to_matrix(pose))
    joints = out.joints - out.joints[:, :1]
    spread = facing_spread(joints)
    assert spread[0] > FACING_MARGIN_M and spread[1] < -FACING_MARGIN_M
    seen = facing(joints[..., :2].numpy() * 100, np.full(2, 170.0))
    assert seen.tolist() == [TOWARDS, AWAY]
    assert facing_hinge(joints, torch.tensor([TOWARDS, AWAY])).tolist() == [0.0, 0.0]
    assert (facing_hinge(joints, torch.tensor([AWAY, TOWARDS])) > FACING_MARGIN_M).all()


def test_descending_the_hinge_turns_a_body_round_to_face_its_walk(body):
    """From a body facing away, gradient steps on the root rotation alone turn it to face a person
    walking towards the camera (the spread's sign flips), and then the hinge is zero."""
    root = torch.tensor([[0.0, 0.3, np.pi]], requires_grad=True)  # facing away, a little turned
    opt = torch.optim.Adam([root], lr=0.05)
    walk = torch.tensor([TOWARDS])

    def joints():
        pose = torch.cat([root[:, None], torch.zeros(1, 23, 3)], 1)
        j = body(torch.zeros(1, 10), axis_angle_to_matrix(pose)).joints
        return j - j[:, :1]

    assert facing_spread(joints()).item() < 0
    for _ in range(200):
        loss = facing_hinge(joints(), walk).sum()
        if loss.item() == 0:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert facing_spread(joints()).item() >= FACING_MARGIN_M - 1e-6


def test_a_walk_per_crop_is_required():
    with pytest.raises(ValueError, match=r"approach must be \(B,\) = \(4,\), got \(3,\)"):
        facing_hinge(torch.zeros(4, 24, 3), torch.zeros(3))
