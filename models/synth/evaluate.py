"""Evaluate a regressor checkpoint on clean source crops and on camera sites under each shift.

    python -m models.synth.evaluate runs/source.pt --shifts clean,lr-96,lr-52,lr-32,gray,thermal

Site crops are cut around the *true* masks by default: this measures the regressor, not the
background subtraction. ``--crops mog2`` cuts them around MOG2's person boxes instead, as the
service and the adaptation benchmark do: that is the error a deployed model sees. Errors are
MPJPE and PA-MPJPE in mm on the 14 LSP joints, root-centred.
UAP shifts use the perturbations shipped in models/assets/uap (``--uap-dir`` for others).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from models.body_model import load_body_model
from models.camera_tilt import tilt_points
from models.crops import crop, mask_box, square_box
from models.health import images_tensor
from models.metrics import mpjpe, pa_mpjpe
from models.regressor import PoseRegressor, load_regressor
from models.synth.camera_site import CameraSite, SiteConfig, make_site
from models.synth.source_data import SourceConfig, render_crops
from models.synth.uap import shift_uap
from models.target_data import site_target

CROPS = ("true", "mog2")
DEFAULT_SHIFTS = ("clean", "lr-96", "lr-52", "lr-32", "uap-4", "uap-8", "uap-16", "gray", "thermal")


def site_crops(site: CameraSite, size: int, crops: str = "true") -> tuple[np.ndarray, np.ndarray]:
    """(N, size, size, 3) crops around the true masks (or MOG2's boxes, ``crops="mog2"``) and
    (N, 14, 3) root-centred eval joints."""
    if crops not in CROPS:
        raise ValueError(f"crops must be one of {CROPS}, got {crops!r}")
    if crops == "mog2":
        target = site_target(site.frames, size, largest_only=True)
        kept = target.frame_index  # (N,) the frame of each crop
        return target.images, (site.eval_joints[kept] - site.joints[kept, :1]).astype(np.float32)
    images, joints = [], []
    for t in range(len(site.frames)):
        box = mask_box(site.masks[t])
        if box is None or (box[2] - box[0]) * (box[3] - box[1]) < 100:
            continue
        images.append(crop(site.frames[t], square_box(box), size))
        root = site.joints[t, 0]
        joints.append(site.eval_joints[t] - root)
    return np.stack(images), np.stack(joints).astype(np.float32)


@torch.no_grad()
def errors(
    regressor: PoseRegressor, images: np.ndarray, joints: np.ndarray, batch: int = 64, tilt_deg: float | None = None
) -> dict[str, float]:
    """MPJPE and PA-MPJPE, and ``pa_mean_pose_mm``: PA-MPJPE with every crop's latent pose replaced
    by the set's mean latent (its own root, shape and camera kept). A model that reads the
    articulation from the image is clearly better than its own mean pose; one that is not has
    learned the body's heading and framing but not its limbs. With the camera's ``tilt_deg``,
    ``mpjpe_tilt_mm``: MPJPE of the bodies turned by it (models.camera_tilt), as a site told its tilt serves them."""
    regressor.eval()
    params, preds, e, pa = [], [], [], []
    for s in range(0, len(images), batch):
        x = images_tensor(images[s : s + batch])
        y = torch.as_tensor(joints[s : s + batch])
        p = regressor.predict_parameters(x)
        out = regressor.decode(*p)
        params.append(p)
        preds.append(out.eval_joints)
        e.append(mpjpe(out.eval_joints, y))
        pa.append(pa_mpjpe(out.eval_joints, y))
    mean_phi = torch.cat([p[0] for p in params]).mean(0, keepdim=True)
    pa_mean = [
        pa_mpjpe(
            regressor.decode(mean_phi.expand(len(p[0]), -1), *p[1:]).eval_joints,
            torch.as_tensor(joints[k * batch : k * batch + len(p[0])]),
        )
        for k, p in enumerate(params)
    ]
    result = {
        "mpjpe_mm": torch.cat(e).mean().item(),
        "pa_mpjpe_mm": torch.cat(pa).mean().item(),
        "pa_mean_pose_mm": torch.cat(pa_mean).mean().item(),
        "crops": len(images),
    }
    if tilt_deg is not None:
        turned = torch.as_tensor(tilt_points(torch.cat(preds).numpy(), tilt_deg))
        result["mpjpe_tilt_mm"] = mpjpe(turned, torch.as_tensor(joints, dtype=turned.dtype)).mean().item()
    return result


def evaluate_checkpoint(
    regressor: PoseRegressor,
    shifts=DEFAULT_SHIFTS,
    frames: int = 150,
    seed: int = 100,
    source_crops: int = 300,
    uap_dir: Path | None = None,
    crops: str = "true",
) -> dict[str, dict[str, float]]:
    size = regressor.config.image_size
    src = render_crops(source_crops, SourceConfig(image_size=size, seed=seed + 20_000), body=regressor.body)
    table = {"source S (clean crops)": errors(regressor, src["images"], src["eval_joints"])}
    for shift in shifts:
        site = make_site(
            SiteConfig(frames=frames, seed=seed),
            shift=shift,
            body=regressor.body,
            uap=shift_uap(shift, uap_dir),
            progress=False,
        )
        table[f"site, {shift}"] = errors(regressor, *site_crops(site, size, crops), tilt_deg=site.config["tilt_deg"])
    return table


def markdown(table: dict[str, dict[str, float]]) -> str:
    lines = [
        "| data | crops | MPJPE (mm) | MPJPE, the camera's tilt known (mm) | PA-MPJPE (mm) | PA-MPJPE, its own mean pose (mm) |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in table.items():
        lines.append(
            f"| {name} | {r['crops']} | {r['mpjpe_mm']:.1f} | {r['mpjpe_tilt_mm']:.1f} | {r['pa_mpjpe_mm']:.1f} "
            f"| {r['pa_mean_pose_mm']:.1f} |"
            if "mpjpe_tilt_mm" in r
            else f"| {name} | {r['crops']} | {r['mpjpe_mm']:.1f} | - | {r['pa_mpjpe_mm']:.1f} | {r['pa_mean_pose_mm']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--shifts", default=",".join(DEFAULT_SHIFTS))
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--seed", type=int, default=100, help="the site's seed")
    ap.add_argument(
        "--crops", choices=CROPS, default="true", help="cut site crops around the true masks or MOG2's boxes"
    )
    ap.add_argument("--uap-dir", type=Path, default=None, help="where uap-<eps>.npy are (default: the shipped ones)")
    args = ap.parse_args(argv)
    regressor = load_regressor(args.checkpoint, load_body_model())
    print(
        markdown(
            evaluate_checkpoint(
                regressor, tuple(args.shifts.split(",")), args.frames, args.seed, uap_dir=args.uap_dir, crops=args.crops
            )
        )
    )


if __name__ == "__main__":
    main()
