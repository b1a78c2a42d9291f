"""Pose errors in millimetres: MPJPE and PA-MPJPE (after a similarity Procrustes alignment); and
which way a body faces against the truth, the part of MPJPE that PA-MPJPE aligns away."""

from __future__ import annotations

import numpy as np
import torch

from models.body_layout import EVAL_JOINT_NAMES
from models.heading import torso_facing

CAMERA_UP = 1  # OpenCV axes: y points down, so the horizontal plane is x-z
HEADING_WRONG_DEG = 90.0  # a body turned further than this from the truth faces the other way


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


def size_ratio(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(N, J, 3) and (N, J, 3) root-centred joints -> (N,) the predicted joints' RMS distance from the
    root over the true ones': above 1, a body answered too large (MPJPE counts it, PA-MPJPE does not)."""
    pred, truth = np.asarray(pred, np.float64), np.asarray(truth, np.float64)
    if pred.shape != truth.shape:
        raise ValueError(f"pred {pred.shape} and truth {truth.shape} differ")
    return np.sqrt((pred**2).sum(-1).mean(-1) / (truth**2).sum(-1).mean(-1))


def facing_angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 3) and (N, 3) facing vectors, camera axes -> (N,) the angle in degrees, in [0, 180],
    between them seen from above (x-z plane). NaN where either faces straight up or down."""
    flat = [np.delete(np.asarray(x, np.float64), CAMERA_UP, axis=-1) for x in (a, b)]
    na, nb = (np.linalg.norm(x, axis=-1) for x in flat)
    cos = (flat[0] * flat[1]).sum(-1) / np.maximum(na * nb, 1e-12)
    return np.where((na > 1e-6) & (nb > 1e-6), np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))), np.nan)


def torso_heading_error_deg(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(N, 14, 3) and (N, 14, 3) evaluation joints, camera axes -> (N,) :func:`facing_angle_deg`
    between where the two torsos face (:func:`models.heading.torso_facing`)."""
    pred, truth = np.asarray(pred, np.float64), np.asarray(truth, np.float64)
    if pred.shape != truth.shape:
        raise ValueError(f"pred {pred.shape} and truth {truth.shape} differ")
    return facing_angle_deg(torso_facing(pred, EVAL_JOINT_NAMES), torso_facing(truth, EVAL_JOINT_NAMES))


def turned_share(heading_deg: np.ndarray) -> float:
    """(N,) heading errors in degrees (NaN: no heading) -> the share of those with a heading that
    face more than :data:`HEADING_WRONG_DEG` from the truth; NaN when none has one."""
    h = np.asarray(heading_deg, np.float64)
    h = h[np.isfinite(h)]
    return float(np.mean(h > HEADING_WRONG_DEG)) if h.size else float("nan")
