"""bench.articulation against brute-force references, and bench.checkpoint_eval end to end: the
people of a rendered clip found once and cached, a checkpoint scored on them and on renders, and the
render figures telling a model that reads limbs from one that answers its mean pose."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from pytorch3d.transforms import axis_angle_to_matrix

from bench import articulation as art
from bench import checkpoint_eval as ce
from bench.fit_answers import FitSpec, camera_fitted, fitted_outputs, limb_fitted
from models.body_model import load_body_model
from models.pose_fit import PoseFitter
from models.regressor import load_regressor
from models.silhouette_camera import CameraFitConfig
from models.smpl_file import body_model_data
from models.synth.source_data import render_crops, source_config
from models.target_data import shrink_silhouette

SHIPPED = ce.ROOT / "models" / "assets" / "source_cpu.pt"


def test_spread_and_body_frame_error_against_loops():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 5, 3)), rng.normal(size=(7, 5, 3))
    mean = a.mean(0)
    spread = sum(math.dist(a[n, j], mean[j]) for n in range(7) for j in range(5)) / 35
    assert art.articulation_spread(a) == pytest.approx(1000 * spread)
    err = sum(math.dist(a[n, j], b[n, j]) for n in range(7) for j in range(5)) / 35
    assert art.body_frame_error(a, b) == pytest.approx(1000 * err)
    assert art.articulation_spread(np.repeat(a[:1], 4, 0)) == 0.0  # one pose answered: no spread
    with pytest.raises(ValueError, match="differ"):
        art.body_frame_error(a, b[:3])


def test_heading_error_is_the_turn_about_the_vertical_only():
    facing = axis_angle_to_matrix(torch.tensor([math.pi, 0.0, 0.0])).numpy()  # faces the camera
    turn = lambda deg: axis_angle_to_matrix(torch.tensor([0.0, math.radians(deg), 0.0])).numpy()  # noqa: E731
    tilt = axis_angle_to_matrix(torch.tensor([math.radians(30), 0.0, 0.0])).numpy()  # a lean, not a turn
    pred = np.stack([turn(d) @ facing for d in (0, 45, 135, 180)] + [tilt @ facing])
    truth = np.repeat(facing[None], 5, 0)
    np.testing.assert_allclose(art.heading_error_deg(pred, truth), [0, 45, 135, 180, 0], atol=1e-4)
    up = axis_angle_to_matrix(torch.tensor([math.pi / 2, 0.0, 0.0])).numpy()  # forward along the camera's y
    assert np.isnan(art.heading_error_deg(up[None], facing[None])[0])


def test_shape_reading_against_corrcoef():
    rng = np.random.default_rng(1)
    truth = rng.normal(size=(40, 4))
    pred = 0.5 * truth + rng.normal(size=(40, 4)) + np.array([0.0, 3.0, 0.0, -1.0])
    corr, bias = art.shape_reading(pred, truth)
    reference = np.mean([np.corrcoef(pred[:, k], truth[:, k])[0, 1] for k in range(4)])
    assert corr == pytest.approx(reference) and bias == pytest.approx(np.abs(pred.mean(0)).max())
    assert art.shape_reading(2 * truth + 1, truth)[0] == pytest.approx(1.0)  # a reading, whatever its scale
    assert art.shape_reading(-truth, truth)[0] == pytest.approx(-1.0)
    constant = truth.copy()
    constant[:, 0] = 2.0  # one component answered the same for everyone: left out
    assert art.shape_reading(constant, truth)[0] == pytest.approx(
        np.mean([np.corrcoef(truth[:, k], truth[:, k])[0, 1] for k in range(1, 4)])
    )
    with pytest.raises(ValueError, match=r"\(40, 4\) and \(40, 3\)"):
        art.shape_reading(pred, truth[:, :3])


def test_mask_heights_and_render_pck():
    masks = np.zeros((2, 10, 10), bool)
    masks[0, 2:7, 4] = True  # rows 2-6: 5 of 10 rows -> 1.0 in crop units
    masks[1, :, 1] = True
    np.testing.assert_allclose(art.mask_heights(masks), [1.0, 2.0])
    truth = np.zeros((2, 12, 2))
    pred = truth.copy()
    pred[0, :6, 0] = 0.09  # within 0.1 x 1.0
    pred[0, 6:, 0] = 0.11  # not
    pred[1, :, 1] = 0.19  # within 0.1 x 2.0
    assert art.render_pck(pred, truth, art.mask_heights(masks)) == (18, 24)
    with pytest.raises(ValueError, match="empty"):
        art.mask_heights(np.zeros((1, 4, 4), bool))


def test_render_figures_tell_a_reading_model_from_its_mean_pose():
    body = load_body_model()
    data = render_crops(24, source_config("v2", 128, 5))
    regressor = load_regressor(SHIPPED, body)
    read = ce.score_renders(regressor, data, body)
    # The same model answering the prior's mean pose (latent zero) and the mean shape reads no limbs.
    head, cfg = regressor.head[-1], regressor.config
    fixed = [*range(cfg.latent), *range(cfg.latent + 6, cfg.latent + 6 + cfg.num_betas)]
    with torch.no_grad():
        head.weight[fixed] = 0
        head.bias[fixed] = 0
    mean = ce.score_renders(regressor, data, body)
    assert mean["spread_model_mm"] < 1.0 < read["spread_model_mm"] < read["spread_truth_mm"]
    assert read["spread_truth_mm"] == mean["spread_truth_mm"]
    assert read["body_frame_error_mm"] < mean["body_frame_error_mm"]
    assert 0.0 <= read["heading_wrong_share"] <= 1.0 and read["crops"] == 24
    # the mean shape answered for everyone: no correlation defined, no bias
    assert math.isnan(mean["shape_corr"]) and mean["shape_bias"] == 0.0
    assert -1.0 <= read["shape_corr"] <= 1.0 and read["shape_bias"] > 0.0


def test_the_people_of_a_clip_are_found_once_and_scored(tmp_path, monkeypatch):
    from models.synth.camera_site import SiteConfig, make_site

    site = make_site(SiteConfig(width=160, height=120, focal=190.0, frames=60, seed=3), progress=False)
    site.save(tmp_path / "walk")
    video = tmp_path / "walk" / "video.avi"
    monkeypatch.setattr(ce, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(ce, "EVAL_PYTHON", tmp_path / "no-eval-env")  # BlazePose is tested in test_real_pose
    settings = ce.Settings(warmup_frames=10)
    people, marks = ce.clip_people(video, settings, 128)
    assert marks is None and len(people.frames) > 10 and people.crops.shape[1:] == (128, 128, 3)
    assert (np.diff(people.frames) >= 0).all() and people.shape == (120, 160)
    cached = list((tmp_path / "runs").glob("people-video-*.npz"))
    assert len(cached) == 1
    again, _ = ce.clip_people(video, settings, 128)  # from the cache: the same people
    np.testing.assert_array_equal(again.boxes, people.boxes)
    body = load_body_model()
    summary = ce.score_clip(load_regressor(SHIPPED, body), people, None, None, np.asarray(body.faces))
    assert summary["people"] == len(people.frames) and "pose" not in summary and "masks" not in summary


def test_the_command_writes_its_record(tmp_path, monkeypatch):
    monkeypatch.setattr(ce, "RUNS", tmp_path / "runs")
    ce.main([str(SHIPPED), "--clips", "--renders", "16", "--style", "v2"])
    record = json.loads((tmp_path / "runs" / "unnamed.json").read_text())
    (entry,) = record["checkpoints"]
    assert entry["name"] == "source_cpu.pt" and entry["clips"] == {} and entry["renders"]["crops"] == 16


def test_fit_specs_name_their_objective_and_steps():
    spec = FitSpec.parse("b2:7")
    assert spec == FitSpec("b2", 7) and spec.name == "b2:7" and spec.config().max_iter_opt == 7
    for bad, match in (("ours", "VARIANT:ITERATIONS"), ("ours:0", "VARIANT:ITERATIONS"), ("nope:3", "unknown variant")):
        with pytest.raises(ValueError, match=match):
            FitSpec.parse(bad)
    with pytest.raises(ValueError, match="silhouettes"):
        ce.run_regressor(load_regressor(SHIPPED), np.zeros((1, 128, 128, 3), np.uint8), fit=spec)


def test_a_fit_brings_the_answer_to_the_silhouette_it_is_given():
    """On renders whose masks are known, the fitted meshes cover their masks better than the
    checkpoint's own answers, and the fit changes nothing it was not asked to (no fit: the same)."""
    from models.m2s import SilhouetteSettings, m2s

    body = load_body_model()
    data = render_crops(8, source_config("v2", 128, 11))
    regressor = load_regressor(SHIPPED, body)
    sils = np.stack([shrink_silhouette(m) for m in data["masks"]])
    images = ce.images_tensor(data["images"])

    def cover(out) -> float:
        with torch.no_grad():
            hat = m2s(body.proxy_vertices(out.vertices), body.proxy_faces, out.camera, SilhouetteSettings())[:, 0] > 0.5
        s = torch.as_tensor(sils)
        return ((hat & s).sum((1, 2)) / (hat | s).sum((1, 2))).mean().item()

    with torch.no_grad():
        before = cover(regressor(images))
    after = cover(fitted_outputs(regressor, images, sils, FitSpec("b1", 10)))
    assert after > before + 0.02, (before, after)
    plain = ce.run_regressor(regressor, data["images"][:2])
    np.testing.assert_allclose(plain["joints"], ce.run_regressor(regressor, data["images"][:2], fit=None)["joints"])


