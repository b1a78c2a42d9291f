"""Synthetic camera sites: a static camera over a floor and a wall, a person walking and acting
through the scene, written as a video plus per-frame ground truth.

    python -m models.synth.camera_site --out sites/demo --frames 300 --shift lr-52

This is what the service receives from a real site; the true masks are ground truth for
evaluation (and the oracle ablation) only: the service's silhouettes must come from background
subtraction of the video.

World frame: y up, the floor at y = 0, metres. The camera stands at ``(0, height, 0)`` looking
along +z, tilted down; its frame is OpenCV's (x right, y down, z forwards).
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from models.body_layout import PARENTS
from models.body_model import BodyModel, load_body_model
from models.synth.domain_shift import parse_shift
from models.synth.motion import Motion, action, concatenate, ground, walk
from models.synth.scene_renderer import SceneRenderer, perspective_matrix, random_appearance


@dataclass
class SiteConfig:
    width: int = 320
    height: int = 240
    fps: float = 25.0
    frames: int = 300
    camera_height: float = 3.0
    tilt_deg: float = 16.0
    focal: float = 380.0
    seed: int = 0


@dataclass
class CameraSite:
    """Frames (T, H, W, 3) uint8 RGB; masks (T, H, W) bool; camera K (3, 3), R (3, 3), C (3,)
    (p_cam = R (p_world - C)); body: betas (10,), poses (T, 72) and transl (T, 3) in the world;
    joints (T, 24, 3) and eval_joints (T, 14, 3) in the camera frame, joints_2d (T, 24, 2) pixels."""

    frames: np.ndarray
    masks: np.ndarray
    K: np.ndarray
    R: np.ndarray
    C: np.ndarray
    betas: np.ndarray
    poses: np.ndarray
    transl: np.ndarray
    joints: np.ndarray
    eval_joints: np.ndarray
    joints_2d: np.ndarray
    config: dict
    shift: str = "clean"

    def save(self, folder: Path) -> None:
        """``video.avi`` (FFV1, lossless) and ``ground_truth.npz`` in ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        _, H, W, _ = self.frames.shape
        # Lossless (FFV1), so the file is exactly what was rendered; lossy coding happens where a
        # real camera's would, when frames are sent to the service as JPEG.
        writer = cv2.VideoWriter(str(folder / "video.avi"), cv2.VideoWriter.fourcc(*"FFV1"), self.config["fps"], (W, H))
        for f in self.frames:
            writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
        writer.release()
        np.savez_compressed(
            folder / "ground_truth.npz",
            masks=np.packbits(self.masks, axis=-1),
            mask_width=W,
            K=self.K,
            R=self.R,
            C=self.C,
            betas=self.betas,
            poses=self.poses,
            transl=self.transl,
            joints=self.joints,
            eval_joints=self.eval_joints,
            joints_2d=self.joints_2d,
            config=json.dumps(self.config),
            shift=self.shift,
        )

    @classmethod
    def load(cls, folder: Path) -> CameraSite:
        gt = np.load(folder / "ground_truth.npz")
        frames = read_video(folder / "video.avi")
        masks = np.unpackbits(gt["masks"], axis=-1, count=int(gt["mask_width"])).astype(bool)
        return cls(
            frames=np.stack(frames),
            masks=masks,
            **{k: gt[k] for k in ("K", "R", "C", "betas", "poses", "transl", "joints", "eval_joints", "joints_2d")},
            config=json.loads(str(gt["config"])),
            shift=str(gt["shift"]),
        )


