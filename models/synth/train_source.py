"""Source training of the regressor on labelled synthetic crops (one readable loop).

    python -m models.synth.train_source --out runs/source.pt          # resumes from --out; Ctrl-C loses < 1 checkpoint

``--style v3`` makes crops like real cameras' (photographs, degradations, finder-like framing:
docs/RESULTS.md, "Source model v3"), ``--style v4`` those and people a frame's edge cuts
(docs/REAL_POSE.md, "People the frame cuts"); both need the photographs first:
``python -m models.synth.photo_backgrounds --out runs/photos``.

Needs the pose prior (``python -m models.synth.pose_prior --out runs/prior.pt``): its decoder Psi is
frozen inside the regressor. A pool of crops is rendered once (cached next to the checkpoint)
and sampled with light colour augmentation; held-out crops give MPJPE / PA-MPJPE as it goes.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from models.adaptation import resolve_device
from models.atomic import atomic_path
from models.body_model import load_body_model
from models.detail import crop_detail_px
from models.flip_average import turn_round_rotations
from models.heading import DEPTH_FLIP, JOINT_MIRROR
from models.metrics import mpjpe, pa_mpjpe
from models.preprocess import PIXEL_MAX
from models.prior import PoseDecoder
from models.regressor import (
    PoseRegressor,
    RegressorConfig,
    RegressorOutput,
    regressor_from_checkpoint,
    save_regressor,
)
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
    # A crop seldom shows whether its person faces the camera or away: the body turned round (mirrored
    # through the image plane, left and right swapped) draws the same silhouette and the same joints in
    # the image. Scored against one of the two only, the answer that costs least is halfway between
    # them: shoulders and hips drawn together, side-on, narrow (docs/REAL_POSE.md, "Two bodies in one
    # crop"). ``twin_min`` is the share of each crop's loss taken against whichever of the two the
    # answer is nearer (0: the labelled body only, as v2 and v3 were trained; 1: either, equally).
    twin_min: float = 0.0
    # Only crops whose person spans at least this many pixels of detail (``models.detail``) are scored
    # against the nearer twin; the rest against their labelled body alone. Where a crop holds little
    # detail (a soft or distant camera) nothing in it says which way the person faces, and a committed
    # answer is as often the wrong body as the right one; the halfway answer is never far from either
    # (docs/REAL_POSE.md, "Commit where the crop resolves the person": the twin-loss model won on
    # people of ~107 px of detail and lost on those of 35-70). 0: every crop.
    twin_detail_px: float = 0.0
    # Where a crop falls below ``twin_detail_px``, this share of its loss is taken against the body
    # turned round, the rest against the labelled one: the answer that costs least is then between
    # the two (0.5: halfway, shoulders drawn together), whatever the crop shows. Synthetic crops show
    # which way their person faces at low detail too (the shipped model turns 27% of soft renders the
    # wrong way, not half), so the labelled body alone (0) asks for no hedge there (docs/REAL_POSE.md,
    # "Commit where the crop resolves the person"; 0.3 did not teach one in 1,600 steps either).
    twin_below: float = 0.0
    init: str | None = None  # start from this checkpoint's weights (fresh optimiser, step 0)
    style: str = "v2"  # how the crops are made: models.synth.source_data.SOURCE_STYLES
    device: str = "auto"  # "auto": CUDA where there is one
    # A time budget: the learning-rate schedule runs over whichever of ``steps`` and ``minutes`` ends
    # first, so a run cut short by its budget still ends annealed (a lent GPU comes for minutes).
    minutes: float | None = None
    workers: int = 1  # processes rendering the crop pool (each renders a shard with its own seed)

    def __post_init__(self) -> None:
        if not 0.0 <= self.twin_min <= 1.0:
            raise ValueError(f"twin_min is a share of the loss, in [0, 1], got {self.twin_min}")
        if not self.twin_detail_px >= 0.0:
            raise ValueError(f"twin_detail_px is a height in pixels of detail, >= 0, got {self.twin_detail_px}")
        if not 0.0 <= self.twin_below <= 0.5:
            raise ValueError(f"twin_below is a share of a soft crop's loss, in [0, 0.5], got {self.twin_below}")
        if self.twin_below and not (self.twin_min and self.twin_detail_px):
            raise ValueError(f"twin_below {self.twin_below} needs twin_min and twin_detail_px (the crops it is for)")


# Above half the loss taken against the nearer twin, answering one of the two costs less than
# answering between them (the halfway body is a quarter of their squared distance from each).
COMMITS_ABOVE = 0.5
STYLE_MIX_SEPARATOR = "+"  # "v2+v3": a pool made of equal parts of each style
SHARD_SEEDS = 1000  # seeds per training seed for the shards of a pool rendered in parallel
LABELS = ("camera", "joints", "eval_joints", "joints_2d", "betas")


def _render_shard(args: tuple[int, str, int, int]) -> dict[str, np.ndarray]:
    n, style, size, seed = args
    torch.set_num_threads(1)  # one process per core
    return render_crops(n, source_config(style, size, seed))


def render_sharded(n: int, style: str, size: int, seed: int, workers: int) -> dict[str, np.ndarray]:
    """n crops rendered by ``workers`` processes, shard k from seed ``seed * SHARD_SEEDS + k`` (so the
    pool depends on the number of workers, and a training seed's shards never meet another's)."""
    import multiprocessing

    counts = [n // workers + (k < n % workers) for k in range(workers)]
    jobs = [(c, style, size, seed * SHARD_SEEDS + k) for k, c in enumerate(counts) if c]
    # spawn: each renderer opens its own OpenGL context, which a forked copy of one cannot share
    with multiprocessing.get_context("spawn").Pool(len(jobs)) as pool:
        parts = list(tqdm(pool.imap(_render_shard, jobs), total=len(jobs), desc=f"source crops ({style})"))
    return {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}


def crop_pool(out: Path, size: int, seed: int, n: int, style: str = "v2", workers: int = 1) -> dict[str, np.ndarray]:
    """n source crops of ``style``, rendered once and cached beside the checkpoint ``out``.

    A mix such as ``"v2+v3"`` is equal parts of each style's own pool (each cached on its own),
    so a mix of styles already rendered costs nothing more. With ``workers`` > 1 the pool is rendered
    in that many processes (:func:`render_sharded`) and cached under its own name."""
    if STYLE_MIX_SEPARATOR in style:
        styles = style.split(STYLE_MIX_SEPARATOR)
        parts = [crop_pool(out, size, seed, n // len(styles), s, workers) for s in styles]
        return {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
    if workers < 1:
        raise ValueError(f"workers must be positive, got {workers}")
    tag = "" if style == "v2" else f"-{style}"  # v2's pools kept their names
    sharded = f"-x{workers}" if workers > 1 else ""
    path = out.parent / f"{out.stem}-pool{tag}-{size}px-seed{seed}-{n}{sharded}.npz"
    if path.exists():
        with np.load(path) as f:
            return {k: f[k] for k in f.files}
    if workers > 1:
        data = render_sharded(n, style, size, seed, workers)
    else:
        data = render_crops(n, source_config(style, size, seed), progress=True)
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **data)  # type: ignore[arg-type]  # mypy matches **data against allow_pickle: bool
    return data


def pool_tensors(
    data: dict[str, np.ndarray], device: torch.device | str = "cpu", detail: bool = False
) -> dict[str, torch.Tensor]:
    """A crop pool as tensors on ``device``, once: images (N, S, S, 3) uint8 as rendered (a quarter
    of the memory of floats), the labels, rotmats (N, 24, 3, 3) from the poses and, where
    ``detail``, detail (N,): each crop's person's height in pixels of detail (``crop_detail_px``)."""
    pool = {k: torch.as_tensor(data[k]).to(device) for k in ("images", *LABELS)}
    pool["rotmats"] = rotmats(data["pose"]).to(device)
    if detail:
        heights = [crop_detail_px(image, mask) for image, mask in zip(data["images"], data["masks"], strict=True)]
        pool["detail"] = torch.tensor(heights, dtype=torch.float32, device=device)
    return pool


def to_batch(
    pool: dict[str, torch.Tensor], idx: np.ndarray, rng: np.random.Generator | None
) -> dict[str, torch.Tensor]:
    """The crops ``idx`` of a :func:`pool_tensors` pool, on its device: images (B, 3, S, S) in [0, 1]
    (``models.preprocess.crops_to_input``'s conversion), with ``rng`` brightness, contrast and colour
    jitter (drawn on the CPU, so a step's batch is the same on every device)."""
    device = pool["images"].device
    at = torch.as_tensor(idx, device=device)
    images = pool["images"][at].permute(0, 3, 1, 2).float() / PIXEL_MAX
    if rng is not None:
        b = len(idx)
        gain = torch.as_tensor(rng.uniform(0.7, 1.3, (b, 3, 1, 1)), dtype=torch.float32, device=device)
        bias = torch.as_tensor(rng.uniform(-0.1, 0.1, (b, 1, 1, 1)), dtype=torch.float32, device=device)
        images = (images * gain + bias).clamp(0, 1)
    batch = {k: pool[k][at] for k in (*LABELS, "rotmats", "detail") if k in pool}
    batch["images"] = images
    return batch


def predict(regressor: PoseRegressor, images: torch.Tensor) -> RegressorOutput:
    """The regressor's answer; on CUDA the CNN runs in bfloat16 and the body model in float32 (its
    joints are metres to a millimetre, which bfloat16's 8 bits of mantissa do not hold)."""
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=images.is_cuda):
        params = regressor.predict_parameters(images)
    return regressor.decode(*(p.float() for p in params))


def body_frame_joints(body, betas: torch.Tensor, rotmats: torch.Tensor) -> torch.Tensor:
    """(B, 10), (B, 24, 3, 3) -> (B, 24, 3) pelvis-centred joints with the root rotation removed."""
    eye = torch.eye(3, dtype=rotmats.dtype, device=rotmats.device).expand(len(rotmats), 1, 3, 3)
    joints = body(betas, torch.cat([eye, rotmats[:, 1:]], 1)).joints
    return joints - joints[:, :1]


def turned_round_labels(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A batch's labels for each crop's body turned round (``models.heading``), which the crop shows
    as well: joints (B, 24, 3) root-centred camera axes, depth negated and left and right swapped;
    joints_2d (B, 24, 2) the same places, names swapped; rotmats (B, 24, 3, 3); the rest as they are."""
    mirror = list(JOINT_MIRROR)
    depth_flip = batch["joints"].new_tensor(DEPTH_FLIP)
    return batch | {
        "joints": batch["joints"][:, mirror] * depth_flip,
        "joints_2d": batch["joints_2d"][:, mirror],
        "rotmats": turn_round_rotations(batch["rotmats"]),
    }


def crop_losses(out, batch: dict[str, torch.Tensor], cfg: TrainConfig, body) -> dict[str, torch.Tensor]:
    """Each term and the weighted total, (B,) one per crop, against the batch's labels."""
    s, t = out.camera[:, None, :1], out.camera[:, None, 1:]
    j2d = s * out.joints[..., :2] + t
    terms = {
        "joints3d": (out.joints - batch["joints"]).pow(2).sum(-1).mean(-1),
        "joints2d": (j2d - batch["joints_2d"]).pow(2).sum(-1).mean(-1),
        "rotations": (out.rotmats - batch["rotmats"]).pow(2).sum((-1, -2)).mean(-1),
        "betas": (out.betas - batch["betas"]).pow(2).mean(-1),
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
        terms["articulation"] = (body_frame_joints(body, out.betas, out.rotmats) - truth).pow(2).sum(-1).mean(-1)
        terms["total"] = terms["total"] + cfg.w_articulation * terms["articulation"]
    return terms


def losses(out, batch: dict[str, torch.Tensor], cfg: TrainConfig, body) -> dict[str, torch.Tensor]:
    """The batch's mean of each term and of the total; with ``cfg.twin_min``, each crop's terms
    against whichever of its body and the body turned round its answer is nearer (by the total), the
    total blended as the field says, and ``twin_share``, the share of crops scored against the twin.
    With ``cfg.twin_detail_px`` only crops whose ``batch["detail"]`` reaches it are; the others
    against their labelled body, and ``cfg.twin_below`` of their loss against the body turned round."""
    terms = crop_losses(out, batch, cfg, body)
    if cfg.twin_min:
        twin = crop_losses(out, turned_round_labels(batch), cfg, body)
        either = torch.ones_like(terms["total"], dtype=torch.bool)
        if cfg.twin_detail_px:
            if "detail" not in batch:
                raise ValueError("twin_detail_px needs each crop's detail: pool_tensors(..., detail=True)")
            either = batch["detail"] >= cfg.twin_detail_px
        nearer = either & (twin["total"] < terms["total"])
        blended = (1 - cfg.twin_min) * terms["total"] + cfg.twin_min * torch.minimum(twin["total"], terms["total"])
        below = (1 - cfg.twin_below) * terms["total"] + cfg.twin_below * twin["total"]
        blended = torch.where(either, blended, below)
        terms = {k: torch.where(nearer, twin[k], v) for k, v in terms.items()}
        terms |= {"total": blended, "twin_share": nearer.float()}
    return {k: v.mean() for k, v in terms.items()}


@torch.no_grad()
def evaluate(regressor: PoseRegressor, pool: dict[str, torch.Tensor], batch: int = 64) -> dict[str, float]:
    regressor.eval()
    errs, pa = [], []
    n = len(pool["images"])
    for start in range(0, n, batch):
        b = to_batch(pool, np.arange(start, min(start + batch, n)), None)
        out = predict(regressor, b["images"])
        errs.append(mpjpe(out.eval_joints.cpu(), b["eval_joints"].cpu()))
        pa.append(pa_mpjpe(out.eval_joints.cpu(), b["eval_joints"].cpu()))
    regressor.train()
    return {"mpjpe_mm": torch.cat(errs).mean().item(), "pa_mpjpe_mm": torch.cat(pa).mean().item()}


def learning_rate(cfg: TrainConfig, progress: float, step: int) -> float:
    """Linear warm-up over ``cfg.warmup`` steps, then a cosine from ``cfg.lr`` to 0 over ``progress``
    in [0, 1], the share of the run's budget (steps or minutes) spent."""
    return cfg.lr * min(1.0, (step + 1) / cfg.warmup) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def train_source(
    cfg: TrainConfig, out: Path, progress: bool = True, should_stop: Callable[[int], bool] | None = None
) -> PoseRegressor:
    torch.manual_seed(cfg.seed)
    device = resolve_device(cfg.device)
    rcfg = RegressorConfig.preset(cfg.preset)
    body = load_body_model()
    elapsed = 0.0  # seconds of training so far, over every resumed run (the ``minutes`` budget)
    if out.exists():
        state = torch.load(out, map_location="cpu", weights_only=False)
        regressor = regressor_from_checkpoint(state, body, out)
        step, history = state["step"], state["history"]
        opt_state = state.get("optimizer")
        elapsed = state.get("elapsed_s", 0.0)
    elif cfg.init is not None:
        regressor = regressor_from_checkpoint(
            torch.load(cfg.init, map_location="cpu", weights_only=False), body, cfg.init
        )
        step, history, opt_state = 0, [], None
    else:
        decoder = load_prior(Path(cfg.prior)).decoder if Path(cfg.prior).exists() else PoseDecoder(rcfg.latent)
        regressor = PoseRegressor(rcfg, body, decoder)
        step, history, opt_state = 0, [], None
    # The checkpoint says how it answers a crop that could be either twin, for flip averaging.
    regressor.config = replace(regressor.config, commits_facing=cfg.twin_min > COMMITS_ABOVE)
    regressor.to(device).train()
    params = [p for p in regressor.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if opt_state is not None:
        opt.load_state_dict(opt_state)  # moves the moments to the parameters' device
    gated = bool(cfg.twin_min and cfg.twin_detail_px)
    train = pool_tensors(crop_pool(out, rcfg.image_size, cfg.seed, cfg.pool, cfg.style, cfg.workers), device, gated)
    held = pool_tensors(crop_pool(out, rcfg.image_size, cfg.seed + 10_000, cfg.held_out, cfg.style), device)
    budget_s = math.inf if cfg.minutes is None else 60.0 * cfg.minutes

    def spent(at: int) -> float:
        return max(at / cfg.steps if cfg.steps else 1.0, elapsed / budget_s)

    def save(at: int) -> None:
        # full precision while training (exact resume); ``save_regressor(..., half=True)`` ships
        extra = {"step": at, "history": history, "optimizer": opt.state_dict(), "train_config": asdict(cfg)}
        save_regressor(regressor, out, half=False, extra=extra | {"elapsed_s": elapsed, "device": str(device)})

    bar = tqdm(initial=step, total=cfg.steps, desc="source training", disable=not progress)
    while spent(step) < 1.0:
        if should_stop is not None and should_stop(step):
            save(step)
            return regressor.eval().cpu()
        t0 = time.perf_counter()
        for group in opt.param_groups:
            group["lr"] = learning_rate(cfg, spent(step), step)
        # The batch, its augmentation and the dropout masks depend on the step only: resumable.
        rng = np.random.default_rng(cfg.seed * 1_000_003 + step)
        torch.manual_seed(cfg.seed * 1_000_003 + step)
        batch = to_batch(train, rng.integers(0, len(train["images"]), cfg.batch), rng)
        terms = losses(predict(regressor, batch["images"]), batch, cfg, body)
        opt.zero_grad()
        terms["total"].backward()
        opt.step()
        step += 1
        bar.update()
        if step % 20 == 0:  # reading a loss waits for the device: not every step
            shown = {"loss": f"{terms['total'].item():.3f}", "j3d": f"{terms['joints3d'].item():.4f}"}
            if "twin_share" in terms:
                shown["twin"] = f"{terms['twin_share'].item():.2f}"
            bar.set_postfix(shown)
        elapsed += time.perf_counter() - t0
        done = spent(step) >= 1.0
        if step % cfg.eval_every == 0 or done:
            history.append({"step": step, "elapsed_s": round(elapsed, 1), **evaluate(regressor, held)})
            tqdm.write(f"step {step}: {history[-1]}")
        if step % cfg.checkpoint_every == 0 and not done:
            save(step)
    save(step)
    return regressor.eval().cpu()


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
    ap.add_argument("--w-betas", type=float, default=TrainConfig.w_betas)
    ap.add_argument(
        "--twin-min",
        type=float,
        default=TrainConfig.twin_min,
        help="share of each crop's loss taken against the nearer of its body and the body turned round",
    )
    ap.add_argument(
        "--twin-detail-px",
        type=float,
        default=TrainConfig.twin_detail_px,
        help="the twin loss only on crops whose person spans at least this many pixels of detail (0: all)",
    )
    ap.add_argument(
        "--twin-below",
        type=float,
        default=TrainConfig.twin_below,
        help="below --twin-detail-px, this share of a crop's loss against the body turned round (0.5: halfway)",
    )
    ap.add_argument("--init", default=None, help="fine-tune: start from this checkpoint's weights")
    ap.add_argument(
        "--style",
        default=TrainConfig.style,
        help="crops: v2 (renders), v3 (photos, degradations, ...) or a mix such as v2+v3",
    )
    ap.add_argument("--checkpoint-every", type=int, default=TrainConfig.checkpoint_every)
    ap.add_argument("--seed", type=int, default=TrainConfig.seed, help="the pool's crops and the batches drawn from it")
    ap.add_argument("--batch", type=int, default=TrainConfig.batch)
    ap.add_argument("--device", default=TrainConfig.device, help="auto (CUDA where there is one), cpu, cuda, ...")
    ap.add_argument("--minutes", type=float, default=None, help="a time budget: the schedule ends with it")
    ap.add_argument("--workers", type=int, default=TrainConfig.workers, help="processes rendering the crop pool")
    ap.add_argument("--eval-every", type=int, default=TrainConfig.eval_every)
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
            w_betas=args.w_betas,
            twin_min=args.twin_min,
            twin_detail_px=args.twin_detail_px,
            twin_below=args.twin_below,
            init=args.init,
            style=args.style,
            checkpoint_every=args.checkpoint_every,
            seed=args.seed,
            batch=args.batch,
            device=args.device,
            minutes=args.minutes,
            workers=args.workers,
            eval_every=args.eval_every,
        ),
        args.out,
    )


if __name__ == "__main__":
    main()