def test_the_camera_fit_moves_joints_and_mesh_together_onto_the_mask():
    from models.mesh_mask import mesh_mask

    body = load_body_model()
    faces = np.asarray(body.faces, np.int64)
    data = render_crops(8, source_config("v2", 128, 12))
    sils = np.stack([shrink_silhouette(m) for m in data["masks"]])
    out = ce.run_regressor(load_regressor(SHIPPED, body), data["images"], vertices=True)
    new = camera_fitted(out, sils, faces, CameraFitConfig(max_shift=0.15))

    def iou(uv: np.ndarray, sil: np.ndarray) -> float:
        m = mesh_mask((uv + 1) * sil.shape[0] / 2 - 0.5, faces, sil.shape)
        return float((m & sil).sum() / (m | sil).sum())

    before = np.mean([iou(u, s) for u, s in zip(out["vertices_uv"], sils, strict=True)])
    after = np.mean([iou(u, s) for u, s in zip(new["vertices_uv"], sils, strict=True)])
    assert new["camera_fitted"].any() and after > before + 0.02, (before, after)
    for i in range(len(sils)):  # joints under the new camera, projected afresh from the body
        s, t = new["camera"][i, 0], new["camera"][i, 1:]
        np.testing.assert_allclose(new["joints_uv"][i], s * out["joints"][i, :, :2] + t, atol=1e-5)
    kept = ~new["camera_fitted"]
    np.testing.assert_array_equal(new["camera"][kept], out["camera"][kept])
    np.testing.assert_array_equal(
        out["camera"], ce.run_regressor(load_regressor(SHIPPED, body), data["images"])["camera"]
    )


