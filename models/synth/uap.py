"""Universal adversarial perturbations against a regressor (the paper's UAP-H3M domain).

    python -m models.synth.uap models/assets/source_cpu.pt --eps 8     # -> models/assets/uap/uap-8.npy

One image-agnostic perturbation delta with ||delta||_inf <= eps/255, crafted by projected
sign-gradient ascent over many source crops to push the predictions away from the clean ones
(the UAP recipe of Mopuri et al. [45] turned into a data-driven PGD). Adding it to every person
crop is the ``uap-<eps>`` shift (:mod:`models.synth.domain_shift`).

What it pushes (``objective``):
    pose     the articulation: the 14 evaluation joints after a Procrustes alignment onto the
             clean prediction, i.e. what PA-MPJPE scores (the paper's UAP-H3M reports P2).
    joints   the camera-frame joints, mostly the global heading, which PA-MPJPE aligns away.
             Measured, the two cost the source model about the same (docs/RESULTS.md); what
             made the shipped ones stronger on the service's crops is the placement jitter.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import torch
from tqdm import tqdm

from models import ASSETS
from models.body_model import load_body_model
from models.health import images_tensor
from models.metrics import procrustes_align
from models.preprocess import PIXEL_MAX
from models.regressor import PoseRegressor, RegressorOutput, load_regressor
from models.synth.source_data import SourceConfig, render_crops

# The perturbations crafted against the shipped checkpoint live here (half precision, ~100 kB
# each), so every evaluation and benchmark sees the same shift: re-crafting lands elsewhere on
# another CPU, since the sign steps amplify last-bit differences.
SHIPPED_DIR = ASSETS / "uap"

Objective = Literal["pose", "joints"]
OBJECTIVES: tuple[Objective, ...] = get_args(Objective)


def pushed_joints(out: RegressorOutput, objective: Objective) -> torch.Tensor:
    """The joints an objective pushes: ``eval_joints`` (B, 14, 3) for ``pose``, ``joints`` (B, 24, 3)."""
    return out.eval_joints if objective == "pose" else out.joints


def displacement(out: RegressorOutput, clean: torch.Tensor, objective: Objective) -> torch.Tensor:
    """Mean squared joint displacement the attack maximises; ``clean``: the unperturbed
    :func:`pushed_joints`. For ``pose`` the prediction is first aligned onto it (Procrustes)."""
    joints = pushed_joints(out, objective)
    if objective == "pose":
        joints = procrustes_align(joints, clean)
    return (joints - clean).pow(2).sum(-1).mean()


def placed(delta: torch.Tensor, n: int, jitter: float, generator: torch.Generator) -> torch.Tensor:
    """(1, 3, S, S) -> (n, 3, S, S): copies scaled by 1 +- jitter and shifted by +- jitter / 2 of the
    crop, at random; bilinear, zeros outside, so every copy keeps the bound."""
    if jitter == 0:
        return delta.expand(n, -1, -1, -1)
    u = torch.rand(n, 3, generator=generator) * 2 - 1
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1 + jitter * u[:, 0]
    theta[:, :, 2] = jitter * u[:, 1:]  # normalised coordinates span 2: this is jitter / 2 of the crop
    grid = torch.nn.functional.affine_grid(theta, [n, *delta.shape[1:]], align_corners=False)
    return torch.nn.functional.grid_sample(delta.expand(n, -1, -1, -1), grid, align_corners=False)


def craft_uap(
    regressor: PoseRegressor,
    images: np.ndarray,
    eps: float,
    steps: int = 200,
    batch: int = 16,
    step_size: float | None = None,
    seed: int = 0,
    progress: bool = False,
    objective: Objective = "pose",
    jitter: float = 0.1,
) -> np.ndarray:
    """A perturbation (S, S, 3) in pixel units (0-255 scale), |delta| <= eps, against ``regressor``.

    Args:
        images: (N, S, S, 3) uint8 crops to craft on (never the evaluation crops).
        objective: what to push away from the clean prediction (module docstring).
        jitter: each step sees the perturbation scaled by up to this fraction and shifted by up to
            half of it (an expectation over placements): the service cuts its crops around MOG2
            boxes, never exactly where the perturbation was laid, and an unjittered one that
            hurt the true-mask crops could cost the MOG2 crops nothing. 0 crafts it in place.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    regressor.eval()
    trainable = [p for p in regressor.parameters() if p.requires_grad]
    for p in trainable:  # gradients for delta only; restored below
        p.requires_grad_(False)
    try:
        return _ascend(regressor, images, eps, steps, batch, step_size, seed, progress, objective, jitter)
    finally:
        for p in trainable:
            p.requires_grad_(True)


