"""The adaptation benchmark (paper Tables 4-5 on our synthetic world). Resumable: one JSON per
(site, variant) under --runs; rerunning skips what is done.

    python -m bench.bench_adaptation --checkpoint models/assets/source_cpu.pt \
        --shifts clean,lr-96,lr-52,lr-32,uap-4,uap-8,uap-16,gray,thermal --variants source,b1,b2,b3,a2,ours,oracle

One site (256 frames, seed 300: never the demo's, the tuning's or the tests' seeds) seen clean and
through each shift, so that the pre-adaptation difference between two columns is the shift alone
and the gap to recover is measured on the same person, motion and background. Per site: MOG2
silhouettes (the true masks only for ``oracle``), crops adapted on the first 70% of the frames,
MPJPE / PA-MPJPE on the crops of the last 30% before and after, wall time and ms per fitting
iteration. After every cell it rewrites docs/RESULTS.md's adaptation section and
docs/adaptation_curves.png (:mod:`bench.adaptation_report`) from every cell run so far.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from bench.adaptation_report import add_section_arguments, write_report
from bench.pose_scores import MM_PER_M, similarity_align
from bench.report import file_digest, machine
from models.adaptation import AdaptConfig, adapt, resolve_device
from models.body_model import load_body_model
from models.camera_tilt import tilt_points
from models.crops import SQUARE_PAD, crop_to_frame
from models.flip_average import FlipAveraged
from models.heading import EVAL_MIRROR, UNKNOWN, FaceWalk, against_walk, facing, turn_round_points, yaw_points
from models.health import images_tensor
from models.metrics import mpjpe, pa_mpjpe, size_ratio, torso_heading_error_deg, turned_share
from models.regressor import PoseRegressor, load_regressor
from models.synth.camera_site import SiteConfig, make_site
from models.synth.uap import shift_uap
from models.target_data import SILHOUETTE_SIZE, TargetSet, site_target

SITE_SEED = 300
# On the clean site only the source model (with its mean-shape row), the prior control and Ours run:
# the gap's reference, and whether adapting a site that needs no adaptation does harm.
CLEAN_VARIANTS = ("source", "mean-shape", "prior", "ours")
ENGINE_VARIANTS = ("prior", "b1", "b2", "b3", "a2", "ours")


@torch.no_grad()
def errors(
    model: PoseRegressor | FlipAveraged,
    target: TargetSet,
    truth: np.ndarray,
    batch: int = 64,
    tilt_deg: float | None = None,
) -> dict[str, float]:
    """Mean MPJPE / PA-MPJPE (mm) of the 14 evaluation joints over a set of crops; truth (T, 14, 3) per frame.

    Also what MPJPE is made of: ``r_mpjpe_mm`` after the best rotation alone (what is left once the
    body's orientation is right: articulation and size) and ``size_ratio``, the predicted joints' RMS
    distance from the root over the true ones' (above 1: bodies answered too large); ``heading_deg``,
    the median angle between where the answered and the true torsos face seen from above
    (models.metrics.torso_heading_error_deg; the answered ones turned by ``tilt_deg`` where given),
    and ``turned_share``, the share of bodies facing more than 90 degrees from the truth. With the site
    camera's ``tilt_deg``, ``mpjpe_tilt_mm``: MPJPE of the bodies turned by it, as a site told its
    tilt serves them (models.camera_tilt), and ``mpjpe_served_mm``: MPJPE of the bodies as the
    service answers them, turned round where they face against their crop's walk (``target.approach``,
    models.heading), turned to face it (``FaceWalk``) and by the tilt; ``against_walk`` and
    ``faced_walk``, the shares of crops turned round and turned to their walk."""
    model.eval()
    device = next(model.parameters()).device  # the adapting model is on the engine's device mid-run
    e, pa, preds, trues, turned, yaws = [], [], [], [], [], []
    for s in range(0, len(target), batch):
        x = images_tensor(target.images[s : s + batch], device)
        y = torch.as_tensor(truth[target.frame_index[s : s + batch]], dtype=torch.float32)
        out = model(x)
        e.append(mpjpe(out.eval_joints.cpu(), y))
        pa.append(pa_mpjpe(out.eval_joints.cpu(), y))
        preds.append(out.eval_joints.detach().cpu().numpy())
        trues.append(y.numpy())
        turned.append(served_turned(out, target.squares[s : s + batch], target.approach[s : s + batch]))
        yaws.append(served_yaws(out, turned[-1], target.approach[s : s + batch]))
    pred, true = np.concatenate(preds).astype(np.float64), np.concatenate(trues).astype(np.float64)
    rotated = similarity_align(pred, true, scale=False)
    heading = torso_heading_error_deg(pred if tilt_deg is None else tilt_points(pred, tilt_deg), true)
    tilted = {}
    if tilt_deg is not None:
        tilted["mpjpe_tilt_mm"] = float(np.linalg.norm(tilt_points(pred, tilt_deg) - true, axis=-1).mean() * MM_PER_M)
        turn, yaw = np.concatenate(turned), np.concatenate(yaws)
        served = np.where(turn[:, None, None], turn_round_points(pred, EVAL_MIRROR), pred)
        served = np.stack([yaw_points(p, phi) for p, phi in zip(served, yaw, strict=True)])
        tilted["mpjpe_served_mm"] = float(
            np.linalg.norm(tilt_points(served, tilt_deg) - true, axis=-1).mean() * MM_PER_M
        )
        tilted["against_walk"] = float(turn.mean())
        tilted["faced_walk"] = float((yaw != 0).mean())
    return {
        "mpjpe_mm": torch.cat(e).mean().item(),
        "pa_mpjpe_mm": torch.cat(pa).mean().item(),
        "r_mpjpe_mm": float(np.linalg.norm(rotated - true, axis=-1).mean() * MM_PER_M),
        "size_ratio": float(size_ratio(pred, true).mean()),
        "heading_deg": float(np.nanmedian(heading)),
        "turned_share": turned_share(heading),
        **tilted,
        "crops": len(target),
    }


def box_heights(squares: np.ndarray) -> np.ndarray:
    """(N, 3) crop squares (cx, cy, side) -> (N,) their people's box heights: the side over the pad."""
    return squares[:, 2] / SQUARE_PAD