def test_the_limb_fit_poses_joints_mesh_and_projections_alike():
    from models.mesh_mask import mesh_mask

    body = load_body_model()
    faces = np.asarray(body.faces, np.int64)
    data = render_crops(8, source_config("v2", 128, 13))
    sils = np.stack([shrink_silhouette(m) for m in data["masks"]])
    out = camera_fitted(
        ce.run_regressor(load_regressor(SHIPPED, body), data["images"], body, vertices=True), sils, faces
    )
    new = limb_fitted(out, sils, body, PoseFitter.of(body_model_data(None)))

    def iou(uv: np.ndarray, sil: np.ndarray) -> float:
        m = mesh_mask((uv + 1) * sil.shape[0] / 2 - 0.5, faces, sil.shape)
        return float((m & sil).sum() / (m | sil).sum())

    fitted = new["limbs_fitted"]
    assert fitted.any()
    for i in np.flatnonzero(fitted):  # every joint set and projection from the fitted body, posed afresh
        assert iou(new["vertices_uv"][i], sils[i]) > iou(out["vertices_uv"][i], sils[i])
        with torch.no_grad():
            posed = body(torch.as_tensor(new["betas"][i : i + 1]), torch.as_tensor(new["pose"][i : i + 1]))
        root = posed.joints[0, :1].numpy()
        np.testing.assert_allclose(new["joints"][i], posed.joints[0].numpy() - root, atol=1e-5)
        np.testing.assert_allclose(new["eval_joints"][i], posed.eval_joints[0].numpy() - root, atol=1e-5)
        s, t = new["camera"][i, 0], new["camera"][i, 1:]
        np.testing.assert_allclose(new["joints_uv"][i], s * new["joints"][i, :, :2] + t, atol=1e-5)
        np.testing.assert_allclose(new["vertices_uv"][i], s * new["vertices"][i, :, :2] + t, atol=1e-5)
        assert not np.allclose(new["body_frame"][i], out["body_frame"][i])
    for key in ("pose", "camera", "joints", "vertices_uv", "body_frame"):
        np.testing.assert_array_equal(new[key][~fitted], out[key][~fitted])


