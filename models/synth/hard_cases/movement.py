"""Where people go: band-limited random signals, floor geometry and the walking and standing motions."""

from __future__ import annotations

import math

import numpy as np
import torch

from models.synth.camera_site import SiteConfig
from models.synth.hard_cases.settings import FADE, FAR_M, NEAR_M, SceneSettings
from models.synth.motion import J, Motion, _finish, _relaxed, concatenate, walk


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


def _cycle(n: int, fps: float, rate_hz: float, rng: np.random.Generator) -> torch.Tensor:
    """(n,) an exercise's phase: 0 -> 1 -> 0 smoothly, ``rate_hz`` times a second, from a random start."""
    t = torch.arange(n) / fps
    return 0.5 - 0.5 * torch.cos(2 * math.pi * rate_hz * t + float(rng.uniform(0, 2 * math.pi)))


def _on_the_spot(n: int, at: tuple[float, float]) -> torch.Tensor:
    """(n, 3) the translation of someone staying at floor point ``at`` (x, depth)."""
    transl = torch.zeros(n, 3)
    transl[:, 0], transl[:, 2] = at[0], at[1]
    return transl


def jumping_jacks(
    n: int,
    fps: float,
    heading: float,
    rng: np.random.Generator,
    at: tuple[float, float] = (0.0, 0.0),
    rate_hz: float = 1.0,
) -> Motion:
    """Jumping jacks in place at ``at`` for ``n`` frames, ``rate_hz`` a second: the arms swing from
    the sides to above the shoulders (shoulder z to 1.3, the joint limit) as the legs spread (hips
    z 0.4), and the body hops a few centimetres."""
    e = _relaxed(n)
    phase = _cycle(n, fps, rate_hz, rng)  # 0 closed, 1 open
    e[:, J["left_shoulder"], 2] = -1.25 + 2.55 * phase
    e[:, J["right_shoulder"], 2] = 1.25 - 2.55 * phase
    e[:, J["left_elbow"], 1] = -0.25 + 0.15 * phase
    e[:, J["right_elbow"], 1] = 0.25 - 0.15 * phase
    e[:, J["left_hip"], 2] = 0.4 * phase
    e[:, J["right_hip"], 2] = -0.4 * phase
    transl = _on_the_spot(n, at)
    transl[:, 1] = -0.05 * torch.sin(math.pi * phase)  # y down: the body lifts as the legs pass mid-way
    return _finish(e, torch.full((n,), heading), transl, fps)


def bending(
    n: int,
    fps: float,
    heading: float,
    rng: np.random.Generator,
    at: tuple[float, float] = (0.0, 0.0),
    rate_hz: float = 0.25,
) -> Motion:
    """Bending down to the floor and up again in place at ``at``, ``rate_hz`` times a second: the
    spine folds forwards (0.45 rad at each of its three joints), the hips and knees bend, the arms hang."""
    e = _relaxed(n)
    phase = _cycle(n, fps, rate_hz, rng)  # 0 upright, 1 down
    for joint in ("spine1", "spine2", "spine3"):
        e[:, J[joint], 0] = 0.45 * phase  # x > 0 folds the spine forwards (looked at, rendered)
    e[:, J["left_hip"], 0] = e[:, J["right_hip"], 0] = -0.5 * phase
    e[:, J["left_knee"], 0] = e[:, J["right_knee"], 0] = 0.05 + 0.6 * phase
    return _finish(e, torch.full((n,), heading), _on_the_spot(n, at), fps)


def slow_form(
    n: int,
    fps: float,
    heading: float,
    rng: np.random.Generator,
    at: tuple[float, float] = (0.0, 0.0),
    rate_hz: float = 0.12,
) -> Motion:
    """A slow martial-art form (tai chi's raising and pressing of the arms, with the waist turning)
    in place at ``at``, ``rate_hz`` cycles a second (8 s each by default): the arms rise forwards to
    shoulder height and sink back, the knees bend as they sink (hips 0.35, knees 0.7 rad), the trunk
    turns 0.35 rad either way (the head 0.45) at half the rate, and the weight shifts 8 cm sideways with it.
    Limbs move a few pixels a second: the slowest movement a background model has to keep apart."""
    e = _relaxed(n)
    t = torch.arange(n) / fps
    raise_ = _cycle(n, fps, rate_hz, rng)  # 0 arms down, 1 arms forwards at shoulder height
    sink = 0.5 - 0.5 * torch.cos(2 * math.pi * rate_hz * t + float(rng.uniform(0, 2 * math.pi)))
    turn = torch.sin(math.pi * rate_hz * t + float(rng.uniform(0, 2 * math.pi)))
    for side, sign in (("left", -1.0), ("right", 1.0)):
        e[:, J[f"{side}_shoulder"], 2] = sign * (1.25 - 1.1 * raise_)  # from the sides, lowered ...
        e[:, J[f"{side}_shoulder"], 1] = sign * 1.35 * raise_  # ... to the front, nearly level
        e[:, J[f"{side}_elbow"], 1] = sign * (0.25 + 0.25 * raise_)
        e[:, J[f"{side}_hip"], 0] = -0.35 * sink
        e[:, J[f"{side}_knee"], 0] = 0.05 + 0.7 * sink
        e[:, J[f"{side}_ankle"], 0] = 0.3 * sink
    e[:, J["spine1"], 1] += 0.2 * turn
    e[:, J["spine2"], 1] += 0.15 * turn
    e[:, J["neck"], 1] += 0.1 * turn
    transl = _on_the_spot(n, at)
    transl[:, 0] += 0.08 * turn
    return _finish(e, torch.full((n,), heading), transl, fps)


def walk_across(
    scene: SceneSettings, depth: float, leftwards: bool, speed: float, start_x: float, n: int, rng: np.random.Generator
) -> Motion:
    """Walking straight across the view at floor depth ``depth`` from world x ``start_x`` for ``n``
    frames. The camera's right is world -x, so ``leftwards`` (in the image) walks towards +x."""
    heading = math.pi / 2 if leftwards else -math.pi / 2
    return walk(n, scene.fps, speed=speed, heading=heading, start=(start_x, depth), phase=rng.uniform(0, 2 * math.pi))
