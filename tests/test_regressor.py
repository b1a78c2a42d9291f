"""The regressor: shapes, a sensible starting prediction, frozen body and prior, rotations."""

import math

import pytest
import torch
from pytorch3d.transforms import axis_angle_to_matrix, random_rotations

from models.body_model import load_body_model
from models.prior import PoseDecoder
from models.regressor import PoseRegressor, RegressorConfig, rotmat_to_axis_angle


@pytest.fixture(scope="module")
def regressor():
    torch.manual_seed(0)
    return PoseRegressor(RegressorConfig.preset("cpu"), load_body_model(), PoseDecoder())


def test_outputs_have_smpl_shapes(regressor):
    out = regressor.eval()(torch.rand(2, 3, 128, 128))
    assert out.pose.shape == (2, 72) and out.betas.shape == (2, 10) and out.camera.shape == (2, 3)
    assert out.vertices.shape == (2, 6890, 3) and out.joints.shape == (2, 24, 3) and out.eval_joints.shape == (2, 14, 3)
    assert torch.allclose(out.joints[:, 0], torch.zeros(2, 3), atol=1e-6)  # root-centred


def test_starts_from_a_body_facing_the_camera_filling_the_crop(regressor):
    out = regressor.eval()(torch.rand(1, 3, 128, 128))
    assert torch.allclose(out.rotmats[0, 0], torch.diag(torch.tensor([1.0, -1.0, -1.0])), atol=1e-6)
    assert torch.allclose(out.camera[0], torch.tensor([0.9, 0.0, 0.0]))


def test_only_the_cnn_learns(regressor):
    regressor.train()
    out = regressor(torch.rand(2, 3, 128, 128))
    (out.joints.pow(2).sum() + out.phi.sum()).backward()
    assert regressor.backbone.conv1.weight.grad is not None
    assert all(p.grad is None for p in regressor.decoder.parameters())
    assert all(not p.requires_grad for p in regressor.body.parameters())


def test_presets():
    assert RegressorConfig.preset("paper").backbone == "resnet50"
    assert RegressorConfig.preset("paper").image_size == 224
    with pytest.raises(ValueError):
        RegressorConfig.preset("huge")


def test_axis_angle_is_exact_everywhere_including_half_turns():
    aa = torch.randn(300, 3, dtype=torch.float64)
    aa = aa / aa.norm(dim=-1, keepdim=True) * (math.pi - 1e-9)
    R = torch.cat(
        [
            random_rotations(3000, dtype=torch.float64),
            axis_angle_to_matrix(aa),
            torch.eye(3, dtype=torch.float64)[None],
            torch.diag(torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64))[None],
        ]
    )
    back = axis_angle_to_matrix(rotmat_to_axis_angle(R))
    assert (back - R).abs().max() < 1e-9
    assert rotmat_to_axis_angle(R).norm(dim=-1).max() <= math.pi + 1e-9


def test_checkpoint_round_trip_in_half_precision(regressor, tmp_path):
    from models.regressor import load_regressor, save_regressor

    path = save_regressor(regressor, tmp_path / "r.pt")
    back = load_regressor(path, body=regressor.body)
    x = torch.rand(2, 3, 128, 128)
    with torch.no_grad():
        a, b = regressor.eval()(x), back(x)
    assert (a.vertices - b.vertices).abs().max() < 0.01  # float16 weights: within a centimetre
    assert path.stat().st_size < 25e6
