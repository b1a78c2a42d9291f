"""Algorithm 1's per-crop fit as an answer of its own: the pseudo-labels adaptation learns from (issue 19).

    spec = FitSpec.parse("ours:10")
    out = fitted_outputs(regressor, images, silhouettes, spec)   # a RegressorOutput

``models.adaptation.fit_parameters`` run as adaptation runs it (its ``AdaptConfig`` with
``max_iter_opt`` N, the CNN frozen, from the regressor's own answer on each crop), so that
``bench.checkpoint_eval --fit`` can score what the fit makes of real people with the same measures
as the regressor.

    out = camera_fitted(out, silhouettes, faces)   # the served camera fit (models.silhouette_camera)
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import torch

from models.adapt_config import AdaptConfig
from models.adaptation import fit_parameters
from models.alignment import AlignmentTarget
from models.regressor import PoseRegressor, RegressorOutput
from models.silhouette_camera import CameraFitConfig, fit_camera


@dataclass(frozen=True)
class FitSpec:
    """Algorithm 1's per-crop fit: ``variant``'s objective for ``iterations`` steps (``--fit ours:10``)."""

    variant: str
    iterations: int

    @classmethod
    def parse(cls, text: str) -> FitSpec:
        variant, _, iterations = text.partition(":")
        if not iterations.isdigit() or int(iterations) < 1:
            raise ValueError(f"fit {text!r}: write VARIANT:ITERATIONS, e.g. ours:10")
        spec = cls(variant, int(iterations))
        spec.config()  # an unknown variant fails here, with the choices
        return spec

    @property
    def name(self) -> str:
        return f"{self.variant}:{self.iterations}"

    def config(self) -> AdaptConfig:
        return AdaptConfig(variant=self.variant, max_iter_opt=self.iterations)  # type: ignore[arg-type]


def fitted_outputs(
    regressor: PoseRegressor, images: torch.Tensor, silhouettes: np.ndarray, fit: FitSpec
) -> RegressorOutput:
    """The regressor's answer on (B, 3, S, S) images after ``fit`` on their (B, s, s) silhouettes."""
    target = AlignmentTarget.from_silhouettes(torch.as_tensor(silhouettes))
    with torch.enable_grad():
        fitted, _ = fit_parameters(regressor, images, target, fit.config())
    return regressor.decode(*fitted)


def camera_fit_row(text: str) -> tuple[str, CameraFitConfig]:
    """``--camera-fit JSON`` -> (the row's name suffix, the config): a JSON object of
    ``CameraFitConfig``'s fields ("{}": the served one). ValueError names what is wrong."""
    try:
        fields = json.loads(text)
        if not isinstance(fields, dict):
            raise ValueError("not a JSON object")
        config = CameraFitConfig(**fields)
    except (ValueError, TypeError) as e:
        raise ValueError(f"--camera-fit {text!r}: {e}") from e
    return (f" + camera fit {text}" if fields else " + camera fit"), config


def reproject(points_uv: np.ndarray, camera: np.ndarray, fitted: np.ndarray) -> np.ndarray:
    """(..., 2) crop coordinates projected by ``camera`` (3,) -> the same points projected by ``fitted`` (3,)."""
    return fitted[0] * (points_uv - camera[1:]) / camera[0] + fitted[1:]


def camera_fitted(
    out: dict[str, np.ndarray],
    silhouettes: np.ndarray,
    faces: np.ndarray,
    config: CameraFitConfig | None = None,
    visible: list[np.ndarray | None] | None = None,
) -> dict[str, np.ndarray]:
    """``bench.checkpoint_eval.run_regressor``'s answers (with ``vertices_uv``) with each crop's camera
    refitted to its (N, s, s) silhouette as serving refits it (``visible``: each crop's pixels inside
    its frame, ``models.crops.in_frame``, where known): camera (N, 3), joints_uv (N, 24, 2) and
    vertices_uv (N, V, 2) moved, and camera_fitted (N,) bool, whether each was."""
    config = CameraFitConfig() if config is None else config
    new = {k: v.copy() for k, v in out.items()}
    new["camera_fitted"] = np.zeros(len(out["camera"]), bool)
    for i, (cam, uv) in enumerate(zip(out["camera"].astype(np.float64), out["vertices_uv"], strict=True)):
        seen = None if visible is None else visible[i]
        fit = fit_camera((uv - cam[1:]) / cam[0], cam, faces, silhouettes[i], config, seen)
        if fit.fitted:
            new["camera"][i] = fit.camera
            new["joints_uv"][i] = reproject(out["joints_uv"][i], cam, fit.camera)
            new["vertices_uv"][i] = reproject(uv, cam, fit.camera)
            new["camera_fitted"][i] = True
    return new
