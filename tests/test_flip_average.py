"""models.flip_average against slow references: the mirrored rotations pose the mirror image of the
body (the body model's own vertices and joints, mirrored); the rotation midpoint is the geodesic
one (Rodrigues); the averaged answer equals the two answers averaged one crop at a time, and the
answer on a mirrored crop is the mirror image of the answer."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from pytorch3d.transforms import axis_angle_to_matrix

from models.body_model import load_body_model
from models.flip_average import FlipAveraged, mirror_camera, mirror_rotations, rotation_midpoint
from models.heading import JOINT_MIRROR, vertex_mirror
from models.prior import PoseDecoder
from models.regressor import PoseRegressor, RegressorConfig

X_FLIP = np.array([-1.0, 1.0, 1.0])


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def regressor(body):
    torch.manual_seed(3)
    reg = PoseRegressor(RegressorConfig.preset("cpu"), body, PoseDecoder()).eval()
    with torch.no_grad():  # a zero last layer would answer every crop alike
        torch.nn.init.normal_(reg.head[-1].weight, std=0.02)
    return reg


def midpoint_reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(3, 3) x2 -> a exp(log(a^T b) / 2), through Rodrigues."""
    rel, _ = cv2.Rodrigues(a.T @ b)
    half, _ = cv2.Rodrigues(rel / 2)
    return a @ half


def test_mirrored_rotations_pose_the_mirror_image_of_the_body(body):
    rng = np.random.default_rng(0)
    aa = torch.as_tensor(rng.normal(0, 0.35, (2, 24, 3)), dtype=torch.float32)
    rot = axis_angle_to_matrix(aa)
    betas = torch.zeros(2, 10)
    with torch.no_grad():
        out, mirrored = body(betas, rot), body(betas, mirror_rotations(rot))
    index, _ = vertex_mirror(body.v_template.numpy())
    for k in range(2):
        v, j = (out.vertices[k] - out.joints[k, 0]).numpy(), (out.joints[k] - out.joints[k, 0]).numpy()
        vm, jm = (
            (mirrored.vertices[k] - mirrored.joints[k, 0]).numpy(),
            (mirrored.joints[k] - mirrored.joints[k, 0]).numpy(),
        )
        np.testing.assert_allclose(jm, j[list(JOINT_MIRROR)] * X_FLIP, atol=0.01)
        assert np.abs(vm - v[index] * X_FLIP).mean() < 0.005
    twice = mirror_rotations(mirror_rotations(rot))
    torch.testing.assert_close(twice, rot, atol=1e-6, rtol=0)


def test_the_rotation_midpoint_is_the_geodesic_one():
    rng = np.random.default_rng(1)
    a = axis_angle_to_matrix(torch.as_tensor(rng.normal(0, 1.0, (64, 3)), dtype=torch.float64))
    b = axis_angle_to_matrix(torch.as_tensor(rng.normal(0, 1.0, (64, 3)), dtype=torch.float64))
    got = rotation_midpoint(a, b).numpy()
    for k in range(64):
        np.testing.assert_allclose(got[k], midpoint_reference(a[k].numpy(), b[k].numpy()), atol=1e-6)
    np.testing.assert_allclose(rotation_midpoint(a, a).numpy(), a.numpy(), atol=1e-6)
    np.testing.assert_allclose(got, rotation_midpoint(b, a).numpy(), atol=1e-6)


def test_the_averaged_answer_is_the_two_answers_averaged_one_crop_at_a_time(regressor):
    images = torch.rand(3, 3, 128, 128, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        got = FlipAveraged(regressor)(images)
        for k in range(3):
            a, b = regressor(images[k : k + 1]), regressor(images[k : k + 1].flip(-1))
            rb = b.rotmats[0, list(JOINT_MIRROR)].numpy() * np.outer(X_FLIP, X_FLIP)  # M R M, partners
            rot = np.stack([midpoint_reference(ra, r) for ra, r in zip(a.rotmats[0].numpy(), rb, strict=True)])
            betas = (a.betas + b.betas) / 2
            camera = (a.camera + b.camera * torch.tensor([1.0, -1.0, 1.0])) / 2
            want = regressor.posed(a.phi, torch.as_tensor(rot[None], dtype=torch.float32), betas, camera)
            torch.testing.assert_close(got.rotmats[k], want.rotmats[0], atol=5e-5, rtol=0)
            torch.testing.assert_close(got.vertices[k], want.vertices[0], atol=5e-5, rtol=0)
            torch.testing.assert_close(got.camera[k], want.camera[0], atol=1e-6, rtol=0)
            torch.testing.assert_close(got.betas[k], want.betas[0], atol=1e-6, rtol=0)
    # It is not the plain answer: the mirror image's half counts.
    assert (got.joints - regressor(images).joints).abs().max() > 1e-3


def test_the_answer_on_a_mirrored_crop_is_the_mirror_image_of_the_answer(regressor):
    images = torch.rand(2, 3, 128, 128, generator=torch.Generator().manual_seed(6))
    served = FlipAveraged(regressor)
    with torch.no_grad():
        out, flipped = served(images), served(images.flip(-1))
    np.testing.assert_allclose(flipped.joints.numpy(), out.joints.numpy()[:, list(JOINT_MIRROR)] * X_FLIP, atol=5e-4)
    torch.testing.assert_close(flipped.camera, mirror_camera(out.camera), atol=1e-6, rtol=0)


def test_the_wrapper_takes_the_regressors_mode(regressor):
    regressor.train()
    assert FlipAveraged(regressor).training
    regressor.eval()
    served = FlipAveraged(regressor)
    assert not served.training
    served.train()
    served.eval()  # a round trip leaves the regressor as it was
    assert not regressor.training
