"""Overlays: the drawn mesh covers exactly what its triangles cover (brute force: one triangle at a time)."""

import cv2
import numpy as np
import pytest
import torch

from models.body_model import load_body_model
from models.mesh_mask import facing_camera
from service.overlay import draw_mesh, mesh_pixels


@pytest.fixture(scope="module")
def mesh():
    body = load_body_model()
    pose = torch.zeros(1, 72)
    pose[0, 0] = np.pi  # the body's up is the camera's -y: turn it upright in camera axes
    pose[0, 50], pose[0, 53] = -1.2, 1.2  # elbows bent over the body: triangles overlap in the image
    with torch.no_grad():
        vertices = body(torch.zeros(1, 10), pose).vertices[0].numpy()
    return vertices, body.faces.numpy()


@pytest.mark.parametrize("camera", [[1.0, 0.0, 0.0], [0.8, 0.1, -0.1]])
def test_drawn_mesh_is_the_union_of_its_triangles(mesh, camera):
    vertices, faces = mesh
    pixels = mesh_pixels(vertices, np.array(camera), (200.0, 150.0, 300.0))
    union = np.zeros((300, 400), np.uint8)
    for t in np.round(pixels[faces] * 4).astype(np.int32):
        cv2.fillConvexPoly(union, t, 255, cv2.LINE_8, shift=2)
    front = facing_camera(pixels, faces)
    assert 0.3 * len(faces) < len(front) < 0.7 * len(faces)
    colour = (255, 0, 0)
    drawn = draw_mesh(np.zeros((300, 400, 3), np.uint8), pixels, faces, colour, alpha=1.0)
    covered = (drawn == colour).all(-1)
    assert (covered & (union == 0)).sum() == 0
    assert (~covered & (union > 0)).sum() < 0.005 * (union > 0).sum()  # back faces' rims at the outline only


def test_a_single_fill_would_leave_holes_where_triangles_overlap(mesh):
    """Why draw_mesh fills one triangle at a time: fillPoly over all of them fills by parity."""
    vertices, faces = mesh
    pixels = mesh_pixels(vertices, np.array([1.0, 0.0, 0.0]), (200.0, 150.0, 300.0))
    tris = np.round(pixels[facing_camera(pixels, faces)] * 4).astype(np.int32)
    once = np.zeros((300, 400), np.uint8)
    cv2.fillPoly(once, list(tris), 255, cv2.LINE_8, shift=2)
    drawn = (draw_mesh(np.zeros((300, 400, 3), np.uint8), pixels, faces, (255, 0, 0), alpha=1.0) == (255, 0, 0)).all(-1)
    assert (drawn & (once == 0)).sum() > 20
