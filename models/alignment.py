"""The self-supervised alignment objectives of adaptation: ours (L_S + L_T) and its ablations.

    target = AlignmentTarget.from_silhouettes(S)                  # S (B, H, W) crop silhouettes
    terms = alignment_terms("ours", proxy_vertices, proxy_faces, camera, target)
    # {"silhouette": (B,), "topology": (B,)}: each term gets its own optimiser (paper §4)

Variants (one switch, same engine):
    ours  L_S + L_T: spatial Chamfer on silhouettes and on their topological skeletons (Eq. 5)
    b1    pixel L2 between silhouettes
    b2    L_S only
    b3    L_S + pixel L2 between skeletons
    a2    point-set Chamfer between projected vertices and foreground pixels (the fitting loss)
Everything a target needs that does not depend on the prediction (its skeleton, the outward
distance maps, its foreground points) is computed once per batch and kept in the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

import torch

from models.adapt_config import S2DGradient, Variant
from models.fitting_loss import fitting_loss, foreground_points
from models.m2s import SilhouetteSettings, m2s
from models.topology import outward_distance, pixel_l2_loss, silhouette_loss, skeleton, skeleton_l2_loss, topology_loss

VARIANTS: tuple[Variant, ...] = get_args(Variant)


@dataclass
class AlignmentTarget:
    """S (B, 1, H, W) float binary silhouettes and what the losses precompute from them."""

    S: torch.Tensor
    T: torch.Tensor
    D_S: torch.Tensor
    D_T: torch.Tensor
    points: tuple[torch.Tensor, torch.Tensor]

    @classmethod
    @torch.no_grad()
    def from_silhouettes(cls, S: torch.Tensor) -> AlignmentTarget:
        S = S.reshape(S.shape[0], 1, *S.shape[-2:]).float()
        T = skeleton(S)
        return cls(S=S, T=T, D_S=outward_distance(S), D_T=outward_distance(T), points=foreground_points(S))

    def __len__(self) -> int:
        return self.S.shape[0]


def alignment_terms(
    variant: str,
    vertices: torch.Tensor,
    faces: torch.Tensor,
    camera: torch.Tensor,
    target: AlignmentTarget,
    gradient: S2DGradient = "distance",
    skeleton_mesh: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """Per-image loss terms (B,) of one variant for camera-frame vertices (B, V, 3) and cameras (B, 3).

    ``vertices``/``faces`` are best the body model's render proxy: the silhouette is the same
    and rasterizing it costs a tenth. ``gradient``: how S2D is differentiated (:func:`models.topology.s2d`).
    ``skeleton_mesh``: (vertices, camera) that the skeleton terms (ours, b3) render instead, when
    they must reach only some of the parameters (``AdaptConfig.skeleton_paths``); the same mesh
    in its forward values, so the loss values do not change, only where their gradients go."""
    if variant == "a2":
        return {"fitting": fitting_loss(vertices, camera, target.S, target.points)}
    S_hat = m2s(vertices, faces, camera, SilhouetteSettings(image_size=target.S.shape[-1]))
    if variant == "b1":
        return {"pixel_l2": pixel_l2_loss(S_hat, target.S)}
    terms = {"silhouette": silhouette_loss(S_hat, target.S, target.D_S, gradient=gradient)}
    if variant in ("b3", "ours") and skeleton_mesh is not None:
        S_hat = m2s(skeleton_mesh[0], faces, skeleton_mesh[1], SilhouetteSettings(image_size=target.S.shape[-1]))
    if variant == "b3":
        terms["skeleton_l2"] = skeleton_l2_loss(skeleton(S_hat, gradient=gradient), target.T)
    elif variant == "ours":
        terms["topology"] = topology_loss(skeleton(S_hat, gradient=gradient), target.T, target.D_T, gradient=gradient)
    elif variant != "b2":
        raise ValueError(f"unknown variant {variant!r}; choose from {VARIANTS}")
    return terms
