"""A static camera's tilt below the horizon, and standing the model's bodies upright in the world.

A weak-perspective crop barely shows how far the camera looks down: a body seen from a camera
tilted 16 degrees projects to nearly the same outline as one standing upright in the camera, only
4% shorter. So the source model answers every body upright in the camera (its pelvis' up axis within
1 degree of the camera's -y on every synthetic site, 16-17 degrees from the truth there;
docs/RESULTS.md, "The camera's tilt"), and MPJPE carries that error on every joint. A static
site's tilt is known to whoever mounted the camera; given it, each answered body is turned about
the camera's x axis by the tilt, which takes the camera's up onto the world's.

    R = tilt_rotation(16.0)                 # (3, 3), applied as R @ p
    pose = tilt_pose(pose, 16.0)            # (72,) the root rotation turned, the articulation kept
    joints = tilt_points(joints, 16.0)      # (..., 3) root-centred joints or vertices, camera axes

The joints in the image are not moved: they are what the image shows.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

MAX_TILT_DEG = 90.0  # exclusive: a camera looking straight down has no horizon to tilt from


def check_tilt(tilt_deg: float) -> float:
    """The tilt as a float; a ValueError names a tilt that is not finite or not within (-90, 90) degrees."""
    tilt = float(tilt_deg)
    if not math.isfinite(tilt) or not -MAX_TILT_DEG < tilt < MAX_TILT_DEG:
        raise ValueError(f"camera tilt must be within (-{MAX_TILT_DEG:g}, {MAX_TILT_DEG:g}) degrees, got {tilt_deg!r}")
    return tilt


def tilt_rotation(tilt_deg: float) -> np.ndarray:
    """(3, 3) the rotation about the camera's x axis (OpenCV axes: y down, z forward) that takes a
    body upright in the camera, up = (0, -1, 0), to one upright in the world seen by a camera tilted
    ``tilt_deg`` below the horizon, up = (0, -cos t, -sin t)."""
    t = math.radians(check_tilt(tilt_deg))
    c, s = math.cos(t), math.sin(t)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def tilt_points(points: np.ndarray, tilt_deg: float) -> np.ndarray:
    """(..., 3) root-centred points in camera axes (joints or vertices) -> the same, turned by the tilt."""
    points = np.asarray(points)
    if points.shape[-1] != 3:
        raise ValueError(f"points must be (..., 3), got shape {points.shape}")
    return (points @ tilt_rotation(tilt_deg).T).astype(points.dtype)


def tilt_pose(pose: np.ndarray, tilt_deg: float) -> np.ndarray:
    """(72,) SMPL theta, axis-angle, root first -> the same body turned by the tilt (the root's
    rotation composed with it; every other joint's rotation is relative to its parent, so kept)."""
    pose = np.asarray(pose)
    if pose.ndim != 1 or pose.size % 3:
        raise ValueError(f"pose must be (3 K,) axis-angle, got shape {pose.shape}")
    out = pose.astype(np.float64)
    root, _ = cv2.Rodrigues(out[:3])
    out[:3] = cv2.Rodrigues(tilt_rotation(tilt_deg) @ root)[0].ravel()
    return out.astype(pose.dtype)
