"""Hard cases for the person finder: labelled synthetic clips of what real static cameras meet.

    python -m models.synth.hard_cases light-on --out /tmp/hard_cases/light-on
    python -m models.synth.hard_cases shake-3 --out /tmp/hard_cases/shake-3 --frames 200 --seed 1

Each case is the camera site's world (:mod:`models.synth.camera_site`: the same camera, floor and
wall, clothed bodies from :mod:`models.synth.scene_renderer`, motion from
:mod:`models.synth.motion`) with one thing that fools background subtraction:

* ``light-on``: the whole image brightens and shifts its colour balance within 1-2 frames (a lamp
  switched on, auto exposure) and stays so; one person walking throughout.
* ``shake-N``: the camera shakes, every frame translated by a smooth random offset of at most
  ``N`` px (band-limited noise); one person walking.
* ``sway``: a tall leafy plant sways a few to ~15 px with some irregularity; it is not a person
  (0 in every mask); one person walking.
* ``standstill``: a person walks in, stands still for 10 s with only breathing and a little sway,
  then walks out.
* ``crossing``: two people walk in opposite directions at different depths; they overlap in the
  image for a while, the nearer one in front.

The first ``quiet`` frames (40 by default) hold no event, so a background model can settle.

A folder written by :func:`save` holds ``video.avi`` (FFV1, lossless), ``groundtruth.tar`` in the
CDnet/SBI layout (``groundtruth/gt%06d.png``, frame i <-> gt i; uint8: 0 background, 255 person,
170 a 2 px uncertain band across each person's boundary), ``instances.npz`` (``instances``
(T, H, W) int16: 0 background, k for person k, the same k in every frame; ``amodal`` each
person's whole silhouette, occluded parts included, bit-packed along the width), ``case.json``
(case, seed, frames, events with frame numbers, the case's settings and per-frame parameters) and
``background.png`` (the empty scene as frame 0 shows it).

People are rendered one at a time and composited per pixel by their rendered depth, so each
person's mask comes from its own render and an arm in front of the other person is in front.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import re
import tarfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from models.body_model import BodyModel, load_body_model
from models.synth.camera_site import SiteConfig, background, camera
from models.synth.motion import J, Motion, _finish, _relaxed, concatenate, ground, walk
from models.synth.scene_renderer import SceneRenderer, perspective_matrix, random_appearance

logger = logging.getLogger(__name__)

CASES = ("light-on", "shake-N", "sway", "standstill", "crossing")
DEFAULT_FRAMES = {"light-on": 200, "shake": 200, "sway": 200, "standstill": 450, "crossing": 200}
QUIET_FRAMES = 40  # frames before any event, for the background model to settle
FOCAL_PER_WIDTH = 380.0 / 320.0  # camera_site's focal length at its default width: the same view at any size
NEAR_M, FAR_M = 5.0, 7.5  # floor depths (m) at which a whole person is in view: about 155-245 px tall at 640x480
OFFSCREEN_M = 0.7  # how far beyond the view's edge a person starts (m): half a body and a margin
AMBIENT = 0.45
BACKGROUND, UNCERTAIN, PERSON = 0, 170, 255  # CDnet's mask values
FADE = 12  # frames over which motion.concatenate blends one part into the next
BODY_BATCH = 64
MAX_WALK_SPEED = 2.5  # m/s; above this a derived walk is a run (fine in tests, logged)
PREVIEW_MAX_WIDTH = 2560  # px; wider preview strips are scaled down


@dataclass(frozen=True)
class SceneSettings:
    """What every case shares: image size, length, frame rate, seed, sensor noise (grey levels, per
    frame) and the number of event-free frames at the start."""

    width: int = 640
    height: int = 480
    frames: int = 200
    fps: float = 25.0
    seed: int = 0
    noise: float = 2.0
    quiet: int = QUIET_FRAMES

    def __post_init__(self) -> None:
        if self.width < 32 or self.height < 32:
            raise ValueError(f"image size {self.width}x{self.height} is too small; at least 32x32")
        if self.frames < 2:
            raise ValueError(f"frames={self.frames}: a clip needs at least 2 frames")
        if not 0 <= self.quiet < self.frames:
            raise ValueError(f"quiet={self.quiet} must lie in [0, frames={self.frames})")
        if self.noise < 0:
            raise ValueError(f"noise={self.noise} must be >= 0")

    @property
    def focal(self) -> float:
        return FOCAL_PER_WIDTH * self.width


@dataclass(frozen=True)
class LightOn:
    """A global light change at ``frame`` (None: the clip's middle, or ``quiet`` if later): each
    channel's gain goes linearly from ``before`` to ``after`` over ``ramp`` frames (frame
    ``frame + ramp - 1`` is fully ``after``) and stays."""

    frame: int | None = None
    ramp: int = 2
    before: tuple[float, float, float] = (0.72, 0.72, 0.75)  # RGB gains: a dim, slightly cool room
    after: tuple[float, float, float] = (1.12, 1.04, 0.88)  # brighter and warmer: a lamp


@dataclass(frozen=True)
class Shake:
    """Camera shake from frame ``quiet`` on, eased in over ``ramp_s`` seconds: the image content
    moves by a smooth random offset whose length is at most ``amplitude`` px, band-limited to
    ``cutoff_hz``."""

    amplitude: float = 3.0
    cutoff_hz: float = 3.0
    ramp_s: float = 0.4


@dataclass(frozen=True)
class Sway:
    """A tall leafy plant in a pot, ``size`` (width, height) as fractions of the image, swaying
    from frame ``quiet`` on: its top moves sideways by up to ``amplitude`` px at about
    ``frequency_hz``, the amplitude and frequency wandering by ``irregularity``."""

    amplitude: float = 12.0
    frequency_hz: float = 0.5
    irregularity: float = 0.35
    size: tuple[float, float] = (0.24, 0.6)
    ramp_s: float = 1.0


@dataclass(frozen=True)
class Standstill:
    """A person walks in (entering at frame ``quiet``, ``walk_frames`` to reach the spot), stands
    ``still_frames`` breathing and swaying a little, then walks out the other side."""

    still_frames: int = 250
    walk_frames: int = 75
    depth_m: float = 6.0
    breathing: float = 1.0  # scales the breathing and sway angles


@dataclass(frozen=True)
class Crossing:
    """Two people at depths ``near_m`` (id 1) and ``far_m`` (id 2) walk in opposite directions,
    entering at frame ``quiet`` and passing the image's centre together midway through the rest."""

    near_m: float = 5.3
    far_m: float = 6.8


