"""Universal adversarial perturbations against a regressor (the paper's UAP-H3M domain).

    python -m models.uap runs/source.pt --eps 8 --out runs/uap-8.npy

One image-agnostic perturbation delta with ||delta||_inf <= eps/255, crafted by projected
sign-gradient ascent over many source crops to push the predicted 3D joints away from the
clean predictions (the UAP recipe of Mopuri et al. [45] turned into a data-driven PGD). Adding
it to every person crop is the ``uap-<eps>`` shift (:mod:`models.domain_shift`).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from models.regressor import PoseRegressor


def craft_uap(regressor: PoseRegressor, images: np.ndarray, eps: float, steps: int = 200, batch: int = 16,
              step_size: float | None = None, seed: int = 0, progress: bool = False) -> np.ndarray:
    """A perturbation (S, S, 3) in pixel units (0-255 scale), |delta| <= eps, against ``regressor``.

    Args:
        images: (N, S, S, 3) uint8 crops to craft on (never the evaluation crops).
    """
    regressor.eval()
    trainable = [p for p in regressor.parameters() if p.requires_grad]
    for p in trainable:  # gradients for delta only; restored below
        p.requires_grad_(False)
    try:
        return _ascend(regressor, images, eps, steps, batch, step_size, seed, progress)
    finally:
        for p in trainable:
            p.requires_grad_(True)


def _ascend(regressor: PoseRegressor, images: np.ndarray, eps: float, steps: int, batch: int,
            step_size: float | None, seed: int, progress: bool) -> np.ndarray:
    x_all = torch.as_tensor(images).permute(0, 3, 1, 2).float() / 255.0
    with torch.no_grad():
        clean = torch.cat([regressor(x_all[i:i + 64]).joints for i in range(0, len(x_all), 64)])
    bound = eps / 255.0
    alpha = step_size / 255.0 if step_size else bound / 10
    g = torch.Generator().manual_seed(seed)
    delta = (torch.rand(1, *x_all.shape[1:], generator=g) * 2 - 1) * bound
    for _ in tqdm(range(steps), desc=f"UAP eps={eps:g}", disable=not progress):
        idx = torch.randint(len(x_all), (batch,), generator=g)
        delta.requires_grad_(True)
        out = regressor((x_all[idx] + delta).clamp(0, 1))
        loss = (out.joints - clean[idx]).pow(2).sum(-1).mean()
        grad, = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            delta = (delta + alpha * grad.sign()).clamp(-bound, bound)
    return (delta.detach()[0].permute(1, 2, 0).numpy() * 255.0).astype(np.float32)


def main(argv: list[str] | None = None) -> None:
    from models.body_model import load_body_model
    from models.regressor import load_regressor
    from models.source_data import SourceConfig, render_crops

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--eps", type=float, default=8.0)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--crops", type=int, default=1000)
    args = ap.parse_args(argv)
    regressor = load_regressor(args.checkpoint, load_body_model())
    crops = render_crops(args.crops, SourceConfig(image_size=regressor.config.image_size, seed=30_000), regressor.body)
    uap = craft_uap(regressor, crops["images"], args.eps, progress=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.save(args.out, uap)
    print(f"wrote {args.out} (max |delta| = {np.abs(uap).max():.2f}/255)")


if __name__ == "__main__":
    main()
