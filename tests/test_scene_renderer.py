"""The OpenGL data renderer agrees with PyTorch3D on coverage and with the camera models on geometry."""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from models.body_model import load_body_model
from models.m2s import SilhouetteSettings, m2s
from models.synth.pose_sampler import sample_poses
from models.synth.scene_renderer import (
    Appearance,
    SceneRenderer,
    perspective_matrix,
    random_appearance,
    varied_appearance,
    weak_perspective_matrix,
)


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def renderer(body):
    r = SceneRenderer(body.faces, body.smpl.lbs_weights, 96, 96, body.v_template)
    yield r
    r.release()


def bodies(body, n, seed=0):
    g = torch.Generator().manual_seed(seed)
    pose = sample_poses(n, g)
    pose[:, 0] = math.pi  # facing the camera, OpenCV axes
    with torch.no_grad():
        out = body(0.7 * torch.randn(n, 10, generator=g), pose)
    return out.vertices - out.joints[:, :1], out.joints - out.joints[:, :1]


def test_weak_perspective_mask_matches_pytorch3d_coverage(body, renderer):
    v, _ = bodies(body, 4)
    cam = torch.tensor([[0.9, 0.0, 0.05], [0.7, 0.2, -0.1], [1.1, -0.1, 0.0], [0.8, 0.0, 0.0]])
    S = m2s(v, body.faces, cam, SilhouetteSettings(image_size=96))[:, 0].numpy() > 0
    rng = np.random.default_rng(0)
    for i in range(4):
        _, mask = renderer.render(
            v[i].numpy(), weak_perspective_matrix(cam[i].numpy()), renderer.colours(random_appearance(rng), rng)
        )
        iou = (mask & S[i]).sum() / (mask | S[i]).sum()
        assert iou > 0.99, iou


def test_perspective_camera_puts_joints_where_the_intrinsics_say(body, renderer):
    v, j = bodies(body, 1, seed=1)
    offset = torch.tensor([0.2, -0.1, 4.0])  # 4 m in front of the camera
    v, j = (v[0] + offset).numpy(), (j[0] + offset).numpy()
    K = np.array([[110.0, 0, 47.5], [0, 110.0, 47.5], [0, 0, 1]])
    _, mask = renderer.render(v, perspective_matrix(K, 96, 96), np.full((len(v), 3), 0.5))
    uv = (j[:, :2] / j[:, 2:]) * 110.0 + 47.5
    px = np.round(uv).astype(int)
    inside = mask[px[:, 1].clip(0, 95), px[:, 0].clip(0, 95)]
    assert inside[[0, 3, 6, 9, 12, 15]].all()  # pelvis, spine and head project onto the body
    rows, cols = mask.nonzero()
    proj = (v[:, :2] / v[:, 2:]) * 110.0 + 47.5
    assert abs(rows.min() - proj[:, 1].min()) < 1.5 and abs(cols.max() - proj[:, 0].max()) < 1.5


def test_background_shows_outside_the_person_and_clothes_inside(body, renderer):
    v, _ = bodies(body, 1, seed=2)
    bg = np.zeros((96, 96, 3), dtype=np.uint8)
    bg[..., 1] = 200
    rng = np.random.default_rng(3)
    image, mask = renderer.render(
        v[0].numpy(),
        weak_perspective_matrix(np.array([0.9, 0.0, 0.0])),
        renderer.colours(random_appearance(rng), rng),
        bg,
    )
    assert np.array_equal(image[~mask], bg[~mask])
    assert 0.05 < mask.mean() < 0.6
    assert len(np.unique(image[mask].reshape(-1, 3), axis=0)) > 20  # shaded, several garments


def test_stripes_darken_bands_of_clothing_only(renderer):
    plain = Appearance(
        top=(0.8, 0.2, 0.2),
        sleeves=(0.8, 0.2, 0.2),
        bottom=(0.2, 0.2, 0.8),
        shoes=(0.1, 0.1, 0.1),
        skin=(0.9, 0.7, 0.6),
        texture=0.0,
    )
    striped = replace(plain, stripe_depth=0.5, stripe_period=0.1)
    rng = np.random.default_rng(0)
    a, b = renderer.colours(plain, rng), renderer.colours(striped, rng)
    ratio = b[:, 0] / a[:, 0]
    darker = np.isclose(ratio, 0.5)
    assert np.all(darker | np.isclose(ratio, 1.0))
    clothes = np.isclose(a, (0.8, 0.2, 0.2)).all(1) | np.isclose(a, (0.2, 0.2, 0.8)).all(1)
    assert 0.3 < darker[clothes].mean() < 0.7  # about half of the clothing
    assert not darker[~clothes].any()  # none of the skin, hair or shoes


def test_varied_appearance_spans_dark_and_light_skin():
    rng = np.random.default_rng(1)
    skins = np.array([varied_appearance(rng).skin for _ in range(300)])
    assert skins.mean(1).min() < 0.3 and skins.mean(1).max() > 0.7
