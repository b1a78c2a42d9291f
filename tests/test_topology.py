"""S2D, D2T and the spatial Chamfer losses against brute-force references (scipy, point sets)."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from models.topology import (
    d2t,
    outward_distance,
    pixel_l2_loss,
    s2d,
    silhouette_loss,
    skeleton,
    skeleton_l2_loss,
    topology_loss,
)


def random_masks(n: int, size: int = 48, seed: int = 0, blob: float = 3.0) -> np.ndarray:
    """Blobby masks with holes and several components, some touching the border."""
    rng = np.random.default_rng(seed)
    noise = ndimage.gaussian_filter(rng.standard_normal((n, size, size)), sigma=(0, blob, blob))
    return noise > 0.1 * 3.0 / blob


def t(m: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(m, dtype=torch.float32)


def chessboard_reference(mask: np.ndarray) -> np.ndarray:
    """scipy's chessboard transform with the image surrounded by background (S2D's convention)."""
    return ndimage.distance_transform_cdt(np.pad(mask, 1), metric="chessboard")[1:-1, 1:-1]


def test_s2d_is_the_chessboard_distance_transform():
    masks = random_masks(6)
    D = s2d(t(masks)).numpy()
    for m, d in zip(masks, D, strict=True):
        np.testing.assert_array_equal(d, chessboard_reference(m))


def test_s2d_accepts_channel_maps_and_keeps_batches_apart():
    masks = t(random_masks(3, seed=1))
    np.testing.assert_array_equal(s2d(masks[:, None])[:, 0].numpy(), s2d(masks).numpy())
    np.testing.assert_array_equal(s2d(masks[1:2]).numpy(), s2d(masks)[1:2].numpy())


@pytest.mark.parametrize("cap", [3, 10, None])
def test_s2d_of_the_complement_is_the_distance_to_the_foreground_up_to_the_cap(cap):
    masks = random_masks(4, seed=2)
    D_out = outward_distance(t(masks), iterations=cap).numpy()
    for m, d in zip(masks, D_out, strict=True):
        ref = ndimage.distance_transform_cdt(~m, metric="chessboard")  # nearest foreground, in-image only
        if cap is not None:
            ref = np.minimum(ref, cap + 1)
        np.testing.assert_array_equal(d, ref)


def test_octagonal_schedule_matches_alternating_morphological_erosion():
    masks = random_masks(4, seed=3)
    cross = ndimage.generate_binary_structure(2, 1)
    square = ndimage.generate_binary_structure(2, 2)
    for m, d in zip(masks, s2d(t(masks), schedule="octagonal").numpy(), strict=True):
        ref = np.zeros(m.shape, dtype=np.int64)
        level, i = np.pad(m, 1), 0
        while level.any():
            ref += level[1:-1, 1:-1]
            level = ndimage.binary_erosion(level, cross if i % 2 == 0 else square, border_value=0)
            level[[0, -1], :] = False
            level[:, [0, -1]] = False
            i += 1
        np.testing.assert_array_equal(d, ref)


def test_octagonal_distance_is_closer_to_euclidean_than_chessboard():
    masks = random_masks(8, size=96, seed=4, blob=6.0)  # body-sized blobs, distances up to ~14 px
    edt = np.stack([ndimage.distance_transform_edt(np.pad(m, 1))[1:-1, 1:-1] for m in masks])
    err = {s: np.abs(s2d(t(masks), schedule=s).numpy() - edt)[masks].mean() for s in ("chessboard", "octagonal")}
    assert err["octagonal"] < 0.5 * err["chessboard"], err


def test_d2t_is_a_binary_ridge_inside_the_silhouette():
    masks = random_masks(6, seed=5)
    S = t(masks)
    D = s2d(S)
    T = d2t(D, S)
    assert set(np.unique(T.numpy())) <= {0.0, 1.0}
    assert torch.all(T <= S)
    for d, tt in zip(D, T, strict=True):
        assert tt.flatten()[d.flatten().argmax()] == 1.0  # the deepest pixel is on the skeleton
    # every skeleton pixel is a local maximum of the distance map
    pooled = torch.nn.functional.max_pool2d(D[:, None], 3, 1, 1)[:, 0]
    assert torch.all(D[T > 0] == pooled[T > 0])


def test_d2t_of_a_filled_rectangle_is_its_medial_axis():
    S = torch.zeros(1, 21, 40)
    S[0, 3:14, 5:35] = 1.0  # 11 rows x 30 columns: chessboard medial axis is the middle row
    T = skeleton(S)[0]
    expected = torch.zeros(21, 40)
    expected[8, 10:30] = 1.0  # centre row, from 5 px in from each short side
    assert torch.equal(T, expected)


def brute_force_chamfer_linf(a: np.ndarray, b: np.ndarray) -> float:
    pa, pb = np.argwhere(a), np.argwhere(b)
    d = np.abs(pa[:, None, :] - pb[None, :, :]).max(-1)
    return float(d.min(1).sum() + d.min(0).sum())


def test_topology_loss_is_the_two_way_point_set_chamfer_with_linf_distances():
    masks = random_masks(8, seed=6)
    T = skeleton(t(masks))
    T_hat, T_ref = T[:4], T[4:]
    loss = topology_loss(T_hat, T_ref)
    for i in range(4):
        assert loss[i].item() == brute_force_chamfer_linf(T_hat[i].numpy() > 0, T_ref[i].numpy() > 0)


def test_precomputed_target_distance_gives_the_same_loss():
    T = skeleton(t(random_masks(4, seed=7)))
    assert torch.equal(topology_loss(T[:2], T[2:]), topology_loss(T[:2], T[2:], outward_distance(T[2:])))


def test_silhouette_loss_is_the_same_chamfer_on_raw_silhouettes():
    S = t(random_masks(4, seed=8))
    assert torch.equal(silhouette_loss(S[:2], S[2:]), topology_loss(S[:2], S[2:]))
    assert torch.all(silhouette_loss(S, S) == 0)


def test_baseline_l2_losses_count_differing_pixels():
    S = t(random_masks(4, seed=9))
    expected = (S[:2] != S[2:]).sum((1, 2)).float()
    assert torch.equal(pixel_l2_loss(S[:2], S[2:]), expected)
    assert torch.equal(skeleton_l2_loss(S[:2], S[2:]), expected)


def test_gradients_reach_the_predicted_silhouette_through_every_map():
    S_ref = t(random_masks(2, seed=10))
    S_hat = t(random_masks(2, seed=11)).requires_grad_(True)
    loss = topology_loss(skeleton(S_hat), skeleton(S_ref)) + silhouette_loss(S_hat, S_ref)
    loss.sum().backward()
    g = S_hat.grad
    assert torch.isfinite(g).all() and g.abs().sum() > 0
    # The erosion chain carries gradient to the outline, not just to skeleton pixels.
    outline = (S_hat.detach() > 0) & (s2d(S_hat.detach()) == 1)
    assert (g[outline] != 0).float().mean() > 0.3


def test_fitting_loss_is_the_squared_point_set_chamfer():
    from models.fitting_loss import fitting_loss

    rng = np.random.default_rng(12)
    S = t(random_masks(2, size=32, seed=12))[:, None]
    v = torch.as_tensor(rng.uniform(-1, 1, (2, 50, 3)), dtype=torch.float32).requires_grad_(True)
    cam = torch.tensor([[0.8, 0.1, -0.1], [1.0, 0.0, 0.0]])
    loss = fitting_loss(v, cam, S)
    for i in range(2):
        uv = cam[i, 0] * v[i, :, :2].detach() + cam[i, 1:]
        px = (uv + 1) * 16 - 0.5
        fg = torch.as_tensor(np.argwhere(S[i, 0].numpy() > 0)[:, ::-1].copy(), dtype=torch.float32)
        d = ((px[:, None] - fg[None]) ** 2).sum(-1)
        assert torch.allclose(loss[i], d.min(1).values.sum() + d.min(0).values.sum(), rtol=1e-4)
    loss.sum().backward()
    assert torch.isfinite(v.grad).all() and v.grad.abs().sum() > 0


@pytest.mark.parametrize("schedule,pad", [("chessboard", 0.0), ("chessboard", 1.0), ("octagonal", 0.0)])
def test_s2d_erosions_gradient_equals_autograd_through_the_literal_erosions(schedule, pad):
    """The hand-written literal backward against autograd through Eq. 2's conv + ReLU loop."""
    from models.topology import _CROSS, _SQUARE, erode

    S = t(random_masks(3, size=24, seed=13))[:, None]
    weights = torch.randn(S.shape, generator=torch.Generator().manual_seed(0))
    a = S.clone().requires_grad_(True)
    (s2d(a, iterations=12, schedule=schedule, pad_value=pad, gradient="erosions") * weights).sum().backward()
    b = S.clone().requires_grad_(True)
    D, Si = b, b
    for i in range(12):
        Si = erode(Si, _CROSS if schedule == "octagonal" and i % 2 == 0 else _SQUARE, pad)
        D = D + Si
    (D * weights).sum().backward()
    assert torch.equal(s2d(S, iterations=12, schedule=schedule, pad_value=pad), D.detach())
    assert torch.allclose(a.grad, b.grad, atol=1e-5)


