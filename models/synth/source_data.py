"""The labelled source domain S: person crops rendered from known bodies (like SURREAL).

    crops = render_crops(1000, SourceConfig(seed=0))   # dict of arrays, see below

Every crop is a clothed body in a plausible pose (free poses and everyday motion), any heading,
a little pitch and roll, over a varied background, framed by the regressor's own weak-perspective
camera, so the labels are exact: pose (root in the camera frame), betas, camera, 3D joints
(root-centred, camera frame) and 2D joints (crop coordinates in [-1, 1]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from pytorch3d.transforms import axis_angle_to_matrix, euler_angles_to_matrix
from tqdm import tqdm

from models.body_model import BodyModel, load_body_model
from models.regressor import rotmat_to_axis_angle
from models.synth.camera_site import SiteConfig, background, camera
from models.synth.motion import random_motion
from models.synth.pose_sampler import sample_poses
from models.synth.scene_renderer import SceneRenderer, random_appearance, weak_perspective_matrix


@dataclass(frozen=True)
class SourceConfig:
    image_size: int = 128
    seed: int = 0
    motion_share: float = 0.5  # the rest are free poses from the sampler
    backgrounds: int = 48


def background_bank(n: int, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Indoor scenes from random camera sites, cropped and resized, plus flat and noisy ones."""
    bank = []
    for i in range(n):
        kind = i % 3
        if kind < 2:
            cfg = SiteConfig(
                width=2 * size,
                height=2 * size,
                focal=rng.uniform(1.0, 2.5) * size,
                tilt_deg=rng.uniform(0, 30),
                camera_height=rng.uniform(1.5, 4.0),
            )
            K, R, C = camera(cfg)
            img = background(cfg, K, R, C, rng)
            y, x = rng.integers(0, size, 2)
            bank.append(np.ascontiguousarray(img[y : y + size, x : x + size]))
        else:
            base = rng.uniform(0, 255, 3) + rng.normal(0, rng.uniform(2, 30), (size, size, 3))
            bank.append(np.clip(cv2.GaussianBlur(base, (0, 0), rng.uniform(0.5, 4)), 0, 255).astype(np.uint8))
    return bank


def body_poses(n: int, motion_share: float, g: torch.Generator) -> torch.Tensor:
    """(n, 69) body poses (no root): a mix of free poses and frames of everyday motion."""
    k = int(n * motion_share)
    frames = random_motion(max(k, 1) + 100, g).poses[100 : 100 + k, 3:] if k else torch.zeros(0, 69)
    return torch.cat([sample_poses(n - k, g, spread=0.25)[:, 3:], frames])[torch.randperm(n, generator=g)]


def root_orientations(n: int, g: torch.Generator) -> torch.Tensor:
    """(n, 3, 3) camera-frame root rotations: upright (OpenCV y down), any heading, some pitch and roll."""
    u = torch.rand(n, 3, generator=g)
    yaw = (2 * u[:, 0] - 1) * math.pi
    pitch = (2 * u[:, 1] - 1) * 0.35
    roll = (2 * u[:, 2] - 1) * 0.2
    flip = euler_angles_to_matrix(torch.tensor([math.pi, 0.0, 0.0]), "XYZ")
    tilt = euler_angles_to_matrix(torch.stack([pitch, torch.zeros(n), roll], -1), "XYZ")
    heading = euler_angles_to_matrix(torch.stack([torch.zeros(n), yaw, torch.zeros(n)], -1), "XYZ")
    return flip @ tilt @ heading


def render_crops(
    n: int, cfg: SourceConfig, body: BodyModel | None = None, progress: bool = False
) -> dict[str, np.ndarray]:
    """n labelled crops: images (n, S, S, 3) uint8, masks (n, S, S) bool, pose (n, 72), betas (n, 10),
    camera (n, 3), joints (n, 24, 3), eval_joints (n, 14, 3), joints_2d (n, 24, 2)."""
    body = body or load_body_model()
    rng = np.random.default_rng(cfg.seed)
    g = torch.Generator().manual_seed(cfg.seed)
    S = cfg.image_size
    bank = background_bank(cfg.backgrounds, S, rng)
    renderer = SceneRenderer(body.faces, body.smpl.lbs_weights, S, S, body.v_template)
    root = root_orientations(n, g)
    pose = torch.cat([rotmat_to_axis_angle(root), body_poses(n, cfg.motion_share, g)], 1)
    betas = 0.9 * torch.randn(n, body.num_betas, generator=g)
    out: dict[str, list[np.ndarray]] = {
        k: [] for k in ("images", "masks", "camera", "joints", "eval_joints", "joints_2d")
    }
    with torch.no_grad():
        for sl in tqdm(torch.arange(n).split(256), desc="source crops", disable=not progress):
            b = body(betas[sl], pose[sl])
            pelvis = b.joints[:, :1]
            verts, joints, ev = b.vertices - pelvis, b.joints - pelvis, b.eval_joints - pelvis
            lo, hi = verts[..., :2].amin(1), verts[..., :2].amax(1)
            extent = (hi - lo).amax(-1)
            s = 2.0 * rng.uniform(0.72, 0.95, len(sl)) / extent.numpy()  # the body fills 72-95% of the crop
            centre = ((lo + hi) / 2).numpy()
            t = -s[:, None] * centre + rng.uniform(-0.06, 0.06, (len(sl), 2))
            cams = np.concatenate([s[:, None], t], 1).astype(np.float32)
            for i in range(len(sl)):
                bg = bank[rng.integers(len(bank))]
                if rng.random() < 0.5:
                    bg = bg[:, ::-1]
                light = (rng.uniform(-1, 1), rng.uniform(-1, 0.3), rng.uniform(0.3, 1.0))
                img, mask = renderer.render(
                    verts[i].numpy(),
                    weak_perspective_matrix(cams[i]),
                    renderer.colours(random_appearance(rng), rng),
                    np.ascontiguousarray(bg),
                    light_dir=light,
                    ambient=rng.uniform(0.25, 0.6),
                )
                out["images"].append(img)
                out["masks"].append(mask)
            out["camera"].append(cams)
            out["joints"].append(joints.numpy())
            out["eval_joints"].append(ev.numpy())
            out["joints_2d"].append(cams[:, None, :1] * joints[..., :2].numpy() + cams[:, None, 1:])
    renderer.release()
    data = {k: np.stack(v) if k in ("images", "masks") else np.concatenate(v) for k, v in out.items()}
    data["pose"] = pose.numpy().astype(np.float32)
    data["betas"] = betas.numpy().astype(np.float32)
    return data


def rotmats(pose: np.ndarray) -> torch.Tensor:
    """(n, 72) -> (n, 24, 3, 3)."""
    return axis_angle_to_matrix(torch.as_tensor(pose).reshape(-1, 24, 3))
