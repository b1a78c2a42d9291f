"""Silhouette topology and the spatial Chamfer losses (paper §3.2-3.3), on binary maps only.

Every function takes and returns batched spatial maps of shape (B, 1, H, W) (or (B, H, W)) and
is built from convolutions, pooling and ReLUs, so it runs on any device and lets gradients reach
the silhouette without ever turning a map into a point set:

    S --s2d--> D_in --d2t--> T            (silhouette -> distance map -> topological skeleton)
    topology_loss(T_hat, T)   = |S2D(1-T_hat) * T| + |S2D(1-T) * T_hat|     (Eq. 5)
    silhouette_loss(S_hat, S) = the same on raw silhouettes                  (L_S^(sp))

The baselines the paper compares against live here too (pixel L2 on silhouettes, B1; L2 on
skeletons, B3), so ablations share the plumbing; the point-set fitting loss (A2) is in
:mod:`models.fitting_loss` because it works on projected vertices, not on maps.
"""
from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

Schedule = Literal["chessboard", "octagonal"]

# 3x3 neighbourhoods *including the centre*. Eq. 2 writes m = n^2 - 2 for a kernel that leaves
# the centre out; that variant turns a background pixel with 8 foreground neighbours into
# foreground (a filled hole), so S2D would stop being a distance transform. With the centre in,
# the threshold is m = (pixels in the kernel) - 1 and each step is an exact binary erosion.
_SQUARE = torch.ones(1, 1, 3, 3)
_CROSS = torch.tensor([[0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 0.0]]).view(1, 1, 3, 3)


def _as_maps(x: torch.Tensor) -> tuple[torch.Tensor, bool]:
    if x.dim() == 3:
        return x.unsqueeze(1), True
    if x.dim() != 4 or x.shape[1] != 1:
        raise ValueError(f"expected (B, 1, H, W) or (B, H, W) maps, got {tuple(x.shape)}")
    return x, False


def erode(S: torch.Tensor, kernel: torch.Tensor, pad_value: float = 0.0) -> torch.Tensor:
    """One convolutional thinning step: S_{i+1} = ReLU(N (*) S_i - m), (B, 1, H, W) -> same.

    ``pad_value`` is what lies beyond the image border: 0 treats it as background.
    """
    k = kernel.to(S)
    m = float(kernel.sum()) - 1.0
    return F.relu(F.conv2d(F.pad(S, (1, 1, 1, 1), value=pad_value), k) - m)


def s2d(S: torch.Tensor, iterations: int | None = None, schedule: Schedule = "chessboard",
        pad_value: float = 0.0) -> torch.Tensor:
    """Silhouette to distance map (Eq. 2): D = sum_i S_i, S_0 = S, S_{i+1} = erode(S_i).

    Args:
        S: (B, 1, H, W) or (B, H, W) binary map.
        iterations: number of erosions l; distances saturate at l + 1. Default: max(H, W),
            enough for an exact transform; the loop also stops once every map is empty.
        schedule: "chessboard" erodes with the 3x3 square (Eq. 2: chessboard distance);
            "octagonal" alternates the 4-neighbour cross and the square, whose distance is
            closer to Euclidean (see docs/BENCHMARKS.md for both against an exact transform).
        pad_value: the map's value beyond the border. 0 for ``S2D(S)``; use 1 for
            ``S2D(1 - S)`` so that the border does not count as foreground.
    Returns:
        D of the same shape: for foreground pixels the distance (in erosion steps) to the
        nearest background pixel, 0 on background.
    """
    S, squeezed = _as_maps(S)
    H, W = S.shape[-2:]
    steps = max(H, W) if iterations is None else iterations
    D = Si = S
    for i in range(steps):
        kernel = _CROSS if schedule == "octagonal" and i % 2 == 0 else _SQUARE
        Si = erode(Si, kernel, pad_value)
        D = D + Si
        # Checking for an empty map syncs with the device; every 4th step is plenty.
        if i % 4 == 3 and not bool(Si.detach().any()):
            break
    return D.squeeze(1) if squeezed else D


def d2t(D_in: torch.Tensor, S: torch.Tensor) -> torch.Tensor:
    """Distance map to topological skeleton (Eq. 3): T = ReLU(D_in - MaxPool(D_in) + 1) * S.

    D_in holds integers, so the ReLU term is 1 exactly on the ridge (local maxima in a 3x3
    window, plateaus included) and 0 elsewhere: T is binary. Shapes as ``s2d``.
    """
    D, squeezed = _as_maps(D_in)
    S4, _ = _as_maps(S)
    T = F.relu(D - F.max_pool2d(D, 3, stride=1, padding=1) + 1.0) * S4
    return T.squeeze(1) if squeezed else T


def skeleton(S: torch.Tensor, iterations: int | None = None, schedule: Schedule = "chessboard") -> torch.Tensor:
    """S2D then D2T: the topological skeleton of a silhouette."""
    return d2t(s2d(S, iterations, schedule), S)


def outward_distance(X: torch.Tensor, iterations: int | None = None, schedule: Schedule = "chessboard") -> torch.Tensor:
    """D_out = S2D(1 - X): each pixel's distance to the nearest active pixel of X (0 on X)."""
    return s2d(1.0 - X, iterations, schedule, pad_value=1.0)


def spatial_chamfer(X_hat: torch.Tensor, X: torch.Tensor, D_out: torch.Tensor | None = None,
                    iterations: int | None = None, schedule: Schedule = "chessboard") -> torch.Tensor:
    """Chamfer-inspired alignment of two binary maps (Eq. 5), per image: (B,).

    ||S2D(1 - X_hat) * X||_1 + ||S2D(1 - X) * X_hat||_1: each active pixel of one map pays its
    distance to the nearest active pixel of the other. ``D_out`` = S2D(1 - X) may be passed in
    precomputed, since X is a fixed target.
    """
    X_hat4, _ = _as_maps(X_hat)
    X4, _ = _as_maps(X)
    if D_out is None:
        with torch.no_grad():
            D_out = outward_distance(X4, iterations, schedule)
    D_out4, _ = _as_maps(D_out)
    D_hat_out = outward_distance(X_hat4, iterations, schedule)
    return (D_hat_out * X4).sum((1, 2, 3)) + (D_out4 * X_hat4).sum((1, 2, 3))


def topology_loss(T_hat: torch.Tensor, T: torch.Tensor, D_out_T: torch.Tensor | None = None,
                  iterations: int | None = None, schedule: Schedule = "chessboard") -> torch.Tensor:
    """L_T^(sp) (Eq. 5) between predicted and target skeletons, per image: (B,)."""
    return spatial_chamfer(T_hat, T, D_out_T, iterations, schedule)


def silhouette_loss(S_hat: torch.Tensor, S: torch.Tensor, D_out_S: torch.Tensor | None = None,
                    iterations: int | None = None, schedule: Schedule = "chessboard") -> torch.Tensor:
    """L_S^(sp): Eq. 5 with raw silhouettes in place of skeletons, per image: (B,)."""
    return spatial_chamfer(S_hat, S, D_out_S, iterations, schedule)


def pixel_l2_loss(S_hat: torch.Tensor, S: torch.Tensor) -> torch.Tensor:
    """B1: squared pixel difference of two silhouettes, summed per image: (B,)."""
    d = _as_maps(S_hat)[0] - _as_maps(S)[0]
    return (d * d).sum((1, 2, 3))


def skeleton_l2_loss(T_hat: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """B3's skeleton term: squared pixel difference of two skeletons, summed per image: (B,)."""
    return pixel_l2_loss(T_hat, T)
