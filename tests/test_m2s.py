"""M2S against PyTorch3D's plain rasterizer, finite differences and brute-force geometry."""

import math

import numpy as np
import pytest
import torch
from pytorch3d.renderer.mesh.rasterize_meshes import rasterize_meshes
from pytorch3d.structures import Meshes

from models.body_layout import JOINT_NAMES
from models.body_model import load_body_model
from models.m2s import (
    SilhouetteRenderer,
    SilhouetteSettings,
    _to_ndc,
    binarize,
    m2s,
    point_triangle_signed_distance,
    soft_silhouette,
    weak_perspective,
)

J = {n: i for i, n in enumerate(JOINT_NAMES)}


@pytest.fixture(scope="module")
def body():
    return load_body_model()


def posed(body, pose_updates=None, batch=1):
    """Camera-frame proxy vertices of a body facing the camera (OpenCV axes), pelvis at the origin."""
    pose = torch.zeros(batch, 24, 3)
    pose[:, 0, 0] = math.pi  # SMPL is y-up facing +z; the camera looks along +z with y down
    for name, rot in (pose_updates or {}).items():
        pose[:, J[name]] = torch.tensor(rot)
    with torch.no_grad():
        out = body(torch.zeros(batch, 10), pose.reshape(batch, 72))
    return body.proxy_vertices(out.vertices) - out.joints[:, :1]


def test_weak_perspective_scales_then_shifts():
    v = torch.tensor([[[0.1, -0.2, 3.0]]])
    uvz = weak_perspective(v, torch.tensor([[2.0, 0.5, -0.25]]))
    assert torch.allclose(uvz, torch.tensor([[[0.7, -0.65, 3.0]]]))


@pytest.mark.parametrize("size", [64, 128])
def test_coverage_equals_pytorch3d_on_every_face(body, size):
    v = posed(body, {"left_shoulder": (0, 0, -1.0), "right_knee": (0.9, 0, 0), "spine1": (0.2, 0.5, 0)}, batch=2)
    v[1] = v[1] * torch.tensor([1.0, 1.0, -1.0])  # also a mirrored winding
    cam = torch.tensor([[0.95, 0.05, 0.0], [0.7, -0.2, 0.1]])
    uvz = weak_perspective(v, cam)
    hard, _ = soft_silhouette(uvz, body.proxy_faces, SilhouetteSettings(image_size=size))
    p2f, _, _, _ = rasterize_meshes(
        Meshes(_to_ndc(uvz), body.proxy_faces.expand(2, -1, -1)),
        image_size=size,
        blur_radius=0.0,
        faces_per_pixel=1,
        bin_size=0,
    )
    reference = (p2f[..., 0] >= 0).float()
    assert hard.sum() > 0.05 * hard.numel() / 2
    assert torch.equal(hard, reference)


def test_image_orientation_head_up_left_hand_on_the_right(body):
    S = m2s(
        posed(body, {"left_shoulder": (0, 0, 1.0)}),
        body.proxy_faces,
        torch.tensor([[0.9, 0.0, 0.0]]),
        SilhouetteSettings(image_size=64),
    )[0, 0]
    rows = S.sum(1).nonzero()
    assert rows.min() < 10 and rows.max() > 50  # head near the top, feet near the bottom
    raised = S[:14, 36:].sum()  # above the shoulders: the raised left arm shows on the right (facing us)
    lowered = S[:14, :28].sum()
    assert raised > 10 and lowered == 0


def test_silhouette_is_binary_and_gradients_reach_vertices(body):
    v = posed(body).requires_grad_(True)
    S = m2s(v, body.proxy_faces, torch.tensor([[0.9, 0.0, 0.0]]))
    assert set(S.detach().unique().tolist()) <= {0.0, 1.0}
    (S * torch.linspace(-1, 1, 64)).sum().backward()
    assert torch.isfinite(v.grad).all() and (v.grad.abs().sum(-1) > 0).float().mean() > 0.1


def test_gradient_matches_finite_differences_of_coverage(body):
    """Moving the body right must grow a right-weighted sum of its pixels, at the measured rate."""
    v = posed(body)
    weights = torch.linspace(-1, 1, 96).expand(96, 96)
    settings = SilhouetteSettings(image_size=96)

    def score(tx):
        return (
            m2s(v, body.proxy_faces, torch.stack([torch.tensor(0.8), tx, torch.tensor(0.0)])[None], settings)[0, 0]
            * weights
        ).sum()

    tx = torch.tensor(0.0, requires_grad=True)
    score(tx).backward()
    step = 4 * 2.0 / 96  # four pixels
    with torch.no_grad():
        fd = (score(torch.tensor(step)) - score(torch.tensor(-step))) / (2 * step)
    assert fd > 0 and tx.grad > 0
    assert 0.5 < (tx.grad / fd).item() < 2.0, (tx.grad.item(), fd.item())


def test_binarize_is_straight_through():
    p = torch.tensor([0.2, 0.6, 0.9], requires_grad=True)
    out = binarize(p)
    assert out.tolist() == [0.0, 1.0, 1.0]
    out.sum().backward()
    assert p.grad.tolist() == [1.0, 1.0, 1.0]
    exact = torch.tensor([1.0, 0.0, 1.0])
    assert binarize(p, exact).tolist() == exact.tolist()


def test_point_triangle_signed_distance_against_dense_sampling():
    rng = np.random.default_rng(0)
    tri = torch.as_tensor(rng.uniform(-1, 1, (50, 3, 2)), dtype=torch.float64)
    p = torch.as_tensor(rng.uniform(-1.5, 1.5, (50, 2)), dtype=torch.float64)
    d = point_triangle_signed_distance(p, tri)
    s = torch.linspace(0, 1, 4001, dtype=torch.float64)[:, None]
    for i in range(50):
        a, b, c = tri[i]
        edge = torch.cat([a + s * (b - a), b + s * (c - b), c + s * (a - c)])
        ref = (edge - p[i]).norm(dim=-1).min()
        # inside test by barycentric signs
        m = torch.stack([b - a, c - a], 1)
        l1, l2 = torch.linalg.solve(m, p[i] - a)
        inside = l1 > 0 and l2 > 0 and l1 + l2 < 1
        assert abs(abs(d[i]) - ref) < 1e-3
        assert (d[i] < 0) == inside


def test_renderer_module_binds_faces(body):
    r = SilhouetteRenderer(body.proxy_faces, SilhouetteSettings(image_size=32))
    S = r(posed(body, batch=3), torch.tensor([[0.9, 0.0, 0.0]]).expand(3, 3))
    assert S.shape == (3, 1, 32, 32) and torch.equal(S[0], S[2])