@pytest.mark.parametrize("gradient", ["erosions", "distance"])
def test_watched_erosion_gives_the_same_loss_and_gradient(gradient):
    T = skeleton(t(random_masks(4, seed=14)))
    a = T[:2].clone().requires_grad_(True)
    b = T[:2].clone().requires_grad_(True)
    D_full = outward_distance(a, gradient=gradient)
    D_watch = outward_distance(b, watch=T[2:], gradient=gradient)
    la, lb = (D_full * T[2:]).sum(), (D_watch * T[2:]).sum()
    la.backward()
    lb.backward()
    assert la.item() == lb.item()
    assert torch.equal(a.grad, b.grad)


def reach(steps: int, schedule: str, r: int) -> np.ndarray:
    """(2r+1, 2r+1): offsets an erosion chain of ``steps`` steps sees, a delta dilated by each step's window."""
    from models.topology import _CROSS, _SQUARE

    out = np.zeros((2 * r + 1, 2 * r + 1), bool)
    out[r, r] = True
    for i in range(steps):
        k = (_CROSS if schedule == "octagonal" and i % 2 == 0 else _SQUARE)[0, 0].numpy() > 0
        out = ndimage.binary_dilation(out, structure=k)
    return out


@pytest.mark.parametrize("schedule,pad", [("chessboard", 0.0), ("chessboard", 1.0), ("octagonal", 0.0)])
def test_distance_gradient_lands_on_zeros_that_decide_the_distance(schedule, pad):
    """Brute force, pixel by pixel: d D(p) is a unit spread over zero pixels at distance D(p)."""
    S = t(random_masks(2, size=24, seed=15))[:, None]
    D = s2d(S, schedule=schedule, pad_value=pad)
    rng = np.random.default_rng(0)
    for _ in range(60):
        b, y, x = int(rng.integers(2)), int(rng.integers(24)), int(rng.integers(24))
        a = S.clone().requires_grad_(True)
        s2d(a, schedule=schedule, pad_value=pad, gradient="distance")[b, 0, y, x].backward()
        g = a.grad[b, 0].numpy()
        d = int(D[b, 0, y, x])
        window = np.pad(np.pad(S[b, 0].numpy(), 1, constant_values=pad), d + 2, constant_values=1)
        cy, cx, r = y + 1 + d + 2, x + 1 + d + 2, d + 1
        seen = window[cy - r : cy + r + 1, cx - r : cx + r + 1]
        assert (seen[reach(d - 1, schedule, r)] > 0).all() if d > 0 else S[b, 0, y, x] == 0  # D(p) is right
        assert (g >= 0).all() and g.sum() <= 1 + 1e-6
        if g.sum() < 1 - 1e-6:  # part of the unit went to the border, which has no gradient
            assert pad == 0.0 and not (seen[reach(d, schedule, r)] > 0).all()
        for zy, zx in np.argwhere(g > 0):
            assert S[b, 0, zy, zx] == 0
            assert reach(d, schedule, r)[zy - y + r, zx - x + r]


def test_distance_gradient_does_not_grow_with_depth():
    """The literal derivative of a filled square's distances grows ~9x per step of depth; the
    distance gradient moves each pixel's unit onto zeros, so it sums to the pixel count."""
    for n in (4, 12, 24):
        square = torch.zeros(1, 1, 64, 64)
        square[..., 20 : 20 + n, 20 : 20 + n] = 1.0
        a = square.clone().requires_grad_(True)
        s2d(a, gradient="distance").sum().backward()
        assert torch.isclose(a.grad.sum(), torch.tensor(64.0 * 64))
        assert a.grad.max() <= n * n
        b = square.clone().requires_grad_(True)
        s2d(b, gradient="erosions").sum().backward()
        if n == 24:
            assert b.grad.norm() > 1e6 * a.grad.norm()
