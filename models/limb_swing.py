"""A limb swung whole in the image plane, and how near a mesh's mask lies to a silhouette.

The served limb fit (``models.pose_fit``) is local: an arm raised out of a person's outline and
answered hanging is never found by it. These are the parts of its first step, which swings each arm
to the direction that brings the mesh nearest the silhouette before the fit starts::

    rotmats = point_limb(skin, betas, rotmats, SWUNG_JOINTS[0], 270.0)   # the left arm raised
    near = chamfer_px(mesh_mask, silhouette, distance, visible)          # pixels apart, mean
"""

from __future__ import annotations

import cv2
import numpy as np

from models.body_layout import JOINT_NAMES
from models.skinning import Skinning

# The joints whose limb may be swung whole in the image plane before the fit (PoseFitConfig.swing_deg).
SWUNG_JOINTS: tuple[int, ...] = tuple(JOINT_NAMES.index(n) for n in ("left_shoulder", "right_shoulder"))
LIMB_DEPTH = 2  # a swung limb is aimed by its end, two joints down: a shoulder's wrist


def point_limb(skin: Skinning, betas: np.ndarray, rotmats: np.ndarray, joint: int, degrees: float) -> np.ndarray:
    """rotmats (J, 3, 3) local rotations with ``joint``'s limb turned whole, by the least turn, so that
    the line from the joint to its end (its first child's first child: a shoulder's wrist) lies in the
    image plane pointing ``degrees`` from the image's x axis towards its y axis (camera axes: y down,
    so 90 hangs and 270 is raised); the limb's own bend as given. betas (B,)."""
    posed = skin.pose(betas, rotmats)
    end = joint
    for _ in range(LIMB_DEPTH):
        children = np.flatnonzero(skin.parents == end)
        if not len(children):
            raise ValueError(f"joint {joint} has no limb {LIMB_DEPTH} joints deep to swing")
        end = int(children[0])
    bone = posed.joints[end] - posed.joints[joint]
    bone /= np.linalg.norm(bone)
    angle = np.radians(degrees)
    aim = np.array([np.cos(angle), np.sin(angle), 0.0])
    axis = np.cross(bone, aim)
    sin, cos = float(np.linalg.norm(axis)), float(bone @ aim)
    if sin < 1e-9:  # already along the aim, or straight against it: any axis across the bone will do
        axis, sin = (np.zeros(3), 0.0) if cos > 0 else (np.cross(bone, [0.0, 0.0, 1.0]), 0.0)
    turn = cv2.Rodrigues(axis / max(np.linalg.norm(axis), 1e-12) * np.arctan2(sin, cos))[0]
    # The joint's world rotation G becomes turn @ G; its local one, under its parent's P, is P^T G.
    parent = posed.transforms[skin.parents[joint], :3, :3]
    out = np.array(rotmats, np.float64, copy=True)
    out[joint] = parent.T @ turn @ posed.transforms[joint, :3, :3]
    return out


def chamfer_px(mask: np.ndarray, silhouette: np.ndarray, distance: np.ndarray, visible: np.ndarray) -> float:
    """How far a mesh's mask and a silhouette lie from each other, over the pixels the frame shows: the
    mean distance (pixels) of the silhouette's pixels to the mask plus that of the mask's pixels to
    the silhouette; infinite for a mask with no pixel in view. All (S, S): mask, silhouette and visible
    bool, distance each pixel's to the silhouette (its outside's distance transform)."""
    seen = mask & visible
    if not seen.any():
        return float("inf")
    to_mask = cv2.distanceTransform((~mask).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return float(to_mask[silhouette & visible].mean() + distance[seen].mean())
