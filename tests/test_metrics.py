"""MPJPE and PA-MPJPE against hand-made cases; the torso's heading against the root rotations that
pose the body model."""

import math

import numpy as np
import pytest
import torch
from pytorch3d.transforms import axis_angle_to_matrix, random_rotations

from bench.articulation import heading_error_deg
from models.body_model import load_body_model
from models.metrics import (
    HEADING_WRONG_DEG,
    mpjpe,
    pa_mpjpe,
    procrustes_align,
    size_ratio,
    torso_heading_error_deg,
    turned_share,
)


def test_mpjpe_is_mean_distance_in_mm():
    a = torch.zeros(1, 14, 3)
    b = a.clone()
    b[..., 0] = 0.01
    assert torch.allclose(mpjpe(a, b), torch.tensor([10.0]))


def test_pa_mpjpe_forgives_exactly_a_similarity_transform():
    g = torch.Generator().manual_seed(0)
    target = torch.randn(4, 14, 3, generator=g)
    R = random_rotations(4)
    pred = 1.7 * target @ R + torch.randn(4, 1, 3, generator=g)
    assert pa_mpjpe(pred, target).max() < 1e-3
    assert mpjpe(pred, target).min() > 100


def test_pa_alignment_does_not_reflect():
    target = torch.randn(1, 14, 3, generator=torch.Generator().manual_seed(1))
    mirrored = target * torch.tensor([-1.0, 1.0, 1.0])
    aligned = procrustes_align(mirrored, target)
    assert pa_mpjpe(mirrored, target) > 1.0  # a mirror image is an error, not an alignment
    assert torch.isfinite(aligned).all() and not math.isnan(aligned.sum().item())


def test_torso_heading_from_the_joints_agrees_with_the_root_rotation():
    # Reference: heading_error_deg on the root rotations that pose the open body model (rest pose
    # otherwise, so the torso faces where the root does), random turns about the vertical and leans.
    body = load_body_model()
    rng = np.random.default_rng(1)
    facing = axis_angle_to_matrix(torch.tensor([math.pi, 0.0, 0.0]))
    turns = axis_angle_to_matrix(torch.tensor(rng.uniform(-math.pi, math.pi, (6, 1)) * [[0.0, 1.0, 0.0]]).float())
    leans = axis_angle_to_matrix(torch.tensor(rng.uniform(-0.3, 0.3, (6, 1)) * [[1.0, 0.0, 0.0]]).float())
    roots = torch.cat([leans @ turns @ facing, facing.expand(6, 3, 3)])  # 6 answers, 6 truths
    rotmats = torch.eye(3).repeat(12, 24, 1, 1)
    rotmats[:, 0] = roots
    with torch.no_grad():
        joints = body(torch.zeros(12, body.num_betas), rotmats).eval_joints.numpy()
    got = torso_heading_error_deg(joints[:6], joints[6:])
    want = heading_error_deg(roots[:6].numpy(), roots[6:].numpy())
    np.testing.assert_allclose(got, want, atol=1.0)  # degrees: the rest torso is not quite square
    assert (got > HEADING_WRONG_DEG).any() and (got < HEADING_WRONG_DEG).any()
    with pytest.raises(ValueError, match="layout"):
        torso_heading_error_deg(joints[:6, :12], joints[6:, :12])


def test_turned_share_counts_the_bodies_with_a_heading():
    assert turned_share(np.array([10.0, 170.0, np.nan, 95.0])) == pytest.approx(2 / 3)
    assert math.isnan(turned_share(np.array([np.nan])))


def test_size_ratio_against_a_loop():
    rng = np.random.default_rng(2)
    pred, truth = rng.normal(size=(3, 5, 3)), rng.normal(size=(3, 5, 3))
    want = [math.sqrt(sum(np.dot(p, p) for p in pred[n]) / sum(np.dot(t, t) for t in truth[n])) for n in range(3)]
    np.testing.assert_allclose(size_ratio(pred, truth), want)
    np.testing.assert_allclose(size_ratio(1.1 * truth, truth), 1.1)
