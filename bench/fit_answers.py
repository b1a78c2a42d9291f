"""Algorithm 1's per-crop fit as an answer of its own: the pseudo-labels adaptation learns from (issue 19).

    spec = FitSpec.parse("ours:10")
    out = fitted_outputs(regressor, images, silhouettes, spec)   # a RegressorOutput

``models.adaptation.fit_parameters`` run as adaptation runs it (its ``AdaptConfig`` with
``max_iter_opt`` N, the CNN frozen, from the regressor's own answer on each crop), so that
``bench.checkpoint_eval --fit`` can score what the fit makes of real people with the same measures
as the regressor.

    out = camera_fitted(out, silhouettes, faces)   # the served camera fit (models.silhouette_camera)
    out = limb_fitted(out, silhouettes, body, PoseFitter.of(data))   # then the served limb fit (models.pose_fit)
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import torch

from models.adapt_config import AdaptConfig
from models.adaptation import fit_parameters
from models.alignment import AlignmentTarget
from models.pose_fit import PoseFitConfig, PoseFitter
from models.regressor import PoseRegressor, RegressorOutput
from models.silhouette_camera import CameraFitConfig, fit_camera
from models.synth.source_data import rotmats
from models.synth.train_source import body_frame_joints


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


def config_row(option: str, name: str, make: type, text: str):
    """``--OPTION JSON`` -> (the row's name suffix, ``make(**fields)``): a JSON object of the config's
    fields ("{}": the served one). ValueError names the option and what is wrong."""
    try:
        fields = json.loads(text)
        if not isinstance(fields, dict):
            raise ValueError("not a JSON object")
        config = make(**fields)
    except (ValueError, TypeError) as e:
        raise ValueError(f"--{option} {text!r}: {e}") from e
    return (f" + {name} {text}" if fields else f" + {name}"), config


def camera_fit_row(text: str) -> tuple[str, CameraFitConfig]:
    """``--camera-fit JSON`` -> (the row's name suffix, a ``CameraFitConfig``)."""
    return config_row("camera-fit", "camera fit", CameraFitConfig, text)


def limb_fit_row(text: str) -> tuple[str, PoseFitConfig]:
    """``--limb-fit JSON`` -> (the row's name suffix, a ``models.pose_fit.PoseFitConfig``)."""
    return config_row("limb-fit", "limb fit", PoseFitConfig, text)


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


def limb_fitted(
    out: dict[str, np.ndarray],
    silhouettes: np.ndarray,
    body,
    fitter: PoseFitter,
    visible: list[np.ndarray | None] | None = None,
) -> dict[str, np.ndarray]:
    """:func:`camera_fitted`'s answers (with ``pose``, ``betas``, ``joints`` and ``vertices``) with each
    body's limbs and camera fitted to its (N, s, s) silhouette as serving fits them (models.pose_fit):
    the fitted bodies posed again by ``body`` (the torch body model), so that every joint set and
    projection follows; limbs_fitted (N,) bool, whether each was."""
    new = {k: v.copy() for k, v in out.items()}
    new["limbs_fitted"] = np.zeros(len(out["camera"]), bool)
    for i in range(len(out["camera"])):
        seen = None if visible is None else visible[i]
        pose, betas = out["pose"][i], out["betas"][i]
        fit = fitter.fit(pose, betas, out["joints"][i], out["vertices"][i], out["camera"][i], silhouettes[i], seen)
        if fit.fitted:
            new["pose"][i], new["camera"][i], new["limbs_fitted"][i] = fit.pose, fit.camera, True
    idx = np.flatnonzero(new["limbs_fitted"])
    if not len(idx):
        return new
    with torch.no_grad():
        betas = torch.as_tensor(new["betas"][idx], dtype=torch.float32)
        posed = body(betas, torch.as_tensor(new["pose"][idx], dtype=torch.float32))
        root = posed.joints[:, :1]
        camera = torch.as_tensor(new["camera"][idx], dtype=torch.float32)
        moved = {
            "joints": posed.joints - root,
            "eval_joints": posed.eval_joints - root,
            "vertices": posed.vertices - root,
        }
        moved["joints_uv"] = camera[:, None, :1] * moved["joints"][..., :2] + camera[:, None, 1:]
        moved["vertices_uv"] = camera[:, None, :1] * moved["vertices"][..., :2] + camera[:, None, 1:]
        if "body_frame" in new:
            moved["body_frame"] = body_frame_joints(body, betas, rotmats(new["pose"][idx].astype(np.float32)))
    for k, v in moved.items():
        new[k][idx] = v.numpy()
    return new
