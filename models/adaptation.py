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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from pytorch3d.transforms import rotation_6d_to_matrix
from torch import nn

from models.adapt_config import AdaptConfig
from models.alignment import AlignmentTarget, alignment_terms
from models.facing_loss import facing_hinge
from models.flip_average import as_served
from models.health import Health, health_score, images_tensor
from models.regressor import PoseRegressor, RegressorOutput
from models.target_data import TargetSet


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


def tensor_sum(values: Iterable[torch.Tensor]) -> torch.Tensor:
    """Left-to-right sum of at least one tensor (as ``sum`` adds them, without its int start)."""
    it = iter(values)
    try:
        acc = next(it)
    except StopIteration:
        raise ValueError("nothing to sum: no loss terms") from None
    for v in it:
        acc = acc + v
    return acc


def total(terms: dict[str, torch.Tensor]) -> torch.Tensor:
    return tensor_sum(t.mean() for t in terms.values())


def articulation_only(regressor: PoseRegressor, out: RegressorOutput) -> tuple[torch.Tensor, torch.Tensor]:
    """The same bodies (B, V, 3) and cameras (B, 3), with the root rotation and the camera cut off
    from the graph: a loss on them moves only the pose latent and the shape."""
    rotmats = torch.cat([out.rotmats[:, :1].detach(), out.rotmats[:, 1:]], dim=1)
    posed = regressor.body(out.betas, rotmats)
    return posed.vertices - posed.joints[:, :1], out.camera.detach()


