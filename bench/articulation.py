"""How much articulation a model reads on labelled renders: pure functions on NumPy arrays (issue 19).

    spread = articulation_spread(body_joints)              # mm: how far joints stray from their mean
    err = body_frame_error(pred_body, true_body)           # mm: joint error with the root turned away
    deg = heading_error_deg(pred_root, true_root)          # (N,) degrees about the vertical
    hits, counted = render_pck(pred_2d, true_2d, heights)  # PCK@0.1 of the person's height in the crop
    corr, bias = shape_reading(pred_betas, true_betas)     # does the model read body shape at all?

A model that regresses to its mean pose can score a plausible MPJPE while reading no limbs: its
joints in the body's own frame (root rotation removed) then spread far less about their mean than
the true ones do. These figures say so in numbers (docs/REAL_POSE.md, "where the articulation is
lost"); :mod:`bench.checkpoint_eval` reports them for any checkpoint. The same holds for shape: a
model whose betas do not follow the truth's (correlation near zero) but sit far from the mean has
learned a shape that lowers its joint errors (a smaller body hedges an unsure pose), not the
person's (docs/REAL_POSE.md, "The source model reads no body shape").
"""

from __future__ import annotations

import numpy as np

from bench import pose_scores as ps
from models.metrics import facing_angle_deg

MM_PER_M = ps.MM_PER_M
# The body's forward direction in its own frame (SMPL's template faces +z).
BODY_FORWARD = np.array([0.0, 0.0, 1.0])


def _joints(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if x.ndim != 3 or x.shape[-1] != 3:
        raise ValueError(f"{name} must be (N, J, 3), got shape {x.shape}")
    return x


def articulation_spread(joints: np.ndarray) -> float:
    """(N, J, 3) root-centred joints in the body's own frame, metres -> the mean distance, in mm, of
    each joint from that joint's mean over the N bodies: how much the poses differ."""
    joints = _joints(joints, "joints")
    return float(np.linalg.norm(joints - joints.mean(0, keepdims=True), axis=-1).mean() * MM_PER_M)


def body_frame_error(pred: np.ndarray, truth: np.ndarray) -> float:
    """(N, J, 3) and (N, J, 3) root-centred joints in the body's own frame, metres -> the mean joint
    error in mm (the articulation's error alone: no heading, no Procrustes)."""
    pred, truth = _joints(pred, "pred"), _joints(truth, "truth")
    if pred.shape != truth.shape:
        raise ValueError(f"pred {pred.shape} and truth {truth.shape} differ")
    return float(np.linalg.norm(pred - truth, axis=-1).mean() * MM_PER_M)


def heading_error_deg(pred_root: np.ndarray, true_root: np.ndarray) -> np.ndarray:
    """(N, 3, 3) and (N, 3, 3) root rotations (body to camera, OpenCV axes) -> (N,) the angle in
    degrees, in [0, 180], between where the two bodies face, seen from above (x-z plane). NaN where a
    body faces straight up or down (no heading)."""
    pred_root, true_root = np.asarray(pred_root, np.float64), np.asarray(true_root, np.float64)
    if pred_root.shape != true_root.shape or pred_root.shape[1:] != (3, 3):
        raise ValueError(f"root rotations must both be (N, 3, 3), got {pred_root.shape} and {true_root.shape}")
    return facing_angle_deg(pred_root @ BODY_FORWARD, true_root @ BODY_FORWARD)


def mask_heights(masks: np.ndarray) -> np.ndarray:
    """(N, S, S) bool person masks -> (N,) their heights in crop coordinates ([-1, 1] across the
    crop, as the crops' 2D joints): the rendered counterpart of a box's height."""
    masks = np.asarray(masks, bool)
    if masks.ndim != 3 or masks.shape[1] != masks.shape[2]:
        raise ValueError(f"masks must be (N, S, S), got shape {masks.shape}")
    rows = masks.any(-1)
    if not rows.any(-1).all():
        raise ValueError("a mask is empty")
    size = masks.shape[1]
    top = rows.argmax(-1)
    bottom = size - rows[:, ::-1].argmax(-1)
    return 2.0 * (bottom - top) / size


def render_pck(pred: np.ndarray, truth: np.ndarray, heights: np.ndarray) -> tuple[int, int]:
    """(N, 12, 2) predicted and true limb joints in crop coordinates, (N,) person heights in the same
    units -> (hits, counted): PCK@0.1 of the person's height, every joint counted (renders know them all)."""
    pred = np.asarray(pred, np.float64)
    return ps.pck(pred, truth, np.ones(pred.shape[:2], bool), heights)


def shape_reading(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(N, B) predicted and true betas -> (the mean over the B components of the Pearson correlation
    of predicted with true across the N bodies, the largest mean predicted component in absolute
    value). A component constant in either (no correlation defined) is left out of the mean."""
    pred, truth = np.asarray(pred, np.float64), np.asarray(truth, np.float64)
    if pred.ndim != 2 or pred.shape != truth.shape or len(pred) < 2:
        raise ValueError(f"betas must both be (N >= 2, B), got {pred.shape} and {truth.shape}")
    dp, dt = pred - pred.mean(0), truth - truth.mean(0)
    norms = np.sqrt((dp**2).sum(0) * (dt**2).sum(0))
    defined = norms > 0
    corr = float(((dp * dt).sum(0)[defined] / norms[defined]).mean()) if defined.any() else float("nan")
    return corr, float(np.abs(pred.mean(0)).max())
