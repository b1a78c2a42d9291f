"""A2: the point-set Chamfer "fitting loss" of prior art ([17] in the paper), for the ablations.

It compares the projected mesh vertices with the target's foreground pixels as two point sets
(Eq. 4, squared distances, summed both ways), through PyTorch3D's ``chamfer_distance``. This is
the spatial-map-to-point-set mapping the paper's spatial losses avoid: the target mask must be
turned into a padded list of pixel coordinates, and only the vertices carry gradient.
"""

from __future__ import annotations

import torch
from pytorch3d.loss import chamfer_distance

from models.m2s import crop_to_pixels, project_points


def foreground_points(S: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Binary maps (B, 1, H, W) or (B, H, W) -> padded pixel coordinates (B, N, 2) as (x, y), and counts (B,)."""
    S = S.reshape(S.shape[0], *S.shape[-2:]) > 0.5
    counts = S.flatten(1).sum(1)
    n = max(int(counts.max()), 1)
    pts = torch.zeros(S.shape[0], n, 2, device=S.device)
    for i, m in enumerate(S):
        yx = m.nonzero().flip(-1).to(pts.dtype)
        pts[i, : len(yx)] = yx
    return pts, counts


def fitting_loss(
    vertices: torch.Tensor,
    camera: torch.Tensor,
    S: torch.Tensor,
    target_points: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Two-way squared-distance Chamfer between projected vertices and target foreground pixels, (B,).

    Args:
        vertices: (B, V, 3) camera-frame vertices; camera: (B, 3) weak perspective (s, t_x, t_y).
        S: (B, 1, H, W) target silhouettes (square images).
        target_points: ``foreground_points(S)`` if already computed (the target does not change).
    """
    size = S.shape[-1]
    pts, counts = foreground_points(S) if target_points is None else target_points
    projected = crop_to_pixels(project_points(vertices, camera), size)
    loss, _ = chamfer_distance(projected, pts, y_lengths=counts, batch_reduction=None, point_reduction="sum")
    return loss
