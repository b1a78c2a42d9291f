"""The adaptation's settings and their named choices, torch-free, so that the API validates
requests against the very types the engine uses (:mod:`models.adaptation` runs them).

    cfg = AdaptConfig(variant="b2", iterations=100)
    get_args(Variant)             # ('ours', 'b1', 'b2', 'b3', 'a2')

Why each default is what it is, with the measurements: docs/RESULTS.md ("Adaptation settings").
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal, get_args

# The alignment objective (paper §4.3): B1 pixel L2, B2 L_S only, B3 L_S + skeleton L2,
# A2 the point-set fitting loss, "ours" L_S + L_T.
Variant = Literal["ours", "b1", "b2", "b3", "a2"]
# Controls, not methods: "prior" is the shape prior as the only gradient (L_S only sets its scale).
Control = Literal["prior"]
# How S2D is differentiated: by the distance (each distance's gradient on the zeros that decide
# it) or through Eq. 2's erosions literally.
S2DGradient = Literal["distance", "erosions"]
# What the skeleton terms may move: every parameter, or the articulation (pose latent and shape).
SkeletonPaths = Literal["all", "articulation"]
# One Adam on the sum of the terms, one per term (the paper's form), or one on the sum of each
# term over its own current size.
Optimisers = Literal["joint", "separate", "balanced"]
# Batch-norm statistics: the source's, frozen, or re-estimated on the target.
BatchNorm = Literal["frozen", "adapt"]


@dataclass(frozen=True)
class AdaptConfig:
    """Paper defaults where they transfer (batch 16, K = 4, MaxIter_opt = 10, Adam). The paper's CNN
    learning rate, 1e-6, is for an ImageNet ResNet-50; the ``cpu`` preset's ResNet-18 trained from
    scratch on the synthetic source world needs a larger one. The iteration count, the S2D
    gradient and the optimiser layout were chosen on the tuning site (docs/RESULTS.md)."""

    variant: Variant | Control = "ours"
    iterations: int = 60
    batch: int = 16
    K: int = 4
    max_iter_opt: int = 10
    lr: float = 2e-5
    lr_opt: float = 2e-2
    w_betas: float = 1.0  # times the batch's mean alignment loss scale: shape stays near the mean
    # times the same scale: the root rotation stays near the source model's for the same crop (a
    # silhouette hardly tells a body's front from its back, so alignment alone may turn it round)
    w_root: float = 0.0
    # times the same scale: a person whose track walks towards the camera or away from it is kept
    # facing that way (models.facing_loss; zero for bodies already facing it, and for unknown walks)
    w_facing: float = 0.0
    batchnorm: BatchNorm = "frozen"
    optimisers: Optimisers = "joint"
    s2d_gradient: S2DGradient = "distance"
    skeleton_paths: SkeletonPaths = "all"
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        choices = {
            "variant": get_args(Variant) + get_args(Control),
            "batchnorm": get_args(BatchNorm),
            "optimisers": get_args(Optimisers),
            "s2d_gradient": get_args(S2DGradient),
            "skeleton_paths": get_args(SkeletonPaths),
        }
        for name, allowed in choices.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"unknown {name} {value!r}; choose from {allowed}")
        for name in ("iterations", "batch", "K"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("w_root", "w_facing"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be non-negative, got {getattr(self, name)}")
        if self.max_iter_opt < 0:
            raise ValueError(f"max_iter_opt must be non-negative, got {self.max_iter_opt}")

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))
