"""Which way a body faces, and turning it round.

A regressor can put every joint of a body in the right place in the image and still have it face
the wrong way: from the front and from the back a body's outline and limbs look nearly the same, and
the renders the source model learned from give the front no face. On real footage it turns walkers
round (docs/REAL_POSE.md, "Which way people face"). A static camera knows better for people who walk
towards it or away from it: the box of someone coming closer grows, and they face the camera.

Turning a body round is the mirror through the image plane: depth negated and left and right
swapped. Every joint keeps its image position (the camera is weak perspective), so the answer still
fits the silhouette; only which limb is which, and which way the body faces, change. In parameters:
mirror each joint's rotation across the body's sagittal plane (take the partner's, axis-angle (x, y, z)
-> (x, -y, -z)), then turn the root by pi about the camera's vertical axis.

A body can also face the walk's way and still stand side-on to a person who comes straight at the
camera: on real footage the source model answers people seen from the front or back as side-on
(docs/RESULTS.md). :class:`FaceWalk` turns such a body about the camera's vertical, by the least
angle that brings it within ``FACE_WALK_MAX_OFF_DEG`` of facing the camera (or facing away); unlike
turning round, this moves the joints in the image, towards where a person seen from the front has
them (shoulders and hips apart, the stride in depth).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from models.body_layout import EVAL_JOINT_NAMES, JOINT_NAMES, NUM_JOINTS


def _partner(name: str) -> str:
    for a, b in (("left_", "right_"), ("right_", "left_")):
        if name.startswith(a):
            return b + name[len(a) :]
    return name


JOINT_MIRROR: tuple[int, ...] = tuple(JOINT_NAMES.index(_partner(n)) for n in JOINT_NAMES)
EVAL_MIRROR: tuple[int, ...] = tuple(EVAL_JOINT_NAMES.index(_partner(n)) for n in EVAL_JOINT_NAMES)
# A body seen from the front shows its left shoulder and left hip on the image's right.
FACING_PAIRS: tuple[tuple[int, int], ...] = (
    (JOINT_NAMES.index("left_shoulder"), JOINT_NAMES.index("right_shoulder")),
    (JOINT_NAMES.index("left_hip"), JOINT_NAMES.index("right_hip")),
)
FACING_MIN_SPREAD = 0.1  # of the box's height: summed left-minus-right x under this is a profile, no facing
# How far from facing the camera (or facing away) a body whose person walks towards it (away) may be
# turned, seen from above. Chosen on the labelled clips and pets-walk against BlazePose (the model
# alone, flip averaged; docs/REAL_POSE.md, "Facing the walk"): 60 raised PCK on the walking people of
# all three, 45 and 30 on two of the three, 0 (exactly facing) lowered it on two.
FACE_WALK_MAX_OFF_DEG = 60.0
TOWARDS, AWAY, UNKNOWN = 1, -1, 0
MIRROR_X = np.array([1.0, -1.0, -1.0])  # axis-angle across the sagittal plane
DEPTH_FLIP = np.array([1.0, 1.0, -1.0])  # points through the image plane
TURN_ROUND = np.diag([-1.0, 1.0, -1.0])  # pi about the camera's vertical (y) axis


def facing(
    points: np.ndarray,
    heights: np.ndarray,
    pairs: tuple[tuple[int, int], ...] = FACING_PAIRS,
    min_spread: float = FACING_MIN_SPREAD,
) -> np.ndarray:
    """(N, K, 2) joints in image pixels (SMPL's 24 with the default ``pairs``; any layout with its
    own (left, right) shoulder and hip indices), (N,) box heights -> (N,) int: TOWARDS (+1) the
    camera, AWAY (-1), or UNKNOWN (0, seen from the side): the sign of the left shoulder's and hip's
    x minus the right ones', summed, where it is at least ``min_spread`` of the box height."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 3 or points.shape[2] != 2 or points.shape[1] <= max(max(p) for p in pairs):
        raise ValueError(f"joints must be (N, K, 2) with K > {max(max(p) for p in pairs)}, got {points.shape}")
    spread = sum(points[:, left, 0] - points[:, right, 0] for left, right in pairs)
    clear = np.abs(spread) >= min_spread * np.asarray(heights, dtype=np.float64)
    return np.where(clear, np.sign(spread), UNKNOWN).astype(np.int64)


