"""The pose prior of §3.4a: an adversarial auto-encoder whose frozen decoder Psi maps a latent
phi in [-1, 1]^32 to a plausible body pose.

    python -m models.synth.pose_prior --out runs/prior.pt        # train (resumes from --out), progress bar

The regressor predicts phi instead of theta and decodes it with Psi, so whatever the CNN does
during adaptation, the pose stays inside what the prior learned. The encoder is pushed
adversarially to fill the latent cube uniformly, so that *any* phi in the cube decodes to a
plausible pose (tests count joint-limit violations of random latents).

Training data are poses from :mod:`models.synth.pose_sampler` and :mod:`models.synth.motion` (no licensed
motion capture can be had here). Rotations are handled as 6-D vectors (Zhou et al.), which a
network can output without discontinuities.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from pytorch3d.transforms import axis_angle_to_matrix, matrix_to_axis_angle, matrix_to_rotation_6d
from torch import nn
from tqdm import tqdm

from models.atomic import atomic_path
from models.prior import BODY_JOINTS, HIDDEN, LATENT, PoseDecoder, mlp
from models.synth.motion import random_motion
from models.synth.pose_sampler import limit_violations, sample_poses


@dataclass(frozen=True)
class PriorConfig:
    latent: int = LATENT
    hidden: int = HIDDEN
    steps: int = 20000
    batch: int = 512
    lr: float = 2e-3
    adversarial_weight: float = 0.05
    data_poses: int = 200_000
    seed: int = 0
    checkpoint_every: int = 1000


class PoseEncoder(nn.Module):
    """Body-joint rotations (B, 23, 3, 3) -> latents (B, 32) in [-1, 1]."""

    def __init__(self, latent: int = LATENT, hidden: int = HIDDEN):
        super().__init__()
        self.net = mlp(BODY_JOINTS * 6, hidden, latent)

    def forward(self, R: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.pre_activation(R))

    def pre_activation(self, R: torch.Tensor) -> torch.Tensor:
        return self.net(matrix_to_rotation_6d(R).flatten(-2))


class PosePrior(nn.Module):
    def __init__(self, latent: int = LATENT, hidden: int = HIDDEN):
        super().__init__()
        self.latent = latent
        self.encoder = PoseEncoder(latent, hidden)
        self.decoder = PoseDecoder(latent, hidden)

    def encode_pose(self, body_pose: torch.Tensor) -> torch.Tensor:
        """(B, 69) axis-angle -> (B, 32)."""
        return self.encoder(axis_angle_to_matrix(body_pose.unflatten(-1, (BODY_JOINTS, 3))))

    def decode_pose(self, phi: torch.Tensor) -> torch.Tensor:
        """(B, 32) -> (B, 69) axis-angle."""
        return matrix_to_axis_angle(self.decoder(phi)).flatten(-2)


def pose_data(n: int, seed: int) -> torch.Tensor:
    """(n, 23, 3, 3) training rotations: half free poses, half everyday motion."""
    g = torch.Generator().manual_seed(seed)
    free = sample_poses(n // 2, g, spread=0.28)[:, 3:]
    frames = n - n // 2
    parts: list[torch.Tensor] = []  # (T, 69) axis-angle each
    while sum(len(p) for p in parts) < frames:
        parts.append(random_motion(2000, g).poses[:, 3:])
    motion = torch.cat(parts)[:frames]
    return axis_angle_to_matrix(torch.cat([free, motion]).unflatten(-1, (BODY_JOINTS, 3)))


def rotation_error(R_hat: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    """Geodesic angle between rotations, radians, shape of the batch dims."""
    cos = ((R_hat.transpose(-1, -2) @ R).diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2
    return torch.arccos(cos.clamp(-1 + 1e-6, 1 - 1e-6))


def _prior_step(
    prior: PosePrior, critic: nn.Module, opt, opt_c, data: torch.Tensor, cfg: PriorConfig, step: int, bar
) -> None:
    g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)  # the batch depends on the step only
    R = data[torch.randint(len(data), (cfg.batch,), generator=g)]
    uniform = 2 * torch.rand(cfg.batch, cfg.latent, generator=g) - 1

    pre = prior.encoder.pre_activation(R)
    phi = torch.tanh(pre)
    c_loss = F.softplus(-critic(uniform)).mean() + F.softplus(critic(phi.detach())).mean()
    opt_c.zero_grad()
    c_loss.backward()
    opt_c.step()

    R_hat = prior.decoder(phi)
    recon = (R_hat - R).pow(2).sum((-1, -2)).mean()
    fool = F.softplus(-critic(phi)).mean()
    # The critic pushes latents towards the cube's faces; past |x| = 2 tanh saturates and the
    # encoder would freeze there (it collapsed to a corner without this guard).
    saturation = F.relu(pre.abs() - 2.0).pow(2).mean()
    # The adversary only joins once reconstruction has found its feet (it can collapse the code early on).
    ramp = min(1.0, step / (0.2 * cfg.steps))
    loss = recon + ramp * cfg.adversarial_weight * fool + saturation
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 50 == 0:
        bar.set_postfix(recon=f"{recon.item():.4f}", critic=f"{c_loss.item():.3f}")


def train_prior(
    cfg: PriorConfig, out: Path | None = None, progress: bool = True, should_stop: Callable[[int], bool] | None = None
) -> PosePrior:
    """Train (or resume from ``out``) and return the prior.

    Checkpoints every ``checkpoint_every`` steps and when ``should_stop(step)`` answers True
    (cooperative cancellation; a hard kill loses at most ``checkpoint_every`` steps); a later
    call with the same ``out`` resumes.
    Each step's batch depends only on the seed and the step, so a resumed run is the same run.
    """
    torch.manual_seed(cfg.seed)
    prior = PosePrior(cfg.latent, cfg.hidden)
    critic = mlp(cfg.latent, 256, 1)
    opt = torch.optim.Adam(prior.parameters(), lr=cfg.lr)
    opt_c = torch.optim.Adam(critic.parameters(), lr=cfg.lr)
    step = 0
    if out is not None and out.exists():
        ck = torch.load(out, map_location="cpu", weights_only=False)
        prior.load_state_dict(ck["prior"])
        critic.load_state_dict(ck["critic"])
        opt.load_state_dict(ck["opt"])
        opt_c.load_state_dict(ck["opt_c"])
        step = ck["step"]
    data = pose_data(cfg.data_poses, cfg.seed)

    def save(at: int) -> None:
        if out is None:
            return
        with atomic_path(out) as tmp:
            torch.save(
                {
                    "prior": prior.state_dict(),
                    "critic": critic.state_dict(),
                    "opt": opt.state_dict(),
                    "opt_c": opt_c.state_dict(),
                    "step": at,
                    "config": asdict(cfg),
                },
                tmp,
            )

    bar = tqdm(range(step, cfg.steps), initial=step, total=cfg.steps, desc="pose prior", disable=not progress)
    for step in bar:
        if should_stop is not None and should_stop(step):
            save(step)
            return prior.eval()
        for group in opt.param_groups:  # cosine decay, a function of the step alone (resumable)
            group["lr"] = cfg.lr * 0.5 * (1 + math.cos(math.pi * step / cfg.steps))
        _prior_step(prior, critic, opt, opt_c, data, cfg, step, bar)
        if (step + 1) % cfg.checkpoint_every == 0:
            save(step + 1)
    save(cfg.steps)
    return prior.eval()


def load_prior(path: Path) -> PosePrior:
    ck = torch.load(path, map_location="cpu", weights_only=False)
    cfg = PriorConfig(**ck["config"])
    prior = PosePrior(cfg.latent, cfg.hidden)
    prior.load_state_dict(ck["prior"])
    return prior.eval()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="train the pose prior (resumes from --out)")
    ap.add_argument("--out", type=Path, default=Path("runs/prior.pt"))
    ap.add_argument("--steps", type=int, default=PriorConfig.steps)
    args = ap.parse_args(argv)
    prior = train_prior(PriorConfig(steps=args.steps), args.out)
    with torch.no_grad():
        held_out = pose_data(4000, seed=12345)
        err = rotation_error(prior.decoder(prior.encoder(held_out)), held_out)
        phi = 2 * torch.rand(4000, prior.latent, generator=torch.Generator().manual_seed(7)) - 1
        body_pose = prior.decode_pose(phi)
        viol = limit_violations(torch.cat([torch.zeros(4000, 3), body_pose], 1))
    print(f"held-out reconstruction: mean {err.mean():.3f} rad, 95th percentile {err.flatten().quantile(0.95):.3f} rad")
    print(
        f"random latents: {viol.any(1).float().mean():.1%} of poses and {viol.float().mean():.2%} of joints outside the limits"
    )


if __name__ == "__main__":
    main()
