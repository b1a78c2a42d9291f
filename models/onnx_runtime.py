"""The served graph's contract and its ONNX Runtime sessions, without torch.

    session = onnx_session(path)                       # best available provider first
    outputs = dict(zip(OUTPUTS, session.run(list(OUTPUTS), {INPUT: crops_to_input(crops)})))

The exporter (:mod:`models.export`, which needs torch) writes graphs with this input and these
outputs; serving reads them with nothing but ONNX Runtime and NumPy.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import onnxruntime as ort

INPUT = "images"  # (B, 3, S, S) float32 in [0, 1]: models.preprocess.crops_to_input
OUTPUTS = ("pose", "betas", "camera", "vertices", "joints")
EXPORT_FORMAT = 2  # bump when the exported graph changes (2: traced in eval mode), so caches re-export
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def available_providers() -> list[str]:
    """ONNX Runtime providers that actually work here, best first (CUDA only if a GPU answers)."""
    wanted = [p for p in (CUDA, CPU) if p in ort.get_available_providers()]
    if CUDA in wanted:
        try:
            ctypes.CDLL("libcuda.so.1")  # the driver; without it the CUDA provider would fail at session time
        except OSError:
            wanted.remove(CUDA)
    return wanted


def onnx_session(
    path: Path | str, providers: list[str] | None = None, threads: int | None = None
) -> ort.InferenceSession:
    """A session on ``providers`` (default: the best available); ``threads`` caps its intra- and
    inter-op threads (None: ONNX Runtime's choice)."""
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads is not None:
        opts.intra_op_num_threads = opts.inter_op_num_threads = threads
    # Idle intra-op threads spin by default, taking the cores from the decoding and background
    # subtraction that run between two inferences in the service (measured: bench/bench_pose.py).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), opts, providers=providers or available_providers())