def against_walk(points: np.ndarray, heights: np.ndarray, approach: np.ndarray) -> np.ndarray:
    """(N, 24, 2) joints in image pixels, (N,) box heights, (N,) walks (TOWARDS, AWAY, UNKNOWN) ->
    (N,) bool: the bodies that face one way (:func:`facing`) while their person walks the other,
    which the service serves turned round."""
    faces = facing(points, heights)
    approach = np.asarray(approach)
    return (faces != UNKNOWN) & (approach != UNKNOWN) & (faces != approach)


def turn_round_points(points: np.ndarray, mirror: tuple[int, ...] = JOINT_MIRROR) -> np.ndarray:
    """(..., K, 3) root-centred camera-axes joints, ``mirror`` each joint's partner in their layout
    (:data:`JOINT_MIRROR` for SMPL's 24, :data:`EVAL_MIRROR` for the 14 evaluation joints) -> turned round."""
    points = np.asarray(points)
    return (points[..., list(mirror), :] * DEPTH_FLIP).astype(points.dtype)


def turn_round_pose(pose: np.ndarray) -> np.ndarray:
    """(72,) SMPL theta, axis-angle, root first -> the same body turned round (see the module)."""
    aa = np.asarray(pose, dtype=np.float64).reshape(NUM_JOINTS, 3)
    out = aa[list(JOINT_MIRROR)] * MIRROR_X
    root, _ = cv2.Rodrigues(out[0])
    out[0] = cv2.Rodrigues(TURN_ROUND @ root)[0].ravel()
    return out.reshape(-1).astype(np.asarray(pose).dtype)


def vertex_mirror(template: np.ndarray, chunk: int = 512) -> tuple[np.ndarray, float]:
    """(V, 3) rest vertices, x across the body -> ((V,) the index of each vertex's mirror image,
    the largest distance between a mirrored vertex and the one taken for it, in the template's units)."""
    v = np.asarray(template, dtype=np.float64)
    mirrored = v * np.array([-1.0, 1.0, 1.0])
    index = np.empty(len(v), dtype=np.int64)
    worst = 0.0
    for start in range(0, len(v), chunk):
        d = np.linalg.norm(mirrored[start : start + chunk, None] - v[None], axis=-1)
        index[start : start + chunk] = d.argmin(axis=1)
        worst = max(worst, float(d.min(axis=1).max()))
    return index, worst


@dataclass(frozen=True)
class TurnRound:
    """Turns a served body round: theta, root-centred 3D joints and vertices (camera axes), and the
    joints in the image (which keep their places and swap names)."""

    vertex_index: np.ndarray  # (V,) each vertex's mirror image, from :func:`vertex_mirror`

    @classmethod
    def of(cls, template: np.ndarray) -> TurnRound:
        return cls(vertex_mirror(template)[0])

    def pose(self, pose: np.ndarray) -> np.ndarray:
        return turn_round_pose(pose)

    def joints(self, joints: np.ndarray) -> np.ndarray:
        """(24, 3) root-centred camera-axes joints -> turned round."""
        return turn_round_points(joints)

    def joints_2d(self, joints_2d: np.ndarray) -> np.ndarray:
        return np.asarray(joints_2d)[list(JOINT_MIRROR)]

    def vertices(self, vertices: np.ndarray) -> np.ndarray:
        """(V, 3) camera-axes vertices -> turned round (the mirror image of each vertex's partner)."""
        return (np.asarray(vertices)[self.vertex_index] * DEPTH_FLIP).astype(np.asarray(vertices).dtype)


