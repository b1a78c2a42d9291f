"""Benchmark of the topology core: losses, M2S, a whole fitting iteration, distance accuracy.

    python -m bench.bench_topology [--quick] [--device cpu|cuda]

Writes its section of docs/BENCHMARKS.md (between the ``topology-<device>`` markers) with the command,
the machine and every figure. Baselines run in the same process, on the same inputs, so the
ratios hold even where absolute times drift.
"""

from __future__ import annotations

import argparse
import math
from datetime import UTC, datetime

import numpy as np
import torch
from scipy import ndimage
from tqdm import tqdm

from bench.report import machine, timeit, write_section
from models.body_model import load_body_model
from models.fitting_loss import fitting_loss, foreground_points
from models.m2s import SilhouetteSettings, m2s, weak_perspective
from models.topology import d2t, outward_distance, s2d, silhouette_loss, skeleton, topology_loss


def random_bodies(body, n: int, seed: int, device: str):
    """Camera-frame proxy vertices of n bodies in random plausible poses, and their cameras."""
    g = torch.Generator().manual_seed(seed)
    pose = 0.25 * torch.randn(n, 24, 3, generator=g)
    pose[:, 0] = torch.tensor([math.pi, 0.0, 0.0]) + 0.2 * torch.randn(n, 3, generator=g)
    pose[:, 16, 2] -= 1.0  # arms half down
    pose[:, 17, 2] += 1.0
    with torch.no_grad():
        out = body(0.8 * torch.randn(n, 10, generator=g), pose.reshape(n, 72))
    verts = (body.proxy_vertices(out.vertices) - out.joints[:, :1]).to(device)
    cam = torch.cat([0.85 + 0.1 * torch.rand(n, 1, generator=g), 0.1 * torch.randn(n, 2, generator=g)], 1).to(device)
    return verts, cam


def bench_losses(body, size: int, batch: int, repeat: int, device: str) -> dict:
    settings = SilhouetteSettings(image_size=size)
    v_hat, c_hat = random_bodies(body, batch, 1, device)
    v_ref, c_ref = random_bodies(body, batch, 2, device)
    faces = body.proxy_faces.to(device)
    with torch.no_grad():
        S_hat0 = m2s(v_hat, faces, c_hat, settings)
        S = m2s(v_ref, faces, c_ref, settings)
        T = skeleton(S)
        D_T = outward_distance(T)

    def ours(gradient: str = "erosions"):
        S_hat = S_hat0.clone().requires_grad_(True)
        loss = topology_loss(d2t(s2d(S_hat, gradient=gradient), S_hat), T, D_T, gradient=gradient).sum()
        loss.backward()

    fg = foreground_points(S)

    def a2():
        v = v_hat.clone().requires_grad_(True)
        fitting_loss(v, c_hat, S, fg).sum().backward()

    def pointset_skeleton():
        # Eq. 4 itself, with skeleton pixels turned into point sets (no gradient path to the map).
        from pytorch3d.loss import chamfer_distance

        a, na = foreground_points(d2t(s2d(S_hat0), S_hat0))
        b, nb = foreground_points(T)
        chamfer_distance(a, b, x_lengths=na, y_lengths=nb, batch_reduction=None, point_reduction="sum")

    return {
        "topology_ms": timeit(ours, repeat, device=device),
        "topology_distance_ms": timeit(lambda: ours("distance"), repeat, device=device),
        "a2_ms": timeit(a2, repeat, device=device),
        "pointset_ms": timeit(pointset_skeleton, repeat, device=device),
    }


