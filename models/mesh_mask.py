"""A projected mesh's filled silhouette on a pixel grid: the pixels whose centres its triangles cover.

Shared by the served camera fit (``models.silhouette_camera``), the overlays (``service.overlay``)
and the real-footage scorer (``bench.pose_scores``), so that what serving fits to is what the
benchmark scores. Plain NumPy, vectorised over triangles. Of a closed mesh, the faces turned towards
the camera (:func:`facing_camera`) cover the whole silhouette: half the triangles to fill.
"""

from __future__ import annotations

import numpy as np


def crop_pixels(points_xy: np.ndarray, camera: np.ndarray, size: int) -> np.ndarray:
    """(N, 2) camera-axes x, y and a crop's weak perspective (s, t_x, t_y) -> (N, 2) pixels of a
    size x size grid over the crop (pixel centres at integers), as ``models.m2s.crop_to_pixels``
    has the projection in torch."""
    return (camera[0] * np.asarray(points_xy) + camera[1:] + 1.0) * (size / 2.0) - 0.5


def triangle_pixels(tri: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The pixels whose centres lie in (or on the edge of) each triangle, clipped to the frame.

    tri: (F, 3, 2) triangles in frame pixels (pixel centres at integers); shape (H, W).
    Returns (rows, cols), each (K,) int, with repeats where triangles share a pixel."""
    h, w = shape
    tri = np.asarray(tri, np.float64)
    # Pairwise minimum and maximum: a third of the time of .min(1) and .max(1) over three corners.
    first = np.minimum(np.minimum(tri[:, 0], tri[:, 1]), tri[:, 2])
    last = np.maximum(np.maximum(tri[:, 0], tri[:, 1]), tri[:, 2])
    lo = np.maximum(np.ceil(first), 0).astype(np.int64)  # (F, 2) first pixel centre, x then y
    hi = np.minimum(np.floor(last), [w - 1, h - 1]).astype(np.int64)  # (F, 2) last
    span = np.maximum(hi - lo + 1, 0)  # (F, 2)
    count = span[:, 0] * span[:, 1]
    face = np.repeat(np.arange(len(tri)), count)
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    cols = lo[face, 0] + offset % np.maximum(span[face, 0], 1)
    rows = lo[face, 1] + offset // np.maximum(span[face, 0], 1)
    a, b, c = (tri[face, i] for i in range(3))  # (K, 2) each
    q = np.stack([cols, rows], -1).astype(np.float64)

    def cross(o: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return (u[:, 0] - o[:, 0]) * (v[:, 1] - o[:, 1]) - (u[:, 1] - o[:, 1]) * (v[:, 0] - o[:, 0])

    e0, e1, e2 = cross(a, b, q), cross(b, c, q), cross(c, a, q)
    area = cross(a, b, c)
    inside = (area != 0) & (((e0 >= 0) & (e1 >= 0) & (e2 >= 0)) | ((e0 <= 0) & (e1 <= 0) & (e2 <= 0)))
    return rows[inside], cols[inside]


def mesh_mask(pixels: np.ndarray, faces: np.ndarray, shape: tuple[int, int], front_only: bool = False) -> np.ndarray:
    """(V, 2) projected vertices in frame pixels, (F, 3) faces, frame (H, W) -> (H, W) bool: the pixels
    whose centres the mesh covers (every face filled, front or back: the silhouette). With
    ``front_only``, only the faces turned towards the camera (:func:`turned_to_camera`): the same
    silhouette of a closed, outward-wound mesh but for rims one pixel wide, for half the work."""
    pixels, faces = np.asarray(pixels, np.float64), np.asarray(faces, np.int64)
    if pixels.ndim != 2 or pixels.shape[1] != 2 or faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"pixels are (V, 2) and faces (F, 3), got {pixels.shape} and {faces.shape}")
    tri = pixels[faces]
    if front_only:
        tri = tri[turned_to_camera(tri)]
    out = np.zeros(shape, bool)
    rows, cols = triangle_pixels(tri, shape)
    out[rows, cols] = True
    return out


def turned_to_camera(tri: np.ndarray) -> np.ndarray:
    """(F, 3, 2) projected triangles (pixels, y down) of an outward-wound mesh -> (F,) bool: those
    whose normal points towards the camera."""
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    # z of the normal in camera axes (y down, z forward): negative is towards the camera.
    normal_z = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1])
    return normal_z < 0


def facing_camera(pixels: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """The faces (F', 3) of a closed, outward-wound mesh whose projection (V, 2) turns towards the camera.
    They alone cover its silhouette: drawing them is half the work."""
    return faces[turned_to_camera(pixels[faces])]
