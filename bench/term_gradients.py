"""How hard each adaptation term pulls on the CNN: gradient norms of L_S, L_T and the shape prior.

    python -m bench.term_gradients [--shift lr-32] [--batches 3] [--gradient distance|erosions]

On batches of the tuning site's adaptation crops (seed 999, never the benchmark's), with the
source model in adaptation mode, it prints each term's value and the norm of its gradient with
respect to the CNN's trainable parameters, and the cosine between the L_S and L_T gradients, on the
CNN and on each of the regressor's outputs, and on what share of the CNN's parameters the first Adam step
(lr times the gradient's sign) is the same with and without L_T. With
one Adam on the sum (``optimisers="joint"``), a term whose gradient is orders of magnitude smaller
than another's has almost no say in the step. It first prints S2D's gradient on filled squares of
growing size, both ways S2D can be differentiated: literally through Eq. 2's erosion steps
(over every path through them) and by the distance (onto the zeros that decide it).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import get_args

import numpy as np
import torch

from bench.tune_adaptation import TUNING_SEED
from models.adaptation import set_adaptation_mode
from models.alignment import AlignmentTarget, alignment_terms
from models.body_model import load_body_model
from models.health import images_tensor
from models.regressor import load_regressor
from models.synth.camera_site import SiteConfig, make_site
from models.target_data import SILHOUETTE_SIZE, site_target
from models.topology import Gradient, s2d

OUTPUTS = ("pose latent phi", "root 6-D", "betas", "camera")


def flat_grad(value: torch.Tensor, params: list[torch.Tensor]) -> torch.Tensor:
    grads = torch.autograd.grad(value, params, retain_graph=True, allow_unused=True)
    return torch.cat(
        [(g if g is not None else torch.zeros_like(p)).flatten() for g, p in zip(grads, params, strict=True)]
    )


def s2d_gradient_by_depth(sides=(4, 8, 12, 16, 24), size: int = 64) -> None:
    """Why L_S is stiff: the gradient of S2D's sum on a filled square, by the square's side."""
    print("S2D on a filled square: side, sum of D, |d sum(D) / d map| through the erosions / by the distance")
    for n in sides:
        square = torch.zeros(1, 1, size, size)
        lo = size // 2 - n // 2
        square[..., lo : lo + n, lo : lo + n] = 1.0
        square.requires_grad_(True)
        norms = []
        for gradient in ("erosions", "distance"):  # the order the header names
            distance = s2d(square, gradient=gradient)
            (grad,) = torch.autograd.grad(distance.sum(), square)
            norms.append(f"{grad.norm():.3g}")
        print(f"  {n:3d} px: {distance.sum().item():8.0f}  {' / '.join(norms)}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, default=Path("models/assets/source_cpu.pt"))
    ap.add_argument("--shift", default="lr-32")
    ap.add_argument("--batches", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--gradient", choices=get_args(Gradient), default="distance", help="how S2D is differentiated")
    args = ap.parse_args(argv)
    s2d_gradient_by_depth()
    body = load_body_model()
    regressor = load_regressor(args.checkpoint, body)
    site = make_site(SiteConfig(frames=120, seed=TUNING_SEED), shift=args.shift, body=body, progress=False)
    train, _ = site_target(site.frames, regressor.config.image_size, SILHOUETTE_SIZE, True).split(0.7)
    set_adaptation_mode(regressor, "frozen")
    params = [p for p in regressor.parameters() if p.requires_grad]
    print(
        f"{args.shift}, tuning site, S2D gradient by {args.gradient}: value and |gradient| over {sum(p.numel() for p in params):,} CNN parameters"
    )
    for b in range(args.batches):
        idx = np.random.default_rng(b).choice(len(train), min(args.batch, len(train)), replace=False)
        out = regressor(images_tensor(train.images[idx]))
        target = AlignmentTarget.from_silhouettes(torch.as_tensor(train.silhouettes[idx]))
        raw = alignment_terms(
            "ours", body.proxy_vertices(out.vertices), body.proxy_faces, out.camera, target, args.gradient
        )
        scale = sum(t.mean() for t in raw.values()).detach().clamp_min(1.0)  # as predicted_terms scales it
        parts = {
            "L_S": raw["silhouette"].mean(),
            "L_T": raw["topology"].mean(),
            "shape prior": (scale * out.betas.pow(2).mean(-1)).mean(),
        }
        grads = {k: flat_grad(v, params) for k, v in parts.items()}
        cos = torch.nn.functional.cosine_similarity(grads["L_S"], grads["L_T"], dim=0).item()
        print(
            f"  batch {b}: "
            + ", ".join(f"{k} {v.item():.0f} (|grad| {grads[k].norm():.3g})" for k, v in parts.items())
            + f"; cos(L_S, L_T) {cos:+.2f}"
        )
        # Adam's first step is lr * sign(gradient) per parameter, and later steps stay close to it while
        # the gradient keeps its sign: what Ours and B2 share is the share of parameters whose sign agrees.
        with_t = grads["L_S"] + grads["L_T"] + grads["shape prior"]
        without_t = grads["L_S"] + grads["shape prior"]
        same = (torch.sign(with_t) == torch.sign(without_t)).float().mean().item()
        print(f"    first Adam step with and without L_T: the same sign on {100 * same:.1f}% of the CNN's parameters")
        # The same terms against the regressor's outputs: is one output's path (the camera, say) the stiff one?
        leaves = [
            t.detach().requires_grad_(True) for t in regressor.predict_parameters(images_tensor(train.images[idx]))
        ]
        decoded = regressor.decode(*leaves)
        raw = alignment_terms(
            "ours", body.proxy_vertices(decoded.vertices), body.proxy_faces, decoded.camera, target, args.gradient
        )
        by_term = {
            name: torch.autograd.grad(term.mean(), leaves, retain_graph=True)
            for name, term in (("L_S", raw["silhouette"]), ("L_T", raw["topology"]))
        }
        for name, g in by_term.items():
            print(
                f"    {name} |grad| by output: "
                + ", ".join(f"{n} {x.norm():.3g}" for n, x in zip(OUTPUTS, g, strict=True))
            )
        # Where the two terms part ways: per output, summed over the batch's crops.
        cosines = [
            torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), dim=0).item()
            for a, b in zip(by_term["L_S"], by_term["L_T"], strict=True)
        ]
        print(
            "    cos(L_S, L_T) by output: " + ", ".join(f"{n} {c:+.2f}" for n, c in zip(OUTPUTS, cosines, strict=True))
        )


if __name__ == "__main__":
    main()