def bench_m2s(body, size: int, batch: int, repeat: int, device: str) -> dict:
    from pytorch3d.renderer import (
        BlendParams,
        FoVOrthographicCameras,
        MeshRasterizer,
        MeshRenderer,
        RasterizationSettings,
        SoftSilhouetteShader,
    )
    from pytorch3d.structures import Meshes

    v, cam = random_bodies(body, batch, 3, device)
    faces = body.proxy_faces.to(device)
    settings = SilhouetteSettings(image_size=size)
    weights = torch.randn(batch, 1, size, size, device=device)

    def ours():
        vv = v.clone().requires_grad_(True)
        (m2s(vv, faces, cam, settings) * weights).sum().backward()

    # PyTorch3D's documented soft-silhouette recipe, 4 faces per pixel, edge ~1 px wide.
    px = 2.0 / size
    blend = BlendParams(sigma=(0.5 * px) ** 2, gamma=1e-4)
    raster = RasterizationSettings(
        image_size=size,
        blur_radius=math.log(1 / 1e-4 - 1) * blend.sigma,
        faces_per_pixel=4,
        bin_size=0 if device == "cpu" else None,
    )
    cameras = FoVOrthographicCameras(device=device)
    renderer = MeshRenderer(MeshRasterizer(cameras=cameras, raster_settings=raster), SoftSilhouetteShader(blend))

    def pytorch3d_soft():
        vv = v.clone().requires_grad_(True)
        uvz = weak_perspective(vv, cam)
        ndc = torch.stack([-uvz[..., 0], -uvz[..., 1], uvz[..., 2] + 5.0], -1)
        img = renderer(Meshes(ndc, faces.expand(batch, -1, -1)))[..., 3]
        (img * weights[:, 0]).sum().backward()

    ours_ms = timeit(ours, repeat, device=device) / batch
    base_ms = timeit(pytorch3d_soft, max(2, repeat // 2), device=device) / batch
    return {"m2s_ms_per_image": ours_ms, "pytorch3d_soft_ms_per_image": base_ms}


def bench_fitting_iteration(body, size: int, batch: int, repeat: int, device: str) -> float:
    """One iteration of Algorithm 1's fitting loop: SMPL -> M2S -> S2D/D2T -> L_S + L_T, backward, Adam."""
    body = body.to(device)
    settings = SilhouetteSettings(image_size=size)
    v_ref, c_ref = random_bodies(body.cpu(), batch, 4, device)
    body = body.to(device)
    with torch.no_grad():
        S = m2s(v_ref, body.proxy_faces, c_ref, settings)
        T = skeleton(S)
        D_S, D_T = outward_distance(S), outward_distance(T)
    g = torch.Generator().manual_seed(5)
    pose = (0.2 * torch.randn(batch, 72, generator=g)).to(device)
    pose[:, 0] += math.pi
    pose.requires_grad_(True)
    betas = torch.zeros(batch, 10, device=device, requires_grad=True)
    cam = c_ref.clone().requires_grad_(True)
    opt = torch.optim.Adam([pose, betas, cam], lr=1e-3)

    def step():
        out = body(betas, pose)
        v = body.proxy_vertices(out.vertices) - out.joints[:, :1]
        S_hat = m2s(v, body.proxy_faces, cam, settings)
        loss = silhouette_loss(S_hat, S, D_S) + topology_loss(skeleton(S_hat), T, D_T)
        opt.zero_grad()
        loss.sum().backward()
        opt.step()

    ms = timeit(step, repeat, device=device)
    body.cpu()
    return ms


def distance_accuracy(body, size: int = 128, n: int = 16) -> dict:
    v, cam = random_bodies(body, n, 6, "cpu")
    with torch.no_grad():
        S = m2s(v, body.proxy_faces, cam, SilhouetteSettings(image_size=size))[:, 0]
    masks = S.numpy() > 0
    edt = np.stack([ndimage.distance_transform_edt(np.pad(m, 1))[1:-1, 1:-1] for m in masks])
    out = {}
    for schedule in ("chessboard", "octagonal"):
        d = s2d(S, schedule=schedule).numpy()
        err = np.abs(d - edt)[masks]
        out[schedule] = {"mean_abs_px": float(err.mean()), "max_abs_px": float(err.max())}
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    dev = args.device
    repeat = 3 if args.quick else 10
    body = load_body_model()
    cases = (
        [("losses", s) for s in (64, 128)]
        + [("m2s", s) for s in (64, 128)]
        + [("fit", s) for s in (64, 224)]
        + [("accuracy", 128)]
    )
    results: dict = {}
    for kind, size in tqdm(cases, desc="benchmark"):
        if kind == "losses":
            results[kind, size] = bench_losses(body.to(dev), size, 16, repeat, dev)
        elif kind == "m2s":
            results[kind, size] = bench_m2s(body.to(dev), size, 16, repeat, dev)
        elif kind == "fit":
            results[kind, size] = bench_fitting_iteration(body, size, 16, max(2, repeat // 2), dev)
        else:
            results[kind, size] = distance_accuracy(body.cpu())
        tqdm.write(f"{kind} {size}: {results[kind, size]}")

    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    cmd = (
        "python -m bench.bench_topology"
        + (" --quick" if args.quick else "")
        + (f" --device {dev}" if dev != "cpu" else "")
    )
    L = [
        f"## Topology core ({dev})",
        "",
        f"Command: `{cmd}` ({stamp}). Machine: {machine(dev)}. Median of {repeat} runs; batch 16.",
        "",
        "| what | 64x64 | 128x128 |",
        "|---|---|---|",
    ]
    l64, l128 = results["losses", 64], results["losses", 128]
    L.append(
        f"| S2D + D2T + L_T, forward + backward, per batch of 16, S2D's literal Eq. 2 gradient | {l64['topology_ms']:.1f} ms | {l128['topology_ms']:.1f} ms |"
    )
    L.append(
        f"| the same with S2D differentiated by the distance (`gradient='distance'`, the default) | {l64['topology_distance_ms']:.1f} ms | {l128['topology_distance_ms']:.1f} ms |"
    )
    L.append(
        f"| ratio distance / literal gradient | {l64['topology_distance_ms'] / l64['topology_ms']:.2f} | {l128['topology_distance_ms'] / l128['topology_ms']:.2f} |"
    )
    L.append(
        f"| A2 point-set fitting loss (PyTorch3D `chamfer_distance`), fwd + bwd, per batch | {l64['a2_ms']:.1f} ms | {l128['a2_ms']:.1f} ms |"
    )
    L.append(
        f"| ratio L_T / A2 | {l64['topology_ms'] / l64['a2_ms']:.2f} | {l128['topology_ms'] / l128['a2_ms']:.2f} |"
    )
    L.append(
        f"| Eq. 4 on skeleton pixels as point sets (forward only, no gradient to the map), per batch | {l64['pointset_ms']:.1f} ms | {l128['pointset_ms']:.1f} ms |"
    )
    m64, m128 = results["m2s", 64], results["m2s", 128]
    L.append(
        f"| M2S forward + backward, per image (1,580-face proxy) | {m64['m2s_ms_per_image']:.1f} ms | {m128['m2s_ms_per_image']:.1f} ms |"
    )
    L.append(
        f"| PyTorch3D soft silhouette (K=4, blur), fwd + bwd, per image | {m64['pytorch3d_soft_ms_per_image']:.1f} ms | {m128['pytorch3d_soft_ms_per_image']:.1f} ms |"
    )
    L.append(
        f"| ratio M2S / PyTorch3D soft | {m64['m2s_ms_per_image'] / m64['pytorch3d_soft_ms_per_image']:.2f} | {m128['m2s_ms_per_image'] / m128['pytorch3d_soft_ms_per_image']:.2f} |"
    )
    L += [
        "",
        "Whole fitting iteration (body model, M2S, S2D, D2T, L_S + L_T, backward, Adam step), batch 16:",
        "",
        f"- 64x64: {results['fit', 64]:.0f} ms",
        f"- 224x224: {results['fit', 224]:.0f} ms (the paper: about 12 ms on a Titan RTX GPU)",
        "",
    ]
    acc = results["accuracy", 128]
    L += [
        "Distance maps against an exact Euclidean transform (scipy), 16 rendered bodies at 128x128, foreground pixels:",
        "",
        "| erosion schedule | mean abs error | max abs error |",
        "|---|---|---|",
    ]
    for schedule, e in acc.items():
        L.append(f"| {schedule} | {e['mean_abs_px']:.2f} px | {e['max_abs_px']:.2f} px |")
    text = "\n".join(L)
    print(text)
    if not args.no_write:
        write_section(text, f"topology-{dev}")


if __name__ == "__main__":
    main()
