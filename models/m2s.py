"""M2S (paper §3.2, Fig. 3B): mesh vertices + weak-perspective camera -> binary silhouette.

Three small pieces, each usable alone:

* :func:`weak_perspective` projects camera-frame vertices into crop coordinates (§3.1.1).
* :func:`soft_silhouette` rasterizes them with PyTorch3D into a coverage probability.
* :func:`binarize` is the binary activation with a straight-through gradient, so the maps that
  follow (S2D, D2T) stay binary while gradients still reach the vertices.

Coordinates: the camera frame is OpenCV's (x right, y down, z away from the camera). Crop
coordinates run from -1 (left/top edge) to +1 (right/bottom edge), so ``u = s * x + t_x`` and
``v = s * y + t_y`` with camera ``(s, t_x, t_y)``.

Speed: on the CPU, PyTorch3D's rasterizer pays mostly per face, and its soft (blurred) mode
several times over. A silhouette needs one hard pass over the faces of one orientation (half of
a closed mesh); the gradient needs soft values only on the outline, which are computed from the
faces that pass found there (see :func:`soft_silhouette`; figures in docs/BENCHMARKS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from pytorch3d.renderer.mesh.rasterize_meshes import rasterize_meshes
from pytorch3d.structures import Meshes
from torch import nn


def weak_perspective(vertices: torch.Tensor, camera: torch.Tensor) -> torch.Tensor:
    """Camera-frame vertices (B, V, 3) and cameras (B, 3) = (s, t_x, t_y) -> (B, V, 3) = (u, v, depth)."""
    s, t = camera[:, None, :1], camera[:, None, 1:3]
    return torch.cat([s * vertices[..., :2] + t, vertices[..., 2:]], dim=-1)


def project_points(points: torch.Tensor, camera: torch.Tensor) -> torch.Tensor:
    """(B, N, 3) camera-frame points -> (B, N, 2) crop coordinates."""
    return weak_perspective(points, camera)[..., :2]


def crop_to_pixels(uv: torch.Tensor, image_size: int) -> torch.Tensor:
    """Crop coordinates in [-1, 1] -> pixel coordinates (x, y) with pixel centres at integers."""
    return (uv + 1.0) * (image_size / 2.0) - 0.5


@dataclass(frozen=True)
class SilhouetteSettings:
    """image_size in pixels; sigma_px is the width of the soft edge that carries gradients."""

    image_size: int = 64
    sigma_px: float = 0.5


def _to_ndc(uvz: torch.Tensor) -> torch.Tensor:
    # PyTorch3D's NDC has +x to the left and +y up; crop coordinates have them right and down.
    # Depth is irrelevant to a silhouette: a constant keeps every face in front of the camera.
    return torch.stack([-uvz[..., 0], -uvz[..., 1], torch.ones_like(uvz[..., 2])], dim=-1)


def _one_orientation(pix: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """(B, F) mask of the faces wound one way on screen.

    On a closed mesh every line of sight through the silhouette enters and leaves the surface,
    so the faces of either orientation alone cover the silhouette exactly: half the faces, same
    outline. PyTorch3D's CPU kernel spends about 16 us per face before testing a single pixel,
    so at these image sizes the face count sets its speed.
    """
    tri = pix[:, faces]
    e1, e2 = tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0]
    return (e1[..., 0] * e2[..., 1] - e1[..., 1] * e2[..., 0]) > 0


def point_triangle_signed_distance(p: torch.Tensor, tri: torch.Tensor) -> torch.Tensor:
    """2D signed distance from points to triangles (negative inside), either winding.

    Args:
        p: (..., 2) points. tri: (..., 3, 2) triangles, broadcast against ``p``.
    Returns:
        (...) distances, in the units of the inputs.
    """
    a, b, c = tri.unbind(-2)
    dist, sides = [], []
    for u, v in ((a, b), (b, c), (c, a)):
        e, w = v - u, p - u
        t = ((w * e).sum(-1) / (e * e).sum(-1).clamp_min(1e-12)).clamp(0.0, 1.0)
        dist.append((w - t[..., None] * e).norm(dim=-1))
        sides.append(e[..., 0] * w[..., 1] - e[..., 1] * w[..., 0])
    d = torch.stack(dist).amin(0)
    s = torch.stack(sides)
    inside = (s > 0).all(0) | (s < 0).all(0)
    return torch.where(inside, -d, d)


def soft_silhouette(
    uvz: torch.Tensor, faces: torch.Tensor, settings: SilhouetteSettings
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact coverage from PyTorch3D's rasterizer, and a soft edge for its gradient.

    Args:
        uvz: (B, V, 3) crop coordinates and depth (from :func:`weak_perspective`).
        faces: (F, 3) long; the mesh must be closed.
    Returns:
        hard (B, H, W) in {0, 1}, no gradient: the pixels the mesh covers.
        soft (B, H, W), differentiable in ``uvz``, non-zero only on the outline band of ``hard``
        (the only pixels that can change when vertices move): SoftRas's coverage probability
        1 - prod_k (1 - sigmoid(-d_k / sigma)), with d_k the signed distance to each face that
        covers the pixel or one of its 8 neighbours.

    PyTorch3D's own soft path (blur radius and several faces per pixel, differentiated by its
    backward kernel) gives the same kind of edge but costs about 5x more on the CPU
    (docs/BENCHMARKS.md), because it rasterizes every face with a blur and keeps the K faces
    nearest *in depth*, which inside a tessellated surface are often neighbours that do not
    contain the pixel. Here the rasterizer runs once, without blur, and only outline pixels
    get a distance computation.
    """
    s = settings
    B, H = uvz.shape[0], s.image_size
    W = H
    ndc = _to_ndc(uvz)
    pix = ((1.0 - ndc[..., :2]) * H - 1.0) / 2.0  # (col, row), pixel centres at integers
    with torch.no_grad():
        keep = _one_orientation(pix, faces)
        kept = [faces[k] for k in keep]
        p2f, _, _, _ = rasterize_meshes(
            Meshes(verts=list(ndc.detach()), faces=kept),
            image_size=H,
            blur_radius=0.0,
            faces_per_pixel=1,
            bin_size=0,
            perspective_correct=False,
        )
        p2f = p2f[..., 0]  # (B, H, W) index into the packed kept faces, -1 where empty
        hard = (p2f >= 0).to(uvz.dtype)
        h = hard[:, None]
        band = (F.max_pool2d(h, 3, 1, 1) + F.max_pool2d(-h, 3, 1, 1))[:, 0] > 0
        b, y, x = band.nonzero(as_tuple=True)
        # Candidate faces: whatever covers the pixel or its 8 neighbours, each counted once.
        cand = F.unfold(F.pad(p2f[:, None].float(), (1, 1, 1, 1), value=-1.0), 3)
        cand = cand.view(B, 9, H, W)[b, :, y, x].long()  # (N, 9)
        cand, _ = cand.sort(dim=1)
        valid = (cand >= 0) & torch.cat(
            [torch.ones_like(cand[:, :1], dtype=torch.bool), cand[:, 1:] != cand[:, :-1]], dim=1
        )
        packed_faces = torch.cat(kept)
        face_batch = torch.repeat_interleave(torch.arange(B, device=uvz.device), keep.sum(1))
    tri = pix[face_batch[:, None], packed_faces]  # (F_packed, 3, 2), differentiable
    centres = torch.stack([x, y], -1).to(pix.dtype)
    d = point_triangle_signed_distance(centres[:, None, :], tri[cand.clamp_min(0)])  # (N, 9)
    prob = torch.sigmoid(-d / s.sigma_px) * valid
    soft_band = 1.0 - torch.prod(1.0 - prob, dim=1)
    soft = torch.zeros(B, H, W, dtype=uvz.dtype, device=uvz.device).index_put((b, y, x), soft_band)
    return hard, soft


