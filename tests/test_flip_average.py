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
from models.flip_average import (
    FlipAveraged,
    facing_as,
    mirror_camera,
    mirror_rotations,
    rotation_midpoint,
    turn_round_rotations,
)
from models.heading import JOINT_MIRROR, turn_round_pose, vertex_mirror
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


def test_turned_round_rotations_are_the_turned_round_pose():
    """Against models.heading.turn_round_pose (axis-angle through OpenCV's Rodrigues, itself tested
    against the body model posed by it), root included."""
    rng = np.random.default_rng(4)
    poses = rng.normal(0, 0.5, (3, 72))
    rot = axis_angle_to_matrix(torch.as_tensor(poses.reshape(3, 24, 3), dtype=torch.float64))
    reference = np.stack([[cv2.Rodrigues(a)[0] for a in turn_round_pose(p).reshape(24, 3)] for p in poses])
    np.testing.assert_allclose(turn_round_rotations(rot).numpy(), reference, atol=1e-9)
    torch.testing.assert_close(turn_round_rotations(turn_round_rotations(rot)), rot, atol=1e-12, rtol=0)


def test_the_rotation_midpoint_is_the_geodesic_one():
    rng = np.random.default_rng(1)
    a = axis_angle_to_matrix(torch.as_tensor(rng.normal(0, 1.0, (64, 3)), dtype=torch.float64))
    b = axis_angle_to_matrix(torch.as_tensor(rng.normal(0, 1.0, (64, 3)), dtype=torch.float64))
    got = rotation_midpoint(a, b).numpy()
    for k in range(64):
        np.testing.assert_allclose(got[k], midpoint_reference(a[k].numpy(), b[k].numpy()), atol=1e-6)
    np.testing.assert_allclose(rotation_midpoint(a, a).numpy(), a.numpy(), atol=1e-6)
    np.testing.assert_allclose(got, rotation_midpoint(b, a).numpy(), atol=1e-6)


def angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.linalg.norm(cv2.Rodrigues(a.T @ b)[0])))


def turned_round_reference(rotmats: np.ndarray) -> np.ndarray:
    """(24, 3, 3) -> models.heading.turn_round_pose's body, through axis-angle."""
    pose = np.concatenate([cv2.Rodrigues(r)[0].ravel() for r in rotmats])
    return np.stack([cv2.Rodrigues(a)[0] for a in turn_round_pose(pose).reshape(24, 3)])


def test_the_mirrored_half_is_turned_round_where_that_brings_it_nearer():
    rng = np.random.default_rng(7)
    aa = rng.normal(0, 0.6, (16, 24, 3))
    aa[:, 0] *= 0.5  # roots near upright: a body and its twin face about opposite ways
    a = axis_angle_to_matrix(torch.as_tensor(aa, dtype=torch.float64))
    b = axis_angle_to_matrix(torch.as_tensor(rng.normal(0, 0.6, (16, 24, 3)), dtype=torch.float64))
    b[:8] = turn_round_rotations(a[:8] @ axis_angle_to_matrix(torch.as_tensor(rng.normal(0, 0.1, (8, 24, 3)))))
    got = facing_as(a, b).numpy()
    for k in range(16):
        turned = turned_round_reference(b[k].numpy())
        nearer = angle_deg(a[k, 0].numpy(), turned[0]) < angle_deg(a[k, 0].numpy(), b[k, 0].numpy())
        np.testing.assert_allclose(got[k], turned if nearer else b[k].numpy(), atol=1e-9)
        if k < 8:  # a's twin, a little off: turned back, the two average to about a, not a side-on body
            assert nearer
            mid = rotation_midpoint(a[k : k + 1], torch.as_tensor(got[k : k + 1]))[0, 0].numpy()
            assert angle_deg(mid, a[k, 0].numpy()) < 15
            assert angle_deg(rotation_midpoint(a[k : k + 1], b[k : k + 1])[0, 0].numpy(), a[k, 0].numpy()) > 45


@pytest.mark.parametrize("align", [False, True])
def test_the_averaged_answer_is_the_two_answers_averaged_one_crop_at_a_time(regressor, align):
    images = torch.rand(3, 3, 128, 128, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        got = FlipAveraged(regressor, align_facing=align)(images)
        for k in range(3):
            a, b = regressor(images[k : k + 1]), regressor(images[k : k + 1].flip(-1))
            rb = b.rotmats[0, list(JOINT_MIRROR)].numpy() * np.outer(X_FLIP, X_FLIP)  # M R M, partners
            turned = turned_round_reference(rb)
            if align and angle_deg(a.rotmats[0, 0].numpy(), turned[0]) < angle_deg(a.rotmats[0, 0].numpy(), rb[0]):
                rb = turned
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
    """Aligned, where the two halves face alike (the crop's own half decides which way the body faces)."""
    images = torch.rand(2, 3, 128, 128, generator=torch.Generator().manual_seed(6))
    served = FlipAveraged(regressor, align_facing=True)
    with torch.no_grad():
        rot = regressor(torch.cat([images, images.flip(-1)])).rotmats
    assert torch.equal(facing_as(rot[:2], mirror_rotations(rot[2:])), mirror_rotations(rot[2:]))
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