@dataclass(frozen=True)
class HardCase:
    """frames (T, H, W, 3) uint8 RGB; instances (T, H, W) int16 (0 background, k person k);
    amodal (T, P, H, W) bool, each person's whole rendered silhouette, occluded parts included;
    background (H, W, 3) uint8, the empty scene as frame 0 shows it; info: what ``case.json``
    holds."""

    frames: np.ndarray
    instances: np.ndarray
    amodal: np.ndarray
    background: np.ndarray
    info: dict = field(default_factory=dict)

    def groundtruth(self) -> np.ndarray:
        """(T, H, W) uint8 CDnet masks (see :func:`groundtruth`)."""
        return groundtruth(self.instances)


# ---------------------------------------------------------------------------------------------
# masks


def groundtruth(instances: np.ndarray) -> np.ndarray:
    """(T, H, W) or (H, W) int instance maps -> uint8 CDnet masks of the same shape: 255 person,
    0 background, 170 a 2 px band across each person's boundary (the pixel on either side),
    including where one person meets another."""
    inst = np.asarray(instances)
    if inst.ndim == 2:
        return groundtruth(inst[None])[0]
    out = np.where(inst > 0, PERSON, BACKGROUND).astype(np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    for t, frame in enumerate(inst):
        for k in np.unique(frame[frame > 0]):
            m = (frame == k).astype(np.uint8)
            band = (cv2.dilate(m, kernel) > 0) & ~(cv2.erode(m, kernel) > 0)
            out[t][band] = UNCERTAIN
    return out


# ---------------------------------------------------------------------------------------------
# random signals and motion


def smooth_noise(n: int, rng: np.random.Generator, cutoff_hz: float, fps: float, dims: int = 1) -> np.ndarray:
    """(n, dims) band-limited noise (no power above ``cutoff_hz``), each column scaled to a
    largest absolute value of 1."""
    size = max(n, 2)
    spectrum = np.fft.rfft(rng.standard_normal((2 * size, dims)), axis=0)
    spectrum[np.fft.rfftfreq(2 * size, 1.0 / fps) > cutoff_hz] = 0.0
    x = np.fft.irfft(spectrum, n=2 * size, axis=0)[size : size + n]  # away from the wrap-around
    return x / np.maximum(np.abs(x).max(0), 1e-12)


def ease_in(n: int, start: int, length: int) -> np.ndarray:
    """(n,) 0 before ``start``, rising smoothly to 1 over ``length`` frames."""
    t = (np.arange(n) - start) / max(length, 1)
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(t, 0.0, 1.0))


def view_half_width(scene: SceneSettings, depth: float) -> float:
    """Half the width of the view (m) at floor depth ``depth``, at the height of a person's head."""
    tilt = math.radians(SiteConfig.tilt_deg)
    return (depth * math.cos(tilt) + 1.0) * (scene.width / 2) / scene.focal


def floor_point(scene: SceneSettings, rng: np.random.Generator) -> tuple[float, float]:
    """A floor point whose person is wholly in view (the central 60%, depths NEAR_M-FAR_M)."""
    z = rng.uniform(NEAR_M, FAR_M)
    half = z * (scene.width / 2) / scene.focal * 0.6
    return float(rng.uniform(-half, half)), float(z)