def served_turned(out, squares: np.ndarray, approach: np.ndarray) -> np.ndarray:
    """(B,) bool: the crops whose bodies the service turns round (service.pipeline.facing_fixed),
    their joints placed in the frame through each crop's camera and square (B, 3), given each
    crop's walk (B,)."""
    joints = out.joints.detach().cpu().numpy()
    camera = out.camera.detach().cpu().numpy()
    uv = camera[:, None, :1] * joints[..., :2] + camera[:, None, 1:]
    frame = np.stack([crop_to_frame(p, sq) for p, sq in zip(uv, squares, strict=True)])
    return against_walk(frame, box_heights(squares), approach)


def served_yaws(out, turned: np.ndarray, approach: np.ndarray) -> np.ndarray:
    """(B,) radians: the turn about the vertical the service gives each body (models.heading.FaceWalk,
    after turning round the ``turned`` ones), given each crop's walk (B,)."""
    joints = out.joints.detach().cpu().numpy()
    face = FaceWalk()
    return np.array(
        [face.turn(turn_round_points(j) if t else j, int(a)) for j, t, a in zip(joints, turned, approach, strict=True)]
    )


def walk_check(site, target: TargetSet) -> dict[str, int]:
    """How the crops' walks (``target.approach``, the finder's rule) compare with the way the true
    bodies face in the frame (models.heading.facing on the site's true 2D joints): crops, walks
    known, and of those, the true facing the same way, the other way, or from the side."""
    true = facing(site.joints_2d[target.frame_index], box_heights(target.squares))
    known = target.approach != UNKNOWN
    return {
        "crops": len(target),
        "walk_known": int(known.sum()),
        "faces_the_walk": int((known & (true == target.approach)).sum()),
        "faces_against_it": int((known & (true == -target.approach)).sum()),
    }


def done(cell: Path, checkpoint_digest: str) -> bool:
    """A cell counts as run only if it was run on this very checkpoint: a retrained model with the
    same file name must not be scored by its predecessor's cells."""
    if not cell.exists():
        return False
    return json.loads(cell.read_text()).get("checkpoint_sha256") == checkpoint_digest


def load_site(shift: str, frames: int, body, uap_dir: Path | None = None, seed: int = SITE_SEED):
    try:
        uap = shift_uap(shift, uap_dir)
    except FileNotFoundError as e:
        raise SystemExit(str(e)) from None
    return make_site(SiteConfig(frames=frames, seed=seed), shift=shift, body=body, uap=uap, progress=False)


class MeanShape(torch.nn.Module):
    """The source model with every crop's shape replaced by the mean (beta = 0), not adapted at all.

    Every variant keeps the shape near the mean (AdaptConfig.w_betas), so this row says how much of
    a column's gain the shape prior alone would give; the rest is what the silhouettes taught."""

    def __init__(self, regressor: PoseRegressor):
        super().__init__()
        self.regressor = regressor

    def forward(self, images: torch.Tensor):
        phi, orient6d, betas, camera = self.regressor.predict_parameters(images)
        return self.regressor.decode(phi, orient6d, torch.zeros_like(betas), camera)


