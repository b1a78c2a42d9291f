"""The model-based pose regressor (paper §3.1.1): image crop -> SMPL parameters and camera -> body.

    regressor = PoseRegressor(RegressorConfig.preset("cpu"), body, prior_decoder)
    out = regressor(images)          # images (B, 3, S, S) in [0, 1]
    out.pose, out.betas, out.camera, out.vertices, out.joints

The CNN (a torchvision ResNet, trained from scratch: no ImageNet weights can be had here)
predicts a latent pose phi in [-1, 1]^32, which the frozen prior decoder Psi turns into the 23
body-joint rotations, the global orientation as a 6-D rotation, shape betas and a
weak-perspective camera (s, t_x, t_y). Predictions start from sensible means (a body facing
the camera, filling the crop) so training begins from a person, not from noise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torchvision
from pytorch3d.transforms import matrix_to_rotation_6d, rotation_6d_to_matrix
from torch import nn

from models.atomic import atomic_path
from models.body_model import BodyModel, load_body_model
from models.prior import PoseDecoder

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class RegressorConfig:
    backbone: str = "resnet18"
    image_size: int = 128
    latent: int = 32
    num_betas: int = 10
    # Answers one of a body and the body turned round where a crop does not tell them apart, rather
    # than a side-on body between them (trained with models.synth.train_source's twin_min above 0.5);
    # flip averaging then aligns its two halves' facing (models.flip_average.facing_as).
    commits_facing: bool = False

    @classmethod
    def preset(cls, name: str) -> RegressorConfig:
        """``cpu``: ResNet-18 on 128x128 crops (trains on 2 cores); ``paper``: ResNet-50 on 224x224."""
        presets = {"cpu": cls(), "paper": cls(backbone="resnet50", image_size=224)}
        if name not in presets:
            raise ValueError(f"unknown preset {name!r}; choose from {sorted(presets)}")
        return presets[name]


@dataclass
class RegressorOutput:
    """phi (B, 32); pose (B, 72) axis-angle, root first; rotmats (B, 24, 3, 3); betas (B, 10);
    camera (B, 3) = (s, t_x, t_y); vertices (B, V, 3) and joints (B, 24, 3) in the camera frame
    (root-centred, OpenCV axes); eval_joints (B, 14, 3)."""

    phi: torch.Tensor
    pose: torch.Tensor
    rotmats: torch.Tensor
    betas: torch.Tensor
    camera: torch.Tensor
    vertices: torch.Tensor
    joints: torch.Tensor
    eval_joints: torch.Tensor


def rotmat_to_quaternion(R: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotations -> (..., 4) unit quaternions (w, x, y, z) with w >= 0, ONNX-exportable.

    Shepperd's method: of the four ways to read the quaternion off the matrix, the one with the
    largest pivot is taken, so no division is ever by a small number. (PyTorch3D's converters use
    ``sinc`` or ``argmax`` indexing, which the ONNX export of this graph cannot take.)
    """
    m = R
    t = torch.stack(
        [
            1 + m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2],
            1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
            1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2],
            1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2],
        ],
        -1,
    )
    a, b, c = m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]
    d, e, f = m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1]
    cands = torch.stack(
        [
            torch.stack([t[..., 0], a, b, c], -1),
            torch.stack([a, t[..., 1], d, e], -1),
            torch.stack([b, d, t[..., 2], f], -1),
            torch.stack([c, e, f, t[..., 3]], -1),
        ],
        -2,
    )  # (..., 4 candidates, 4 = w x y z), each 2 sqrt(t_k) times the quaternion
    pick = (t == t.amax(-1, keepdim=True)).to(R.dtype)
    pick = pick / pick.sum(-1, keepdim=True)  # ties: equal candidates, average them
    norm = 2 * torch.sqrt(t.clamp_min(1e-12))
    q = ((cands / norm[..., None]) * pick[..., None]).sum(-2)
    return q * torch.where(q[..., :1] < 0, -1.0, 1.0)  # w >= 0: the angle in [0, pi]