def binarize(p: torch.Tensor, hard: torch.Tensor | None = None, threshold: float = 0.5) -> torch.Tensor:
    """Binary activation with a straight-through gradient [Hubara et al.]: forward ``p > threshold``
    (or the given exact ``hard`` map), backward the identity into ``p``."""
    if hard is None:
        hard = (p > threshold).to(p.dtype)
    return p + (hard - p).detach()


def m2s(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    camera: torch.Tensor,
    settings: SilhouetteSettings = SilhouetteSettings(),
) -> torch.Tensor:
    """M2S: camera-frame vertices (B, V, 3), faces (F, 3), cameras (B, 3) -> binary silhouettes (B, 1, H, W)."""
    hard, soft = soft_silhouette(weak_perspective(vertices, camera), faces, settings)
    return binarize(soft, hard).unsqueeze(1)


class SilhouetteRenderer(nn.Module):
    """M2S bound to one mesh topology (usually the body model's render proxy)."""

    faces: torch.Tensor  # (F, 3) long, a buffer

    def __init__(self, faces: torch.Tensor, settings: SilhouetteSettings = SilhouetteSettings()):
        super().__init__()
        self.register_buffer("faces", faces.long(), persistent=False)
        self.settings = settings

    def forward(self, vertices: torch.Tensor, camera: torch.Tensor) -> torch.Tensor:
        return m2s(vertices, self.faces, camera, self.settings)