def run_one(regressor: PoseRegressor, site, variant: str, cfg: AdaptConfig, curve_every: int) -> dict:
    size = regressor.config.image_size
    truth = site.eval_joints - site.joints[:, :1]
    tilt = site.config["tilt_deg"]
    masks = site.masks if variant == "oracle" else None
    target = site_target(
        site.frames, image_size=size, silhouette_size=SILHOUETTE_SIZE, largest_only=True, true_masks=masks
    )
    train, held = target.split(0.7)
    # Scores always on the MOG2 crops of the held-out frames: what the service would see.
    held_eval = held if masks is None else site_target(site.frames, size, SILHOUETTE_SIZE, True).split(0.7)[1]
    row = {
        "variant": variant,
        "train_crops": len(train),
        "held_out_crops": len(held_eval),
        "pre": errors(regressor, held_eval, truth, tilt_deg=tilt),
    }
    if variant == "source":
        row["post"] = row["pre"]
        return row
    if variant == "mean-shape":
        row["post"] = errors(MeanShape(regressor), held_eval, truth, tilt_deg=tilt)
        return row
    curve = []

    def inspect(it, model):
        if it % curve_every == 0 or it == cfg.iterations:
            curve.append({"iteration": it, **errors(model, held_eval, truth, tilt_deg=tilt)})

    engine_variant = "ours" if variant == "oracle" else variant
    result = adapt(
        regressor, train, AdaptConfig(**{**asdict(cfg), "variant": engine_variant}), held_out=held_eval, inspect=inspect
    )
    rep = result.report
    row.update(
        post=errors(result.regressor, held_eval, truth, tilt_deg=tilt),
        curve=curve,
        wall_s=rep.wall_s,
        ms_per_fit_iteration=rep.ms_per_fit_iteration,
        iterations=rep.iterations_done,
        health_before=rep.health_before.as_dict(),
        health_after=rep.health_after.as_dict(),
    )
    return row


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, default=Path("models/assets/source_cpu.pt"))
    ap.add_argument("--shifts", default="clean,lr-96,lr-52,lr-32,uap-4,uap-8,uap-16,gray,thermal")
    ap.add_argument("--variants", default="source,mean-shape,prior,ours,b1,b2,b3,a2,oracle")
    ap.add_argument("--frames", type=int, default=256)
    ap.add_argument("--iterations", type=int, default=AdaptConfig.iterations)
    ap.add_argument("--lr", type=float, default=AdaptConfig.lr)
    ap.add_argument("--curve-every", type=int, default=20)
    ap.add_argument("--runs", type=Path, default=Path("runs/bench_adaptation"))
    ap.add_argument("--uap-dir", type=Path, default=None, help="where uap-<eps>.npy are (default: the shipped ones)")
    ap.add_argument(
        "--config", default="{}", help="AdaptConfig fields as JSON, for an ablation (give it its own --runs)"
    )
    add_section_arguments(ap)
    args = ap.parse_args(argv)
    known = ("source", "mean-shape", "oracle", *ENGINE_VARIANTS)
    if unknown := [v for v in args.variants.split(",") if v not in known]:
        ap.error(f"unknown variants {unknown}; choose from {', '.join(known)}")
    body = load_body_model()
    regressor = load_regressor(args.checkpoint, body)
    cfg = AdaptConfig(**{"iterations": args.iterations, "lr": args.lr, **json.loads(args.config)})
    digest = file_digest(args.checkpoint)
    for shift in args.shifts.split(","):
        site = None
        for variant in args.variants.split(","):
            if shift == "clean" and variant not in CLEAN_VARIANTS:
                continue
            out = args.runs / shift / f"{variant}.json"
            if done(out, digest):
                continue
            site = site or load_site(shift, args.frames, body, args.uap_dir)
            t = time.perf_counter()
            row = run_one(regressor, site, variant, cfg, args.curve_every)
            row.update(
                shift=shift,
                site_seed=SITE_SEED,
                machine=machine(resolve_device(cfg.device).type),
                config=asdict(cfg),
                checkpoint=str(args.checkpoint),
                checkpoint_sha256=digest,
                total_s=time.perf_counter() - t,
            )
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(row, indent=1))
            print(
                f"{shift:8s} {variant:7s} PA-MPJPE {row['pre']['pa_mpjpe_mm']:.1f} -> {row['post']['pa_mpjpe_mm']:.1f}"
                f"  MPJPE {row['pre']['mpjpe_mm']:.1f} -> {row['post']['mpjpe_mm']:.1f}"
                f"  ({row.get('wall_s', 0):.0f} s)",
                flush=True,
            )
            command = "python -m bench.bench_adaptation " + " ".join(
                shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
            )
            write_report(args.runs, command, args.section, args.title, args.plot, digest)


if __name__ == "__main__":
    main()