def stroll(scene: SceneSettings, rng: np.random.Generator, via: tuple[float, float] | None = None) -> Motion:
    """Walking between random floor points in view for the whole clip, never stopping; with
    ``via``, starting on the view's other side and walking there first."""
    parts: list[Motion] = []
    here = floor_point(scene, rng)
    if via is not None:
        here = (-math.copysign(abs(here[0]) + 0.5, via[0]), here[1])
    total = 0
    while total < scene.frames:
        first_via = via is not None and not parts
        there = via if first_via and via is not None else floor_point(scene, rng)
        dx, dz = there[0] - here[0], there[1] - here[1]
        if math.hypot(dx, dz) < 1.0 and not first_via:
            continue
        speed = rng.uniform(0.9, 1.4)
        n = max(int(math.hypot(dx, dz) / speed * scene.fps), 10)
        heading = math.atan2(dx, dz)
        parts.append(walk(n, scene.fps, speed=speed, heading=heading, start=here, phase=rng.uniform(0, 2 * math.pi)))
        total += n
        here = there
    m = concatenate(parts, fade=FADE)
    return Motion(poses=m.poses[: scene.frames], transl=m.transl[: scene.frames], fps=scene.fps)


def floor_x(scene: SceneSettings, u: float, depth: float) -> float:
    """World x (m) of a person standing at floor depth ``depth`` whose waist is seen at column ``u``."""
    tilt = math.radians(SiteConfig.tilt_deg)
    waist_depth = depth * math.cos(tilt) + 2.0 * math.sin(tilt)  # along the camera's axis, 1 m up
    return -(u - (scene.width - 1) / 2) * waist_depth / scene.focal  # the camera's right is world -x


def stand(
    n: int,
    fps: float,
    heading: float,
    rng: np.random.Generator,
    at: tuple[float, float] = (0.0, 0.0),
    scale: float = 1.0,
) -> Motion:
    """Standing relaxed at ``at`` for ``n`` frames: breathing (chest and shoulders, ~0.25 Hz), the
    weight shifting slowly from foot to foot, the head turning a little."""
    e = _relaxed(n)
    t = torch.arange(n) / fps
    breath = torch.sin(2 * math.pi * 0.25 * t + float(rng.uniform(0, 2 * math.pi)))
    slow = torch.as_tensor(smooth_noise(n, rng, 0.15, fps, dims=2), dtype=torch.float32)
    weight, look = slow[:, 0], slow[:, 1]
    e[:, J["spine3"], 0] += scale * 0.03 * breath
    e[:, J["spine1"], 0] -= scale * 0.015 * breath
    e[:, J["left_shoulder"], 2] += scale * 0.02 * breath
    e[:, J["right_shoulder"], 2] -= scale * 0.02 * breath
    e[:, J["pelvis"], 2] += scale * 0.03 * weight  # the hips roll over one foot ...
    e[:, J["left_hip"], 2] -= scale * 0.03 * weight  # ... while the legs stay upright
    e[:, J["right_hip"], 2] -= scale * 0.03 * weight
    e[:, J["neck"], 1] += scale * 0.12 * look
    transl = torch.zeros(n, 3)
    transl[:, 0] = at[0] + scale * 0.015 * weight
    transl[:, 2] = at[1]
    return _finish(e, torch.full((n,), heading), transl, fps)


def walk_across(
    scene: SceneSettings, depth: float, leftwards: bool, speed: float, start_x: float, n: int, rng: np.random.Generator
) -> Motion:
    """Walking straight across the view at floor depth ``depth`` from world x ``start_x`` for ``n``
    frames. The camera's right is world -x, so ``leftwards`` (in the image) walks towards +x."""
    heading = math.pi / 2 if leftwards else -math.pi / 2
    return walk(n, scene.fps, speed=speed, heading=heading, start=(start_x, depth), phase=rng.uniform(0, 2 * math.pi))


# ---------------------------------------------------------------------------------------------
# rendering


@dataclass(frozen=True)
class _Person:
    motion: Motion
    betas: torch.Tensor  # (1, num_betas)
    colours: np.ndarray  # (V, 3)


Plate = Callable[[int, np.ndarray], np.ndarray]  # (frame, offset (2,)) -> (H, W, 3) float32 background


