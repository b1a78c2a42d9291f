"""The pose prior's decoder Psi (§3.4a): a latent phi in [-1, 1]^32 -> 23 body-joint rotations.

    decoder = PoseDecoder(latent=32)
    rotmats = decoder(phi)               # phi (B, 32) -> (B, 23, 3, 3)

The regressor predicts phi instead of theta and decodes it with the frozen Psi, so whatever the
CNN does during adaptation, the pose stays inside what the prior learned. Rotations come out as
6-D vectors (Zhou et al.), which a network can output without discontinuities. Training the
prior (the adversarial auto-encoder) is research code: :mod:`models.synth.pose_prior`.
"""

from __future__ import annotations

import torch
from pytorch3d.transforms import rotation_6d_to_matrix
from torch import nn

BODY_JOINTS = 23  # the root's rotation is the camera's business, not the prior's
LATENT = 32
HIDDEN = 512


def mlp(inputs: int, hidden: int, outputs: int) -> nn.Sequential:
    """Two hidden layers of ``hidden`` units with leaky ReLUs: the prior's encoder, decoder and critic."""
    return nn.Sequential(
        nn.Linear(inputs, hidden),
        nn.LeakyReLU(0.2),
        nn.Linear(hidden, hidden),
        nn.LeakyReLU(0.2),
        nn.Linear(hidden, outputs),
    )


class PoseDecoder(nn.Module):
    """Psi: latents (B, latent) in [-1, 1] -> body-joint rotations (B, 23, 3, 3)."""

    def __init__(self, latent: int = LATENT, hidden: int = HIDDEN):
        super().__init__()
        self.net = mlp(latent, hidden, BODY_JOINTS * 6)

    def forward(self, phi: torch.Tensor) -> torch.Tensor:
        return rotation_6d_to_matrix(self.net(phi).unflatten(-1, (BODY_JOINTS, 6)))
