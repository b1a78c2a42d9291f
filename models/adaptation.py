"""Deployment-time adaptation (paper §3.4, Algorithm 1): self-supervised, from silhouettes only.

    result = adapt(regressor, train, AdaptConfig(variant="ours"), held_out=held,
                   progress=print, should_stop=lambda: cancelled)
    result.regressor, result.report.health_before, result.report.health_after

Algorithm 1, as written: on iterations with ``iter % K != 0`` the CNN is updated directly on the
alignment terms; on the others the SMPL parameters Theta_opt, initialised from the CNN's own
prediction, are fitted for ``max_iter_opt`` steps on the same terms with the CNN frozen, and
the CNN is then pulled towards them by L_Theta = ||Theta_hat - Theta_opt||^2. The alignment terms
share one Adam by default; ``optimisers="separate"`` gives each its own, as the paper does (see
:class:`AdaptConfig` for why that is not the default). The pose goes through the frozen prior
decoder Psi, and shape is kept near the mean.

The input regressor is never modified: adaptation works on a copy, so a failed or cancelled
run leaves the serving model as it was.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, get_args

import numpy as np
import torch
from torch import nn

from models.alignment import VARIANTS, AlignmentTarget, alignment_terms
from models.health import Health, health_score, images_tensor
from models.regressor import PoseRegressor, RegressorOutput
from models.target_data import TargetSet
from models.topology import Gradient


# "prior": the shape prior alone. L_S is computed only to scale the prior as in every variant, and
# gives no gradient: the control that says how much of an adaptation's gain the silhouettes made.
CONTROLS = ("prior",)


@dataclass
class AdaptConfig:
    """Paper defaults where they transfer (batch 16, K = 4, MaxIter_opt = 10, Adam). The paper's CNN
    learning rate, 1e-6, is for an ImageNet ResNet-50; the ``cpu`` preset's ResNet-18 trained from
    scratch on our source world needs a larger one (docs/RESULTS.md says how it was chosen)."""

    variant: str = "ours"
    # Chosen on the tuning site (bench/tune_adaptation.py, docs/RESULTS.md): held-out PA-MPJPE is
    # lowest near 60 iterations there and climbs back after about 100, and nothing stops early.
    iterations: int = 60
    batch: int = 16
    K: int = 4
    max_iter_opt: int = 10
    lr: float = 2e-5
    lr_opt: float = 2e-2
    w_betas: float = 1.0  # times the batch's mean alignment loss scale: shape stays near the mean
    batchnorm: str = "frozen"  # "frozen": source statistics; "adapt": re-estimated on the target
    # "joint": one Adam on the sum of the terms; "separate": one Adam per term, as the paper has it;
    # "balanced": one Adam on the sum of each term over its own current size (the gradient of the
    # sum of their logs). It did not help: L_T's value is a third of L_S's, but its gradient is
    # ~1e4 times smaller under the literal S2D gradient (see s2d_gradient; docs/RESULTS.md).
    # Separate Adams each take a full-size step, so together they step twice as far; at our
    # learning rates that made the Theta_opt fit climb instead of descend (docs/RESULTS.md).
    optimisers: str = "joint"
    # How S2D is differentiated: "distance" (each distance's gradient on the zeros that decide it)
    # or "erosions" (Eq. 2 literally; its gradient grows ~9x per step of depth, so L_S drowns L_T
    # and the shape prior). Chosen on the tuning site: by the distance is better on 7 of 8 shifts
    # (docs/RESULTS.md). L_T then pulls as hard as L_S, but in nearly the same direction.
    s2d_gradient: Gradient = "distance"
    # Which parameters the skeleton terms (L_T, and B3's skeleton L2) may move: "all", as the paper
    # has it, or "articulation": the pose latent and shape only, with the root rotation and camera
    # held where they are for that term. Why: with "all", L_T's gradient on the CNN points where
    # L_S's does (cosine ~0.93), because the camera's path carries most of both; the paper's claim
    # is that L_T is the articulation-centric term. Measured on the tuning site: no different from
    # "all" or from B2 (docs/RESULTS.md), so "all" stays the default.
    skeleton_paths: str = "all"
    seed: int = 0
    device: str = "auto"

    def __post_init__(self):
        if self.variant not in VARIANTS + CONTROLS:
            raise ValueError(f"unknown variant {self.variant!r}; choose from {VARIANTS + CONTROLS}")
        if self.optimisers not in ("separate", "joint", "balanced"):
            raise ValueError("optimisers must be 'separate', 'joint' or 'balanced'")
        if self.s2d_gradient not in get_args(Gradient):
            raise ValueError(f"s2d_gradient must be one of {get_args(Gradient)}")
        if self.skeleton_paths not in ("all", "articulation"):
            raise ValueError("skeleton_paths must be 'all' or 'articulation'")
        if self.batchnorm not in ("frozen", "adapt"):
            raise ValueError("batchnorm must be 'frozen' or 'adapt'")
        if self.iterations < 1 or self.batch < 1 or self.K < 1 or self.max_iter_opt < 0:
            raise ValueError("iterations, batch and K must be positive; max_iter_opt non-negative")


@dataclass
class Progress:
    iteration: int
    iterations: int
    losses: dict[str, float]
    elapsed_s: float
    remaining_s: float


@dataclass
class AdaptationReport:
    config: dict
    history: list[dict] = field(default_factory=list)  # one entry per iteration: losses, kind, time
    health_before: Health | None = None
    health_after: Health | None = None
    cancelled: bool = False
    iterations_done: int = 0
    wall_s: float = 0.0
    ms_per_fit_iteration: float | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        d["health_before"] = self.health_before.as_dict() if self.health_before else None
        d["health_after"] = self.health_after.as_dict() if self.health_after else None
        return d


@dataclass
class AdaptationResult:
    regressor: PoseRegressor
    report: AdaptationReport



def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def set_adaptation_mode(regressor: PoseRegressor, batchnorm: str) -> None:
    """Dropout off; batch norm frozen to its source statistics unless asked to re-estimate them."""
    regressor.eval()
    if batchnorm == "adapt":
        for m in regressor.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.train()


def total(terms: dict[str, torch.Tensor]) -> torch.Tensor:
    return sum(t.mean() for t in terms.values())


def articulation_only(regressor: PoseRegressor, out: RegressorOutput) -> tuple[torch.Tensor, torch.Tensor]:
    """The same bodies (B, V, 3) and cameras (B, 3), with the root rotation and the camera cut off
    from the graph: a loss on them moves only the pose latent and the shape."""
    rotmats = torch.cat([out.rotmats[:, :1].detach(), out.rotmats[:, 1:]], dim=1)
    posed = regressor.body(out.betas, rotmats)
    return posed.vertices - posed.joints[:, :1], out.camera.detach()


def predicted_terms(regressor: PoseRegressor, out: RegressorOutput, target: AlignmentTarget, cfg: AdaptConfig
                    ) -> dict[str, torch.Tensor]:
    body = regressor.body
    if not torch.isfinite(out.vertices).all():
        raise FloatingPointError("adaptation diverged: the predicted meshes are not finite (lower the learning rate)")
    skeleton_mesh = None
    if cfg.skeleton_paths == "articulation" and cfg.variant in ("ours", "b3"):
        vertices, camera = articulation_only(regressor, out)
        skeleton_mesh = (body.proxy_vertices(vertices), camera)
    # The prior control needs L_S's value only (its scale), so no graph is built for it.
    with torch.set_grad_enabled(cfg.variant != "prior" and torch.is_grad_enabled()):
        terms = alignment_terms("b2" if cfg.variant == "prior" else cfg.variant, body.proxy_vertices(out.vertices),
                                body.proxy_faces, out.camera, target, cfg.s2d_gradient, skeleton_mesh)
    # Shape prior: betas are unit-variance, so their squared norm is their log-likelihood up to a
    # constant; scaled to the alignment loss so the weight means the same for every variant.
    scale = total(terms).detach().clamp_min(1.0)
    first = next(iter(terms))
    terms[first] = terms[first] + cfg.w_betas * scale * out.betas.pow(2).mean(-1)
    return terms


def step_each(optimisers: dict[str, torch.optim.Optimizer], terms: dict[str, torch.Tensor],
              params: list[torch.Tensor], lr: float, mode: str) -> None:
    """One step of each term's own optimiser on that term's own gradient ("separate"), or of one
    optimiser on their sum ("joint"), or on their sum with each over its own size ("balanced").
    Optimisers are created on first use."""
    if mode in ("joint", "balanced"):
        opt = optimisers.setdefault(mode, torch.optim.Adam(params, lr=lr))
        opt.zero_grad(set_to_none=True)
        if mode == "joint":
            total(terms).backward()
        else:
            sum(t.mean() / t.mean().detach().clamp_min(1e-6) for t in terms.values()).backward()
        opt.step()
        return
    for name in terms:
        optimisers.setdefault(name, torch.optim.Adam(params, lr=lr))
    names = list(terms)
    # Every gradient before any step: a step changes the parameters the other terms' graphs hold.
    grads = [torch.autograd.grad(terms[n].mean(), params, retain_graph=k < len(names) - 1, allow_unused=True)
             for k, n in enumerate(names)]
    for name, gs in zip(names, grads):
        opt = optimisers[name]
        opt.zero_grad(set_to_none=True)
        for p, g in zip(params, gs):
            p.grad = g
        opt.step()


def fit_parameters(regressor: PoseRegressor, images: torch.Tensor, target: AlignmentTarget, cfg: AdaptConfig
                   ) -> tuple[tuple[torch.Tensor, ...], dict[str, float]]:
    """Theta_opt: the CNN's (phi, root 6-D, betas, camera) fitted to the silhouettes, CNN frozen."""
    with torch.no_grad():
        phi, orient6d, betas, camera = regressor.predict_parameters(images)
    # phi lives in [-1, 1] (tanh in the CNN); fitting its pre-image keeps it there.
    theta = [torch.atanh(phi.clamp(-0.999, 0.999)).clone().requires_grad_(True),
             orient6d.clone().requires_grad_(True), betas.clone().requires_grad_(True),
             torch.log(camera[:, :1]).clone().requires_grad_(True), camera[:, 1:].clone().requires_grad_(True)]
    optimisers: dict[str, torch.optim.Optimizer] = {}
    losses: dict[str, float] = {}
    for _ in range(cfg.max_iter_opt):
        cam = torch.cat([theta[3].exp(), theta[4]], 1)
        out = regressor.decode(torch.tanh(theta[0]), theta[1], theta[2], cam)
        terms = predicted_terms(regressor, out, target, cfg)
        step_each(optimisers, terms, theta, cfg.lr_opt, cfg.optimisers)
        losses = {f"fit_{k}": v.mean().item() for k, v in terms.items()}
    with torch.no_grad():
        fitted = (torch.tanh(theta[0]), theta[1], theta[2], torch.cat([theta[3].exp(), theta[4]], 1))
    return tuple(t.detach() for t in fitted), losses


