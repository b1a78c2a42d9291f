"""Pose families: inside the joint limits, and each family looks like its name on the body."""

import pytest
import torch

from models.body_layout import JOINT_NAMES
from models.body_model import load_body_model
from models.synth.pose_families import FAMILIES, sample_pose_families
from models.synth.pose_sampler import limit_violations

J = {n: i for i, n in enumerate(JOINT_NAMES)}


@pytest.fixture(scope="module")
def body():
    return load_body_model()


def joints(body, poses: torch.Tensor) -> torch.Tensor:
    """(n, 72) -> (n, 24, 3) rest-frame joints (y up, facing +z, x towards the body's left)."""
    with torch.no_grad():
        return body(torch.zeros(len(poses), 10), poses).joints


def test_every_family_stays_inside_the_limits():
    p = sample_pose_families(400, torch.Generator().manual_seed(0))
    assert p.shape == (400, 72) and torch.all(p[:, :3] == 0)
    assert limit_violations(p).float().mean() < 0.01


def test_raised_arms_put_the_elbows_above_the_shoulders(body):
    j = joints(body, sample_pose_families(64, torch.Generator().manual_seed(1), families=["raised_arms"]))
    for side in ("left", "right"):
        assert (j[:, J[f"{side}_elbow"], 1] > j[:, J[f"{side}_shoulder"], 1]).float().mean() > 0.9
    relaxed = joints(body, torch.zeros(1, 72))
    assert relaxed[0, J["left_elbow"], 1] - relaxed[0, J["left_shoulder"], 1] < 0.05  # the T-pose is level


def test_one_arm_up_mirrors_to_either_side(body):
    g = torch.Generator().manual_seed(2)
    left = joints(body, sample_pose_families(64, g, families=["one_arm_up"], mirror_share=0.0))
    right = joints(body, sample_pose_families(64, g, families=["one_arm_up"], mirror_share=1.0))
    assert (left[:, J["left_elbow"], 1] > left[:, J["left_shoulder"], 1]).float().mean() > 0.9
    assert (right[:, J["right_elbow"], 1] > right[:, J["right_shoulder"], 1]).float().mean() > 0.9


def test_crossed_arms_bring_the_wrists_in_front_of_the_chest(body):
    j = joints(body, sample_pose_families(64, torch.Generator().manual_seed(3), families=["crossed_arms"]))
    in_front = j[:, [J["left_wrist"], J["right_wrist"]], 2] > j[:, [J["spine3"]], 2]
    near_middle = j[:, [J["left_wrist"], J["right_wrist"]], 0].abs() < 0.3
    assert (in_front & near_middle).float().mean() > 0.8


def test_sitting_puts_the_knees_forward_at_hip_height(body):
    j = joints(body, sample_pose_families(64, torch.Generator().manual_seed(4), families=["sitting"]))
    knee, hip = j[:, J["left_knee"]], j[:, J["left_hip"]]
    assert ((knee[:, 2] - hip[:, 2]) > 0.25).float().mean() > 0.9  # thigh forwards
    assert ((knee[:, 1] - hip[:, 1]).abs() < 0.2).float().mean() > 0.9  # and roughly level


def test_bent_torso_leans_the_neck_forwards(body):
    j = joints(body, sample_pose_families(64, torch.Generator().manual_seed(5), families=["bent_torso"]))
    assert ((j[:, J["neck"], 2] - j[:, J["pelvis"], 2]) > 0.1).float().mean() > 0.9


def test_unknown_family_is_named():
    with pytest.raises(ValueError, match="flying"):
        sample_pose_families(4, families=["flying"])
    assert len(FAMILIES) == len(set(FAMILIES))
