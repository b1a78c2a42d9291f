"""A low-poly stand-in for the body surface, tied to the full mesh by a fixed sparse linear map.

Differentiable silhouettes need the outline, not 13k faces: the rasterizer's cost and, above
all, its backward pass grow with the face count. The proxy is a decimation of the full mesh
whose vertices are barycentric blends of full-mesh vertices, so for any pose and shape
``proxy_vertices = map(vertices)`` is exact and cheap, and gradients flow back to the body.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class RenderProxy:
    """faces (F, 3) into the proxy vertices; vertex_ids, vertex_weights (P, 3) into the full mesh."""

    faces: np.ndarray
    vertex_ids: np.ndarray
    vertex_weights: np.ndarray


def decimate(vertices: np.ndarray, faces: np.ndarray, n_faces: int) -> tuple[np.ndarray, np.ndarray]:
    """Quadric-error decimation to about ``n_faces`` triangles. Returns (vertices, faces)."""
    import fast_simplification

    v, f = fast_simplification.simplify(
        np.asarray(vertices, dtype=np.float64), np.asarray(faces, dtype=np.int32), target_count=n_faces, agg=5.0
    )
    return v, f.astype(np.int64)


def barycentric_map(src_v: np.ndarray, src_f: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each point as a blend of the three vertices of the closest source triangle.

    Returns (vertex ids (P, 3), weights (P, 3)); weights are >= 0 and sum to 1.
    """
    import trimesh

    mesh = trimesh.Trimesh(src_v, src_f, process=False)
    closest, _, tri = trimesh.proximity.closest_point(mesh, points)
    ids = np.asarray(src_f)[tri]
    w = trimesh.triangles.points_to_barycentric(np.asarray(src_v)[ids], closest)
    w = np.clip(w, 0.0, None)
    return ids, w / w.sum(1, keepdims=True)


def make_render_proxy(vertices: np.ndarray, faces: np.ndarray, n_faces: int = 1580) -> RenderProxy:
    """Decimate a rest mesh and tie the result back to it (used for licensed SMPL files, which ship none)."""
    v, f = decimate(vertices, faces, n_faces)
    ids, w = barycentric_map(vertices, faces, v)
    return RenderProxy(faces=f.astype(np.int64), vertex_ids=ids.astype(np.int64), vertex_weights=w.astype(np.float32))


def apply_map(vertex_ids: torch.Tensor, vertex_weights: torch.Tensor, vertices: torch.Tensor) -> torch.Tensor:
    """Blend full-mesh vertices into proxy vertices.

    Args:
        vertex_ids: (P, 3) long.
        vertex_weights: (P, 3).
        vertices: (B, V, 3).
    Returns:
        (B, P, 3).
    """
    return (vertices[:, vertex_ids] * vertex_weights[None, :, :, None]).sum(2)
