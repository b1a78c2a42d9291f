"""Pose errors in millimetres: MPJPE and PA-MPJPE (after a similarity Procrustes alignment)."""

from __future__ import annotations

import torch


def mpjpe(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, J, 3) root-centred joints in metres -> (B,) mean joint error in mm."""
    return 1000 * (pred - target).norm(dim=-1).mean(-1)


def procrustes_align(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The scale, rotation and translation of ``pred`` that best fit ``target`` (Umeyama), applied. (B, J, 3)."""
    mu_p, mu_t = pred.mean(1, keepdim=True), target.mean(1, keepdim=True)
    p, t = pred - mu_p, target - mu_t
    U, S, Vh = torch.linalg.svd(p.transpose(1, 2) @ t)
    d = torch.sign(torch.linalg.det(U @ Vh))
    D = torch.diag_embed(torch.stack([torch.ones_like(d), torch.ones_like(d), d], -1))
    R = U @ D @ Vh  # applied as p @ R
    scale = (S * D.diagonal(dim1=1, dim2=2)).sum(-1) / p.pow(2).sum((1, 2))
    return scale[:, None, None] * p @ R + mu_t


def pa_mpjpe(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, J, 3) -> (B,) mm after aligning each prediction to its target."""
    return mpjpe(procrustes_align(pred, target), target)