def test_the_command_scores_camera_fits_and_refuses_bad_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(ce, "RUNS", tmp_path / "runs")
    ce.main(
        [str(SHIPPED), "--clips", "--renders", "8", "--style", "v2", "--camera-fit", "--camera-fit", '{"max_shift": 0}']
    )
    names = [e["name"] for e in json.loads((tmp_path / "runs" / "unnamed.json").read_text())["checkpoints"]]
    assert names == ["source_cpu.pt", "source_cpu.pt + camera fit", 'source_cpu.pt + camera fit {"max_shift": 0}']
    ce.main([str(SHIPPED), "--clips", "--renders", "8", "--style", "v2", "--camera-fit", "--flip-average"])
    record = json.loads((tmp_path / "runs" / "unnamed.json").read_text())["checkpoints"]
    assert [e["name"] for e in record] == [
        "source_cpu.pt",
        "source_cpu.pt + camera fit",
        "source_cpu.pt + flip",
        "source_cpu.pt + flip + camera fit",
    ]
    assert record[2]["renders"]["mpjpe_mm"] != record[0]["renders"]["mpjpe_mm"]  # the flip rows are scored afresh
    ce.main([str(SHIPPED), "--clips", "--renders", "8", "--style", "v2", "--flip-average", "--align-facing"])
    aligned = json.loads((tmp_path / "runs" / "unnamed.json").read_text())["checkpoints"]
    assert [e["name"] for e in aligned] == ["source_cpu.pt", "source_cpu.pt + flip aligned"]
    assert 0 < aligned[1]["renders"]["torso_width"] < 2
    for bad in ("[1]", '{"max_shift": 2}', '{"nope": 1}', "{"):
        with pytest.raises(SystemExit, match="--camera-fit"):
            ce.main([str(SHIPPED), "--clips", "--renders", "0", "--camera-fit", bad])
    ce.main([str(SHIPPED), "--clips", "--renders", "8", "--style", "v2", "--limb-fit", "--limb-fit", '{"prior": 50}'])
    record = json.loads((tmp_path / "runs" / "unnamed.json").read_text())["checkpoints"]
    assert [e["name"] for e in record] == [
        "source_cpu.pt",
        "source_cpu.pt + camera fit + limb fit",
        'source_cpu.pt + camera fit + limb fit {"prior": 50}',
    ]
    assert record[1]["renders"]["pck_model"] != record[2]["renders"]["pck_model"]
    for bad in ('{"prior": -1}', '{"joints": [0]}', "[]"):
        with pytest.raises(SystemExit, match="--limb-fit"):
            ce.main([str(SHIPPED), "--clips", "--renders", "0", "--limb-fit", bad])


def test_missing_photographs_stop_the_command_before_any_clip(tmp_path, monkeypatch):
    """The renders of a style that needs the photographs are made first: without them the command
    stops at once with the command that makes them, before it reads a clip (here one that does not
    exist, which would fail otherwise)."""
    monkeypatch.setattr(ce, "RUNS", tmp_path / "runs")
    monkeypatch.chdir(tmp_path)  # the styles find the photographs at runs/photos, relative
    with pytest.raises(SystemExit, match=r"models\.synth\.photo_backgrounds"):
        ce.main([str(SHIPPED), "--clips", str(tmp_path / "absent.avi"), "--renders", "4", "--style", "v3"])
    assert not (tmp_path / "runs" / "unnamed.json").exists()
