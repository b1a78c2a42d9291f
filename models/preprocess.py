"""The one conversion from person crops to the regressor's input, shared by serving (ONNX
Runtime), training, evaluation, UAP crafting, adaptation and the benchmarks, so that what a
model is trained on and what it is served are the same numbers.

    x = crops_to_input(crops)            # (B, S, S, 3) uint8 RGB -> (B, 3, S, S) float32 in [0, 1]
    x = torch.from_numpy(crops_to_input(crops))

The ImageNet-style normalisation happens inside the network (``PoseRegressor`` holds the mean
and standard deviation as buffers), so the exported graph takes this input as it is.
"""

from __future__ import annotations

import numpy as np

PIXEL_MAX = 255.0


def crops_to_input(crops: np.ndarray) -> np.ndarray:
    """(B, S, S, 3) uint8 RGB crops -> (B, 3, S, S) C-contiguous float32 in [0, 1]."""
    if crops.ndim != 4 or crops.shape[-1] != 3:
        raise ValueError(f"crops must be (B, S, S, 3) RGB, got shape {crops.shape}")
    if crops.dtype != np.uint8:
        raise ValueError(f"crops must be uint8, got {crops.dtype}")
    return np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32) / np.float32(PIXEL_MAX)
