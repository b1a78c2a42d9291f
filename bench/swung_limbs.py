"""Fit swung limbs back to a silhouette with each loss and each way of differentiating S2D.

    python -m bench.swung_limbs [--steps 150]

The paper's Fig. 3 claim on our body model: a target silhouette is rendered from a known pose,
and the fit starts from a pose whose limbs are swung 0.5-1.2 rad away, so they no longer overlap
their targets. Only the in-image-plane angles are fitted (a single silhouette cannot tell a limb
swung in the image plane from one swung towards the camera; the adaptation engine adds the pose
prior for that), so this measures the quality of the 2D gradient alone. Prints the 3D joint
error before and after for: L_S + L_T (Eq. 5 on silhouettes and skeletons), their *pull* halves
only (each target pixel's distance to the prediction), and pixel L2; each with S2D's literal
Eq. 2 gradient and with the distance gradient. tests/test_topology_fitting.py asserts the default.
"""

from __future__ import annotations

import argparse
import math

import torch

from models.body_layout import JOINT_NAMES
from models.body_model import load_body_model
from models.m2s import SilhouetteSettings, m2s
from models.topology import outward_distance, pixel_l2_loss, silhouette_loss, skeleton, topology_loss

J = {n: i for i, n in enumerate(JOINT_NAMES)}
TARGET = {
    "left_shoulder": -0.6,
    "right_shoulder": 0.3,
    "left_elbow": 0.8,
    "right_elbow": -0.5,
    "left_hip": 0.3,
    "right_hip": -0.25,
    "left_knee": -0.2,
}
SWING = {
    "left_shoulder": 1.0,
    "right_shoulder": -1.0,
    "left_elbow": -1.2,
    "right_elbow": 1.0,
    "left_hip": -0.6,
    "right_hip": 0.6,
    "left_knee": 0.6,
}
CAMERA = torch.tensor([[0.9, 0.0, 0.05]])
SETTINGS = SilhouetteSettings(image_size=64)
# (loss, S2D gradient); pixel L2 never runs S2D.
CASES = (("ours", "erosions"), ("ours", "distance"), ("pull", "erosions"), ("pull", "distance"), ("pixel_l2", None))


def in_plane_pose(angles: dict[str, float]) -> torch.Tensor:
    pose = torch.zeros(1, 24, 3)
    pose[0, 0, 0] = math.pi  # facing the camera: body z (the in-image-plane axis) along the view
    for name, a in angles.items():
        pose[0, J[name], 2] = a
    return pose


def render(body, pose):
    out = body(torch.zeros(1, 10), pose.reshape(1, 72))
    root = out.joints[:, :1]
    return m2s(body.proxy_vertices(out.vertices) - root, body.proxy_faces, CAMERA, SETTINGS), out.joints - root


def fit(body, loss_name: str = "ours", steps: int = 150, gradient: str = "erosions") -> tuple[float, float]:
    """Returns the 3D joint error (mm) before and after fitting the limbs' in-plane angles."""
    with torch.no_grad():
        S_t, J_t = render(body, in_plane_pose(TARGET))
        T_t = skeleton(S_t)
        D_S, D_T = outward_distance(S_t), outward_distance(T_t)
    start = in_plane_pose({k: TARGET[k] + SWING[k] for k in TARGET})
    angles = start[:, 1:, 2].clone().requires_grad_(True)  # every joint's in-plane angle, not the root's
    opt = torch.optim.Adam([angles], lr=0.03)
    err = []
    for _ in range(steps):
        pose = torch.cat([start[:, :1], torch.cat([start[:, 1:, :2], angles[..., None]], -1)], 1)
        S, joints = render(body, pose)
        err.append((joints.detach() - J_t).norm(dim=-1).mean().item() * 1000)
        if loss_name == "ours":
            loss = silhouette_loss(S, S_t, D_S, gradient=gradient) + topology_loss(
                skeleton(S, gradient=gradient), T_t, D_T, gradient=gradient
            )
        elif loss_name == "pull":
            T = skeleton(S, gradient=gradient)
            loss = (outward_distance(S, watch=S_t, gradient=gradient) * S_t).sum() + (
                outward_distance(T, watch=T_t, gradient=gradient) * T_t
            ).sum()
        else:
            loss = pixel_l2_loss(S, S_t)
        opt.zero_grad()
        loss.sum().backward()
        opt.step()
    return err[0], err[-1]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=150)
    args = ap.parse_args(argv)
    body = load_body_model()
    print(f"3D joint error (mm), start -> after {args.steps} Adam steps")
    for loss, gradient in CASES:
        torch.manual_seed(0)
        start, end = fit(body, loss, args.steps, gradient or "distance")
        print(f"  {loss:9s} S2D gradient {gradient or '-':9s} {start:6.1f} -> {end:6.1f}", flush=True)


if __name__ == "__main__":
    main()
