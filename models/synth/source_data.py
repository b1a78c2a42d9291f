"""The labelled source domain S: person crops rendered from known bodies (like SURREAL).

    crops = render_crops(1000, SourceConfig(seed=0))   # dict of arrays, see below

Every crop is a clothed body in a plausible pose (free poses and everyday motion), any heading,
a little pitch and roll, over a varied background, framed by the regressor's own weak-perspective
camera, so the labels are exact: pose (root in the camera frame), betas, camera, 3D joints
(root-centred, camera frame) and 2D joints (crop coordinates in [-1, 1]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np
import torch
from pytorch3d.transforms import axis_angle_to_matrix, euler_angles_to_matrix
from tqdm import tqdm

from models.body_model import BodyModel, load_body_model
from models.regressor import rotmat_to_axis_angle
from models.synth.camera_site import SiteConfig, background, camera
from models.synth.degrade import DegradeConfig, degrade
from models.synth.motion import random_motion
from models.synth.photo_backgrounds import load_photos, photo_patch
from models.synth.pose_families import sample_pose_families
from models.synth.pose_sampler import sample_poses
from models.synth.scene_renderer import (
    Appearance,
    SceneRenderer,
    random_appearance,
    varied_appearance,
    weak_perspective_matrix,
)


@dataclass(frozen=True)
class SourceConfig:
    """How source crops are made. The defaults make v2's crops; ``SOURCE_STYLES["v3"]`` adds what real
    cameras show (docs/RESULTS.md, source model v3)."""

    image_size: int = 128
    seed: int = 0
    motion_share: float = 0.5  # the rest are free poses from the sampler
    backgrounds: int = 48
    family_share: float = 0.0  # poses from models.synth.pose_families (raised and crossed arms, sitting, ...)
    photos: str | None = None  # folder of photographs (python -m models.synth.photo_backgrounds)
    photo_share: float = 0.0  # backgrounds cut from the photographs
    varied_appearance: bool = False  # any skin tone, striped clothes
    fill: tuple[float, float] = (0.72, 0.95)  # the body's long side over the crop's side
    offset: float = 0.06  # the body's centre, off the crop's centre (crop units, the crop spans [-1, 1])
    truncate: float = 0.0  # share of crops shifted or enlarged so part of the body falls outside
    second_person: float = 0.0  # share with another body overlapping, behind or in front
    occluder: float = 0.0  # share with an object in front of the legs (a desk, a chair, a bin)
    # share cut by a frame's edge: past a line across the body the crop is one flat colour, as the
    # service fills the part of a crop past the frame, cut around the whole person (models.people.extent)
    frame_edge: float = 0.0
    degrade: DegradeConfig | None = None  # camera degradations (models.synth.degrade)


# Finder crops are cut at 1.2x the blob's long side (models.crops.square_box), and real blobs are
# larger (shadows) or smaller (missed limbs) than the body: hence v3's wider fill and offset.
SOURCE_STYLES = {
    "v2": SourceConfig(),
    "v3": SourceConfig(
        family_share=0.3,
        photos="runs/photos",
        photo_share=0.6,
        varied_appearance=True,
        fill=(0.6, 1.0),
        offset=0.1,
        truncate=0.08,
        second_person=0.2,
        occluder=0.12,
        degrade=DegradeConfig(),
    ),
}
# v3 and people the frame's edge cuts (docs/REAL_POSE.md, "People the frame cuts")
SOURCE_STYLES["v4"] = replace(SOURCE_STYLES["v3"], frame_edge=0.25)
# Which edge cuts a frame-edge crop, (bottom, top, left, right): people leave a static camera's view
# at its bottom most (walking towards it), then at the sides; the top cuts only the tallest.
FRAME_EDGE_SIDES = (0.6, 0.1, 0.15, 0.15)
FRAME_EDGE_STREAM = 7  # the frame edges' random stream, beside the crop's seed
FRAME_EDGE_CUT = (0.3, 0.85)  # the share of the body's extent across the cut that stays in view


def source_config(style: str, image_size: int, seed: int) -> SourceConfig:
    """The named style of crops at this size and seed; a ValueError names an unknown style."""
    if style not in SOURCE_STYLES:
        raise ValueError(f"unknown source style {style!r}: one of {sorted(SOURCE_STYLES)}")
    return replace(SOURCE_STYLES[style], image_size=image_size, seed=seed)


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


def body_poses(n: int, motion_share: float, g: torch.Generator, family_share: float = 0.0) -> torch.Tensor:
    """(n, 69) body poses (no root): a mix of free poses, frames of everyday motion and pose families."""
    f = int(n * family_share)
    k = int((n - f) * motion_share)
    frames = random_motion(max(k, 1) + 100, g).poses[100 : 100 + k, 3:] if k else torch.zeros(0, 69)
    parts = [sample_poses(n - k - f, g, spread=0.25)[:, 3:], frames]
    if f:
        parts.append(sample_pose_families(f, g)[:, 3:])
    return torch.cat(parts)[torch.randperm(n, generator=g)]


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


def _background(cfg: SourceConfig, bank: list[np.ndarray], photos: list[np.ndarray], rng: np.random.Generator):
    """(S, S, 3) uint8: a cut of a photograph (v3) or a rendered, flat or noisy background."""
    if photos and rng.random() < cfg.photo_share:
        return photo_patch(photos, cfg.image_size, rng)
    bg = bank[rng.integers(len(bank))]
    if rng.random() < 0.5:
        bg = bg[:, ::-1]
    return np.ascontiguousarray(bg)


def _occlude(image: np.ndarray, photos: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """An object in front of the lower body: a box from some height down to the crop's bottom edge,
    photo-textured where there are photographs, shaded darker towards the floor."""
    S = image.shape[0]
    top = int(S * rng.uniform(0.45, 0.85))
    x0 = int(S * rng.uniform(-0.3, 0.6))
    x1 = min(S, x0 + int(S * rng.uniform(0.3, 1.2)))
    x0 = max(0, x0)
    if x1 <= x0:
        return image
    texture = photo_patch(photos, S, rng) if photos else np.full((S, S, 3), rng.integers(0, 256, 3), np.uint8)
    shade = np.linspace(1.0, rng.uniform(0.5, 1.0), S - top)[:, None, None]
    out = image.copy()
    out[top:, x0:x1] = (texture[top:, x0:x1] * shade).astype(np.uint8)
    return out


def _frame_edge(image: np.ndarray, body_px: tuple[float, float, float, float], rng: np.random.Generator) -> np.ndarray:
    """``image`` (S, S, 3) as a frame's edge cuts it across the body, whose projection spans
    ``body_px`` = (x0, y0, x1, y1) in crop pixels: past the cut, one flat colour (the crop's mean,
    jittered), as :func:`models.crops.crop` fills what lies past the frame."""
    S = image.shape[0]
    x0, y0, x1, y1 = body_px
    side = rng.choice(4, p=FRAME_EDGE_SIDES)
    keep = rng.uniform(*FRAME_EDGE_CUT)
    fill = np.clip(image.reshape(-1, 3).mean(0) + rng.normal(0, 20, 3), 0, 255).astype(np.uint8)
    out = image.copy()
    if side == 0:
        out[int(np.clip(y0 + keep * (y1 - y0), 0, S)) :] = fill
    elif side == 1:
        out[: int(np.clip(y1 - keep * (y1 - y0), 0, S))] = fill
    elif side == 2:
        out[:, : int(np.clip(x1 - keep * (x1 - x0), 0, S))] = fill
    else:
        out[:, int(np.clip(x0 + keep * (x1 - x0), 0, S)) :] = fill
    return out


def _shifted_camera(cam: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A camera that puts another body beside this one, overlapping it in part."""
    other = cam.copy()
    other[0] *= rng.uniform(0.8, 1.15)
    other[1] += rng.choice([-1.0, 1.0]) * rng.uniform(0.45, 1.1)
    other[2] += rng.uniform(-0.15, 0.15)
    return other


