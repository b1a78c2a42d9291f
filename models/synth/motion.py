"""Smooth synthetic motion for camera sites: walking (any heading, turning), reaching, waving,
squatting and bending, joined by cross-fades.

Motions are built as joint angles (see :mod:`models.synth.pose_sampler` for the conventions) that are
smooth functions of time, then converted to SMPL axis-angle poses. The root translation moves
in the ground plane (x, z); :func:`ground` then lifts each frame so the lowest vertex touches
the floor, which needs the body model and so lives outside the generators.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from pytorch3d.transforms import axis_angle_to_matrix, matrix_to_axis_angle

from models.body_layout import JOINT_NAMES, NUM_JOINTS
from models.synth.pose_sampler import euler_to_pose

J = {n: i for i, n in enumerate(JOINT_NAMES)}
ACTIONS = ("reach", "wave", "squat", "bend")


@dataclass
class Motion:
    """poses (T, 72) axis-angle with the heading in the root; transl (T, 3) metres, y up."""

    poses: torch.Tensor
    transl: torch.Tensor
    fps: float

    def __len__(self) -> int:
        return self.poses.shape[0]


def _relaxed(T: int) -> torch.Tensor:
    """(T, 24, 3) angles of a relaxed stance: arms lowered, elbows and knees a little bent."""
    e = torch.zeros(T, NUM_JOINTS, 3)
    e[:, J["left_shoulder"], 2], e[:, J["right_shoulder"], 2] = -1.25, 1.25
    e[:, J["left_elbow"], 1], e[:, J["right_elbow"], 1] = -0.25, 0.25
    e[:, J["left_knee"], 0] = e[:, J["right_knee"], 0] = 0.05
    return e


def _ease(t: torch.Tensor) -> torch.Tensor:
    """0 -> 1 with zero slope at both ends."""
    return 0.5 - 0.5 * torch.cos(math.pi * t.clamp(0, 1))


def _walk_angles(T: int, fps: float, speed: float, phase0: float) -> torch.Tensor:
    cadence = 0.55 + 0.25 * speed  # gait cycles per second
    phi = phase0 + 2 * math.pi * cadence * torch.arange(T) / fps
    s, c = torch.sin(phi), torch.cos(phi)
    amp = min(1.0, 0.35 + 0.4 * speed)
    e = _relaxed(T)
    e[:, J["left_hip"], 0], e[:, J["right_hip"], 0] = -0.45 * amp * s - 0.05, 0.45 * amp * s - 0.05
    e[:, J["left_knee"], 0] = 0.15 + 0.55 * amp * (0.5 - 0.5 * torch.cos(phi - 0.9))
    e[:, J["right_knee"], 0] = 0.15 + 0.55 * amp * (0.5 - 0.5 * torch.cos(phi + math.pi - 0.9))
    e[:, J["left_ankle"], 0], e[:, J["right_ankle"], 0] = 0.15 * c, -0.15 * c
    e[:, J["left_shoulder"], 0], e[:, J["right_shoulder"], 0] = 0.35 * amp * s, -0.35 * amp * s
    e[:, J["left_elbow"], 1] = -0.3 - 0.15 * amp * (1 + s)
    e[:, J["right_elbow"], 1] = 0.3 + 0.15 * amp * (1 - s)
    e[:, J["spine2"], 1] = 0.08 * amp * s
    e[:, J["pelvis"], 1] = -0.06 * amp * s  # the root's y slot is filled by the heading later
    return e


def walk(
    n: int,
    fps: float = 25.0,
    speed: float = 1.2,
    heading: float = 0.0,
    turn_rate: float = 0.0,
    start: tuple[float, float] = (0.0, 0.0),
    phase: float = 0.0,
) -> Motion:
    """Walking at ``speed`` m/s, facing ``heading`` (rad about y; 0 faces +z), turning at ``turn_rate`` rad/s."""
    e = _walk_angles(n, fps, speed, phase)
    t = torch.arange(n) / fps
    h = heading + turn_rate * t
    step = speed / fps
    x = start[0] + torch.cumsum(step * torch.sin(h), 0) - step * torch.sin(h[:1])
    z = start[1] + torch.cumsum(step * torch.cos(h), 0) - step * torch.cos(h[:1])
    return _finish(e, h, torch.stack([x, torch.zeros(n), z], -1), fps)


def _action_target(kind: str) -> dict[tuple[str, int], float]:
    """(joint, axis) -> angle at the height of the action."""
    if kind == "reach":
        return {
            ("right_shoulder", 2): 0.15,
            ("right_shoulder", 1): 1.25,
            ("right_elbow", 1): 0.1,
            ("spine1", 0): 0.3,
            ("spine2", 0): 0.15,
            ("left_hip", 0): -0.15,
            ("right_hip", 0): -0.15,
        }
    if kind == "wave":
        return {("left_shoulder", 2): 0.35, ("left_shoulder", 0): -1.15, ("left_elbow", 1): -1.4, ("head", 1): 0.2}
    if kind == "squat":
        return {
            ("left_hip", 0): -1.7,
            ("right_hip", 0): -1.7,
            ("left_knee", 0): 2.1,
            ("right_knee", 0): 2.1,
            ("left_ankle", 0): 0.3,
            ("right_ankle", 0): 0.3,
            ("spine1", 0): 0.35,
            ("left_hip", 2): 0.25,
            ("right_hip", 2): -0.25,
            ("left_shoulder", 1): -1.1,
            ("right_shoulder", 1): 1.1,
            ("left_shoulder", 2): -0.4,
            ("right_shoulder", 2): 0.4,
        }
    if kind == "bend":
        return {
            ("spine1", 0): 0.65,
            ("spine2", 0): 0.4,
            ("spine3", 0): 0.35,
            ("left_hip", 0): -0.5,
            ("right_hip", 0): -0.5,
            ("neck", 0): -0.2,
            ("left_shoulder", 1): -0.5,
            ("right_shoulder", 1): 0.5,
        }
    raise ValueError(f"unknown action {kind!r}; choose from {ACTIONS}")


def action(kind: str, n: int, fps: float = 25.0, heading: float = 0.0, at: tuple[float, float] = (0.0, 0.0)) -> Motion:
    """Stand at ``at`` facing ``heading``; go into the action, hold it, and come back out."""
    e = _relaxed(n)
    t = torch.arange(n) / max(n - 1, 1)
    w = _ease(t / 0.35) * (1 - _ease((t - 0.65) / 0.35))
    for (joint, axis), angle in _action_target(kind).items():
        e[:, J[joint], axis] = e[:, J[joint], axis] + w * (angle - e[:, J[joint], axis])
    if kind == "wave":  # the hand swings while the arm is up
        e[:, J["left_elbow"], 2] += w * 0.18 * torch.sin(2 * math.pi * 1.8 * torch.arange(n) / fps)
        e[:, J["left_wrist"], 2] += w * 0.5 * torch.sin(2 * math.pi * 1.8 * torch.arange(n) / fps)
    transl = torch.tensor([at[0], 0.0, at[1]]).expand(n, 3).clone()
    return _finish(e, torch.full((n,), heading), transl, fps)


def _finish(e: torch.Tensor, heading: torch.Tensor, transl: torch.Tensor, fps: float) -> Motion:
    e = e.clone()
    e[:, 0, 1] = e[:, 0, 1] + heading
    return Motion(poses=euler_to_pose(e), transl=transl, fps=fps)


def concatenate(parts: list[Motion], fade: int = 12) -> Motion:
    """Join motions end to end, each blended into the next over ``fade`` frames.

    Translation is made continuous (each part starts where the last ended); poses are blended
    on rotations (through matrices, then re-projected), so the joins have no jumps.
    """
    poses, transl = [parts[0].poses], [parts[0].transl]
    for part in parts[1:]:
        shift = transl[-1][-1] - part.transl[0]
        shift[1] = 0.0
        nxt_p, nxt_t = part.poses.clone(), part.transl + shift
        k = min(fade, len(poses[-1]), len(nxt_p))
        w = _ease(torch.arange(1, k + 1) / (k + 1))[:, None, None, None]
        a = axis_angle_to_matrix(poses[-1][-1:].unflatten(-1, (NUM_JOINTS, 3)))
        b = axis_angle_to_matrix(nxt_p[:k].unflatten(-1, (NUM_JOINTS, 3)))
        U, _, Vh = torch.linalg.svd((1 - w) * a + w * b)  # nearest rotation to the blend
        R = U @ Vh
        R = torch.where(
            (torch.linalg.det(R) < 0)[..., None, None], U @ torch.diag(torch.tensor([1.0, 1.0, -1.0])) @ Vh, R
        )
        nxt_p[:k] = matrix_to_axis_angle(R).flatten(-2)
        poses.append(nxt_p)
        transl.append(nxt_t)
    return Motion(poses=torch.cat(poses), transl=torch.cat(transl), fps=parts[0].fps)


def random_motion(n: int, generator: torch.Generator, fps: float = 25.0) -> Motion:
    """A person walking about and stopping for actions, ``n`` frames in all."""

    def u(a: float, b: float) -> float:
        return a + (b - a) * float(torch.rand(1, generator=generator))

    parts: list[Motion] = []
    total, heading = 0, u(-math.pi, math.pi)
    while total < n:
        if not parts or float(torch.rand(1, generator=generator)) < 0.6:
            turn = u(-0.6, 0.6)
            m = walk(
                int(u(2.0, 5.0) * fps), fps, speed=u(0.8, 1.6), heading=heading, turn_rate=turn, phase=u(0, 2 * math.pi)
            )
            heading += turn * len(m) / fps
        else:
            kind = ACTIONS[int(torch.randint(len(ACTIONS), (1,), generator=generator))]
            m = action(kind, int(u(2.0, 4.0) * fps), fps, heading=heading)
        parts.append(m)
        total += len(m)
    out = concatenate(parts)
    return Motion(poses=out.poses[:n], transl=out.transl[:n], fps=fps)


def ground(body, motion: Motion, betas: torch.Tensor | None = None, batch: int = 256) -> Motion:
    """Lift every frame so the body's lowest vertex stands on y = 0."""
    betas = torch.zeros(1, body.num_betas) if betas is None else betas.reshape(1, -1)
    lift = []
    with torch.no_grad():
        for p in motion.poses.split(batch):
            v = body(betas.expand(len(p), -1), p).vertices
            lift.append(-v[..., 1].amin(1))
    transl = motion.transl.clone()
    transl[:, 1] = torch.cat(lift)
    return Motion(poses=motion.poses, transl=transl, fps=motion.fps)
