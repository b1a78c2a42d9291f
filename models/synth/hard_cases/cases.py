"""The hard cases, one function each, and :func:`render_case`, which renders one by its name."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import asdict, replace

import cv2
import numpy as np

from models.body_model import BodyModel
from models.synth.hard_cases.labels import HardCase
from models.synth.hard_cases.movement import (
    bending,
    ease_in,
    floor_x,
    jumping_jacks,
    slow_form,
    smooth_noise,
    stand,
    stroll,
    view_half_width,
    walk_across,
)
from models.synth.hard_cases.settings import (
    BODY_DEPTH_M,
    FADE,
    MAX_WALK_SPEED,
    NEAR_M,
    OFFSCREEN_M,
    Crossing,
    Group,
    LightOn,
    SceneSettings,
    Shake,
    Standstill,
    Sway,
)
from models.synth.hard_cases.world import start_world, static_plate
from models.synth.motion import Motion, concatenate

logger = logging.getLogger("models.synth.hard_cases")  # the package's logger, as before the split

CASES = ("light-on", "shake-N", "sway", "standstill", "crossing", "group")
DEFAULT_FRAMES = {"light-on": 200, "shake": 200, "sway": 200, "standstill": 450, "crossing": 200, "group": 200}

BEND_TURN = 0.9  # a bending person turns back to the walk's direction: seen in profile, the bend shows most


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


def light_on(
    scene: SceneSettings, settings: LightOn = LightOn(), body: BodyModel | None = None, progress: bool = False
) -> HardCase:
    """One person walking throughout; at ``settings.frame`` the light changes for good."""
    event = max(scene.quiet, scene.frames // 2) if settings.frame is None else settings.frame
    if not scene.quiet <= event < scene.frames:
        raise ValueError(f"light change at frame {event} must lie in [quiet={scene.quiet}, frames={scene.frames})")
    if settings.ramp < 1:
        raise ValueError(f"ramp={settings.ramp} must be >= 1 frame")
    world, rng = start_world(scene, body)
    person = world.person(stroll(scene, rng), rng)
    w = np.clip((np.arange(scene.frames) - event + 1) / settings.ramp, 0.0, 1.0)[:, None]
    gains = (1 - w) * np.array(settings.before) + w * np.array(settings.after)
    frames, inst, amodal, bg, joints = world.render(
        [person], static_plate(world), gains=gains, progress=progress, desc="light-on"
    )
    events = [{"frame": event, "event": "light changes", "until": event + settings.ramp - 1}]
    info = _info("light-on", scene, asdict(settings), events, 1, gains=np.round(gains, 4).tolist())
    return HardCase(frames, inst, amodal, bg, info, joints)


def shake(
    scene: SceneSettings, settings: Shake = Shake(), body: BodyModel | None = None, progress: bool = False
) -> HardCase:
    """One person walking; from frame ``quiet`` the camera shakes by at most ``amplitude`` px.

    The offsets (x, y) by which the image content moves are in ``info["offsets"]``."""
    if not settings.amplitude > 0:
        raise ValueError(f"shake amplitude {settings.amplitude} px must be > 0")
    world, rng = start_world(scene, body, margin=math.ceil(settings.amplitude) + 2)
    person = world.person(stroll(scene, rng), rng)
    jitter = smooth_noise(scene.frames, rng, settings.cutoff_hz, scene.fps, dims=2)
    envelope = ease_in(scene.frames, scene.quiet, round(settings.ramp_s * scene.fps))
    offsets = jitter * envelope[:, None]
    offsets *= settings.amplitude / max(float(np.linalg.norm(offsets, axis=1).max()), 1e-12)
    name = f"shake-{settings.amplitude:g}"
    frames, inst, amodal, bg, joints = world.render(
        [person], static_plate(world), offsets=offsets, progress=progress, desc=name
    )
    events = [{"frame": scene.quiet, "event": "shake starts", "amplitude_px": settings.amplitude}]
    info = _info(name, scene, asdict(settings), events, 1, offsets=np.round(offsets, 4).tolist())
    return HardCase(frames, inst, amodal, bg, info, joints)


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
    world, rng = start_world(scene, body)
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

    frames, inst, amodal, bg, joints = world.render([person], plate, progress=progress, desc="sway")
    events = [{"frame": scene.quiet, "event": "sway starts", "amplitude_px": settings.amplitude}]
    passing = np.flatnonzero(amodal[:, 0, y0 : y0 + h, x0 : x0 + w].reshape(T, -1).any(1))
    if len(passing):
        events.append(
            {"frame": int(passing[0]), "event": "person in front of the plant", "until": int(passing[-1]) + 1}
        )
    extra = {"sway": {"box": [x0, y0, x0 + w, y0 + h], "top_px": np.round(top, 3).tolist()}}
    return HardCase(frames, inst, amodal, bg, _info("sway", scene, asdict(settings), events, 1, **extra), joints)


def standstill(
    scene: SceneSettings, settings: Standstill = Standstill(), body: BodyModel | None = None, progress: bool = False
) -> HardCase:
    """A person enters from the image's left at frame ``quiet``, stays ``still_frames`` on the spot
    (standing, doing jumping jacks, bending or a slow tai chi form: ``settings.activity``; the part
    on the spot, after the stop's pose blend, is ``info["still"]`` = [first, last + 1)), then walks
    out to the right. With
    ``settings.from_start`` they are on the spot from frame 0 (no quiet frames, no walk in;
    ``info["still"]`` starts at 0)."""
    w, S = settings.walk_frames, settings.still_frames
    q, w_in = (0, 0) if settings.from_start else (scene.quiet, w)
    if w < 2 or S < FADE + 2:
        raise ValueError(f"walk_frames={w} must be >= 2 and still_frames={S} >= {FADE + 2}")
    if S + settings.frames_besides_still(scene.quiet) > scene.frames:
        raise ValueError(
            f"frames={scene.frames} too few for quiet {q} + walk in {w_in} + still {S} + walk out {w} = {q + w_in + S + w}"
        )
    world, rng = start_world(scene, body)
    edge = view_half_width(scene, settings.depth_m) + OFFSCREEN_M
    spot = float(rng.uniform(-0.25, 0.25)) * view_half_width(scene, settings.depth_m)
    speed = (edge - spot) * scene.fps / w
    if speed > MAX_WALK_SPEED:
        logger.info("standstill: walking %.1f m/s to fit %d frames of walking in", speed, w)
    n_in = q + w_in
    parts: list[Motion] = []
    if not settings.from_start:  # drawn first, as before from_start, so that seeds render the same clips
        parts.append(walk_across(scene, settings.depth_m, False, speed, edge + speed * q / scene.fps, n_in, rng))
    # where the person stands; after a walk in, concatenate carries them to where it ends
    at = (spot, settings.depth_m) if settings.from_start else (0.0, 0.0)
    facing = -math.pi / 2 - 0.9  # turned most of the way towards the camera
    if settings.activity == "jumping_jacks":
        still = jumping_jacks(S, scene.fps, facing, rng, at=at)
    elif settings.activity == "tai_chi":
        still = slow_form(S, scene.fps, facing, rng, at=at)
    elif settings.activity == "bending":
        still = bending(S, scene.fps, facing + BEND_TURN, rng, at=at)
    else:
        still = stand(S, scene.fps, facing, rng, at=at, scale=settings.breathing)
    out = walk_across(scene, settings.depth_m, False, speed, 0.0, scene.frames - n_in - S, rng)
    m = concatenate([*parts, still, out], fade=FADE)
    person = world.person(Motion(m.poses[: scene.frames], m.transl[: scene.frames], scene.fps), rng)
    frames, inst, amodal, bg, joints = world.render([person], static_plate(world), progress=progress, desc="standstill")
    stop, go = n_in, n_in + S
    settle = 0 if settings.from_start else FADE
    events: list[dict] = [
        {"frame": stop, "event": "in view" if settings.from_start else "stops"},
        {"frame": stop + settle, "event": "still"},
        {"frame": go, "event": "walks on"},
        *_presence_events(amodal),
    ]
    info = _info("standstill", scene, asdict(settings), events, 1, still=[stop + settle, go], speed_mps=round(speed, 3))
    return HardCase(frames, inst, amodal, bg, info, joints)


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
    world, rng = start_world(scene, body)
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
    frames, inst, amodal, bg, joints = world.render(people, static_plate(world), progress=progress, desc="crossing")
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
    return HardCase(frames, inst, amodal, bg, info, joints)


def group(
    scene: SceneSettings, settings: Group = Group(), body: BodyModel | None = None, progress: bool = False
) -> HardCase:
    """``settings.people`` walk from the image's left to its right one behind the other, the first
    entering at frame ``quiet`` (ids 1, 2, ... front to back)."""
    q, T = scene.quiet, scene.frames
    world, rng = start_world(scene, body)
    edge = view_half_width(scene, settings.depth_m) + OFFSCREEN_M
    step = BODY_DEPTH_M + settings.gap_m
    # the image's left is world +x; walking rightwards goes towards -x, so those behind start further +x
    people = [
        world.person(
            walk_across(
                scene,
                settings.depth_m,
                False,
                settings.speed_mps,
                edge + settings.speed_mps * q / scene.fps + k * step,
                T,
                rng,
            ),
            rng,
        )
        for k in range(settings.people)
    ]
    frames, inst, amodal, bg, joints = world.render(people, static_plate(world), progress=progress, desc="group")
    info = _info("group", scene, asdict(settings), _presence_events(amodal), settings.people)
    return HardCase(frames, inst, amodal, bg, info, joints)


def parse_case(name: str) -> tuple[str, float | None]:
    """``"shake-3"`` -> ("shake", 3.0); ``"sway"`` -> ("sway", None). Unknown names raise."""
    m = re.fullmatch(r"shake-(\d+(?:\.\d+)?)", name)
    if m:
        amplitude = float(m.group(1))
        if amplitude <= 0:
            raise ValueError(f"case {name!r}: the shake amplitude must be > 0 px")
        return "shake", amplitude
    if name in ("light-on", "sway", "standstill", "crossing", "group"):
        return name, None
    raise ValueError(f"unknown case {name!r}; choose from {', '.join(CASES)} (N in px, e.g. shake-3)")


def default_frames(name: str) -> int:
    return DEFAULT_FRAMES[parse_case(name)[0]]


def render_case(
    name: str,
    scene: SceneSettings,
    body: BodyModel | None = None,
    progress: bool = False,
    standing: Standstill = Standstill(),
) -> HardCase:
    """Render the case called ``name`` (see :data:`CASES`) with each case's default settings; a
    standstill with ``standing``'s, its still frames cut to what ``scene.frames`` leaves."""
    kind, amplitude = parse_case(name)
    if kind == "shake":
        assert amplitude is not None
        return shake(scene, Shake(amplitude=amplitude), body, progress)
    if kind == "standstill":
        still = min(standing.still_frames, scene.frames - standing.frames_besides_still(scene.quiet))
        if still < standing.still_frames:
            logger.warning(
                "standstill: %d frames leave %d still frames (asked %d)", scene.frames, still, standing.still_frames
            )
        return standstill(scene, replace(standing, still_frames=still), body, progress)
    cases: dict[str, Callable[..., HardCase]] = {
        "light-on": light_on,
        "sway": sway,
        "crossing": crossing,
        "group": group,
    }
    return cases[kind](scene, body=body, progress=progress)
