"""Joint limits and the pose sampler, checked on the body they drive."""

import torch

from models.body_layout import JOINT_NAMES
from models.body_model import load_body_model
from models.synth.pose_sampler import euler_to_pose, joint_limits, limit_violations, pose_to_euler, sample_poses

J = {n: i for i, n in enumerate(JOINT_NAMES)}


def joints_for(body, updates: dict[tuple[str, int], float]) -> torch.Tensor:
    e = torch.zeros(1, 24, 3)
    for (name, axis), angle in updates.items():
        e[0, J[name], axis] = angle
    with torch.no_grad():
        return body(torch.zeros(1, 10), euler_to_pose(e)).joints[0]


def test_euler_round_trip_inside_the_limits():
    g = torch.Generator().manual_seed(0)
    lim = joint_limits()
    e = lim[..., 0] + (lim[..., 1] - lim[..., 0]) * torch.rand(500, 24, 3, generator=g)
    e[:, 0] = 0.0
    assert torch.allclose(pose_to_euler(euler_to_pose(e)), e, atol=1e-4)


def test_sampled_poses_stay_within_the_limits_and_vary():
    p = sample_poses(1000, torch.Generator().manual_seed(1))
    assert p.shape == (1000, 72)
    assert not limit_violations(p).any()
    assert p.std(0)[3:].mean() > 0.1
    assert torch.equal(p[:, :3], torch.zeros(1000, 3))


def test_out_of_range_joints_are_flagged():
    e = torch.zeros(2, 24, 3)
    e[0, J["left_knee"], 0] = -0.8  # a knee bent backwards
    e[1, J["right_elbow"], 1] = -1.0  # an elbow bent the wrong way
    v = limit_violations(euler_to_pose(e))
    assert v[0, J["left_knee"] - 1] and v.sum() == 2


def test_sign_conventions_on_the_body():
    body = load_body_model()
    rest = joints_for(body, {})
    hip = joints_for(body, {("left_hip", 0): -1.0})
    assert hip[J["left_knee"], 2] > rest[J["left_knee"], 2] + 0.2  # hip x < 0: thigh forwards
    knee = joints_for(body, {("left_knee", 0): 1.5})
    assert knee[J["left_ankle"], 2] < rest[J["left_ankle"], 2] - 0.2  # knee x > 0: shin backwards
    arm = joints_for(body, {("left_shoulder", 2): -1.2, ("right_shoulder", 2): 1.2})
    assert arm[J["left_wrist"], 1] < rest[J["left_wrist"], 1] - 0.3  # both arms lowered
    assert arm[J["right_wrist"], 1] < rest[J["right_wrist"], 1] - 0.3
    elbow = joints_for(body, {("left_elbow", 1): -1.5, ("right_elbow", 1): 1.5})
    assert elbow[J["left_wrist"], 2] > 0.15 and elbow[J["right_wrist"], 2] > 0.15  # forearms forwards
    lean = joints_for(body, {("spine1", 0): 0.6})
    assert lean[J["head"], 2] > rest[J["head"], 2] + 0.2
