"""The pose prior: it reconstructs held-out poses, random latents decode to plausible poses,
and training resumes exactly where it stopped."""

import pytest
import torch

from models.synth.pose_prior import PriorConfig, load_prior, pose_data, rotation_error, train_prior
from models.synth.pose_sampler import limit_violations

SMALL = PriorConfig(steps=1500, data_poses=20000, checkpoint_every=10**9, seed=3)  # about 50 s on 2 cores


@pytest.fixture(scope="module")
def prior():
    return train_prior(SMALL, progress=False)


def test_reconstructs_held_out_poses_far_better_than_the_mean_pose(prior):
    held_out = pose_data(1000, seed=99)
    with torch.no_grad():
        err = rotation_error(prior.decoder(prior.encoder(held_out)), held_out).mean()
    mean_pose = torch.linalg.svd(held_out.mean(0)).U @ torch.linalg.svd(held_out.mean(0)).Vh
    baseline = rotation_error(mean_pose.expand_as(held_out), held_out).mean()
    assert err < 0.65 * baseline, (err, baseline)


def test_random_latents_decode_to_plausible_poses(prior):
    phi = 2 * torch.rand(2000, 32, generator=torch.Generator().manual_seed(0)) - 1
    with torch.no_grad():
        pose = torch.cat([torch.zeros(2000, 3), prior.decode_pose(phi)], 1)
    joints_outside = limit_violations(pose, tolerance=0.15).float().mean()
    assert joints_outside < 0.05, joints_outside
    assert pose[:, 3:].std(0).mean() > 0.05  # and they are not all one pose


def test_latents_fill_the_cube(prior):
    with torch.no_grad():
        z = prior.encoder(pose_data(2000, seed=98))
    assert z.abs().max() < 1.0 and z.std(0).mean() > 0.3  # uniform on [-1, 1] has std 0.58


def test_stopped_training_resumes_to_the_same_weights(tmp_path):
    cfg = PriorConfig(hidden=32, steps=60, batch=32, data_poses=2000, checkpoint_every=1000, seed=1)
    straight = train_prior(cfg, tmp_path / "a.pt", progress=False)
    stopped = tmp_path / "b.pt"
    train_prior(cfg, stopped, progress=False, should_stop=lambda step: step == 25)
    assert torch.load(stopped, weights_only=False)["step"] == 25
    resumed = train_prior(cfg, stopped, progress=False)
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert torch.equal(load_prior(stopped).decoder.net[0].weight, straight.decoder.net[0].weight)
