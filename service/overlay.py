"""Draw predicted meshes onto frames (for reports and for looking at what the service answers)."""

from __future__ import annotations

import cv2
import numpy as np

from models.body_layout import PARENTS
from models.crops import crop_to_frame
from models.mesh_mask import facing_camera


def mesh_pixels(vertices: np.ndarray, camera: np.ndarray, square: tuple[float, float, float]) -> np.ndarray:
    """(V, 3) root-centred camera-frame vertices, crop camera (s, t_x, t_y), crop square -> (V, 2) frame pixels."""
    uv = camera[0] * vertices[:, :2] + camera[1:]
    return crop_to_frame(uv, square)


def draw_mesh(
    frame: np.ndarray, pixels: np.ndarray, faces: np.ndarray, colour=(80, 200, 255), alpha: float = 0.5
) -> np.ndarray:
    """Fill the mesh's projected faces over an RGB frame, blended, with its outline drawn on top."""
    layer = np.zeros(frame.shape[:2], np.uint8)
    polys = np.round(pixels[facing_camera(pixels, faces)] * 4).astype(np.int32)  # 2 bits of sub-pixel precision
    # One triangle at a time: a single fillPoly over all of them fills by parity, so where two
    # triangles overlap (an arm over the torso) it leaves a hole (3% of a test silhouette).
    for tri in polys:
        cv2.fillConvexPoly(layer, tri, 255, lineType=cv2.LINE_8, shift=2)
    out = frame.astype(np.float32)
    m = (layer > 0)[..., None]
    out = np.where(m, (1 - alpha) * out + alpha * np.array(colour, np.float32), out)
    contours, _ = cv2.findContours(layer, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    out = out.astype(np.uint8)
    cv2.drawContours(out, contours, -1, colour, 1)
    return out


def draw_skeleton(frame: np.ndarray, joints_2d: np.ndarray, colour=(255, 255, 0)) -> np.ndarray:
    out = frame.copy()
    for c, p in enumerate(PARENTS):
        if p >= 0:
            cv2.line(
                out, tuple(np.round(joints_2d[c]).astype(int)), tuple(np.round(joints_2d[p]).astype(int)), colour, 1
            )
    return out
