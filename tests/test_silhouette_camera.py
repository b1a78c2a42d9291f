"""models/silhouette_camera.py: the served camera fitted to the person's silhouette, against a slow
reference that rasterises the mesh afresh under every camera of the grid."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.body_model import load_body_model
from models.mesh_mask import mesh_mask
from models.silhouette_camera import CameraFitConfig, SilhouetteCamera, fit_camera, similarity_camera

SIZE = 64


@pytest.fixture(scope="module")
def body() -> tuple[np.ndarray, np.ndarray]:
    """(V, 2) x, y of a root-centred body in camera axes (upright, one arm out), and its (F, 3) faces."""
    model = load_body_model()
    pose = torch.zeros(1, 72)
    pose[0, 0] = np.pi  # camera axes: y down
    pose[0, 50] = -1.2  # the left shoulder raised: a silhouette with no symmetry to hide a wrong shift
    out = model(torch.zeros(1, 10), pose)
    vertices = (out.vertices[0] - out.joints[0, 0]).numpy()
    return vertices[:, :2].astype(np.float64), np.asarray(model.faces, np.int64)


def silhouette(xy: np.ndarray, faces: np.ndarray, camera) -> np.ndarray:
    camera = np.asarray(camera, np.float64)
    return mesh_mask((camera[0] * xy + camera[1:] + 1.0) * (SIZE / 2.0) - 0.5, faces, (SIZE, SIZE))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_similarity_camera_moves_every_projected_point_by_the_similarity():
    rng = np.random.default_rng(0)
    points, camera = rng.normal(size=(50, 2)), np.array([0.7, 0.1, -0.2])
    scale, centre, shift = 1.15, np.array([0.05, 0.02]), np.array([-0.03, 0.08])
    moved = similarity_camera(camera, scale, centre, shift)
    u = camera[0] * points + camera[1:]
    np.testing.assert_allclose(moved[0] * points + moved[1:], scale * (u - centre) + centre + shift, atol=1e-12)


def test_a_silhouette_made_by_a_known_camera_gives_that_camera_back(body):
    xy, faces = body
    truth = np.array([0.9, 0.05, 0.1])
    start = np.array([0.8, -0.05, 0.02])  # 11% smaller, 3 px left and 2.6 px up at 64 px
    fit = fit_camera(xy, start, faces, silhouette(xy, faces, truth), CameraFitConfig(max_shift=0.1))
    assert fit.fitted and fit.iou_before < 0.4 and fit.iou_after > 0.85
    # The grid has scales 5% apart and whole-pixel shifts (1/32 of the crop): the camera within a step.
    assert abs(fit.camera[0] / truth[0] - 1) < 0.05
    np.testing.assert_allclose(fit.camera[1:], truth[1:], atol=1.5 / 32)
    # What the fit reports is what the mesh rasterised afresh under its camera shows.
    sil = silhouette(xy, faces, truth)
    assert iou(silhouette(xy, faces, fit.camera), sil) == pytest.approx(fit.iou_after, abs=0.04)
    assert iou(silhouette(xy, faces, start), sil) == pytest.approx(fit.iou_before, abs=0.04)


def test_the_default_fit_shifts_the_mesh_by_two_pixels_at_most(body):
    xy, faces = body
    start = np.array([0.8, -0.05, 0.02])
    fit = fit_camera(xy, start, faces, silhouette(xy, faces, [0.9, 0.05, 0.1]))
    assert fit.fitted and fit.iou_after > fit.iou_before
    centre = (lambda u: (u.min(0) + u.max(0)) / 2)(start[0] * xy + start[1:])
    scale = fit.camera[0] / start[0]
    shift = fit.camera[1:] - (scale * start[1:] + (1 - scale) * centre)  # similarity_camera, inverted
    assert np.all(np.abs(shift) * SIZE / 2 <= 2 + 1e-9)


def test_the_fit_finds_the_best_camera_of_its_grid_as_a_brute_force_search_does(body):
    xy, faces = body
    config = CameraFitConfig(scales=(0.9, 1.0, 1.1), max_shift=0.0625, min_gain=0.0)  # shifts of 0..4 px
    start = np.array([0.75, 0.0, 0.05])
    # A silhouette the mesh cannot match exactly: wider than the body (a coat) and with a cast shadow.
    sil = silhouette(xy, faces, [0.8, 0.04, 0.0])
    sil = sil | np.roll(sil, 2, axis=1)
    sil[58:62, 20:50] = True
    fit = fit_camera(xy, start, faces, sil, config)
    centre = (lambda u: (u.min(0) + u.max(0)) / 2)(start[0] * xy + start[1:])
    reach = round(config.max_shift * SIZE)
    brute = max(
        iou(silhouette(xy, faces, similarity_camera(start, k, centre, np.array([dx, dy]) * 2 / SIZE)), sil)
        for k in config.scales
        for dx in range(-reach, reach + 1)
        for dy in range(-reach, reach + 1)
    )
    assert fit.fitted
    # Resampling the raster instead of redrawing it costs the fit at most a little of the best IoU.
    assert iou(silhouette(xy, faces, fit.camera), sil) >= brute - 0.03
    assert fit.iou_after == pytest.approx(brute, abs=0.03)


def test_the_regressors_camera_is_kept_where_the_silhouette_says_nothing_better(body):
    xy, faces = body
    camera = np.array([0.8, 0.02, 0.04])
    same = fit_camera(xy, camera, faces, silhouette(xy, faces, camera))
    assert not same.fitted and same.iou_before > 0.9 and np.array_equal(same.camera, camera)
    assert same.iou_after == same.iou_before
    empty = fit_camera(xy, camera, faces, np.zeros((SIZE, SIZE), bool))
    assert not empty.fitted and np.array_equal(empty.camera, camera) and np.isnan(empty.iou_before)
    speck = np.zeros((SIZE, SIZE), bool)
    speck[30:33, 30:33] = True  # 9 pixels: under 2% of the crop
    assert not fit_camera(xy, camera, faces, speck).fitted


def test_the_bound_fitter_is_the_function(body):
    xy, faces = body
    sil = silhouette(xy, faces, [0.9, 0.05, 0.1])
    a = SilhouetteCamera(faces).fit(xy, np.array([0.8, 0.0, 0.0]), sil)
    b = fit_camera(xy, np.array([0.8, 0.0, 0.0]), faces, sil)
    np.testing.assert_array_equal(a.camera, b.camera)


@pytest.mark.parametrize(
    ("field", "value"),
    [("scales", ()), ("scales", (0.0, 1.0)), ("max_shift", 0.6), ("min_gain", 1.0), ("min_silhouette", -0.1)],
)
def test_a_bad_config_is_refused_with_its_value(field, value):
    with pytest.raises(ValueError, match=field.split("_")[0]):
        CameraFitConfig(**{field: value})


def test_bad_shapes_are_refused(body):
    xy, faces = body
    with pytest.raises(ValueError, match="vertices_xy"):
        fit_camera(xy[:, :1], np.ones(3), faces, np.zeros((SIZE, SIZE), bool))
    with pytest.raises(ValueError, match="square"):
        fit_camera(xy, np.ones(3), faces, np.zeros((SIZE, SIZE + 1), bool))


def test_a_person_cut_by_the_frames_edge_is_fitted_on_what_the_frame_shows(body):
    xy, faces = body
    truth = np.array([0.85, 0.0, 0.15])  # the feet run past the crop's bottom rows
    start = np.array([0.72, -0.05, 0.08])
    visible = np.zeros((SIZE, SIZE), bool)
    visible[:40] = True  # the frame ends well above the crop's bottom, at the thighs
    sil = silhouette(xy, faces, truth) & visible
    wide = CameraFitConfig(max_shift=0.1)
    cut = fit_camera(xy, start, faces, sil, wide, visible)
    blind = fit_camera(xy, start, faces, sil, wide)
    # Over the frame's part only, the true camera explains the silhouette whole: the fit finds it.
    assert cut.fitted and cut.iou_after > 0.85
    assert abs(cut.camera[0] / truth[0] - 1) < 0.05
    np.testing.assert_allclose(cut.camera[1:], truth[1:], atol=1.5 / 32)
    # Blind to the edge, it shrinks the body into what is left of the person.
    assert blind.camera[0] < cut.camera[0] - 0.03, (blind.camera, cut.camera)
    with pytest.raises(ValueError, match="visible"):
        fit_camera(xy, start, faces, sil, wide, visible[:10])
