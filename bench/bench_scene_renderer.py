"""Throughput of the synthetic-image renderer (issue target: at least 50 images/s at 128x128 on 2 CPU cores).

    python -m bench.bench_scene_renderer

Each image: pose the body (smplx, batched), shade and rasterize with OpenGL, read back, composite
over a background. PyTorch3D's shaded CPU renderer runs on the same bodies in the same process as
the baseline. Writes its section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import math
import time
from datetime import UTC, datetime

import numpy as np
import torch
from tqdm import tqdm

from bench.report import machine, write_section
from models.body_model import load_body_model
from models.synth.pose_sampler import sample_poses
from models.synth.scene_renderer import SceneRenderer, random_appearance, weak_perspective_matrix


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=500)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    body = load_body_model()
    renderer = SceneRenderer(body.faces, body.smpl.lbs_weights, args.size, args.size, body.v_template)
    rng = np.random.default_rng(0)
    g = torch.Generator().manual_seed(0)
    cam = weak_perspective_matrix(np.array([0.9, 0.0, 0.05]))
    backgrounds = rng.integers(0, 255, (8, args.size, args.size, 3), dtype=np.uint8)

    t = time.perf_counter()
    done = 0
    bar = tqdm(total=args.images, desc="OpenGL renders")
    while done < args.images:
        n = min(64, args.images - done)
        pose = sample_poses(n, g)
        pose[:, 0] = math.pi
        with torch.no_grad():
            out = body(0.7 * torch.randn(n, 10, generator=g), pose)
        verts = (out.vertices - out.joints[:, :1]).numpy()
        for i in range(n):
            renderer.render(verts[i], cam, renderer.colours(random_appearance(rng), rng), backgrounds[i % 8])
        done += n
        bar.update(n)
    bar.close()
    ours = args.images / (time.perf_counter() - t)

    from pytorch3d.renderer import (
        FoVOrthographicCameras,
        HardPhongShader,
        MeshRasterizer,
        MeshRenderer,
        PointLights,
        RasterizationSettings,
        TexturesVertex,
    )
    from pytorch3d.structures import Meshes

    n = 8
    pose = sample_poses(n, g)
    pose[:, 0] = math.pi
    with torch.no_grad():
        out = body(torch.zeros(n, 10), pose)
        v = out.vertices - out.joints[:, :1]
        ndc = torch.stack([-0.9 * v[..., 0], -0.9 * v[..., 1], v[..., 2] + 5.0], -1)
        cams = FoVOrthographicCameras()
        p3d = MeshRenderer(
            MeshRasterizer(cameras=cams, raster_settings=RasterizationSettings(image_size=args.size, bin_size=0)),
            HardPhongShader(cameras=cams, lights=PointLights(location=[[0.0, 0.0, -3.0]])),
        )
        t = time.perf_counter()
        for i in range(n):
            p3d(Meshes(ndc[i : i + 1], body.faces[None], textures=TexturesVertex(torch.full((1, v.shape[1], 3), 0.6))))
        base = n / (time.perf_counter() - t)

    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    text = "\n".join(
        [
            "## Synthetic-image renderer (cpu)",
            "",
            f"Command: `python -m bench.bench_scene_renderer` ({stamp}). Machine: {machine('cpu')}.",
            "",
            f"- OpenGL (ModernGL on EGL, {renderer.ctx.info['GL_RENDERER']}), {args.size}x{args.size}, "
            f"13,776-face body, posing included: **{ours:.0f} images/s** over {args.images} images (target: 50).",
            f"- PyTorch3D's shaded CPU renderer on the same mesh and size: {base:.1f} images/s "
            f"(ratio {ours / base:.0f}x).",
        ]
    )
    print(text)
    if not args.no_write:
        write_section(text, "scene-renderer-cpu")


if __name__ == "__main__":
    main()
