"""models.camera_tilt against the synthetic world's own camera and the body model: a body upright in
the camera, turned by the site's tilt, is the site's true body; the turned pose poses the same joints
as the turned joints; a tilt that is not one is a ValueError that names it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from pytorch3d.transforms import axis_angle_to_matrix

from models import camera_tilt as ct
from models.body_model import load_body_model
from models.synth.camera_site import SiteConfig, camera, make_site


@pytest.mark.parametrize("tilt", [0.0, 16.0, 30.0, -10.0])
def test_the_rotation_takes_the_cameras_up_to_the_worlds(tilt):
    _, R, _ = camera(SiteConfig(tilt_deg=tilt))
    world_up = R @ np.array([0.0, 1.0, 0.0])  # the synthetic world's up is its +y
    np.testing.assert_allclose(ct.tilt_rotation(tilt) @ np.array([0.0, -1.0, 0.0]), world_up, atol=1e-12)
    rot = ct.tilt_rotation(tilt)
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(rot) == pytest.approx(1.0)


def test_a_site_body_made_upright_in_the_camera_and_turned_back_is_the_true_one():
    site = make_site(SiteConfig(width=160, height=120, focal=190.0, frames=6, seed=3), progress=False)
    tilt = site.config["tilt_deg"]
    body = load_body_model()
    roots = site.R @ axis_angle_to_matrix(torch.as_tensor(site.poses[:, :3])).numpy()
    assert np.allclose(roots[:, :, 1], ct.tilt_rotation(tilt) @ [0.0, -1.0, 0.0], atol=1e-5)  # upright in the world
    level = ct.tilt_rotation(tilt).T @ roots  # the same bodies as the source model answers them: upright in the camera
    pose = site.poses.copy()
    pose[:, :3] = [cv2.Rodrigues(r)[0].ravel() for r in level]
    betas = torch.as_tensor(site.betas, dtype=torch.float32).expand(len(pose), -1)
    joints = body(betas, torch.as_tensor(pose, dtype=torch.float32)).joints.numpy()
    joints = joints - joints[:, :1]
    truth = site.joints - site.joints[:, :1]
    np.testing.assert_allclose(ct.tilt_points(joints, tilt), truth, atol=2e-4)
    turned = np.stack([ct.tilt_pose(p, tilt) for p in pose])
    again = body(betas, torch.as_tensor(turned, dtype=torch.float32)).joints.numpy()
    np.testing.assert_allclose(again - again[:, :1], truth, atol=2e-4)
    np.testing.assert_array_equal(turned[:, 3:], pose[:, 3:])  # the articulation is kept


@pytest.mark.parametrize("bad", [90.0, -90.0, 120.0, float("nan"), float("inf")])
def test_a_tilt_that_is_not_one_is_a_value_error_that_names_it(bad):
    with pytest.raises(ValueError, match="camera tilt must be within"):
        ct.tilt_rotation(bad)


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="points must be"):
        ct.tilt_points(np.zeros((4, 2)), 10.0)
    with pytest.raises(ValueError, match="pose must be"):
        ct.tilt_pose(np.zeros((24, 3)), 10.0)
    assert ct.tilt_points(np.zeros((2, 24, 3), np.float32), 10.0).dtype == np.float32
