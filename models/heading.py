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
