"""ONNX export of the whole regressor: image crops -> {pose, betas, camera, vertices, joints}.

    python -m models.export CHECKPOINT OUT.onnx [--no-flip]

The graph holds the CNN, the prior decoder Psi and the SMPL layer, so serving needs nothing but
ONNX Runtime (:mod:`models.onnx_runtime`). The batch dimension is dynamic (persons of a frame
are batched together). By default each crop is answered with flip averaging
(:mod:`models.flip_average`: the CNN runs on the crop and its mirror image, twice the work).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import torch
from torch import nn

from models.atomic import atomic_path
from models.flip_average import FlipAveraged, as_served
from models.onnx_runtime import INPUT, OUTPUTS
from models.regressor import PoseRegressor, load_regressor

OPSET = 17


class _ExportWrapper(nn.Module):
    def __init__(self, regressor: PoseRegressor | FlipAveraged):
        super().__init__()
        self.regressor = regressor

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.regressor(images)
        return out.pose, out.betas, out.camera, out.vertices, out.joints


def export_onnx(regressor: PoseRegressor, path: Path, opset: int = OPSET, flip: bool = True) -> Path:
    """Write ``path`` (atomically) and return it. Input ``images``: (B, 3, S, S) float32 in [0, 1].
    ``flip``: the graph answers with flip averaging (models.flip_average)."""
    # eval() on the module actually traced: a wrapper left in training mode exports batch-norm
    # with batch statistics and live dropout (the served model then differs from the trained one).
    regressor = regressor.eval()
    wrapper = _ExportWrapper(as_served(regressor, flip)).eval()
    size = regressor.config.image_size
    dummy = torch.rand(2, 3, size, size)
    with atomic_path(path) as tmp, torch.no_grad(), warnings.catch_warnings():
        # The tracer warns about every Python-level shape check in the body model, the legacy
        # exporter about itself and about constant folding; the graph is checked against PyTorch
        # instead (tests/test_export.py), so these pages say nothing to a user.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message="Constant folding", category=UserWarning)
        torch.onnx.export(
            wrapper,
            (dummy,),
            str(tmp),
            input_names=[INPUT],
            output_names=list(OUTPUTS),
            dynamic_axes={INPUT: {0: "batch"}, **{k: {0: "batch"} for k in OUTPUTS}},
            opset_version=opset,
            dynamo=False,
        )
    return path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Export a regressor checkpoint to ONNX.")
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--no-flip", action="store_true", help="answer each crop once (no flip averaging)")
    args = ap.parse_args(argv)
    print(f"wrote {export_onnx(load_regressor(args.checkpoint), args.out, flip=not args.no_flip)}")


if __name__ == "__main__":
    main()
