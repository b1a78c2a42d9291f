"""Silhouette topology and the spatial Chamfer losses (paper §3.2-3.3), on binary maps only.

Every function takes and returns batched spatial maps of shape (B, 1, H, W) (or (B, H, W)) and
is built from convolutions, pooling and ReLUs, so it runs on any device and lets gradients reach
the silhouette without ever turning a map into a point set:

    S --s2d--> D_in --d2t--> T            (silhouette -> distance map -> topological skeleton)
    topology_loss(T_hat, T)   = |S2D(1-T_hat) * T| + |S2D(1-T) * T_hat|     (Eq. 5)
    silhouette_loss(S_hat, S) = the same on raw silhouettes                  (L_S^(sp))

The baselines the paper compares against live here too (pixel L2 on silhouettes, B1; L2 on
skeletons, B3), so ablations share the plumbing; the point-set fitting loss (A2) works on
projected vertices rather than maps, so it is written in :mod:`models.fitting_loss` and
re-exported here: every loss of the ablations imports from this module.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
import torch.nn.functional as F

from models.adapt_config import S2DGradient
from models.fitting_loss import fitting_loss  # noqa: F401  (A2, re-exported)

Schedule = Literal["chessboard", "octagonal"]
Gradient = S2DGradient  # how S2D is differentiated (models.adapt_config names the choices)

# The erosion neighbourhoods *include the centre*. Eq. 2 writes m = n^2 - 2 for a 3x3 kernel
# that leaves the centre out; that variant turns a background pixel with 8 foreground neighbours
# into foreground (a filled hole), so S2D would stop being a distance transform. With the centre
# in, the threshold is m = (pixels in the kernel) - 1 and each step is an exact binary erosion.
_SQUARE = torch.ones(1, 1, 3, 3)
_CROSS = torch.tensor([[0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 0.0]]).view(1, 1, 3, 3)


def _as_maps(x: torch.Tensor) -> tuple[torch.Tensor, bool]:
    if x.dim() == 3:
        return x.unsqueeze(1), True
    if x.dim() != 4 or x.shape[1] != 1:
        raise ValueError(f"expected (B, 1, H, W) or (B, H, W) maps, got {tuple(x.shape)}")
    return x, False


def erode(S: torch.Tensor, kernel: torch.Tensor, pad_value: float = 0.0) -> torch.Tensor:
    """One convolutional thinning step (Eq. 2): S_{i+1} = ReLU(N (*) S_i - m), (B, 1, H, W) -> same.

    ``pad_value`` is what lies beyond the image border: 0 treats it as background. This is the
    literal form; :func:`s2d` computes the same thing with window sums and its own backward.
    """
    m = float(kernel.sum()) - 1.0
    return F.relu(F.conv2d(F.pad(S, (1, 1, 1, 1), value=pad_value), kernel.to(S)) - m)


def _window_sum(x: torch.Tensor, cross: bool, pad_value: float) -> torch.Tensor:
    """Sum over each pixel's 3x3 square (or 4-neighbour cross) with a constant border.

    Shifted slices instead of ``conv2d``: a single-channel 3x3 convolution is dominated by its
    call overhead on the CPU, and the window is separable.
    """
    p = F.pad(x, (1, 1, 1, 1), value=pad_value)
    if cross:
        return p[..., 1:-1, 1:-1] + p[..., :-2, 1:-1] + p[..., 2:, 1:-1] + p[..., 1:-1, :-2] + p[..., 1:-1, 2:]
    rows = p[..., :-2, :] + p[..., 1:-1, :] + p[..., 2:, :]
    return rows[..., :-2] + rows[..., 1:-1] + rows[..., 2:]


class _S2D(torch.autograd.Function):
    """D = sum_i S_i with S_{i+1} = ReLU(window(S_i) - m) (Eq. 2), with two hand-written gradients.

    Autograd through a loop of up to max(H, W) small steps costs more in bookkeeping than in
    arithmetic, so both backward passes are written out from the forward's erosion masks.
    Differentiating Eq. 2 literally runs the gradient over every path through the erosion steps:
    a pixel's share of dD grows about 9x per step of depth (a filled square 24 px wide gets a
    gradient of norm 2e10; ``python -m bench.term_gradients``), so the deepest pixels of an
    outward distance map swamp every other loss term. On a binary map D is a distance: it
    changes by one when the zero pixel that decides it moves. ``gradient="distance"`` (the
    default) sends each pixel's dL/dD to the zeros that decide it (:func:`_routed_backward`), so
    a loss reading D pulls on the outline by at most the number of pixels it reads, as an exact
    distance transform would. ``gradient="erosions"`` keeps the literal derivative: with
    M_{i+1} = [S_{i+1} > 0], dL/dS_i = dL/dD + window*(M_{i+1} * dL/dS_{i+1}).

    Measured (docs/RESULTS.md): adapting on the tuning site, by the distance is better on 6 of 7
    shifts (mean held-out PA-MPJPE 65.5 vs 72.7 mm). The literal gradient fits swung limbs back to
    a silhouette better (``python -m bench.swung_limbs``: 38 vs 95 mm): its blow-up lets Eq. 5's
    first half, each target pixel's pull on the prediction, drown the second half, the push on
    predicted pixels far from the target, and the pull is what swings a limb home (the pull
    halves alone, by the distance, reach 24 mm).
    """

    @staticmethod
    def forward(
        ctx, S: torch.Tensor, steps: int, octagonal: bool, pad_value: float, watch: torch.Tensor | None, routed: bool
    ) -> torch.Tensor:
        D = S.clone()
        Si = S
        masks, kinds = [S > 0], []
        check = 1 if S.device.type == "cpu" else 4  # an emptiness check syncs with the device
        for i in range(steps):
            cross = octagonal and i % 2 == 0
            Si = F.relu(_window_sum(Si, cross, pad_value) - (4.0 if cross else 8.0))
            D += Si
            masks.append(Si > 0)
            kinds.append(cross)
            if i % check == check - 1:
                alive = masks[-1] if watch is None else masks[-1] & watch
                if not bool(alive.any()):
                    break
        ctx.save_for_backward(*masks)
        ctx.kinds, ctx.pad_value, ctx.routed = kinds, pad_value, routed
        return D

    @staticmethod
    def backward(ctx, grad_D: torch.Tensor):
        masks = ctx.saved_tensors
        if ctx.routed:
            return _routed_backward(grad_D, list(masks), ctx.kinds, ctx.pad_value), None, None, None, None, None
        g = grad_D
        for mask, cross in zip(reversed(masks[1:]), reversed(ctx.kinds), strict=True):
            g = grad_D + _window_sum(g * mask, cross, 0.0)
        return g, None, None, None, None, None


def _routed_backward(
    grad_D: torch.Tensor, alive: list[torch.Tensor], kinds: list[bool], pad_value: float
) -> torch.Tensor:
    """Move each pixel's dL/dD down its erosion chains to the zeros that end them.

    ``alive`` = [S_0 > 0, S_1 > 0, ...] (B, 1, H, W) and ``kinds`` the steps' windows, as the
    forward made them. A pixel that dies at step k was killed by its neighbours (in step k's
    window) that were already dead at step k - 1; it splits its gradient equally among them,
    deepest pixels first, so every unit ends on a zero at the pixel's own distance: a nearest
    zero, or an even spread over the nearest ones where the metric has ties (a fixed choice
    would bias every chessboard tie towards one corner). Shares that reach the border, or
    pixels that never died within the steps run, carry no gradient. On binary maps no unit is
    lost otherwise, so the gradient sums to the gradient that reached eroded pixels.
    """
    keep = pad_value > 0
    padded = [F.pad(a, (1, 1, 1, 1), value=keep) for a in alive]
    acc = F.pad(grad_D, (1, 1, 1, 1))
    for k in range(len(kinds), 0, -1):
        before, cross = padded[k - 1], kinds[k - 1]
        dying = before & ~padded[k]
        dead = (~before).to(acc.dtype)
        share = torch.where(dying, acc / _window_sum(dead, cross, 0.0).clamp_min(1.0), 0.0)
        acc = torch.where(dying, 0.0, acc) + _window_sum(share, cross, 0.0) * dead
    return (acc * ~padded[0])[..., 1:-1, 1:-1]


def s2d(
    S: torch.Tensor,
    iterations: int | None = None,
    schedule: Schedule = "chessboard",
    pad_value: float = 0.0,
    watch: torch.Tensor | None = None,
    gradient: Gradient = "distance",
) -> torch.Tensor:
    """Silhouette to distance map (Eq. 2): D = sum_i S_i, S_0 = S, S_{i+1} = erode(S_i).

    Args:
        S: (B, 1, H, W) or (B, H, W) binary map.
        iterations: number of erosions l; distances saturate at l + 1. Default: max(H, W),
            enough for an exact transform; the loop also stops once every map is empty.
        schedule: "chessboard" erodes with the 3x3 square (Eq. 2: chessboard distance);
            "octagonal" alternates the 4-neighbour cross and the square, whose distance is
            closer to Euclidean (docs/BENCHMARKS.md has both against an exact transform).
        pad_value: the map's value beyond the border. 0 for ``S2D(S)``; use 1 for
            ``S2D(1 - S)`` so that the border does not count as foreground.
        watch: optional map of the pixels whose distances are needed; erosion stops once all of
            them have eroded. Distances elsewhere may then saturate, but a loss that reads D only
            at ``watch`` pixels gets the same value and the same gradient, in fewer steps.
        gradient: "distance" (default) sends each pixel's gradient to the zero pixels that
            decide its distance; "erosions" differentiates Eq. 2 literally (:class:`_S2D` has both,
            and what each was measured to do).
    Returns:
        D of the same shape: for foreground pixels the distance (in erosion steps) to the
        nearest background pixel, 0 on background.
    """
    S4, squeezed = _as_maps(S)
    steps = max(S4.shape[-2:]) if iterations is None else iterations
    watched = None if watch is None else _as_maps(watch)[0].detach() > 0
    if gradient not in get_args(Gradient):
        raise ValueError(f"gradient must be one of {get_args(Gradient)}, got {gradient!r}")
    D = _S2D.apply(S4, steps, schedule == "octagonal", float(pad_value), watched, gradient == "distance")
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


def skeleton(
    S: torch.Tensor, iterations: int | None = None, schedule: Schedule = "chessboard", gradient: Gradient = "distance"
) -> torch.Tensor:
    """S2D then D2T: the topological skeleton of a silhouette."""
    return d2t(s2d(S, iterations, schedule, gradient=gradient), S)


def outward_distance(
    X: torch.Tensor,
    iterations: int | None = None,
    schedule: Schedule = "chessboard",
    watch: torch.Tensor | None = None,
    gradient: Gradient = "distance",
) -> torch.Tensor:
    """D_out = S2D(1 - X): each pixel's distance to the nearest active pixel of X (0 on X).
    ``watch`` and ``gradient``: as in :func:`s2d`."""
    return s2d(1.0 - X, iterations, schedule, pad_value=1.0, watch=watch, gradient=gradient)


def spatial_chamfer(
    X_hat: torch.Tensor,
    X: torch.Tensor,
    D_out: torch.Tensor | None = None,
    iterations: int | None = None,
    schedule: Schedule = "chessboard",
    gradient: Gradient = "distance",
) -> torch.Tensor:
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
    # Only X's pixels read D_hat_out, so its erosion may stop once they are all reached.
    D_hat_out = outward_distance(X_hat4, iterations, schedule, watch=X4, gradient=gradient)
    return (D_hat_out * X4).sum((1, 2, 3)) + (D_out4 * X_hat4).sum((1, 2, 3))


def topology_loss(
    T_hat: torch.Tensor,
    T: torch.Tensor,
    D_out_T: torch.Tensor | None = None,
    iterations: int | None = None,
    schedule: Schedule = "chessboard",
    gradient: Gradient = "distance",
) -> torch.Tensor:
    """L_T^(sp) (Eq. 5) between predicted and target skeletons, per image: (B,)."""
    return spatial_chamfer(T_hat, T, D_out_T, iterations, schedule, gradient)


def silhouette_loss(
    S_hat: torch.Tensor,
    S: torch.Tensor,
    D_out_S: torch.Tensor | None = None,
    iterations: int | None = None,
    schedule: Schedule = "chessboard",
    gradient: Gradient = "distance",
) -> torch.Tensor:
    """L_S^(sp): Eq. 5 with raw silhouettes in place of skeletons, per image: (B,)."""
    return spatial_chamfer(S_hat, S, D_out_S, iterations, schedule, gradient)


def pixel_l2_loss(S_hat: torch.Tensor, S: torch.Tensor) -> torch.Tensor:
    """B1: squared pixel difference of two silhouettes, summed per image: (B,)."""
    d = _as_maps(S_hat)[0] - _as_maps(S)[0]
    return (d * d).sum((1, 2, 3))


def skeleton_l2_loss(T_hat: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """B3's skeleton term: squared pixel difference of two skeletons, summed per image: (B,)."""
    return pixel_l2_loss(T_hat, T)
