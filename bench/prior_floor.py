"""The error floor the pose prior sets: the best PA-MPJPE any latent phi can reach.

The regressor never outputs a body pose directly; it outputs phi, which the frozen decoder Psi
turns into joint rotations (paper §3.4a). So no regressor, however well trained, can do better
than the phi that fits each true pose best. This fits that phi per pose (Adam on the 14
evaluation joints, true shape, no root rotation: PA-MPJPE aligns it away) and reports the
PA-MPJPE it leaves, next to the mean pose (phi = 0) as the ceiling.

It also prints what fixed answers score on camera sites (``--sites``): Psi(0), and the site's own
best frame given as the answer for every frame. A regressor that does not beat these has not
learned to read the limbs from the image.

    python -m bench.prior_floor --checkpoint models/assets/source_cpu.pt --poses 500 --sites 100:150,300:256
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
from models.synth.camera_site import SiteConfig, make_site
from models.synth.source_data import body_poses

# Everyday motion is what camera sites show; free poses from the joint-limit sampler are the
# other half of the source training crops.
POSE_SETS = {"everyday motion": 1.0, "free poses": 0.0}


def eval_joints(body, betas: torch.Tensor, rotmats: torch.Tensor) -> torch.Tensor:
    """(B, 10), (B, 23, 3, 3) body rotations -> (B, 14, 3) root-centred evaluation joints."""
    root = torch.eye(3).expand(len(rotmats), 1, 3, 3)
    out = body(betas, torch.cat([root, rotmats], 1))
    return out.eval_joints - out.joints[:, :1]


def best_latents(
    decoder, body, betas: torch.Tensor, truth: torch.Tensor, steps: int, lr: float, latent: int = 32
) -> torch.Tensor:
    """phi (B, 32) fitted to the true evaluation joints, starting from the mean pose."""
    z = torch.zeros(len(truth), latent, requires_grad=True)
    opt = torch.optim.Adam([z], lr=lr)
    for _ in trange(steps, desc="fitting phi", leave=False):
        opt.zero_grad(set_to_none=True)
        loss = pa_mpjpe(eval_joints(body, betas, decoder(torch.tanh(z))), truth).mean()
        loss.backward()
        opt.step()
    return torch.tanh(z).detach()


@torch.no_grad()
def fixed_pose_errors(body, decoder, seed: int, frames: int, latent: int = 32) -> dict[str, float]:
    """PA-MPJPE (mm) of fixed answers on a clean camera site's true joints: Psi(0), and the best of
    the site's own frames (every 5th tried) given for every frame."""
    site = make_site(SiteConfig(frames=frames, seed=seed), body=body, progress=False)
    truth = torch.as_tensor(site.eval_joints - site.joints[:, :1], dtype=torch.float32)
    T = len(truth)
    betas = torch.as_tensor(site.betas, dtype=torch.float32).expand(T, -1)
    psi0 = eval_joints(body, betas, decoder(torch.zeros(T, latent)))
    pose = torch.as_tensor(site.poses, dtype=torch.float32)[:, 3:]
    own = eval_joints(body, betas, axis_angle_to_matrix(pose.reshape(T, 23, 3)))
    best = min(pa_mpjpe(own[k : k + 1].expand(T, -1, -1), truth).mean().item() for k in range(0, T, 5))
    return {"psi0": pa_mpjpe(psi0, truth).mean().item(), "best_fixed_frame": best}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, default=Path("models/assets/source_cpu.pt"))
    ap.add_argument("--poses", type=int, default=500)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=40_000)
    ap.add_argument("--sites", default="100:150,300:256", help="camera sites as seed:frames, comma-separated")
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
        print(
            f"| {name} | {args.poses} | {mean:.1f} mm | {best.mean().item():.1f} mm "
            f"(median {best.median().item():.1f}, 95th pct {best.quantile(0.95).item():.1f}) |",
            flush=True,
        )
    print("\n| camera site | Psi(0) for every frame | the site's best frame for every frame |\n|---|---|---|")
    for spec in filter(None, args.sites.split(",")):
        seed, frames = (int(v) for v in spec.split(":"))
        r = fixed_pose_errors(body, decoder, seed, frames, latent)
        print(f"| seed {seed}, {frames} frames | {r['psi0']:.1f} mm | {r['best_fixed_frame']:.1f} mm |", flush=True)


if __name__ == "__main__":
    main()