def predicted_terms(
    regressor: PoseRegressor,
    out: RegressorOutput,
    target: AlignmentTarget,
    cfg: AdaptConfig,
    anchor: torch.Tensor | None = None,
    approach: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """The alignment terms of ``cfg.variant`` (each (B,)), the shape prior added to the first and,
    with ``anchor`` (B, 3, 3), the source model's root rotations, ``cfg.w_root`` times the squared
    Frobenius distance of the predicted root rotation from them; with ``approach`` (B,), each
    crop's walk (models.heading), ``cfg.w_facing`` times the facing hinge (models.facing_loss)."""
    body = regressor.body
    if not torch.isfinite(out.vertices).all():
        raise FloatingPointError("adaptation diverged: the predicted meshes are not finite (lower the learning rate)")
    skeleton_mesh = None
    if cfg.skeleton_paths == "articulation" and cfg.variant in ("ours", "b3"):
        vertices, camera = articulation_only(regressor, out)
        skeleton_mesh = (body.proxy_vertices(vertices), camera)
    # The prior control needs L_S's value only (its scale), so no graph is built for it.
    with torch.set_grad_enabled(cfg.variant != "prior" and torch.is_grad_enabled()):
        terms = alignment_terms(
            "b2" if cfg.variant == "prior" else cfg.variant,
            body.proxy_vertices(out.vertices),
            body.proxy_faces,
            out.camera,
            target,
            cfg.s2d_gradient,
            skeleton_mesh,
        )
    # Shape prior: betas are unit-variance, so their squared norm is their log-likelihood up to a
    # constant; scaled to the alignment loss so the weight means the same for every variant.
    scale = total(terms).detach().clamp_min(1.0)
    first = next(iter(terms))
    terms[first] = terms[first] + cfg.w_betas * scale * out.betas.pow(2).mean(-1)
    if anchor is not None and cfg.w_root:
        terms[first] = terms[first] + cfg.w_root * scale * (out.rotmats[:, 0] - anchor).pow(2).sum((-1, -2))
    if approach is not None and cfg.w_facing:
        terms[first] = terms[first] + cfg.w_facing * scale * facing_hinge(out.joints, approach)
    return terms


def step_each(
    optimisers: dict[str, torch.optim.Optimizer],
    terms: dict[str, torch.Tensor],
    params: Sequence[torch.Tensor],
    lr: float,
    mode: str,
) -> None:
    """One step of each term's own optimiser on that term's own gradient ("separate"), or of one
    optimiser on their sum ("joint"), or on their sum with each over its own size ("balanced").
    Optimisers are created on first use."""
    if mode in ("joint", "balanced"):
        opt = optimisers.setdefault(mode, torch.optim.Adam(params, lr=lr))
        opt.zero_grad(set_to_none=True)
        if mode == "joint":
            total(terms).backward()
        else:
            tensor_sum(t.mean() / t.mean().detach().clamp_min(1e-6) for t in terms.values()).backward()
        opt.step()
        return
    for name in terms:
        optimisers.setdefault(name, torch.optim.Adam(params, lr=lr))
    names = list(terms)
    # Every gradient before any step: a step changes the parameters the other terms' graphs hold.
    grads = [
        torch.autograd.grad(terms[n].mean(), params, retain_graph=k < len(names) - 1, allow_unused=True)
        for k, n in enumerate(names)
    ]
    for name, gs in zip(names, grads, strict=True):
        opt = optimisers[name]
        opt.zero_grad(set_to_none=True)
        for p, g in zip(params, gs, strict=True):
            p.grad = g
        opt.step()


def fit_parameters(
    regressor: PoseRegressor,
    images: torch.Tensor,
    target: AlignmentTarget,
    cfg: AdaptConfig,
    anchor: torch.Tensor | None = None,
    approach: torch.Tensor | None = None,
) -> tuple[tuple[torch.Tensor, ...], dict[str, float]]:
    """Theta_opt: the CNN's (phi, root 6-D, betas, camera) fitted to the silhouettes, CNN frozen
    (``anchor``, ``approach``: as in :func:`predicted_terms`)."""
    with torch.no_grad():
        phi, orient6d, betas, camera = regressor.predict_parameters(images)
    # phi lives in [-1, 1] (tanh in the CNN); fitting its pre-image keeps it there.
    theta = [
        torch.atanh(phi.clamp(-0.999, 0.999)).clone().requires_grad_(True),
        orient6d.clone().requires_grad_(True),
        betas.clone().requires_grad_(True),
        torch.log(camera[:, :1]).clone().requires_grad_(True),
        camera[:, 1:].clone().requires_grad_(True),
    ]
    optimisers: dict[str, torch.optim.Optimizer] = {}
    losses: dict[str, float] = {}
    for _ in range(cfg.max_iter_opt):
        cam = torch.cat([theta[3].exp(), theta[4]], 1)
        out = regressor.decode(torch.tanh(theta[0]), theta[1], theta[2], cam)
        terms = predicted_terms(regressor, out, target, cfg, anchor, approach)
        step_each(optimisers, terms, theta, cfg.lr_opt, cfg.optimisers)
        losses = {f"fit_{k}": v.mean().item() for k, v in terms.items()}
    with torch.no_grad():
        fitted = (torch.tanh(theta[0]), theta[1], theta[2], torch.cat([theta[3].exp(), theta[4]], 1))
    return tuple(t.detach() for t in fitted), losses


@torch.no_grad()
def source_roots(regressor: PoseRegressor, images: np.ndarray, batch: int, device: torch.device) -> torch.Tensor:
    """(N, S, S, 3) uint8 crops -> (N, 3, 3): the regressor's root rotation for each, in eval mode."""
    regressor.eval()
    return torch.cat(
        [
            rotation_6d_to_matrix(regressor.predict_parameters(images_tensor(images[s : s + batch], device))[1])
            for s in range(0, len(images), batch)
        ]
    )


def theta_loss(predicted: tuple[torch.Tensor, ...], fitted: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """L_Theta = ||Theta_hat - Theta_opt||^2 over phi, root rotation, betas and camera."""
    return tensor_sum((p - f).pow(2).sum(-1).mean() for p, f in zip(predicted, fitted, strict=True))


def adapt(
    regressor: PoseRegressor,
    train: TargetSet,
    cfg: AdaptConfig = AdaptConfig(),
    held_out: TargetSet | None = None,
    progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    inspect: Callable[[int, PoseRegressor], None] | None = None,
    flip_average: bool = False,
) -> AdaptationResult:
    """Adapt a copy of ``regressor`` to the crops and silhouettes of ``train``.

    ``held_out`` is scored before and after (the health the service's gate compares), as the
    service will answer with the model: flip averaged where ``flip_average`` (models.flip_average).

    ``progress`` is called after every iteration; ``should_stop`` is polled before each one and,
    when it answers True, adaptation stops and returns the weights so far with ``cancelled`` set
    (the caller decides whether to keep them: the service never does). ``inspect(i, model)`` sees
    the model before iteration i and after the last (benchmarks draw error curves with it)."""
    if len(train) == 0:
        raise ValueError("no target crops to adapt on")
    device = resolve_device(cfg.device)
    model = copy.deepcopy(regressor).to(device)
    report = AdaptationReport(config=asdict(cfg))
    if held_out is not None and len(held_out):  # scored as the service will answer with the model
        report.health_before = health_score(as_served(model, flip_average), held_out)
    # Where each crop's root rotation started (cfg.w_root): the copy, still the source model, once.
    anchors = source_roots(model, train.images, cfg.batch, device) if cfg.w_root else None
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
        anchor = None if anchors is None else anchors[torch.as_tensor(idx, device=device)]
        approach = torch.as_tensor(train.approach[idx], device=device)
        if it % cfg.K != 0:
            terms = predicted_terms(model, model(images), target, cfg, anchor, approach)
            step_each(optimisers, terms, params, cfg.lr, cfg.optimisers)
            losses = {k: v.mean().item() for k, v in terms.items()}
            kind = "direct"
        else:
            t0 = time.perf_counter()
            fitted, losses = fit_parameters(model, images, target, cfg, anchor, approach)
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
        report.health_after = health_score(as_served(model, flip_average), held_out)
    return AdaptationResult(regressor=model.cpu(), report=report)
