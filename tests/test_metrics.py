"""MPJPE and PA-MPJPE against hand-made cases."""

import math

import torch
from pytorch3d.transforms import random_rotations

from models.metrics import mpjpe, pa_mpjpe, procrustes_align


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
