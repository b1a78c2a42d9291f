"""The error floor the pose prior sets: the best PA-MPJPE any latent phi can reach.

The regressor never outputs a body pose directly; it outputs phi, which the frozen decoder Psi
turns into joint rotations (paper §3.4a). So no regressor, however well trained, can do better
than the phi that fits each true pose best. This fits that phi per pose (Adam on the 14
evaluation joints, true shape, no root rotation: PA-MPJPE aligns it away) and reports the
PA-MPJPE it leaves, next to the mean pose (phi = 0) as the ceiling.

    python -m bench.prior_floor --checkpoint models/assets/source_cpu.pt --poses 500
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch
from pytorch3d.transforms import axis_angle_to_matrix
from tqdm import trange

from models.body_model import load_body_model
from models.metrics import pa_mpjpe
from models.regressor import load_regressor
from models.source_data import body_poses

# Everyday motion is what camera sites show; free poses from the joint-limit sampler are the
# other half of the source training crops.
POSE_SETS = {"everyday motion": 1.0, "free poses": 0.0}


def eval_joints(body, betas: torch.Tensor, rotmats: torch.Tensor) -> torch.Tensor:
    """(B, 10), (B, 23, 3, 3) body rotations -> (B, 14, 3) root-centred evaluation joints."""
    root = torch.eye(3).expand(len(rotmats), 1, 3, 3)
    out = body(betas, torch.cat([root, rotmats], 1))
    return out.eval_joints - out.joints[:, :1]


def best_latents(decoder, body, betas: torch.Tensor, truth: torch.Tensor, steps: int, lr: float,
                 latent: int = 32) -> torch.Tensor:
    """phi (B, 32) fitted to the true evaluation joints, starting from the mean pose."""
    z = torch.zeros(len(truth), latent, requires_grad=True)
    opt = torch.optim.Adam([z], lr=lr)
    for _ in trange(steps, desc="fitting phi", leave=False):
        opt.zero_grad(set_to_none=True)
        loss = pa_mpjpe(eval_joints(body, betas, decoder(torch.tanh(z))), truth).mean()
        loss.backward()
        opt.step()
    return torch.tanh(z).detach()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, default=Path("models/assets/source_cpu.pt"))
    ap.add_argument("--poses", type=int, default=500)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=40_000)
    args = ap.parse_args(argv)
    body = load_body_model()
    regressor = load_regressor(args.checkpoint, body)
    decoder, latent = regressor.decoder, regressor.config.latent
    print("| poses | n | mean pose (phi = 0) | best phi through Psi |")
    print("|---|---|---|---|")
    for name, share in POSE_SETS.items():
        g = torch.Generator().manual_seed(args.seed)
        pose = body_poses(args.poses, share, g)
        rot = axis_angle_to_matrix(pose.reshape(-1, 23, 3))
        betas = torch.zeros(args.poses, 10)
        with torch.no_grad():
            truth = eval_joints(body, betas, rot)
            mean = pa_mpjpe(eval_joints(body, betas, decoder(torch.zeros(args.poses, latent))), truth).mean().item()
        phi = best_latents(decoder, body, betas, truth, args.steps, args.lr, latent)
        with torch.no_grad():
            best = pa_mpjpe(eval_joints(body, betas, decoder(phi)), truth)
        print(f"| {name} | {args.poses} | {mean:.1f} mm | {best.mean().item():.1f} mm "
              f"(median {best.median().item():.1f}, 95th pct {best.quantile(0.95).item():.1f}) |", flush=True)


if __name__ == "__main__":
    main()
