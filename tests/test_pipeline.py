"""service/pipeline.py: one frame of one site -> people, with a real exported model and real MOG2."""

from __future__ import annotations

import numpy as np
import pytest

from models.crops import crop, square_box
from models.detail import person_detail_px
from models.export import export_onnx
from models.onnx_runtime import CPU
from models.people.finder import FinderConfig
from models.pose_fit import PoseFitConfig, PoseFitter
from models.regressor import load_regressor
from models.silhouette_camera import SilhouetteCamera, fit_camera
from models.smpl_file import body_model_data, mesh_faces
from service.inference import load_model
from service.pipeline import process_frame
from service.sites import BufferLimits, CropBuffer, Site
from tests.service_helpers import tiny_checkpoint
from tests.test_detail import blown, scene

H, W = 120, 160
WARMUP = 3
PERSON = (70, 30, 90, 90)  # x0, y0, x1, y1 in pixel indices: 20 wide, 60 tall, well inside the frame
PERSON_BOX = (69.5, 29.5, 89.5, 89.5)  # the same in pixel edges (MOG2's box)
LIMITS = BufferLimits(max_crops=100, max_bytes=10**8, max_age_s=3600.0)
CONFIRM = FinderConfig().tracking.confirm_hits  # frames a person is seen before they are answered


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    onnx = export_onnx(load_regressor(tiny_checkpoint(root / "source.pt")), root / "model.onnx")
    return load_model(str(onnx), "source", [CPU])


