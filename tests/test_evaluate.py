"""The evaluation command runs end to end and its errors respond to the prediction's quality."""

import numpy as np
import torch

from models.body_model import load_body_model
from models.metrics import pa_mpjpe
from models.prior import PoseDecoder
from models.regressor import PoseRegressor, RegressorConfig
from models.synth.camera_site import SiteConfig, make_site
from models.synth.evaluate import errors, evaluate_checkpoint, markdown, site_crops


def test_site_crops_carry_root_centred_truth():
    site = make_site(SiteConfig(width=160, height=120, focal=190.0, frames=12, seed=5), progress=False)
    images, joints = site_crops(site, 64)
    assert images.shape[1:] == (64, 64, 3) and len(images) == len(joints) >= 10
    assert np.abs(joints[:, [2, 3]].mean(1)).max() < 0.15  # the hips sit around the root


def test_evaluation_table_for_an_untrained_model():
    torch.manual_seed(0)
    reg = PoseRegressor(RegressorConfig(image_size=64), load_body_model(), PoseDecoder())
    table = evaluate_checkpoint(reg, shifts=("clean", "gray"), frames=8, source_crops=16)
    assert set(table) == {"source S (clean crops)", "site, clean", "site, gray"}
    for r in table.values():
        assert np.isfinite(r["mpjpe_mm"]) and r["pa_mpjpe_mm"] <= r["mpjpe_mm"] + 1e-3
    assert "| site, gray |" in markdown(table)


class Oracle(torch.nn.Module):
    """Predicts the true joints; its "latent pose" is the joints themselves, so its mean pose is
    the mean skeleton."""

    def __init__(self, joints):
        super().__init__()
        self.joints = torch.as_tensor(joints)
        self.i = 0

    def predict_parameters(self, x):
        out = self.joints[self.i : self.i + len(x)]
        self.i += len(x)
        return (out.flatten(1),)

    def decode(self, phi):
        return type("Out", (), {"eval_joints": phi.unflatten(1, (14, 3))})()


def test_a_perfect_prediction_scores_zero_and_its_mean_pose_does_not():
    joints = np.random.default_rng(0).normal(size=(10, 14, 3)).astype(np.float32)
    r = errors(Oracle(joints), np.zeros((10, 8, 8, 3), np.uint8), joints, batch=4)
    assert r["mpjpe_mm"] < 1e-3 and r["pa_mpjpe_mm"] < 1e-2
    truth = torch.as_tensor(joints)
    reference = pa_mpjpe(truth.mean(0, keepdim=True).expand(10, -1, -1), truth).mean().item()
    assert r["pa_mean_pose_mm"] > 100 and abs(r["pa_mean_pose_mm"] - reference) < 1e-2


def test_mog2_crops_follow_the_background_subtraction_with_their_frames_truth():
    site = make_site(SiteConfig(width=160, height=120, focal=190.0, frames=40, seed=5), progress=False)
    true_images, true_joints = site_crops(site, 64)
    images, joints = site_crops(site, 64, crops="mog2")
    assert images.shape[1:] == (64, 64, 3) and len(images) == len(joints) >= 20  # MOG2 needs a few frames to learn
    assert len(images) <= len(true_images)
    # each MOG2 crop carries its own frame's truth: the last crops are the last frames'
    np.testing.assert_allclose(joints[-1], true_joints[-1], atol=1e-6)
    assert not np.array_equal(images[-1], true_images[-1])  # cut around MOG2's box, not the true mask's
