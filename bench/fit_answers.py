"""Algorithm 1's per-crop fit as an answer of its own: the pseudo-labels adaptation learns from (issue 19).

    spec = FitSpec.parse("ours:10")
    out = fitted_outputs(regressor, images, silhouettes, spec)   # a RegressorOutput

``models.adaptation.fit_parameters`` run as adaptation runs it (its ``AdaptConfig`` with
``max_iter_opt`` N, the CNN frozen, from the regressor's own answer on each crop), so that
``bench.checkpoint_eval --fit`` can score what the fit makes of real people with the same measures
as the regressor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from models.adapt_config import AdaptConfig
from models.adaptation import fit_parameters
from models.alignment import AlignmentTarget
from models.regressor import PoseRegressor, RegressorOutput


@dataclass(frozen=True)
class FitSpec:
    """Algorithm 1's per-crop fit: ``variant``'s objective for ``iterations`` steps (``--fit ours:10``)."""

    variant: str
    iterations: int

    @classmethod
    def parse(cls, text: str) -> FitSpec:
        variant, _, iterations = text.partition(":")
        if not iterations.isdigit() or int(iterations) < 1:
            raise ValueError(f"fit {text!r}: write VARIANT:ITERATIONS, e.g. ours:10")
        spec = cls(variant, int(iterations))
        spec.config()  # an unknown variant fails here, with the choices
        return spec

    @property
    def name(self) -> str:
        return f"{self.variant}:{self.iterations}"

    def config(self) -> AdaptConfig:
        return AdaptConfig(variant=self.variant, max_iter_opt=self.iterations)  # type: ignore[arg-type]


def fitted_outputs(
    regressor: PoseRegressor, images: torch.Tensor, silhouettes: np.ndarray, fit: FitSpec
) -> RegressorOutput:
    """The regressor's answer on (B, 3, S, S) images after ``fit`` on their (B, s, s) silhouettes."""
    target = AlignmentTarget.from_silhouettes(torch.as_tensor(silhouettes))
    with torch.enable_grad():
        fitted, _ = fit_parameters(regressor, images, target, fit.config())
    return regressor.decode(*fitted)