def background() -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    return np.stack([60 + xx // 4, 80 + yy // 3, np.full((H, W), 90)], -1).astype(np.uint8)


def with_people(*boxes: tuple[int, int, int, int]) -> np.ndarray:
    frame = background()
    for x0, y0, x1, y1 in boxes:
        frame[y0:y1, x0:x1] = (250, 240, 230)
    return frame


def new_site(warmup: int = WARMUP) -> Site:
    return Site("cam", FinderConfig.with_warmup(warmup), CropBuffer(LIMITS))


def seen(site: Site, frame: np.ndarray, model, frames: int = CONFIRM, **kw):
    """The answer to ``frame`` shown ``frames`` times in a row (a person is answered once confirmed)."""
    for _ in range(frames - 1):
        assert process_frame(site, frame, model, max_persons=4, **kw).persons == []
    return process_frame(site, frame, model, **{"max_persons": 4, **kw})


def settled_site(model) -> Site:
    """A site whose background model has learnt the empty scene and finished warming up."""
    site = new_site()
    for _ in range(WARMUP + 1):
        process_frame(site, background(), model, max_persons=4)
    return site


def test_warming_up_first_with_nobody_and_frames_counted(model):
    site = new_site()
    results = [process_frame(site, background(), model, max_persons=4) for _ in range(WARMUP + 1)]
    assert [r.warming_up for r in results] == [True] * WARMUP + [False]
    assert [r.frame_index for r in results] == list(range(WARMUP + 1))
    assert all(r.persons == [] and r.model_version == "source" for r in results)
    assert site.frames_seen == WARMUP + 1 and len(site.buffer) == 0
    assert set(results[0].timings_ms) == {"background_ms", "inference_ms", "camera_fit_ms", "limb_fit_ms", "total_ms"}


def test_nobody_is_answered_or_buffered_while_the_background_is_warming_up(model):
    site = new_site(warmup=10)
    process_frame(site, background(), model, max_persons=4)
    results = [process_frame(site, with_people(PERSON), model, max_persons=4) for _ in range(CONFIRM + 2)]
    assert all(r.warming_up and r.persons == [] for r in results) and len(site.buffer) == 0


def test_one_person_after_warm_up_is_answered_in_frame_pixels_and_buffered(model):
    site = settled_site(model)
    frame = with_people(PERSON)
    result = seen(site, frame, model)
    assert not result.warming_up and result.frame_index == WARMUP + CONFIRM
    (person,) = result.persons
    assert person.box == PERSON_BOX and person.buffered and person.track_id == 1
    cx, cy, side = square_box(PERSON_BOX)
    assert person.square == (cx, cy, side)
    # The model's own outputs on the crop, by hand; then crop coordinates [-1, 1] -> frame pixels.
    out = model.run(crop(frame, person.square, model.image_size)[None])
    np.testing.assert_allclose(person.camera, out["camera"][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(person.joints, out["joints"][0], rtol=1e-5, atol=1e-6)
    s, tx, ty = out["camera"][0]
    uv = s * out["joints"][0][:, :2] + np.array([tx, ty])
    expected = np.stack([cx + uv[:, 0] * side / 2, cy + uv[:, 1] * side / 2], -1)
    assert person.joints_2d.shape == (24, 2)
    np.testing.assert_allclose(person.joints_2d, expected, rtol=1e-5, atol=1e-3)
    assert person.pose.shape == (72,) and person.betas.shape == (10,) and person.vertices.shape[1] == 3
    # What was buffered is that crop, its silhouette and its square.
    snap = site.buffer.snapshot()
    assert snap.frame_index.tolist() == [WARMUP + CONFIRM]
    np.testing.assert_array_equal(snap.images[0], crop(frame, person.square, model.image_size))
    assert tuple(snap.squares[0]) == person.square
    assert snap.silhouettes[0].any() and not snap.silhouettes[0].all()


def test_a_person_cut_by_the_frame_edge_is_answered_but_not_buffered(model):
    site = settled_site(model)
    result = seen(site, with_people((0, 30, 20, 90)), model)
    (person,) = result.persons
    assert person.box[0] < 0 and not person.buffered
    assert len(site.buffer) == 0


def test_buffer_false_never_buffers(model):
    site = settled_site(model)
    result = seen(site, with_people(PERSON), model, buffer=False)
    (person,) = result.persons
    assert not person.buffered and len(site.buffer) == 0


def test_max_persons_keeps_the_largest_people(model):
    small = (20, 40, 30, 70)
    site = settled_site(model)
    both = seen(site, with_people(PERSON, small), model)
    assert [p.box for p in both.persons] == [PERSON_BOX, (19.5, 39.5, 29.5, 69.5)]
    assert all(p.buffered for p in both.persons)
    one = process_frame(site, with_people(PERSON, small), model, max_persons=1)
    assert [p.box for p in one.persons] == [PERSON_BOX]
    assert len(site.buffer) == 3
    first = WARMUP + CONFIRM
    assert site.buffer.snapshot().frame_index.tolist() == [first, first, first + 1]


def test_people_of_one_frame_are_batched_like_single_crops(model):
    small = (20, 40, 30, 70)
    site = settled_site(model)
    frame = with_people(PERSON, small)
    result = seen(site, frame, model)
    assert len(result.persons) == 2
    for person in result.persons:
        alone = model.run(crop(frame, person.square, model.image_size)[None])
        np.testing.assert_allclose(person.joints, alone["joints"][0], rtol=1e-4, atol=1e-5)


def test_with_a_camera_fitter_each_body_is_served_under_the_camera_fitted_to_its_silhouette(model):
    site = settled_site(model)
    frame = with_people(PERSON)
    fitter = SilhouetteCamera(mesh_faces(None))
    (person,) = seen(site, frame, model, camera=fitter).persons
    out = model.run(crop(frame, person.square, model.image_size)[None])
    silhouette = site.buffer.snapshot().silhouettes[-1]  # what the fit saw: the crop's silhouette
    fit = fit_camera(out["vertices"][0][:, :2], out["camera"][0], fitter.faces, silhouette)
    np.testing.assert_allclose(person.camera, fit.camera, rtol=1e-6)
    assert fit.fitted and person.silhouette_iou == fit.iou_after > fit.iou_before
    # The joints in the frame follow the served camera; the body itself is the model's.
    cx, cy, side = person.square
    uv = fit.camera[0] * out["joints"][0][:, :2] + fit.camera[1:]
    np.testing.assert_allclose(
        person.joints_2d, np.stack([cx + uv[:, 0] * side / 2, cy + uv[:, 1] * side / 2], -1), atol=1e-3
    )
    np.testing.assert_allclose(person.joints, out["joints"][0], rtol=1e-5, atol=1e-6)
    # Without the fitter the model's camera is served, and no IoU is claimed.
    (plain,) = process_frame(site, frame, model, max_persons=4).persons
    np.testing.assert_allclose(plain.camera, out["camera"][0], rtol=1e-5, atol=1e-6)
    assert plain.silhouette_iou is None


def test_with_a_limb_fitter_each_body_is_served_as_fitted_from_the_camera_fitted_to_its_silhouette(model):
    site = settled_site(model)
    frame = with_people(PERSON)
    camera, limbs = SilhouetteCamera(mesh_faces(None)), PoseFitter.of(body_model_data(None))
    (person,) = seen(site, frame, model, camera=camera, limbs=limbs).persons
    out = model.run(crop(frame, person.square, model.image_size)[None])
    silhouette = site.buffer.snapshot().silhouettes[-1]
    start = fit_camera(out["vertices"][0][:, :2], out["camera"][0], camera.faces, silhouette)
    body = out["pose"][0], out["betas"][0], out["joints"][0], out["vertices"][0]
    fit = limbs.fit(*body, start.camera, silhouette)
    # A block of a person is no body: the limbs move, and the mesh covers it better than the camera alone had it.
    assert fit.fitted and fit.iou_after > start.iou_after
    assert person.silhouette_iou == pytest.approx(fit.iou_after)
    np.testing.assert_allclose(person.camera, fit.camera, rtol=1e-6)
    np.testing.assert_allclose(person.pose, fit.pose, atol=1e-5)
    np.testing.assert_allclose(person.joints, fit.joints, atol=1e-5)
    np.testing.assert_allclose(person.vertices, fit.vertices, atol=1e-5)
    cx, cy, side = person.square
    uv = fit.camera[0] * fit.joints[:, :2] + fit.camera[1:]
    np.testing.assert_allclose(
        person.joints_2d, np.stack([cx + uv[:, 0] * side / 2, cy + uv[:, 1] * side / 2], -1), atol=1e-3
    )


def textured(person: bool, factor: int) -> np.ndarray:
    """The scene with a photograph's grain on it (a plain gradient holds no detail to lose), with or
    without the person, as a camera with ``factor`` times less detail sends it: shrunk and blown back up."""
    grain = scene(0, H, W).astype(np.int64)[:, :, None] - 128
    frame = np.clip(background().astype(np.int64) + grain, 0, 255).astype(np.uint8)
    if person:
        x0, y0, x1, y1 = PERSON
        frame[y0:y1, x0:x1] = (250, 240, 230)
    return frame if factor == 1 else blown(frame, factor)


def test_a_site_whose_frames_do_not_resolve_the_person_gets_no_limb_fit(model):
    """The same person, 60 px tall, from a camera with a quarter of the detail: the limbs are left
    as the model has them (the camera fit still lays the mesh over the silhouette)."""
    camera, limbs = SilhouetteCamera(mesh_faces(None)), PoseFitter.of(body_model_data(None))
    # A still block blown up is no person to the silhouette classifier: this is about the limb fit.
    coarse, sharp = (
        Site("cam", FinderConfig.with_warmup(WARMUP, person_check="off"), CropBuffer(LIMITS)) for _ in "ab"
    )
    for _ in range(WARMUP + 1):
        process_frame(coarse, textured(False, 4), model, max_persons=4)
        process_frame(sharp, textured(False, 1), model, max_persons=4)
    assert sharp.detail.factor == 1.0
    assert person_detail_px(PERSON[3] - PERSON[1], coarse.detail.factor) < PoseFitConfig().min_detail_px
    frame = textured(True, 4)
    (person,) = seen(coarse, frame, model, camera=camera, limbs=limbs).persons
    out = model.run(crop(frame, person.square, model.image_size)[None])
    silhouette = coarse.buffer.snapshot().silhouettes[-1]
    start = fit_camera(out["vertices"][0][:, :2], out["camera"][0], camera.faces, silhouette)
    assert start.fitted
    np.testing.assert_allclose(person.camera, start.camera, rtol=1e-6)
    np.testing.assert_allclose(person.pose, out["pose"][0], atol=1e-6)
    np.testing.assert_allclose(person.joints, out["joints"][0], rtol=1e-5, atol=1e-6)
    # The person from a camera that resolves them: the limbs are fitted.
    (fitted,) = seen(sharp, textured(True, 1), model, camera=camera, limbs=limbs).persons
    assert fitted.silhouette_iou is not None and fitted.silhouette_iou > start.iou_after


def test_a_person_walking_away_is_faced_to_the_walk_before_the_camera_is_fitted(model):
    from models.heading import AWAY, FaceWalk

    site = settled_site(model)
    face = FaceWalk()  # no turning round here: a body facing the camera is turned 120 degrees, to 60 from away
    fitter = SilhouetteCamera(mesh_faces(None))
    # Going away: the box shrinks 3% a frame with its feet moving up the image (models.people.walk);
    # for 13 frames, before the background learns the still, plain figure.
    for t in range(13):
        h = round(66 * 0.97**t)
        x0, y1 = 80 - h // 6, 100 - 2 * t
        frame = with_people((x0, y1 - h, x0 + h // 3, y1))
        result = process_frame(site, frame, model, max_persons=4, camera=fitter, face=face)
    (person,) = result.persons
    out = model.run(crop(frame, person.square, model.image_size)[None])
    assert abs(face.turn(out["joints"][0], AWAY)) > 1.0  # the model's body faces the camera: it is turned
    pose, joints, vertices = face.apply(out["pose"][0], out["joints"][0], out["vertices"][0], AWAY)
    np.testing.assert_allclose(person.joints, joints, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(person.pose, pose, rtol=1e-4, atol=1e-5)
    # ... and the camera was fitted to the turned mesh
    silhouette = site.buffer.snapshot().silhouettes[-1]
    fit = fit_camera(vertices[:, :2], out["camera"][0], fitter.faces, silhouette)
    np.testing.assert_allclose(person.camera, fit.camera, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("past_edge", [True, False])
def test_a_person_the_frames_bottom_cuts_is_cropped_around_the_whole_of_them(model, past_edge):
    """A figure walks down and out of the frame: once its legs are cut off, the model sees a crop cut
    around where the whole figure would be (its shape while whole times its width: models.people.extent),
    reaching past the frame's bottom; with ``past_edge`` off, around the part in view. Cut people are
    served, never buffered."""
    site = settled_site(model)
    for t in range(30):
        y0 = 10 + 3 * t  # (walking: the person check no longer judges the figure, cut or not)
        frame = with_people((70, y0, 90, y0 + 60))
        result = process_frame(site, frame, model, max_persons=4, past_edge=past_edge)
        if y0 + 60 >= H + 20:  # a third of the figure below the frame
            break
    (person,) = result.persons
    x0, y0, x1, y1 = person.box
    assert y1 == pytest.approx(H - 0.5) and not person.buffered
    _cx, cy, side = person.square
    if past_edge:
        assert cy + side / 2 > H + 10  # the crop reaches well past the frame's bottom
        assert side == pytest.approx(square_box((x0, y0, x1, y0 + 60))[2], rel=0.1)  # the figure's whole height
    else:
        assert person.square == pytest.approx(square_box(person.box))
    out = model.run(crop(frame, person.square, model.image_size)[None])
    np.testing.assert_allclose(person.joints, out["joints"][0], rtol=1e-5, atol=1e-6)
