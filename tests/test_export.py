"""ONNX export of the whole image -> body graph, against PyTorch."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from pytorch3d.transforms import matrix_to_rotation_6d, rotation_6d_to_matrix

from models.body_model import load_body_model
from models.export import export_onnx
from models.flip_average import FlipAveraged, facing_as, mirror_rotations
from models.onnx_runtime import OUTPUTS, available_providers, onnx_session
from models.prior import PoseDecoder
from models.regressor import PoseRegressor, RegressorConfig


class _Turning(PoseRegressor):
    """Turns each crop's root about the vertical by pi times a sigmoid of its left half's brightness
    over its right half's: a crop brighter on the left faces away and its mirror image the camera,
    halves that the mirror image's turned round aligns; an even crop stands side-on in both."""

    def predict_parameters(self, images):
        phi, orient6d, betas, camera = super().predict_parameters(images)
        half = images.shape[-1] // 2
        yaw = torch.pi * torch.sigmoid(50 * (images[..., :half].mean((1, 2, 3)) - images[..., half:].mean((1, 2, 3))))
        zero, one = torch.zeros_like(yaw), torch.ones_like(yaw)
        turn = torch.stack(
            [
                torch.stack([yaw.cos(), zero, yaw.sin()], -1),
                torch.stack([zero, one, zero], -1),
                torch.stack([-yaw.sin(), zero, yaw.cos()], -1),
            ],
            -2,
        )
        return phi, matrix_to_rotation_6d(turn @ rotation_6d_to_matrix(orient6d)), betas, camera


def mixed_crops() -> torch.Tensor:
    """(8, 3, 128, 128): four crops brighter on the left, four even (each the mean of itself and its mirror)."""
    x = torch.rand(8, 3, 128, 128, generator=torch.Generator().manual_seed(8))
    x[:4, ..., :64] = x[:4, ..., :64] * 0.5 + 0.5
    x[4:] = (x[4:] + x[4:].flip(-1)) / 2
    return x


@pytest.fixture(scope="module", params=["flip", "plain", "flip-aligned"])
def exported(tmp_path_factory, request):
    torch.manual_seed(1)
    config = RegressorConfig.preset("cpu")
    aligned = request.param == "flip-aligned"
    kind = _Turning if aligned else PoseRegressor
    regressor = kind(replace(config, commits_facing=aligned), load_body_model(), PoseDecoder()).eval()
    with torch.no_grad():  # a zero last layer would hide the CNN from the comparison
        torch.nn.init.normal_(regressor.head[-1].weight, std=0.01)
        for m in regressor.modules():  # non-trivial batch-norm statistics, as after training
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 2.0)
        if aligned:  # on mixed_crops() the mirror image's half is turned round on some crops only
            x = mixed_crops()
            rot = regressor(torch.cat([x, x.flip(-1)])).rotmats
            switched = (facing_as(rot[:8], mirror_rotations(rot[8:])) != mirror_rotations(rot[8:])).flatten(1).any(1)
            assert switched[:4].all() and not switched[4:].any()
    path = export_onnx(regressor, tmp_path_factory.mktemp("onnx") / "regressor.onnx", flip=request.param != "plain")
    served = FlipAveraged(regressor) if request.param != "plain" else regressor
    assert getattr(served, "align_facing", False) is aligned
    return served, onnx_session(path)


@pytest.mark.parametrize("batch", [1, 3, 8])
def test_onnx_matches_pytorch_within_a_millimetre(exported, batch):
    regressor, session = exported
    x = mixed_crops() if batch == 8 else torch.rand(batch, 3, 128, 128, generator=torch.Generator().manual_seed(batch))
    with torch.no_grad():
        ref = regressor(x)
    got = dict(zip(OUTPUTS, session.run(None, {"images": x.numpy()}), strict=True))
    assert np.abs(got["vertices"] - ref.vertices.numpy()).max() < 1e-3
    assert np.abs(got["joints"] - ref.joints.numpy()).max() < 1e-3
    assert np.abs(got["pose"] - ref.pose.numpy()).max() < 1e-4
    assert got["betas"].shape == (batch, 10) and got["camera"].shape == (batch, 3)


def test_providers_are_only_the_ones_that_work_here():
    providers = available_providers()
    assert providers[-1] == "CPUExecutionProvider"
    if not torch.cuda.is_available():
        assert "CUDAExecutionProvider" not in providers
