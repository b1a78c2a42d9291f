"""ONNX export of the whole image -> body graph, against PyTorch."""

import numpy as np
import pytest
import torch

from models.body_model import load_body_model
from models.export import export_onnx
from models.flip_average import FlipAveraged
from models.onnx_runtime import OUTPUTS, available_providers, onnx_session
from models.prior import PoseDecoder
from models.regressor import PoseRegressor, RegressorConfig


@pytest.fixture(scope="module", params=[True, False], ids=["flip", "plain"])
def exported(tmp_path_factory, request):
    torch.manual_seed(1)
    regressor = PoseRegressor(RegressorConfig.preset("cpu"), load_body_model(), PoseDecoder()).eval()
    with torch.no_grad():  # a zero last layer would hide the CNN from the comparison
        torch.nn.init.normal_(regressor.head[-1].weight, std=0.01)
        for m in regressor.modules():  # non-trivial batch-norm statistics, as after training
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 2.0)
    path = export_onnx(regressor, tmp_path_factory.mktemp("onnx") / "regressor.onnx", flip=request.param)
    return FlipAveraged(regressor) if request.param else regressor, onnx_session(path)


@pytest.mark.parametrize("batch", [1, 3])
def test_onnx_matches_pytorch_within_a_millimetre(exported, batch):
    regressor, session = exported
    x = torch.rand(batch, 3, 128, 128, generator=torch.Generator().manual_seed(batch))
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