def torso_facing(joints: np.ndarray, names: tuple[str, ...] = JOINT_NAMES) -> np.ndarray:
    """(N, K, 3) joints in the layout ``names`` (SMPL's 24 by default; any with left and right hips
    and shoulders and a neck, such as the 14 evaluation joints), camera axes -> (N, 3) unit vectors:
    where each torso faces, the cross product of its left-minus-right (hips and shoulders, summed)
    with its up (neck minus the hips' middle)."""
    j = np.asarray(joints, np.float64)
    if j.ndim != 3 or j.shape[1:] != (len(names), 3):
        raise ValueError(f"joints must be (N, {len(names)}, 3) in the given layout, got {j.shape}")
    at = {n: j[:, names.index(n)] for n in ("left_hip", "right_hip", "left_shoulder", "right_shoulder", "neck")}
    across = at["left_hip"] - at["right_hip"] + at["left_shoulder"] - at["right_shoulder"]
    up = at["neck"] - 0.5 * (at["left_hip"] + at["right_hip"])
    f = np.cross(across, up)
    return f / np.maximum(np.linalg.norm(f, axis=-1, keepdims=True), 1e-9)


def heading_angle(facing_3d: np.ndarray) -> np.ndarray:
    """(N, 3) facing vectors, camera axes -> (N,) radians about the camera's vertical, seen from above:
    atan2(x, z), 0 facing away from the camera (+z), pi facing it. A turn by ``phi`` about the
    vertical (:func:`yaw_points`) adds ``phi``."""
    f = np.asarray(facing_3d, np.float64)
    return np.arctan2(f[..., 0], f[..., 2])


def yaw_matrix(phi: float) -> np.ndarray:
    """(3, 3): a turn by ``phi`` radians about the camera's vertical (y) axis, (x, z) -> (x cos + z sin,
    -x sin + z cos)."""
    c, s = np.cos(phi), np.sin(phi)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def yaw_points(points: np.ndarray, phi: float) -> np.ndarray:
    """(..., 3) root-centred camera-axes points -> turned by ``phi`` about the vertical through the root."""
    points = np.asarray(points)
    return (points @ yaw_matrix(phi).T).astype(points.dtype)


def yaw_pose(pose: np.ndarray, phi: float) -> np.ndarray:
    """(72,) SMPL theta, axis-angle, root first -> the same body turned by ``phi`` about the camera's
    vertical (the root's rotation composed with the turn; the limbs' own rotations are the body's)."""
    out = np.asarray(pose, dtype=np.float64).copy()
    root, _ = cv2.Rodrigues(out[:3])
    out[:3] = cv2.Rodrigues(yaw_matrix(phi) @ root)[0].ravel()
    return out.astype(np.asarray(pose).dtype)


@dataclass(frozen=True)
class FaceWalk:
    """Turns a served body about the camera's vertical so that it faces the way its person walks,
    towards the camera or away from it, to within ``max_off_deg`` seen from above (the least turn
    that does it; bodies already within it, and people whose walk is unknown, stay as they are)."""

    max_off_deg: float = FACE_WALK_MAX_OFF_DEG

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_off_deg <= 180.0:
            raise ValueError(f"max_off_deg={self.max_off_deg} is not in [0, 180]")

    def turn(self, joints: np.ndarray, approach: int) -> float:
        """(24, 3) root-centred camera-axes joints, the person's walk -> the turn in radians (0: none)."""
        if approach == UNKNOWN:
            return 0.0
        goal = np.pi if approach == TOWARDS else 0.0
        off = (goal - float(heading_angle(torso_facing(np.asarray(joints)[None]))[0]) + np.pi) % (2 * np.pi) - np.pi
        limit = np.radians(self.max_off_deg)
        return float(np.sign(off) * (abs(off) - limit)) if abs(off) > limit else 0.0

    def apply(
        self, pose: np.ndarray, joints: np.ndarray, vertices: np.ndarray, approach: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One body's (pose (72,), joints (24, 3), vertices (V, 3)), root-centred camera axes, and its
        person's walk -> the same, turned to face the walk (as given where no turn is needed)."""
        phi = self.turn(joints, approach)
        if phi == 0.0:
            return pose, joints, vertices
        return yaw_pose(pose, phi), yaw_points(joints, phi), yaw_points(vertices, phi)