def rotmat_to_axis_angle(R: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotations -> (..., 3) axis-angle, stable at 0 and at 180 degrees, ONNX-exportable
    (through :func:`rotmat_to_quaternion`)."""
    q = rotmat_to_quaternion(R)
    v = q[..., 1:]
    n = v.norm(dim=-1, keepdim=True)
    angle = 2 * torch.atan2(n, q[..., :1])
    return v * torch.where(n > 1e-6, angle / n.clamp_min(1e-6), 2.0 / q[..., :1].clamp_min(1e-6))


class PoseRegressor(nn.Module):
    # buffers (registered in __init__)
    orient_init: torch.Tensor  # (6,) root 6-D of a body facing the camera
    camera_init: torch.Tensor  # (3,) weak-perspective (s, tx, ty)
    pixel_mean: torch.Tensor  # (1, 3, 1, 1)
    pixel_std: torch.Tensor  # (1, 3, 1, 1)

    def __init__(self, config: RegressorConfig, body: BodyModel, decoder: PoseDecoder):
        super().__init__()
        self.config = config
        net = getattr(torchvision.models, config.backbone)(weights=None)
        features = net.fc.in_features
        net.fc = nn.Identity()
        self.backbone = net
        first = nn.Linear(features, 512)  # made before ``last``: the seeded initialisation draws in this order
        last = nn.Linear(512, config.latent + 6 + config.num_betas + 3)
        self.head = nn.Sequential(first, nn.ReLU(), nn.Dropout(0.1), last)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        # Start from a body facing the camera (180 degrees about x: OpenCV's y points down) that
        # fills most of the crop.
        facing = torch.tensor([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])
        self.register_buffer("orient_init", matrix_to_rotation_6d(facing))
        self.register_buffer("camera_init", torch.tensor([0.9, 0.0, 0.0]))
        self.register_buffer("pixel_mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("pixel_std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.body = body
        self.decoder = decoder
        for p in list(self.body.parameters()) + list(self.decoder.parameters()):
            p.requires_grad_(False)

    def predict_parameters(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(B, 3, S, S) in [0, 1] -> phi (B, 32), root 6-D (B, 6), betas (B, 10), camera (B, 3)."""
        x = self.head(self.backbone((images - self.pixel_mean) / self.pixel_std))
        L, nb = self.config.latent, self.config.num_betas
        phi = torch.tanh(x[:, :L])
        orient6d = self.orient_init + x[:, L : L + 6]
        betas = x[:, L + 6 : L + 6 + nb]
        s = self.camera_init[0] * torch.exp(x[:, -3:-2])  # scale stays positive
        camera = torch.cat([s, self.camera_init[1:] + x[:, -2:]], dim=1)
        return phi, orient6d, betas, camera

    def decode(
        self, phi: torch.Tensor, orient6d: torch.Tensor, betas: torch.Tensor, camera: torch.Tensor
    ) -> RegressorOutput:
        """Parameters -> body (the optimisation-in-the-loop of Algorithm 1 fits these directly)."""
        return self.posed(phi, self.rotations(phi, orient6d), betas, camera)

    def rotations(self, phi: torch.Tensor, orient6d: torch.Tensor) -> torch.Tensor:
        """phi (B, 32), root 6-D (B, 6) -> (B, 24, 3, 3) joint rotations, root first."""
        return torch.cat([rotation_6d_to_matrix(orient6d).unsqueeze(1), self.decoder(phi)], dim=1)

    def posed(
        self, phi: torch.Tensor, rotmats: torch.Tensor, betas: torch.Tensor, camera: torch.Tensor
    ) -> RegressorOutput:
        """phi (B, 32), rotations (B, 24, 3, 3), betas (B, 10), camera (B, 3) -> the body they pose."""
        out = self.body(betas, rotmats)
        pelvis = out.joints[:, :1]
        return RegressorOutput(
            phi=phi,
            pose=rotmat_to_axis_angle(rotmats).flatten(1),
            rotmats=rotmats,
            betas=betas,
            camera=camera,
            vertices=out.vertices - pelvis,
            joints=out.joints - pelvis,
            eval_joints=out.eval_joints - pelvis,
        )

    def forward(self, images: torch.Tensor) -> RegressorOutput:
        return self.decode(*self.predict_parameters(images))


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def save_regressor(regressor: PoseRegressor, path: Path, half: bool = True, extra: dict | None = None) -> Path:
    """CNN + prior decoder weights and the config (the body model is loaded, not stored), atomically.

    ``half`` stores float16 weights (the shipped checkpoint must stay small)."""
    state = {
        k: (v.half() if half and v.is_floating_point() else v)
        for k, v in regressor.state_dict().items()
        if not k.startswith("body.")
    }
    with atomic_path(path) as tmp:
        torch.save({"config": asdict(regressor.config), "state": state, **(extra or {})}, tmp)
    return path


def load_regressor(path: Path, body: BodyModel | None = None) -> PoseRegressor:
    return regressor_from_checkpoint(torch.load(path, map_location="cpu", weights_only=False), body, path)


def regressor_from_checkpoint(
    ck: dict, body: BodyModel | None = None, path: Path | str = "checkpoint"
) -> PoseRegressor:
    """A regressor from an already-loaded checkpoint dict (see :func:`save_regressor`)."""
    config = RegressorConfig(**ck["config"])
    regressor = PoseRegressor(config, body or load_body_model(), PoseDecoder(config.latent))
    state = {k: v.float() if v.is_floating_point() else v for k, v in ck["state"].items()}
    missing, unexpected = regressor.load_state_dict(state, strict=False)  # body.* buffers are loaded, not stored
    if unexpected or any(not k.startswith("body.") for k in missing):
        raise ValueError(f"{path}: checkpoint does not fit the regressor (missing {missing}, unexpected {unexpected})")
    return regressor.eval()
