"""The camera site's world for one clip: its camera and background, people, and the rendering that
composites them per pixel by depth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from tqdm import tqdm

from models.body_layout import NUM_JOINTS
from models.body_model import BodyModel, load_body_model
from models.synth.camera_site import SiteConfig, background, camera
from models.synth.hard_cases.settings import SceneSettings
from models.synth.motion import Motion, ground
from models.synth.scene_renderer import SceneRenderer, perspective_matrix, random_appearance

AMBIENT = 0.45
BODY_BATCH = 64


@dataclass(frozen=True)
class Person:
    motion: Motion
    betas: torch.Tensor  # (1, num_betas)
    colours: np.ndarray  # (V, 3)


Plate = Callable[[int, np.ndarray], np.ndarray]  # (frame, offset (2,)) -> (H, W, 3) float32 background


class World:
    """The camera, its background and a renderer for one clip (camera_site's geometry)."""

    def __init__(self, scene: SceneSettings, body: BodyModel, rng: np.random.Generator, margin: int = 0):
        self.scene, self.body, self.margin = scene, body, margin
        cfg = SiteConfig(width=scene.width, height=scene.height, focal=scene.focal, fps=scene.fps, seed=scene.seed)
        self.K, self.R, self.C = camera(cfg)
        # A canvas ``margin`` px larger on every side (for shake), centred on the same camera.
        big = SiteConfig(width=scene.width + 2 * margin, height=scene.height + 2 * margin, focal=scene.focal)
        Kb, _, _ = camera(big)
        self.canvas = background(big, Kb, self.R, self.C, rng).astype(np.float32)
        self.light = self.R @ np.array([rng.uniform(-0.5, 0.5), -1.0, rng.uniform(0.2, 0.8)])
        self.renderer = SceneRenderer(body.faces, body.smpl.lbs_weights, scene.width, scene.height, body.v_template)

    def person(self, motion: Motion, rng: np.random.Generator) -> Person:
        betas = torch.as_tensor(rng.normal(0, 0.8, (1, self.body.num_betas)), dtype=torch.float32)
        colours = self.renderer.colours(random_appearance(rng), rng)
        return Person(ground(self.body, motion, betas), betas, colours)

    def plate(self, offset: np.ndarray) -> np.ndarray:
        """The background with its content moved by ``offset`` (x, y) px: (H, W, 3) float32."""
        m, (W, H) = self.margin, (self.scene.width, self.scene.height)
        if not np.any(offset):
            return self.canvas[m : m + H, m : m + W]
        # dst(x, y) = canvas(x + m - dx, y + m - dy)
        M = np.array([[1.0, 0.0, m - offset[0]], [0.0, 1.0, m - offset[1]]])
        return cv2.warpAffine(self.canvas, M, (W, H), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)

    def posed(self, person: Person) -> tuple[np.ndarray, np.ndarray]:
        """The person's vertices (T, V, 3) and SMPL joints (T, 24, 3), float32 in the camera frame."""
        Rt = torch.as_tensor(self.R, dtype=torch.float32)
        Ct = torch.as_tensor(self.C, dtype=torch.float32)
        verts, joints = [], []
        m = person.motion
        with torch.no_grad():
            for s in range(0, len(m), BODY_BATCH):
                sl = slice(s, min(s + BODY_BATCH, len(m)))
                n = sl.stop - sl.start
                out = self.body(person.betas.expand(n, -1), m.poses[sl], m.transl[sl])
                verts.append(((out.vertices - Ct) @ Rt.T).numpy())
                joints.append(((out.joints - Ct) @ Rt.T).numpy())
        return np.concatenate(verts), np.concatenate(joints)

    def project(self, points: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """(T, N, 3) camera-frame points, (T, 2) image offsets -> (T, N, 2) pixels (OpenCV's: the
        centre of the top-left pixel is (0, 0)), as the frames show them."""
        z = np.maximum(points[..., 2:], 1e-6)
        uv = points[..., :2] / z * np.diag(self.K)[:2] + self.K[:2, 2]
        return (uv + offsets[:, None, :]).astype(np.float32)

    def render(
        self,
        people: list[Person],
        plate: Plate,
        offsets: np.ndarray | None = None,
        gains: np.ndarray | None = None,
        progress: bool = False,
        desc: str = "rendering",
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every frame: the plate, each person rendered alone and composited by depth, then the
        gains (T, 3) and sensor noise. Offsets (T, 2) move the whole image content (the people
        through the camera's principal point, so their masks stay exact).

        Returns frames (T, H, W, 3) uint8, instances (T, H, W) int16, amodal (T, P, H, W) bool, the
        empty background (H, W, 3) uint8 of frame 0 and each person's SMPL joints in the image,
        (T, P, 24, 2) float32 pixels (occluded or out of view alike)."""
        sc = self.scene
        T, H, W, P = sc.frames, sc.height, sc.width, len(people)
        offsets = np.zeros((T, 2)) if offsets is None else offsets
        gains = np.ones((T, 3)) if gains is None else gains
        noise_rng = np.random.default_rng([sc.seed, 1])
        posed = [self.posed(p) for p in people]
        verts = [v for v, _ in posed]
        joints_2d = np.stack([self.project(j, offsets) for _, j in posed], 1) if people else None
        frames = np.empty((T, H, W, 3), np.uint8)
        instances = np.zeros((T, H, W), np.int16)
        amodal = np.zeros((T, P, H, W), bool)
        first = np.clip(np.rint(plate(0, offsets[0]) * gains[0]), 0, 255).astype(np.uint8)
        try:
            for t in tqdm(range(T), desc=desc, disable=not progress):
                K = self.K.copy()
                K[:2, 2] += offsets[t]
                clip = perspective_matrix(K, W, H)
                img = plate(t, offsets[t]).copy()
                nearest = np.full((H, W), np.inf, np.float32)
                for k, person in enumerate(people):
                    rgb, mask = self.renderer.render(
                        verts[k][t], clip, person.colours, light_dir=self.light, ambient=AMBIENT
                    )
                    depth = np.frombuffer(
                        self.renderer.fbo.read(attachment=-1, components=1, dtype="f4"), dtype=np.float32
                    ).reshape(H, W)[::-1]
                    amodal[t, k] = mask
                    front = mask & (depth < nearest)
                    img[front] = rgb[front]
                    nearest[front] = depth[front]
                    instances[t][front] = k + 1
                img *= gains[t].astype(np.float32)
                if sc.noise > 0:
                    img += noise_rng.normal(0.0, sc.noise, img.shape).astype(np.float32)
                frames[t] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
        finally:
            self.renderer.release()
        if joints_2d is None:
            joints_2d = np.zeros((T, 0, NUM_JOINTS, 2), np.float32)
        return frames, instances, amodal, first, joints_2d


def start_world(scene: SceneSettings, body: BodyModel | None, margin: int = 0) -> tuple[World, np.random.Generator]:
    """The world for ``scene`` and the random generator that drew it, seeded by ``scene.seed``; every
    case draws the rest of its randomness from that generator, in order."""
    rng = np.random.default_rng(scene.seed)
    return World(scene, body or load_body_model(), rng, margin), rng


def static_plate(world: World) -> Plate:
    """The world's background as a :data:`Plate`: the same in every frame, moved only by the offset."""

    def plate(t: int, offset: np.ndarray) -> np.ndarray:
        return world.plate(offset)

    return plate