def read_video(path: Path) -> list[np.ndarray]:
    """Every frame of a video file, RGB uint8."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(f, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames


def camera(cfg: SiteConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intrinsics K, world-to-camera rotation R and camera centre C."""
    K = np.array([[cfg.focal, 0, (cfg.width - 1) / 2], [0, cfg.focal, (cfg.height - 1) / 2], [0, 0, 1.0]])
    phi = math.radians(cfg.tilt_deg)
    # Rows: the camera's x (right), y (down) and z (forwards) axes in world coordinates. Looking
    # along world +z, the camera's right is world -x.
    R = np.array([[-1.0, 0.0, 0.0], [0.0, -math.cos(phi), -math.sin(phi)], [0.0, -math.sin(phi), math.cos(phi)]])
    return K, R, np.array([0.0, cfg.camera_height, 0.0])


def background(cfg: SiteConfig, K: np.ndarray, R: np.ndarray, C: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A tiled floor and a panelled back wall, seen through the camera (H, W, 3) uint8."""
    v, u = np.mgrid[0 : cfg.height, 0 : cfg.width].astype(np.float64)
    rays = np.stack([u, v, np.ones_like(u)], -1) @ np.linalg.inv(K).T @ R  # world directions
    wall_z = rng.uniform(10.0, 14.0)
    t_floor = np.where(rays[..., 1] < -1e-6, -C[1] / np.minimum(rays[..., 1], -1e-6), np.inf)
    t_wall = (wall_z - C[2]) / np.maximum(rays[..., 2], 1e-6)
    on_floor = t_floor < t_wall
    t = np.where(on_floor, t_floor, t_wall)
    p = C + rays * t[..., None]
    tile = rng.uniform(0.4, 1.2)
    floor_col, floor_alt = rng.uniform(60, 200, 3), rng.uniform(60, 200, 3)
    checker = ((np.floor(p[..., 0] / tile) + np.floor(p[..., 2] / tile)) % 2)[..., None]
    floor = checker * floor_col + (1 - checker) * floor_alt
    panel = rng.uniform(1.0, 3.0)
    colours = rng.uniform(40, 230, (8, 3))
    wall = colours[(np.floor(p[..., 0] / panel).astype(int) + 4 * (p[..., 1] > rng.uniform(0.8, 2.0))) % 8]
    img = np.where(on_floor[..., None], floor, wall)
    img *= 1.0 - 0.25 * np.clip(t / 25.0, 0, 1)[..., None]  # a little haze with distance
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def visible_floor_point(cfg: SiteConfig, rng: np.random.Generator) -> tuple[float, float]:
    """A floor point comfortably inside the view, 4-7 m ahead."""
    z = rng.uniform(4.0, 7.0)
    half_width = z * (cfg.width / 2) / cfg.focal * 0.6
    return float(rng.uniform(-half_width, half_width)), float(z)


def wander(cfg: SiteConfig, rng: np.random.Generator) -> Motion:
    """Walk between random visible floor points, stopping now and then for an action."""
    parts: list[Motion] = []
    here = visible_floor_point(cfg, rng)
    total = 0
    while total < cfg.frames:
        there = visible_floor_point(cfg, rng)
        dx, dz = there[0] - here[0], there[1] - here[1]
        heading = math.atan2(dx, dz)
        speed = rng.uniform(0.9, 1.5)
        n = max(int(math.hypot(dx, dz) / speed * cfg.fps), 10)
        parts.append(walk(n, cfg.fps, speed=speed, heading=heading, start=here, phase=rng.uniform(0, 2 * math.pi)))
        total += n
        here = there
        if rng.random() < 0.5:
            kind = ("reach", "wave", "squat", "bend")[rng.integers(4)]
            parts.append(action(kind, int(rng.uniform(2.0, 3.5) * cfg.fps), cfg.fps, heading=heading, at=here))
            total += len(parts[-1])
    m = concatenate(parts)
    return Motion(poses=m.poses[: cfg.frames], transl=m.transl[: cfg.frames], fps=cfg.fps)


def make_site(
    cfg: SiteConfig,
    shift: str = "clean",
    body: BodyModel | None = None,
    uap: np.ndarray | None = None,
    progress: bool = True,
) -> CameraSite:
    body = body or load_body_model()
    rng = np.random.default_rng(cfg.seed)
    K, R, C = camera(cfg)
    bg = background(cfg, K, R, C, rng)
    betas = torch.as_tensor(rng.normal(0, 0.8, (1, body.num_betas)), dtype=torch.float32)
    motion = ground(body, wander(cfg, rng), betas)
    apply_shift = parse_shift(shift, uap=uap)
    renderer = SceneRenderer(body.faces, body.smpl.lbs_weights, cfg.width, cfg.height, body.v_template)
    colours = renderer.colours(random_appearance(rng), rng)
    clip = perspective_matrix(K, cfg.width, cfg.height)
    light = R @ np.array([rng.uniform(-0.5, 0.5), -1.0, rng.uniform(0.2, 0.8)])  # from above, in camera axes
    Rt = torch.as_tensor(R, dtype=torch.float32)
    Ct = torch.as_tensor(C, dtype=torch.float32)
    frames, masks, joints, eval_joints = [], [], [], []
    bar = tqdm(total=cfg.frames, desc="rendering site", disable=not progress)
    for start in range(0, cfg.frames, 64):
        sl = slice(start, min(start + 64, cfg.frames))
        n = sl.stop - sl.start
        with torch.no_grad():
            out = body(betas.expand(n, -1), motion.poses[sl], motion.transl[sl])
        to_cam = lambda x: (x - Ct) @ Rt.T  # noqa: E731
        verts = to_cam(out.vertices).numpy()
        joints.append(to_cam(out.joints).numpy())
        eval_joints.append(to_cam(out.eval_joints).numpy())
        for i in range(n):
            t = sl.start + i
            img, mask = renderer.render(verts[i], clip, colours, bg, light_dir=light, ambient=0.45)
            ys, xs = np.nonzero(mask)
            box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) if len(xs) else None
            frames.append(apply_shift(img, index=t, mask=mask, box=box))
            masks.append(mask)
        bar.update(n)
    bar.close()
    renderer.release()
    J = np.concatenate(joints)
    J2 = J[..., :2] / J[..., 2:] * np.diag(K)[:2] + K[:2, 2]
    return CameraSite(
        frames=np.stack(frames),
        masks=np.stack(masks),
        K=K,
        R=R,
        C=C,
        betas=betas[0].numpy(),
        poses=motion.poses.numpy(),
        transl=motion.transl.numpy(),
        joints=J,
        eval_joints=np.concatenate(eval_joints),
        joints_2d=J2,
        config=asdict(cfg),
        shift=shift,
    )


def preview(site: CameraSite, path: Path, frames: int = 4) -> None:
    """A strip of frames with the ground-truth 2D joints and the true mask's outline drawn on."""
    picks = np.linspace(0, len(site.frames) - 1, frames).astype(int)
    tiles = []
    for t in picks:
        img = site.frames[t].copy()
        contours, _ = cv2.findContours(site.masks[t].astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(img, contours, -1, (255, 255, 255), 1)
        j = site.joints_2d[t]
        for c, p in enumerate(PARENTS):
            if p >= 0:
                cv2.line(img, tuple(np.round(j[c]).astype(int)), tuple(np.round(j[p]).astype(int)), (0, 255, 255), 1)
        tiles.append(img)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(np.concatenate(tiles, 1), cv2.COLOR_RGB2BGR))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="render a synthetic camera site")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shift", default="clean", help="e.g. lr-52, gray, thermal, lr-32+noise-4")
    ap.add_argument("--preview", type=Path, default=None, help="also write a PNG strip with the ground truth drawn on")
    args = ap.parse_args(argv)
    site = make_site(SiteConfig(frames=args.frames, seed=args.seed), shift=args.shift)
    site.save(args.out)
    if args.preview:
        preview(site, args.preview)
    print(f"wrote {args.out}/video.avi and ground_truth.npz ({len(site.frames)} frames)")


if __name__ == "__main__":
    main()