class _World:
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

    def person(self, motion: Motion, rng: np.random.Generator) -> _Person:
        betas = torch.as_tensor(rng.normal(0, 0.8, (1, self.body.num_betas)), dtype=torch.float32)
        colours = self.renderer.colours(random_appearance(rng), rng)
        return _Person(ground(self.body, motion, betas), betas, colours)

    def plate(self, offset: np.ndarray) -> np.ndarray:
        """The background with its content moved by ``offset`` (x, y) px: (H, W, 3) float32."""
        m, (W, H) = self.margin, (self.scene.width, self.scene.height)
        if not np.any(offset):
            return self.canvas[m : m + H, m : m + W]
        # dst(x, y) = canvas(x + m - dx, y + m - dy)
        M = np.array([[1.0, 0.0, m - offset[0]], [0.0, 1.0, m - offset[1]]])
        return cv2.warpAffine(self.canvas, M, (W, H), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)

    def vertices(self, person: _Person) -> np.ndarray:
        """(T, V, 3) float32 in the camera frame."""
        Rt = torch.as_tensor(self.R, dtype=torch.float32)
        Ct = torch.as_tensor(self.C, dtype=torch.float32)
        out = []
        m = person.motion
        with torch.no_grad():
            for s in range(0, len(m), BODY_BATCH):
                sl = slice(s, min(s + BODY_BATCH, len(m)))
                n = sl.stop - sl.start
                v = self.body(person.betas.expand(n, -1), m.poses[sl], m.transl[sl]).vertices
                out.append(((v - Ct) @ Rt.T).numpy())
        return np.concatenate(out)

    def render(
        self,
        people: list[_Person],
        plate: Plate,
        offsets: np.ndarray | None = None,
        gains: np.ndarray | None = None,
        progress: bool = False,
        desc: str = "rendering",
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every frame: the plate, each person rendered alone and composited by depth, then the
        gains (T, 3) and sensor noise. Offsets (T, 2) move the whole image content (the people
        through the camera's principal point, so their masks stay exact).

        Returns frames (T, H, W, 3) uint8, instances (T, H, W) int16, amodal (T, P, H, W) bool and
        the empty background (H, W, 3) uint8 of frame 0."""
        sc = self.scene
        T, H, W, P = sc.frames, sc.height, sc.width, len(people)
        offsets = np.zeros((T, 2)) if offsets is None else offsets
        gains = np.ones((T, 3)) if gains is None else gains
        noise_rng = np.random.default_rng([sc.seed, 1])
        verts = [self.vertices(p) for p in people]
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
        return frames, instances, amodal, first


def _visible_span(amodal_k: np.ndarray) -> tuple[int, int] | None:
    """(first frame with any pixel, last + 1) of one person's (T, H, W) masks, None if never seen."""
    seen = np.flatnonzero(amodal_k.reshape(len(amodal_k), -1).any(1))
    return (int(seen[0]), int(seen[-1]) + 1) if len(seen) else None


def _presence_events(amodal: np.ndarray) -> list[dict]:
    events = []
    for k in range(amodal.shape[1]):
        span = _visible_span(amodal[:, k])
        if span is None:
            continue
        if span[0] > 0:
            events.append({"frame": span[0], "event": "enters", "person": k + 1})
        if span[1] < len(amodal):
            events.append({"frame": span[1], "event": "leaves", "person": k + 1})
    return events


def _info(name: str, scene: SceneSettings, settings: dict, events: list[dict], people: int, **extra) -> dict:
    events = sorted(events, key=lambda e: e["frame"])
    return {
        "case": name,
        "seed": scene.seed,
        "frames": scene.frames,
        "fps": scene.fps,
        "width": scene.width,
        "height": scene.height,
        "people": people,
        "events": events,
        "scene": asdict(scene),
        "settings": settings,
        **extra,
    }


def _start(scene: SceneSettings, body: BodyModel | None, margin: int = 0) -> tuple[_World, np.random.Generator]:
    rng = np.random.default_rng(scene.seed)
    return _World(scene, body or load_body_model(), rng, margin), rng


def _static(world: _World) -> Plate:
    def plate(t: int, offset: np.ndarray) -> np.ndarray:
        return world.plate(offset)

    return plate


# ---------------------------------------------------------------------------------------------
# the cases


def light_on(
    scene: SceneSettings, settings: LightOn = LightOn(), body: BodyModel | None = None, progress: bool = False
) -> HardCase:
    """One person walking throughout; at ``settings.frame`` the light changes for good."""
    event = max(scene.quiet, scene.frames // 2) if settings.frame is None else settings.frame
    if not scene.quiet <= event < scene.frames:
        raise ValueError(f"light change at frame {event} must lie in [quiet={scene.quiet}, frames={scene.frames})")
    if settings.ramp < 1:
        raise ValueError(f"ramp={settings.ramp} must be >= 1 frame")
    world, rng = _start(scene, body)
    person = world.person(stroll(scene, rng), rng)
    w = np.clip((np.arange(scene.frames) - event + 1) / settings.ramp, 0.0, 1.0)[:, None]
    gains = (1 - w) * np.array(settings.before) + w * np.array(settings.after)
    frames, inst, amodal, bg = world.render([person], _static(world), gains=gains, progress=progress, desc="light-on")
    events = [{"frame": event, "event": "light changes", "until": event + settings.ramp - 1}]
    info = _info("light-on", scene, asdict(settings), events, 1, gains=np.round(gains, 4).tolist())
    return HardCase(frames, inst, amodal, bg, info)


def shake(
    scene: SceneSettings, settings: Shake = Shake(), body: BodyModel | None = None, progress: bool = False
) -> HardCase:
    """One person walking; from frame ``quiet`` the camera shakes by at most ``amplitude`` px.

    The offsets (x, y) by which the image content moves are in ``info["offsets"]``."""
    if not settings.amplitude > 0:
        raise ValueError(f"shake amplitude {settings.amplitude} px must be > 0")
    world, rng = _start(scene, body, margin=math.ceil(settings.amplitude) + 2)
    person = world.person(stroll(scene, rng), rng)
    jitter = smooth_noise(scene.frames, rng, settings.cutoff_hz, scene.fps, dims=2)
    envelope = ease_in(scene.frames, scene.quiet, round(settings.ramp_s * scene.fps))
    offsets = jitter * envelope[:, None]
    offsets *= settings.amplitude / max(float(np.linalg.norm(offsets, axis=1).max()), 1e-12)
    name = f"shake-{settings.amplitude:g}"
    frames, inst, amodal, bg = world.render([person], _static(world), offsets=offsets, progress=progress, desc=name)
    events = [{"frame": scene.quiet, "event": "shake starts", "amplitude_px": settings.amplitude}]
    return HardCase(
        frames, inst, amodal, bg, _info(name, scene, asdict(settings), events, 1, offsets=np.round(offsets, 4).tolist())
    )


def plant(scene: SceneSettings, settings: Sway, rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
    """A leafy plant in a pot: (h, w, 4) float32 RGBA patch (alpha in [0, 1]), with room either
    side to sway, and the row where the pot's rim is (below it nothing moves)."""
    bw, bh = round(settings.size[0] * scene.width), round(settings.size[1] * scene.height)
    pad = math.ceil(settings.amplitude * 1.3) + 2
    w = bw + 2 * pad
    rgb = np.zeros((bh, w, 3), np.uint8)
    alpha = np.zeros((bh, w), np.uint8)
    aa = cv2.LINE_AA
    rim = round(bh * 0.86)
    cx = w // 2
    # the pot: a terracotta trapezoid with a darker rim
    top_half, bottom_half = round(bw * 0.2), round(bw * 0.14)
    pot = np.array(
        [[cx - top_half, rim], [cx + top_half, rim], [cx + bottom_half, bh - 1], [cx - bottom_half, bh - 1]], np.int32
    )
    pot_colour = tuple(int(c) for c in rng.uniform([150, 70, 40], [200, 110, 70]))
    for canvas, colour in ((rgb, pot_colour), (alpha, 255)):
        cv2.fillConvexPoly(canvas, pot, colour, aa)
    cv2.rectangle(rgb, (cx - top_half, rim), (cx + top_half, rim + max(bh // 40, 1)), (110, 50, 30), -1)
    # stems, then leaves in a crown above the pot
    crown_c, crown_r = np.array([cx, bh * 0.48]), np.array([bw * 0.45, bh * 0.4])
    leaf_len = max(bw * 0.13, 3.0)
    n_leaves = max(int(180 * (bw * bh) / (154 * 288)), 30)
    stem_w = max(bw // 60, 1)
    for _ in range(max(n_leaves // 12, 3)):
        end = crown_c + crown_r * rng.uniform(-0.7, 0.7, 2)
        for canvas, colour in ((rgb, (70, 90, 40)), (alpha, 255)):
            cv2.line(canvas, (cx, rim), (int(end[0]), int(end[1])), colour, stem_w, aa)
    for _ in range(n_leaves):
        r, a = math.sqrt(rng.uniform(0, 1)), rng.uniform(0, 2 * math.pi)
        c = crown_c + crown_r * r * np.array([math.cos(a), math.sin(a)])
        length = leaf_len * rng.uniform(0.6, 1.2)
        axes = (max(int(length / 2), 1), max(int(length * rng.uniform(0.14, 0.24)), 1))
        angle = float(rng.uniform(0, 180))
        green = tuple(int(v) for v in rng.uniform([20, 80, 15], [100, 190, 80]))
        centre = (int(c[0]), int(c[1]))
        cv2.ellipse(rgb, centre, axes, angle, 0, 360, green, -1, aa)
        cv2.ellipse(alpha, centre, axes, angle, 0, 360, 255, -1, aa)
        vein = tuple(int(v * 0.6) for v in green)
        cv2.ellipse(rgb, centre, (axes[0], 0), angle, 0, 360, vein, 1, aa)
    patch = np.concatenate([rgb, alpha[..., None]], -1).astype(np.float32)
    patch[..., 3] /= 255.0
    return patch, rim, pad


def sway(
    scene: SceneSettings, settings: Sway = Sway(), body: BodyModel | None = None, progress: bool = False
) -> HardCase:
    """One person walking; a plant beside the path sways from frame ``quiet`` on (0 in every mask).

    ``info["sway"]`` holds the plant's box (x0, y0, x1, y1, including the room it sways in) and
    the top's sideways displacement (px) in every frame."""
    if settings.amplitude < 0:
        raise ValueError(f"sway amplitude {settings.amplitude} px must be >= 0")
    world, rng = _start(scene, body)
    patch, rim, pad = plant(scene, settings, rng)
    h, w = patch.shape[:2]
    left = bool(rng.random() < 0.5)
    x0 = round(scene.width * 0.04) - pad if left else scene.width - round(scene.width * 0.04) - w + pad
    y0 = round(scene.height * 0.62) - h  # the pot stands on the floor behind the farthest walkers
    x0, y0 = int(np.clip(x0, 0, scene.width - w)), int(np.clip(y0, 0, scene.height - h))
    # the person passes in front of the plant once, coming from the view's other side
    in_front = (floor_x(scene, x0 + w / 2, NEAR_M + 0.3), NEAR_M + 0.3)
    person = world.person(stroll(scene, rng, via=in_front), rng)
    T, fps = scene.frames, scene.fps
    slow = smooth_noise(T, rng, 0.3, fps, dims=2)
    freq = settings.frequency_hz * (1 + 0.5 * settings.irregularity * slow[:, 1])
    phase = 2 * np.pi * np.cumsum(freq) / fps + rng.uniform(0, 2 * np.pi)
    amp = settings.amplitude * (1 - settings.irregularity * (0.5 + 0.5 * slow[:, 0]))
    top = amp * np.sin(phase) * ease_in(T, scene.quiet, round(settings.ramp_s * fps))
    rows = np.arange(h, dtype=np.float32)
    bend = np.clip((rim - rows) / rim, 0.0, 1.0) ** 1.5  # 1 at the top, 0 from the pot's rim down
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)

    def plate(t: int, offset: np.ndarray) -> np.ndarray:
        img = world.plate(offset).copy()
        flutter = 0.08 * settings.amplitude * np.sin(2 * np.pi * (rows / max(h / 6, 1) + 1.7 * t / fps))
        dx = (top[t] + flutter * abs(top[t]) / max(settings.amplitude, 1e-6)) * bend
        moved = cv2.remap(patch, xs - dx[:, None].astype(np.float32), ys, cv2.INTER_LINEAR, borderValue=0)
        a = moved[..., 3:]
        region = img[y0 : y0 + h, x0 : x0 + w]
        img[y0 : y0 + h, x0 : x0 + w] = a * moved[..., :3] + (1 - a) * region
        return img

    frames, inst, amodal, bg = world.render([person], plate, progress=progress, desc="sway")
    events = [{"frame": scene.quiet, "event": "sway starts", "amplitude_px": settings.amplitude}]
    passing = np.flatnonzero(amodal[:, 0, y0 : y0 + h, x0 : x0 + w].reshape(T, -1).any(1))
    if len(passing):
        events.append(
            {"frame": int(passing[0]), "event": "person in front of the plant", "until": int(passing[-1]) + 1}
        )
    extra = {"sway": {"box": [x0, y0, x0 + w, y0 + h], "top_px": np.round(top, 3).tolist()}}
    return HardCase(frames, inst, amodal, bg, _info("sway", scene, asdict(settings), events, 1, **extra))


def standstill(
    scene: SceneSettings, settings: Standstill = Standstill(), body: BodyModel | None = None, progress: bool = False
) -> HardCase:
    """A person enters from the image's left at frame ``quiet``, stands ``still_frames`` (the
    still part, after the stop's pose blend, is ``info["still"]`` = [first, last + 1)), then walks
    out to the right."""
    q, w, S = scene.quiet, settings.walk_frames, settings.still_frames
    if w < 2 or S < FADE + 2:
        raise ValueError(f"walk_frames={w} must be >= 2 and still_frames={S} >= {FADE + 2}")
    if q + 2 * w + S > scene.frames:
        raise ValueError(
            f"frames={scene.frames} too few for quiet {q} + walk in {w} + still {S} + walk out {w} = {q + 2 * w + S}"
        )
    world, rng = _start(scene, body)
    edge = view_half_width(scene, settings.depth_m) + OFFSCREEN_M
    spot = float(rng.uniform(-0.25, 0.25)) * view_half_width(scene, settings.depth_m)
    speed = (edge - spot) * scene.fps / w
    if speed > MAX_WALK_SPEED:
        logger.info("standstill: walking %.1f m/s to fit %d frames of walking in", speed, w)
    n_in = q + w
    walk_in = walk_across(scene, settings.depth_m, False, speed, edge + speed * q / scene.fps, n_in, rng)
    facing = -math.pi / 2 - 0.9  # turned most of the way towards the camera
    still = stand(S, scene.fps, facing, rng, scale=settings.breathing)
    out = walk_across(scene, settings.depth_m, False, speed, 0.0, scene.frames - n_in - S, rng)
    m = concatenate([walk_in, still, out], fade=FADE)
    person = world.person(Motion(m.poses[: scene.frames], m.transl[: scene.frames], scene.fps), rng)
    frames, inst, amodal, bg = world.render([person], _static(world), progress=progress, desc="standstill")
    stop, go = n_in, n_in + S
    events = [
        {"frame": stop, "event": "stops"},
        {"frame": stop + FADE, "event": "still"},
        {"frame": go, "event": "walks on"},
        *_presence_events(amodal),
    ]
    info = _info("standstill", scene, asdict(settings), events, 1, still=[stop + FADE, go], speed_mps=round(speed, 3))
    return HardCase(frames, inst, amodal, bg, info)


def crossing(
    scene: SceneSettings, settings: Crossing = Crossing(), body: BodyModel | None = None, progress: bool = False
) -> HardCase:
    """Person 1 (nearer) walks left to right, person 2 (farther) right to left; both enter at frame
    ``quiet`` and pass the image's centre together midway through the rest of the clip."""
    if not 0 < settings.near_m < settings.far_m:
        raise ValueError(f"near_m={settings.near_m} must be > 0 and less than far_m={settings.far_m}")
    q, T = scene.quiet, scene.frames
    meet = (q + T) // 2
    if meet - q < 2:
        raise ValueError(f"frames={T} leave no time to walk after quiet={q}")
    world, rng = _start(scene, body)
    people, speeds = [], []
    for depth, leftwards in ((settings.near_m, False), (settings.far_m, True)):
        edge = view_half_width(scene, depth) + OFFSCREEN_M
        speed = edge * scene.fps / (meet - q)
        # at x = 0 (the image's centre) at frame ``meet``; the image's left is world +x
        start = speed * meet / scene.fps * (-1 if leftwards else 1)
        people.append(world.person(walk_across(scene, depth, leftwards, speed, start, T, rng), rng))
        speeds.append(round(speed, 3))
    if max(speeds) > MAX_WALK_SPEED:
        logger.info("crossing: walking %s m/s to cross within %d frames", speeds, T)
    frames, inst, amodal, bg = world.render(people, _static(world), progress=progress, desc="crossing")
    both = (amodal[:, 0] & amodal[:, 1]).reshape(T, -1).any(1)
    events = [{"frame": meet, "event": "centres cross"}, *_presence_events(amodal)]
    overlap = np.flatnonzero(both)
    if len(overlap):
        events += [
            {"frame": int(overlap[0]), "event": "overlap starts"},
            {"frame": int(overlap[-1]) + 1, "event": "overlap ends"},
        ]
    else:
        logger.warning("crossing: the two people never overlap in the image")
    info = _info(
        "crossing", scene, asdict(settings), events, 2, depths_m=[settings.near_m, settings.far_m], speeds_mps=speeds
    )
    return HardCase(frames, inst, amodal, bg, info)


def parse_case(name: str) -> tuple[str, float | None]:
    """``"shake-3"`` -> ("shake", 3.0); ``"sway"`` -> ("sway", None). Unknown names raise."""
    m = re.fullmatch(r"shake-(\d+(?:\.\d+)?)", name)
    if m:
        amplitude = float(m.group(1))
        if amplitude <= 0:
            raise ValueError(f"case {name!r}: the shake amplitude must be > 0 px")
        return "shake", amplitude
    if name in ("light-on", "sway", "standstill", "crossing"):
        return name, None
    raise ValueError(f"unknown case {name!r}; choose from {', '.join(CASES)} (N in px, e.g. shake-3)")


def default_frames(name: str) -> int:
    return DEFAULT_FRAMES[parse_case(name)[0]]


def render_case(name: str, scene: SceneSettings, body: BodyModel | None = None, progress: bool = False) -> HardCase:
    """Render the case called ``name`` (see :data:`CASES`) with each case's default settings."""
    kind, amplitude = parse_case(name)
    if kind == "shake":
        assert amplitude is not None
        return shake(scene, Shake(amplitude=amplitude), body, progress)
    if kind == "standstill":
        default = Standstill()
        still = min(default.still_frames, scene.frames - scene.quiet - 2 * default.walk_frames)
        if still < default.still_frames:
            logger.warning(
                "standstill: %d frames leave %d still frames (default %d)", scene.frames, still, default.still_frames
            )
        return standstill(scene, Standstill(still_frames=still), body, progress)
    cases: dict[str, Callable[..., HardCase]] = {"light-on": light_on, "sway": sway, "crossing": crossing}
    return cases[kind](scene, body=body, progress=progress)


# ---------------------------------------------------------------------------------------------
# files


def save(case: HardCase, folder: Path, progress: bool = False) -> None:
    """``video.avi``, ``groundtruth.tar``, ``instances.npz``, ``case.json`` and ``background.png``
    in ``folder`` (see the module's docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    _, H, W, _ = case.frames.shape
    writer = cv2.VideoWriter(str(folder / "video.avi"), cv2.VideoWriter.fourcc(*"FFV1"), case.info["fps"], (W, H))
    for f in tqdm(case.frames, desc="video.avi", disable=not progress):
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    masks = case.groundtruth()
    with tarfile.open(folder / "groundtruth.tar", "w") as tar:
        d = tarfile.TarInfo("groundtruth")
        d.type, d.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(d)
        for t, m in enumerate(tqdm(masks, desc="groundtruth.tar", disable=not progress)):
            ok, png = cv2.imencode(".png", m)
            if not ok:
                raise RuntimeError(f"PNG encoding failed for frame {t}")
            member = tarfile.TarInfo(f"groundtruth/gt{t:06d}.png")
            member.size, member.mode = len(png), 0o644
            tar.addfile(member, io.BytesIO(png.tobytes()))
    np.savez_compressed(
        folder / "instances.npz", instances=case.instances, amodal=np.packbits(case.amodal, axis=-1), width=W
    )
    (folder / "case.json").write_text(json.dumps(case.info, indent=1) + "\n")
    cv2.imwrite(str(folder / "background.png"), cv2.cvtColor(case.background, cv2.COLOR_RGB2BGR))


def read_groundtruth(path: Path) -> np.ndarray:
    """(T, H, W) uint8 masks from a CDnet/SBI ``groundtruth.tar`` (``groundtruth/gt%06d.png``),
    in frame order; colour PNGs (SBI's) are read as grey, which keeps 0, 170 and 255."""
    masks: dict[int, np.ndarray] = {}
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            m = re.fullmatch(r"groundtruth/gt(\d{6})\.png", member.name)
            f = tar.extractfile(member) if m else None
            if m and f is not None:
                img = cv2.imdecode(np.frombuffer(f.read(), np.uint8), cv2.IMREAD_GRAYSCALE)
                if img is None:
                    raise ValueError(f"{path}: {member.name} is not a readable PNG")
                masks[int(m.group(1))] = img
    if not masks:
        raise ValueError(f"{path} holds no groundtruth/gt%06d.png members")
    return np.stack([masks[i] for i in sorted(masks)])


def read_instances(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``instances.npz`` -> instances (T, H, W) int16 and amodal (T, P, H, W) bool."""
    with np.load(path) as z:
        amodal = np.unpackbits(z["amodal"], axis=-1, count=int(z["width"])).astype(bool)
        return z["instances"], amodal


def overlay(frame: np.ndarray, instances: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB frame with each person tinted in its own colour, the uncertain band white."""
    colours = np.array([[0, 0, 0], [255, 60, 60], [60, 120, 255], [60, 255, 60], [255, 255, 60]], np.float32)
    img = frame.astype(np.float32)
    person = instances > 0
    tint = colours[np.clip(instances, 0, len(colours) - 1)]
    img[person] = 0.55 * img[person] + 0.45 * tint[person]
    img[mask == UNCERTAIN] = 255
    return img.astype(np.uint8)


def preview(case: HardCase, path: Path, picks: list[int] | None = None) -> None:
    """A PNG strip of frames (default: 4 around the events) with the masks drawn on (:func:`overlay`)."""
    T = len(case.frames)
    if picks is None:
        marks = [e["frame"] for e in case.info.get("events", [])] or [T // 2]
        picks = sorted({int(np.clip(f, 0, T - 1)) for m in marks[:3] for f in (m - 1, m + 2)} | {0, T - 1})
    masks = groundtruth(case.instances[picks])
    tiles = [overlay(case.frames[t], case.instances[t], masks[i]) for i, t in enumerate(picks)]
    for tile, t in zip(tiles, picks, strict=True):
        cv2.putText(tile, str(t), (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 0), 1, cv2.LINE_AA)
    strip = np.concatenate(tiles, 1)
    if strip.shape[1] > PREVIEW_MAX_WIDTH:
        scale = PREVIEW_MAX_WIDTH / strip.shape[1]
        strip = cv2.resize(strip, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="render a labelled hard case for the person finder")
    ap.add_argument("case", help=f"one of {', '.join(CASES)} (shake-N: N px, e.g. shake-3)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--frames", type=int, default=None, help="default: the case's own (200; standstill 450)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--noise", type=float, default=2.0, help="sensor noise per frame (grey levels, sigma)")
    ap.add_argument("--quiet", type=int, default=QUIET_FRAMES, help="event-free frames at the start")
    ap.add_argument("--preview", type=Path, default=None, help="also write a PNG strip with the masks drawn on")
    args = ap.parse_args(argv)
    try:
        frames = args.frames or default_frames(args.case)
        scene = SceneSettings(
            width=args.width, height=args.height, frames=frames, seed=args.seed, noise=args.noise, quiet=args.quiet
        )
    except ValueError as e:
        ap.error(str(e))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    case = render_case(args.case, scene, progress=True)
    rendered = time.perf_counter() - started
    save(case, args.out, progress=True)
    if args.preview:
        preview(case, args.preview)
    events = ", ".join(f"{e['event']} @ {e['frame']}" for e in case.info["events"])
    print(f"wrote {args.out}: {len(case.frames)} frames {args.width}x{args.height}, rendered in {rendered:.1f} s")
    print(f"events: {events}")


if __name__ == "__main__":
    main()
