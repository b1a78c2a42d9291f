"""Does the Theta_opt fit descend? One Adam on L_S + L_T against one Adam per term, per parameter group.

    python -m bench.fit_optimisers [--shift lr-32] [--steps 30]

On 16 crops of the tuning site (seed 999, no benchmark, demo or test uses it) the source model's
parameters are fitted to the true-mask silhouettes, as Algorithm 1's inner loop does, and the
loss, silhouette IoU and PA-MPJPE are printed every 5 steps. This is the measurement behind the
choice of ``AdaptConfig.optimisers`` (docs/RESULTS.md).
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np
import torch

from models.adaptation import AdaptConfig, predicted_terms, step_each
from models.alignment import AlignmentTarget
from models.body_model import load_body_model
from models.crops import crop
from models.health import images_tensor
from models.m2s import SilhouetteSettings, m2s
from models.metrics import pa_mpjpe
from models.regressor import load_regressor
from models.synth.camera_site import SiteConfig, make_site
from models.target_data import site_target

GROUPS = {
    "camera only": [3, 4],
    "root orientation only": [1],
    "pose latent only": [0],
    "betas only": [2],
    "all": [0, 1, 2, 3, 4],
}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default="models/assets/source_cpu.pt")
    ap.add_argument("--shift", default="lr-32")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--lr", type=float, default=2e-2)
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    body = load_body_model()
    r = load_regressor(args.checkpoint, body).eval()
    site = make_site(SiteConfig(frames=120, seed=999), shift=args.shift, body=body, progress=False)
    truth = torch.as_tensor(site.eval_joints - site.joints[:, :1], dtype=torch.float32)
    tg = site_target(site.frames, 128, 64, True)
    idx = np.arange(0, len(tg), max(1, len(tg) // 16))[:16]
    masks = [
        cv2.resize(
            crop(site.masks[tg.frame_index[i]], tuple(tg.squares[i]), 128).astype(np.float32),
            (64, 64),
            interpolation=cv2.INTER_AREA,
        )
        > 0.5
        for i in idx
    ]
    S = torch.as_tensor(np.stack(masks)).float()[:, None]
    x, y = images_tensor(tg.images[idx]), truth[tg.frame_index[idx]]
    target = AlignmentTarget.from_silhouettes(S)
    with torch.no_grad():
        phi, o6, betas, cam = r.predict_parameters(x)

    def report(out, terms) -> tuple:
        with torch.no_grad():
            sh = m2s(body.proxy_vertices(out.vertices), body.proxy_faces, out.camera, SilhouetteSettings(image_size=64))
            iou = ((sh * S).sum((1, 2, 3)) / ((sh + S) > 0).float().sum((1, 2, 3)).clamp_min(1)).mean()
        return (
            round(sum(t.mean().item() for t in terms.values())),
            round(iou.item(), 3),
            round(pa_mpjpe(out.eval_joints, y).mean().item(), 1),
        )

    def run(groups: list[int], mode: str, lr: float) -> list[tuple]:
        theta = [
            torch.atanh(phi.clamp(-0.999, 0.999)).clone(),
            o6.clone(),
            betas.clone(),
            torch.log(cam[:, :1]).clone(),
            cam[:, 1:].clone(),
        ]
        params = [theta[g].requires_grad_(True) for g in groups]
        optimisers, trace = {}, []
        for step in range(args.steps + 1):
            out = r.decode(torch.tanh(theta[0]), theta[1], theta[2], torch.cat([theta[3].exp(), theta[4]], 1))
            terms = predicted_terms(r, out, target, AdaptConfig())
            if step % 5 == 0:
                trace.append(report(out, terms))
            if step < args.steps:
                step_each(optimisers, terms, params, lr, mode)
        return trace

    print(f"(loss, IoU, PA-MPJPE mm) every 5 steps, {len(idx)} crops of the tuning site, shift {args.shift}")
    for name, groups in GROUPS.items():
        print(f"separate Adams, lr {args.lr:g}, {name}: {run(groups, 'separate', args.lr)}", flush=True)
    print(f"joint Adam, lr {args.lr:g}, all: {run(GROUPS['all'], 'joint', args.lr)}", flush=True)
    print(f"separate Adams, lr {args.lr / 4:g}, all: {run(GROUPS['all'], 'separate', args.lr / 4)}", flush=True)


if __name__ == "__main__":
    main()