def _ascend(
    regressor: PoseRegressor,
    images: np.ndarray,
    eps: float,
    steps: int,
    batch: int,
    step_size: float | None,
    seed: int,
    progress: bool,
    objective: Objective,
    jitter: float,
) -> np.ndarray:
    x_all = images_tensor(images)
    with torch.no_grad():
        clean = torch.cat([pushed_joints(regressor(x_all[i : i + 64]), objective) for i in range(0, len(x_all), 64)])
    bound = eps / PIXEL_MAX
    alpha = step_size / PIXEL_MAX if step_size else bound / 10
    g = torch.Generator().manual_seed(seed)
    delta = (torch.rand(1, *x_all.shape[1:], generator=g) * 2 - 1) * bound
    for _ in tqdm(range(steps), desc=f"UAP eps={eps:g}", disable=not progress):
        idx = torch.randint(len(x_all), (batch,), generator=g)
        delta.requires_grad_(True)
        out = regressor((x_all[idx] + placed(delta, batch, jitter, g)).clamp(0, 1))
        loss = displacement(out, clean[idx], objective)
        (grad,) = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            delta = (delta + alpha * grad.sign()).clamp(-bound, bound)
    return (delta.detach()[0].permute(1, 2, 0).numpy() * PIXEL_MAX).astype(np.float32)


def uap_path(eps: float | str, directory: Path | None = None) -> Path:
    return (directory or SHIPPED_DIR) / f"uap-{float(eps):g}.npy"


def load_uap(eps: float | str, directory: Path | None = None) -> np.ndarray:
    """The perturbation of the ``uap-<eps>`` shift, (S, S, 3) float32 in pixel units."""
    path = uap_path(eps, directory)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: python -m models.synth.uap CHECKPOINT --eps {float(eps):g} --out {path}"
        )
    return np.load(path).astype(np.float32)


def shift_uap(shift: str, directory: Path | None = None) -> np.ndarray | None:
    """The perturbation a shift name such as ``"uap-8"`` or ``"lr-52+uap-8"`` needs, or None."""
    if "uap-" not in shift:
        return None
    return load_uap(shift.split("uap-")[1].split("+")[0], directory)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--eps", type=float, default=8.0)
    ap.add_argument("--out", type=Path, help="default: the shipped one, models/assets/uap/uap-<eps>.npy")
    ap.add_argument("--crops", type=int, default=1000)
    ap.add_argument("--objective", choices=OBJECTIVES, default="pose", help="what the attack pushes (see the module)")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--jitter", type=float, default=0.1, help="placement jitter while crafting (craft_uap); 0: none")
    args = ap.parse_args(argv)
    regressor = load_regressor(args.checkpoint, load_body_model())
    crops = render_crops(args.crops, SourceConfig(image_size=regressor.config.image_size, seed=30_000), regressor.body)
    uap = craft_uap(
        regressor,
        crops["images"],
        args.eps,
        steps=args.steps,
        progress=True,
        objective=args.objective,
        jitter=args.jitter,
    )
    out = args.out or uap_path(args.eps)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out, uap.astype(np.float16))  # half precision: 0.008/255 steps, far below one grey level
    print(f"wrote {out} (max |delta| = {np.abs(uap).max():.2f}/255)")


if __name__ == "__main__":
    main()
