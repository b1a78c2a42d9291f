"""The shipped `cpu` checkpoint: small, complete, and as good as its training record says."""

import numpy as np
import torch

from models.regressor import RegressorConfig, load_regressor
from models.synth.evaluate import errors
from models.synth.source_data import SourceConfig, render_crops
from runtime.settings import SHIPPED_CHECKPOINT


def test_small_half_precision_and_self_describing():
    assert SHIPPED_CHECKPOINT.stat().st_size <= 25 * 1024 * 1024
    ck = torch.load(SHIPPED_CHECKPOINT, map_location="cpu", weights_only=False)
    assert RegressorConfig(**ck["config"]) == RegressorConfig.preset("cpu")
    assert all(v.dtype == torch.float16 for v in ck["state"].values() if v.is_floating_point())
    assert any(k.startswith("decoder.") for k in ck["state"])  # the prior Psi ships inside
    assert "optimizer" not in ck and ck["history"] and ck["train_config"]["steps"] == ck["step"]


def test_it_does_what_its_record_says_on_fresh_source_crops():
    ck = torch.load(SHIPPED_CHECKPOINT, map_location="cpu", weights_only=False)
    recorded = ck["history"][-1]
    regressor = load_regressor(SHIPPED_CHECKPOINT)
    crops = render_crops(48, SourceConfig(image_size=128, seed=77_777), body=regressor.body)
    r = errors(regressor, crops["images"], crops["eval_joints"])
    # 48 crops are a small sample of the 500 it was scored on: within 25% of the record
    assert r["pa_mpjpe_mm"] < 1.25 * recorded["pa_mpjpe_mm"], (r, recorded)
    assert np.isfinite(r["mpjpe_mm"])


def test_it_runs_through_onnx_runtime_like_pytorch(tmp_path):
    from models.export import export_onnx
    from models.flip_average import FlipAveraged
    from models.onnx_runtime import OUTPUTS, onnx_session

    regressor = load_regressor(SHIPPED_CHECKPOINT)
    session = onnx_session(export_onnx(regressor, tmp_path / "source.onnx"))  # as served: flip averaging
    crops = render_crops(4, SourceConfig(image_size=128, seed=78_000), body=regressor.body)
    x = torch.as_tensor(crops["images"]).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        ref = FlipAveraged(regressor)(x)
    got = dict(zip(OUTPUTS, session.run(None, {"images": x.numpy()}), strict=True))
    assert np.abs(got["vertices"] - ref.vertices.numpy()).max() < 1e-3  # within a millimetre
