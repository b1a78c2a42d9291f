"""Source training of the regressor on labelled synthetic crops (one readable loop).

    python -m models.synth.train_source --out runs/source.pt          # resumes from --out; Ctrl-C loses < 1 checkpoint

``--style v3`` makes crops like real cameras' (photographs, degradations, finder-like framing:
docs/RESULTS.md, "Source model v3") and needs the photographs first:
``python -m models.synth.photo_backgrounds --out runs/photos``.

Needs the pose prior (``python -m models.synth.pose_prior --out runs/prior.pt``): its decoder Psi is
frozen inside the regressor. A pool of crops is rendered once (cached next to the checkpoint)
and sampled with light colour augmentation; held-out crops give MPJPE / PA-MPJPE as it goes.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from models.atomic import atomic_path
from models.body_model import load_body_model
from models.health import images_tensor
from models.metrics import mpjpe, pa_mpjpe
from models.prior import PoseDecoder
from models.regressor import PoseRegressor, RegressorConfig, regressor_from_checkpoint, save_regressor
from models.synth.pose_prior import load_prior
from models.synth.source_data import render_crops, rotmats, source_config


@dataclass
class TrainConfig:
    preset: str = "cpu"
    prior: str = "runs/prior.pt"
    pool: int = 20000
    held_out: int = 500
    steps: int = 3000  # about 65 minutes on 2 CPU cores at 1.3 s per step
    batch: int = 32
    lr: float = 1e-3
    warmup: int = 200
    weight_decay: float = 1e-4
    seed: int = 0
    checkpoint_every: int = 500
    eval_every: int = 500
    w_joints3d: float = 5.0
    w_joints2d: float = 5.0
    w_rotations: float = 1.0
    w_betas: float = 0.01
    # Joints of the predicted articulation in the body's own frame (root rotation removed). The
    # camera-frame joint loss mixes heading and articulation: while the heading is wrong it pulls
    # the limbs towards wherever the mis-turned body's joints would match, so articulation is
    # never learned on its own (docs/RESULTS.md: the first shipped model, trained without this term,
    # was within 3 mm PA-MPJPE of its own mean pose).
    w_articulation: float = 20.0
    init: str | None = None  # start from this checkpoint's weights (fresh optimiser, step 0)
    style: str = "v2"  # how the crops are made: models.synth.source_data.SOURCE_STYLES


STYLE_MIX_SEPARATOR = "+"  # "v2+v3": a pool made of equal parts of each style


def crop_pool(out: Path, size: int, seed: int, n: int, style: str = "v2") -> dict[str, np.ndarray]:
    """n source crops of ``style``, rendered once and cached beside the checkpoint ``out``.

    A mix such as ``"v2+v3"`` is equal parts of each style's own pool (each cached on its own),
    so a mix of styles already rendered costs nothing more."""
    if STYLE_MIX_SEPARATOR in style:
        styles = style.split(STYLE_MIX_SEPARATOR)
        parts = [crop_pool(out, size, seed, n // len(styles), s) for s in styles]
        return {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
    tag = "" if style == "v2" else f"-{style}"  # v2's pools kept their names
    path = out.parent / f"{out.stem}-pool{tag}-{size}px-seed{seed}-{n}.npz"
    if path.exists():
        with np.load(path) as f:
            return {k: f[k] for k in f.files}
    data = render_crops(n, source_config(style, size, seed), progress=True)
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **data)  # type: ignore[arg-type]  # mypy matches **data against allow_pickle: bool
    return data


def to_batch(data: dict[str, np.ndarray], idx: np.ndarray, rng: np.random.Generator | None) -> dict[str, torch.Tensor]:
    images = images_tensor(data["images"][idx])
    if rng is not None:  # brightness, contrast and colour jitter
        b = len(idx)
        gain = torch.as_tensor(rng.uniform(0.7, 1.3, (b, 3, 1, 1)), dtype=torch.float32)
        bias = torch.as_tensor(rng.uniform(-0.1, 0.1, (b, 1, 1, 1)), dtype=torch.float32)
        images = (images * gain + bias).clamp(0, 1)
    keys = ("camera", "joints", "eval_joints", "joints_2d", "betas")
    batch = {k: torch.as_tensor(data[k][idx]) for k in keys}
    batch["images"] = images
    batch["rotmats"] = rotmats(data["pose"][idx])
    return batch


def body_frame_joints(body, betas: torch.Tensor, rotmats: torch.Tensor) -> torch.Tensor:
    """(B, 10), (B, 24, 3, 3) -> (B, 24, 3) pelvis-centred joints with the root rotation removed."""
    eye = torch.eye(3, dtype=rotmats.dtype).expand(len(rotmats), 1, 3, 3)
    joints = body(betas, torch.cat([eye, rotmats[:, 1:]], 1)).joints
    return joints - joints[:, :1]


def losses(out, batch: dict[str, torch.Tensor], cfg: TrainConfig, body) -> dict[str, torch.Tensor]:
    s, t = out.camera[:, None, :1], out.camera[:, None, 1:]
    j2d = s * out.joints[..., :2] + t
    terms = {
        "joints3d": (out.joints - batch["joints"]).pow(2).sum(-1).mean(),
        "joints2d": (j2d - batch["joints_2d"]).pow(2).sum(-1).mean(),
        "rotations": (out.rotmats - batch["rotmats"]).pow(2).sum((-1, -2)).mean(),
        "betas": (out.betas - batch["betas"]).pow(2).mean(),
    }
    terms["total"] = (
        cfg.w_joints3d * terms["joints3d"]
        + cfg.w_joints2d * terms["joints2d"]
        + cfg.w_rotations * terms["rotations"]
        + cfg.w_betas * terms["betas"]
    )
    if cfg.w_articulation:
        with torch.no_grad():
            truth = body_frame_joints(body, batch["betas"], batch["rotmats"])
        terms["articulation"] = (body_frame_joints(body, out.betas, out.rotmats) - truth).pow(2).sum(-1).mean()
        terms["total"] = terms["total"] + cfg.w_articulation * terms["articulation"]
    return terms


@torch.no_grad()
def evaluate(regressor: PoseRegressor, data: dict[str, np.ndarray], batch: int = 64) -> dict[str, float]:
    regressor.eval()
    errs, pa = [], []
    for start in range(0, len(data["images"]), batch):
        b = to_batch(data, np.arange(start, min(start + batch, len(data["images"]))), None)
        out = regressor(b["images"])
        errs.append(mpjpe(out.eval_joints, b["eval_joints"]))
        pa.append(pa_mpjpe(out.eval_joints, b["eval_joints"]))
    regressor.train()
    return {"mpjpe_mm": torch.cat(errs).mean().item(), "pa_mpjpe_mm": torch.cat(pa).mean().item()}


def train_source(
    cfg: TrainConfig, out: Path, progress: bool = True, should_stop: Callable[[int], bool] | None = None
) -> PoseRegressor:
    torch.manual_seed(cfg.seed)
    rcfg = RegressorConfig.preset(cfg.preset)
    body = load_body_model()
    if out.exists():
        state = torch.load(out, map_location="cpu", weights_only=False)
        regressor = regressor_from_checkpoint(state, body, out)
        step, history = state["step"], state["history"]
        opt_state = state.get("optimizer")
    elif cfg.init is not None:
        regressor = regressor_from_checkpoint(
            torch.load(cfg.init, map_location="cpu", weights_only=False), body, cfg.init
        )
        step, history, opt_state = 0, [], None
    else:
        decoder = load_prior(Path(cfg.prior)).decoder if Path(cfg.prior).exists() else PoseDecoder(rcfg.latent)
        regressor = PoseRegressor(rcfg, body, decoder)
        step, history, opt_state = 0, [], None
    regressor.train()
    params = [p for p in regressor.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if opt_state is not None:
        opt.load_state_dict(opt_state)
    train = crop_pool(out, rcfg.image_size, cfg.seed, cfg.pool, cfg.style)
    held = crop_pool(out, rcfg.image_size, cfg.seed + 10_000, cfg.held_out, cfg.style)

    def save(at: int) -> None:
        # full precision while training (exact resume); ``save_regressor(..., half=True)`` ships
        save_regressor(
            regressor,
            out,
            half=False,
            extra={"step": at, "history": history, "optimizer": opt.state_dict(), "train_config": asdict(cfg)},
        )

    bar = tqdm(range(step, cfg.steps), initial=step, total=cfg.steps, desc="source training", disable=not progress)
    for step in bar:
        if should_stop is not None and should_stop(step):
            save(step)
            return regressor.eval()
        for group in opt.param_groups:
            group["lr"] = cfg.lr * min(1.0, (step + 1) / cfg.warmup) * 0.5 * (1 + math.cos(math.pi * step / cfg.steps))
        # The batch, its augmentation and the dropout masks depend on the step only: resumable.
        rng = np.random.default_rng(cfg.seed * 1_000_003 + step)
        torch.manual_seed(cfg.seed * 1_000_003 + step)
        batch = to_batch(train, rng.integers(0, len(train["images"]), cfg.batch), rng)
        terms = losses(regressor(batch["images"]), batch, cfg, body)
        opt.zero_grad()
        terms["total"].backward()
        opt.step()
        if step % 20 == 0:
            bar.set_postfix(loss=f"{terms['total'].item():.3f}", j3d=f"{terms['joints3d'].item():.4f}")
        if (step + 1) % cfg.eval_every == 0 or step + 1 == cfg.steps:
            history.append({"step": step + 1, **evaluate(regressor, held)})
            tqdm.write(f"step {step + 1}: {history[-1]}")
        if (step + 1) % cfg.checkpoint_every == 0:
            save(step + 1)
    save(cfg.steps)
    return regressor.eval()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="source-train the regressor (resumes from --out)")
    ap.add_argument("--out", type=Path, default=Path("runs/source.pt"))
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--steps", type=int, default=TrainConfig.steps)
    ap.add_argument("--pool", type=int, default=TrainConfig.pool)
    ap.add_argument("--lr", type=float, default=TrainConfig.lr)
    ap.add_argument("--warmup", type=int, default=TrainConfig.warmup)
    ap.add_argument("--w-articulation", type=float, default=TrainConfig.w_articulation)
    ap.add_argument("--w-joints2d", type=float, default=TrainConfig.w_joints2d)
    ap.add_argument("--init", default=None, help="fine-tune: start from this checkpoint's weights")
    ap.add_argument(
        "--style",
        default=TrainConfig.style,
        help="crops: v2 (renders), v3 (photos, degradations, ...) or a mix such as v2+v3",
    )
    ap.add_argument("--checkpoint-every", type=int, default=TrainConfig.checkpoint_every)
    ap.add_argument("--seed", type=int, default=TrainConfig.seed, help="the pool's crops and the batches drawn from it")
    args = ap.parse_args(argv)
    train_source(
        TrainConfig(
            preset=args.preset,
            steps=args.steps,
            pool=args.pool,
            lr=args.lr,
            warmup=args.warmup,
            w_articulation=args.w_articulation,
            w_joints2d=args.w_joints2d,
            init=args.init,
            style=args.style,
            checkpoint_every=args.checkpoint_every,
            seed=args.seed,
        ),
        args.out,
    )


if __name__ == "__main__":
    main()
