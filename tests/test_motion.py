"""Synthetic motion: plausible, smooth, going where it says."""

import math

import pytest
import torch

from models.body_layout import JOINT_NAMES
from models.body_model import load_body_model
from models.synth.motion import ACTIONS, action, concatenate, ground, random_motion, walk
from models.synth.pose_sampler import limit_violations

J = {n: i for i, n in enumerate(JOINT_NAMES)}


def max_step(poses: torch.Tensor) -> float:
    """Largest rotation of any joint between consecutive frames, in radians (geodesic)."""
    from pytorch3d.transforms import axis_angle_to_matrix

    R = axis_angle_to_matrix(poses.unflatten(-1, (24, 3)))
    rel = R[:-1].transpose(-1, -2) @ R[1:]
    cos = ((rel.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)
    return torch.arccos(cos).max().item()


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.mark.parametrize("heading", [0.0, math.pi / 2, -2.5])
def test_walking_goes_the_way_the_body_faces(body, heading):
    m = walk(50, fps=25, speed=1.2, heading=heading)
    travelled = m.transl[-1] - m.transl[0]
    assert abs(travelled.norm().item() - 1.2 * 49 / 25) < 0.05
    direction = torch.tensor([math.sin(heading), 0.0, math.cos(heading)])
    assert torch.dot(travelled / travelled.norm(), direction) > 0.99
    with torch.no_grad():
        out = body(torch.zeros(1, 10), m.poses[:1])
    nose_forward = out.extra_joints[0, 0] - out.joints[0, J["head"]]
    assert torch.dot(nose_forward / nose_forward.norm(), direction) > 0.7


def test_walking_alternates_the_legs(body):
    m = walk(40, fps=25, speed=1.2)
    with torch.no_grad():
        j = body(torch.zeros(40, 10), m.poses).joints
    ahead = j[:, J["left_ankle"], 2] - j[:, J["right_ankle"], 2]
    assert ahead.max() > 0.2 and ahead.min() < -0.2


@pytest.mark.parametrize("kind", ACTIONS)
def test_actions_are_plausible_smooth_and_return_to_rest(kind):
    m = action(kind, 60)
    assert not limit_violations(m.poses).any()
    assert max_step(m.poses) < 0.3
    assert (m.poses[0] - m.poses[-1]).abs().max() < 1e-3
    assert (m.poses[30] - m.poses[0]).abs().max() > 0.5  # and something happened in between


def test_turning_and_joins_are_smooth():
    turned = 1.0 * 49 / 25  # where the first walk ends up facing
    m = concatenate([walk(50, turn_rate=1.0), action("wave", 50, heading=turned), walk(50, heading=turned + 0.5)])
    assert len(m) == 150
    assert max_step(m.poses) < 0.3
    assert (m.transl[1:] - m.transl[:-1]).norm(dim=-1).max() < 0.1


def test_random_motion_is_deterministic_and_plausible():
    a = random_motion(300, torch.Generator().manual_seed(3))
    b = random_motion(300, torch.Generator().manual_seed(3))
    assert torch.equal(a.poses, b.poses) and len(a) == 300
    assert limit_violations(a.poses).float().mean() < 0.01
    assert max_step(a.poses) < 0.35


def test_ground_puts_the_feet_on_the_floor(body):
    m = ground(body, action("squat", 30))
    with torch.no_grad():
        v = body(torch.zeros(30, 10), m.poses).vertices + m.transl[:, None]
    assert v[..., 1].amin(1).abs().max() < 1e-4
    assert m.transl[15, 1] < m.transl[0, 1] - 0.2  # squatting lowers the pelvis