def theta_loss(predicted: tuple[torch.Tensor, ...], fitted: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """L_Theta = ||Theta_hat - Theta_opt||^2 over phi, root rotation, betas and camera."""
    return sum((p - f).pow(2).sum(-1).mean() for p, f in zip(predicted, fitted))


def adapt(regressor: PoseRegressor, train: TargetSet, cfg: AdaptConfig = AdaptConfig(),
          held_out: TargetSet | None = None, progress: Callable[[Progress], None] | None = None,
          should_stop: Callable[[], bool] | None = None,
          inspect: Callable[[int, PoseRegressor], None] | None = None) -> AdaptationResult:
    """Adapt a copy of ``regressor`` to the crops and silhouettes of ``train``.

    ``progress`` is called after every iteration; ``should_stop`` is polled before each one and,
    when it answers True, adaptation stops and returns the weights so far with ``cancelled`` set
    (the caller decides whether to keep them: the service never does). ``inspect(i, model)`` sees
    the model before iteration i and after the last (benchmarks draw error curves with it)."""
    if len(train) == 0:
        raise ValueError("no target crops to adapt on")
    device = resolve_device(cfg.device)
    model = copy.deepcopy(regressor).to(device)
    report = AdaptationReport(config=asdict(cfg))
    if held_out is not None and len(held_out):
        report.health_before = health_score(model, held_out)
    set_adaptation_mode(model, cfg.batchnorm)
    params = [p for p in model.parameters() if p.requires_grad]
    optimisers: dict[str, torch.optim.Optimizer] = {}
    theta_opt = torch.optim.Adam(params, lr=cfg.lr)
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    start = time.perf_counter()
    fit_time, fit_iters = 0.0, 0
    for it in range(cfg.iterations):
        if should_stop is not None and should_stop():
            report.cancelled = True
            break
        if inspect is not None:  # its time is not adaptation time
            t0 = time.perf_counter()
            inspect(it, model)
            set_adaptation_mode(model, cfg.batchnorm)
            start += time.perf_counter() - t0
        idx = rng.choice(len(train), size=min(cfg.batch, len(train)), replace=False)
        images = images_tensor(train.images[idx], device)
        target = AlignmentTarget.from_silhouettes(torch.as_tensor(train.silhouettes[idx], device=device))
        if it % cfg.K != 0:
            terms = predicted_terms(model, model(images), target, cfg)
            step_each(optimisers, terms, params, cfg.lr, cfg.optimisers)
            losses = {k: v.mean().item() for k, v in terms.items()}
            kind = "direct"
        else:
            t0 = time.perf_counter()
            fitted, losses = fit_parameters(model, images, target, cfg)
            fit_time += time.perf_counter() - t0
            fit_iters += cfg.max_iter_opt
            loss = theta_loss(model.predict_parameters(images), fitted)
            theta_opt.zero_grad(set_to_none=True)
            loss.backward()
            theta_opt.step()
            losses["theta"] = loss.item()
            kind = "fit"
        elapsed = time.perf_counter() - start
        report.history.append({"iteration": it, "kind": kind, "elapsed_s": elapsed, **losses})
        report.iterations_done = it + 1
        if progress is not None:
            remaining = elapsed / (it + 1) * (cfg.iterations - it - 1)
            progress(Progress(it + 1, cfg.iterations, losses, elapsed, remaining))
    report.wall_s = time.perf_counter() - start
    if inspect is not None and not report.cancelled:
        inspect(report.iterations_done, model)
    report.ms_per_fit_iteration = 1000 * fit_time / fit_iters if fit_iters else None
    model.eval()
    for p in model.parameters():
        if not math.isfinite(float(p.detach().abs().sum())):
            raise FloatingPointError("adaptation diverged: non-finite weights")
    if held_out is not None and len(held_out):
        report.health_after = health_score(model, held_out)
    return AdaptationResult(regressor=model.cpu(), report=report)