def render_crops(
    n: int, cfg: SourceConfig, body: BodyModel | None = None, progress: bool = False
) -> dict[str, np.ndarray]:
    """n labelled crops: images (n, S, S, 3) uint8, masks (n, S, S) bool, pose (n, 72), betas (n, 10),
    camera (n, 3), joints (n, 24, 3), eval_joints (n, 14, 3), joints_2d (n, 24, 2).

    The mask is the labelled person's whole silhouette, also where another body or an object hides it."""
    body = body or load_body_model()
    rng = np.random.default_rng(cfg.seed)
    # The frame edges draw from a stream of their own: a style's crops are the same people, cut or not.
    edges = np.random.default_rng([cfg.seed, FRAME_EDGE_STREAM])
    g = torch.Generator().manual_seed(cfg.seed)
    S = cfg.image_size
    bank = background_bank(cfg.backgrounds, S, rng)
    photos = load_photos(cfg.photos) if cfg.photos and cfg.photo_share > 0 else []
    renderer = SceneRenderer(body.faces, body.smpl.lbs_weights, S, S, body.v_template)
    root = root_orientations(n, g)
    pose = torch.cat([rotmat_to_axis_angle(root), body_poses(n, cfg.motion_share, g, cfg.family_share)], 1)
    betas = 0.9 * torch.randn(n, body.num_betas, generator=g)

    def appearance() -> Appearance:
        return varied_appearance(rng) if cfg.varied_appearance else random_appearance(rng)

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
            s = 2.0 * rng.uniform(*cfg.fill, len(sl)) / extent.numpy()  # the body's long side over the crop's
            centre = ((lo + hi) / 2).numpy()
            t = -s[:, None] * centre + rng.uniform(-cfg.offset, cfg.offset, (len(sl), 2))
            if cfg.truncate:  # a blob that missed the legs or the head: the crop cuts the body
                cut = rng.random(len(sl)) < cfg.truncate
                t[cut, 1] += rng.choice([-1.0, 1.0], cut.sum()) * rng.uniform(0.2, 0.45, cut.sum())
            cams = np.concatenate([s[:, None], t], 1).astype(np.float32)
            for i in range(len(sl)):
                bg = _background(cfg, bank, photos, rng)
                other = None
                if cfg.second_person and rng.random() < cfg.second_person:
                    j = int(rng.integers(len(sl)))
                    other = (verts[j].numpy(), weak_perspective_matrix(_shifted_camera(cams[j], rng)), rng.random())
                    if other[2] < 0.7:  # behind the labelled person
                        bg, _ = renderer.render(other[0], other[1], renderer.colours(appearance(), rng), bg)
                light = (rng.uniform(-1, 1), rng.uniform(-1, 0.3), rng.uniform(0.3, 1.0))
                img, mask = renderer.render(
                    verts[i].numpy(),
                    weak_perspective_matrix(cams[i]),
                    renderer.colours(appearance(), rng),
                    bg,
                    light_dir=light,
                    ambient=rng.uniform(0.25, 0.6),
                )
                if other is not None and other[2] >= 0.7:  # in front
                    img, _ = renderer.render(other[0], other[1], renderer.colours(appearance(), rng), img)
                if cfg.occluder and rng.random() < cfg.occluder:
                    img = _occlude(img, photos, rng)
                if cfg.degrade is not None:
                    img = degrade(img, rng, cfg.degrade)
                if cfg.frame_edge and edges.random() < cfg.frame_edge:  # after the camera: the fill is the service's
                    xy = (cams[i, 0] * verts[i, :, :2].numpy() + cams[i, 1:] + 1) * S / 2 - 0.5
                    img = _frame_edge(img, (*xy.min(0), *xy.max(0)), edges)
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
