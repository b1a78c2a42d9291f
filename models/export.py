"""ONNX export of the whole regressor: image crops -> {pose, betas, camera, vertices, joints}.

    python -m models.export CHECKPOINT OUT.onnx

The graph holds the CNN, the prior decoder Psi and the SMPL layer, so serving needs nothing but
ONNX Runtime. The batch dimension is dynamic (persons of a frame are batched together).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn

from models.atomic import atomic_path
from models.regressor import PoseRegressor

OUTPUTS = ("pose", "betas", "camera", "vertices", "joints")
EXPORT_FORMAT = 2  # bump when the exported graph changes (2: traced in eval mode), so caches re-export


class _ExportWrapper(nn.Module):
    def __init__(self, regressor: PoseRegressor):
        super().__init__()
        self.regressor = regressor

    def forward(self, images: torch.Tensor):
        out = self.regressor(images)
        return out.pose, out.betas, out.camera, out.vertices, out.joints


def export_onnx(regressor: PoseRegressor, path: Path, opset: int = 17) -> Path:
    """Write ``path`` (atomically) and return it. Input ``images``: (B, 3, S, S) float32 in [0, 1]."""
    # eval() on the module actually traced: a wrapper left in training mode exports batch-norm
    # with batch statistics and live dropout (the served model then differs from the trained one).
    wrapper = _ExportWrapper(regressor.eval()).eval()
    size = regressor.config.image_size
    dummy = torch.rand(2, 3, size, size)
    with atomic_path(path) as tmp, torch.no_grad():
        torch.onnx.export(
            wrapper, (dummy,), str(tmp), input_names=["images"], output_names=list(OUTPUTS),
            dynamic_axes={"images": {0: "batch"}, **{k: {0: "batch"} for k in OUTPUTS}}, opset_version=opset,
            dynamo=False,
        )
    return path


def available_providers() -> list[str]:
    """ONNX Runtime providers that actually work here, best first (CUDA only if a GPU answers)."""
    import onnxruntime as ort

    wanted = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
    if "CUDAExecutionProvider" in wanted:
        try:
            import ctypes

            ctypes.CDLL("libcuda.so.1")  # the driver; without it the CUDA provider would fail at session time
        except OSError:
            wanted.remove("CUDAExecutionProvider")
    return wanted


def onnx_session(path: Path, providers: list[str] | None = None):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    # Idle intra-op threads spin by default, taking the cores from the decoding and background
    # subtraction that run between two inferences in the service (measured: bench/bench_pose.py).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), opts, providers=providers or available_providers())


def main(argv: list[str] | None = None) -> None:
    from models.regressor import load_regressor

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("out", type=Path)
    args = ap.parse_args(argv)
    print(f"wrote {export_onnx(load_regressor(args.checkpoint), args.out)}")


if __name__ == "__main__":
    main()
