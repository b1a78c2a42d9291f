"""Picture of a body model in a few poses and shapes, front and side, to look at.

    python -m models.tools.render_body_figure [--model PATH] [--out docs/open_body_model.png]

Rendered with PyTorch3D (shaded, orthographic); the proxy's silhouette is drawn as an outline
over the full mesh so both can be checked at once.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from models.body_layout import JOINT_NAMES
from models.body_model import load_body_model

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs" / "open_body_model.png"


def example_poses() -> dict[str, torch.Tensor]:
    """A few readable poses as (72,) axis-angle vectors."""
    j = {n: i for i, n in enumerate(JOINT_NAMES)}

    def pose(**rot: tuple[float, float, float]) -> torch.Tensor:
        p = torch.zeros(24, 3)
        for name, r in rot.items():
            p[j[name]] = torch.tensor(r)
        return p.reshape(-1)

    return {
        "rest (T)": pose(),
        "arms down": pose(
            left_shoulder=(0, 0, -1.25), right_shoulder=(0, 0, 1.25), left_elbow=(0, -0.3, 0), right_elbow=(0, 0.3, 0)
        ),
        "walking": pose(
            left_shoulder=(0, 0, -1.3),
            right_shoulder=(0, 0, 1.3),
            left_hip=(-0.5, 0, 0),
            right_hip=(0.4, 0, 0),
            left_knee=(0.3, 0, 0),
            right_knee=(0.9, 0, 0),
            left_elbow=(0, -0.6, 0),
            right_elbow=(0, 0.4, 0),
        ),
        "squat, wave": pose(
            left_hip=(-1.6, 0, -0.2),
            right_hip=(-1.6, 0, 0.2),
            left_knee=(2.0, 0, 0),
            right_knee=(2.0, 0, 0),
            left_ankle=(-0.4, 0, 0),
            right_ankle=(-0.4, 0, 0),
            spine1=(0.3, 0, 0),
            left_shoulder=(0, 0, 0.6),
            left_elbow=(0, -1.6, 0),
            right_shoulder=(0, 0, 1.2),
        ),
    }


def render_panels(body, betas: torch.Tensor, poses: torch.Tensor, azim: float, size: int = 320) -> np.ndarray:
    """(N, size, size, 3) uint8 shaded renders, with the proxy outline in red."""
    from pytorch3d.renderer import (
        FoVOrthographicCameras,
        HardPhongShader,
        MeshRasterizer,
        MeshRenderer,
        PointLights,
        RasterizationSettings,
        TexturesVertex,
        look_at_view_transform,
    )
    from pytorch3d.structures import Meshes

    out = body(betas, poses)
    verts = out.vertices - out.joints[:, :1]  # centre on the pelvis
    n = verts.shape[0]
    R, T = look_at_view_transform(dist=3.0, elev=0.0, azim=azim)
    cams = FoVOrthographicCameras(
        R=R.expand(n, 3, 3), T=T.expand(n, 3), min_x=-1.05, max_x=1.05, min_y=-1.15, max_y=0.95
    )
    raster = RasterizationSettings(image_size=size, blur_radius=0.0, faces_per_pixel=1)
    lights = PointLights(location=[[2.0 * math.sin(math.radians(azim)), 2.0, 2.0 * math.cos(math.radians(azim))]])
    colour = torch.tensor([0.72, 0.62, 0.55]).expand(n, verts.shape[1], 3)
    meshes = Meshes(verts=verts, faces=body.faces.expand(n, -1, -1), textures=TexturesVertex(colour))
    renderer = MeshRenderer(
        MeshRasterizer(cameras=cams, raster_settings=raster), HardPhongShader(cameras=cams, lights=lights)
    )
    img = renderer(meshes)[..., :3].clamp(0, 1)
    proxy = Meshes(verts=body.proxy_vertices(verts), faces=body.proxy_faces.expand(n, -1, -1))
    frags = MeshRasterizer(cameras=cams, raster_settings=raster)(proxy)
    mask = (frags.pix_to_face[..., 0] >= 0).float()
    edge = (torch.nn.functional.max_pool2d(mask[:, None], 3, 1, 1)[:, 0] - mask) > 0
    img[edge] = torch.tensor([0.85, 0.1, 0.1])
    return (img.numpy() * 255).astype(np.uint8)


def make_figure(body, out: Path) -> None:
    poses = example_poses()
    names = [*list(poses), "short (beta0=-2)", "tall (beta0=+2)", "beta1=+2", "beta2=+2"]
    P = torch.stack(list(poses.values()) + [torch.zeros(72)] * 4)
    B = torch.zeros(len(names), body.num_betas)
    B[4, 0], B[5, 0], B[6, 1], B[7, 2] = -2.0, 2.0, 2.0, 2.0
    with torch.no_grad():
        rows = [render_panels(body, B, P, azim) for azim in (0.0, 90.0)]
    size = rows[0].shape[1]
    canvas = Image.new("RGB", (size * len(names), size * 2 + 24), "white")
    draw = ImageDraw.Draw(canvas)
    for r, row in enumerate(rows):
        for c, panel in enumerate(row):
            canvas.paste(Image.fromarray(panel), (c * size, 24 + r * size))
    for c, name in enumerate(names):
        draw.text((c * size + 6, 6), name, fill="black")
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="licensed SMPL file; default: the open model")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    make_figure(load_body_model(args.model), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
