"""Synthetic camera sites: consistent ground truth, deterministic, saved and loaded intact."""

import numpy as np
import pytest

from models.body_model import load_body_model
from models.synth.camera_site import CameraSite, SiteConfig, make_site

CFG = SiteConfig(width=160, height=120, focal=190.0, frames=40, seed=2)


def test_long_sites_have_every_frame(body):
    from models.synth.camera_site import wander

    for seed in range(5):
        assert len(wander(SiteConfig(frames=400, seed=seed), np.random.default_rng(seed))) == 400


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def site(body):
    return make_site(CFG, body=body, progress=False)


def test_the_person_stays_in_view_and_the_joints_land_on_them(site):
    assert site.frames.shape == (40, 120, 160, 3) and site.masks.shape == (40, 120, 160)
    assert (site.masks.reshape(40, -1).sum(1) > 50).mean() > 0.9
    px = np.round(site.joints_2d).astype(int)
    centre = [0, 3, 6, 9, 12]  # pelvis, spine, neck: inside the silhouette
    hits = [site.masks[t, px[t, j, 1].clip(0, 119), px[t, j, 0].clip(0, 159)] for t in range(40) for j in centre]
    assert np.mean(hits) > 0.9


def test_ground_truth_is_one_geometry(site, body):
    import torch

    K = site.K
    proj = site.joints[..., :2] / site.joints[..., 2:] * np.diag(K)[:2] + K[:2, 2]
    assert np.allclose(proj, site.joints_2d, atol=1e-3)
    with torch.no_grad():
        out = body(
            torch.as_tensor(site.betas)[None].expand(40, -1), torch.as_tensor(site.poses), torch.as_tensor(site.transl)
        )
    world = out.joints.numpy()
    cam = (world - site.C) @ site.R.T
    assert np.allclose(cam, site.joints, atol=1e-4)
    assert np.abs(out.vertices[..., 1].amin(1).numpy()).max() < 1e-3  # feet on the floor
    assert np.allclose(site.R @ site.R.T, np.eye(3)) and np.isclose(np.linalg.det(site.R), 1.0)


def test_sites_are_deterministic_and_shifts_leave_the_truth_alone(site, body):
    again = make_site(CFG, body=body, progress=False)
    assert np.array_equal(again.frames, site.frames)
    grey = make_site(CFG, shift="gray", body=body, progress=False)
    assert np.array_equal(grey.masks, site.masks) and np.array_equal(grey.joints, site.joints)
    assert np.array_equal(grey.frames[..., 0], grey.frames[..., 2]) and not np.array_equal(grey.frames, site.frames)


def test_save_and_load_round_trip(site, tmp_path):
    site.save(tmp_path / "s")
    back = CameraSite.load(tmp_path / "s")
    assert np.array_equal(back.masks, site.masks) and np.array_equal(back.joints, site.joints)
    assert back.config == site.config and back.shift == "clean"
    assert np.array_equal(back.frames, site.frames)  # the video is lossless
