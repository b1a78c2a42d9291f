"""bench.real_pose and bench/blazepose_landmarks.py: the held-out split, mask scoring of one frame, the
summaries and report on made-up answers, the crop geometry BlazePose's landmarks come back through,
and BlazePose itself on a few labelled people (skipped where .venv-eval or ../shared/data/real is absent)."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from bench import blazepose_landmarks as bl
from bench import footage_io, real_pose_data
from bench import footage_scores as fs
from bench import real_footage as rf
from bench import real_pose as rp

REAL = footage_io.DATA_DIR
VIDEO, MASKS = REAL / "sbi_IBMtest2.avi", REAL / "sbi_IBMtest2_groundtruth.tar"


def test_adapt_plan_buffers_the_first_70_percent_and_scores_the_rest_twice():
    first, again = rp.plans(100, adapt=True, overlay_count=3)
    assert first.frames == list(range(100)) and first.buffered == set(range(70))
    assert first.scored == set(range(70, 100)) == again.scored and not again.buffered
    # The re-send is led in by the frames before the held-out ones, so that tracks and walks are read again.
    assert again.frames == list(range(70 - rp.LEAD_IN, 100))
    assert len(first.overlays) == 3 and first.overlays == again.overlays <= first.scored
    only, none = rp.plans(50, adapt=False, overlay_count=0)
    assert none is None and not only.buffered and only.scored == set(range(50)) and not only.overlays


def square_answer(frame: int, box) -> rp.Answer:
    x0, y0, x1, y1 = box
    return rp.Answer(
        frame=frame,
        track_id=1,
        box=np.array(box, float),
        square=np.array([(x0 + x1) / 2, (y0 + y1) / 2, 1.2 * (y1 - y0)]),
        camera=np.array([1.0, 0, 0]),
        joints_2d=np.zeros((24, 2)),
        joints_3d=np.zeros((24, 3)),
        model_version="source",
    )


def test_score_masks_matches_each_box_to_the_person_it_covers():
    gt = np.zeros((40, 40), np.uint8)
    gt[10:30, 5:15] = fs.GT_FOREGROUND  # a 20 x 10 person, with a band of 170 around
    gt[9, 5:15] = gt[30, 5:15] = fs.GT_UNKNOWN
    # the mesh: the person's rectangle, as two triangles over its pixel centres
    mesh = np.array([[4.5, 9.5], [14.5, 9.5], [14.5, 29.5], [4.5, 29.5]])
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    on_person, on_nothing = square_answer(0, (4.5, 7.5, 14.5, 31.5)), square_answer(0, (25.5, 5.5, 35.5, 25.5))
    rp.score_masks([on_person, on_nothing], [mesh, mesh + 20], gt, faces)
    assert on_person.kind == "whole" and on_person.mesh_iou == 1.0
    assert on_person.box_iou == pytest.approx(200 / 220)  # its rows 8 and 31 are background
    assert on_nothing.kind == "false" and on_nothing.mesh_iou is None and on_nothing.box_iou is None
    assert on_person.silhouette_iou is None  # no silhouettes given
    half = np.zeros((40, 40), bool)
    half[10:20, 5:15] = True  # the finder lost the legs: half the person
    rp.score_masks([on_person, on_nothing], [mesh, mesh + 20], gt, faces, [half, half])
    assert on_person.silhouette_iou == pytest.approx(0.5) and on_nothing.silhouette_iou is None
    summary = real_pose_data.mask_summary([on_person, on_nothing], (40, 40))
    assert summary["silhouette_iou"] == pytest.approx(0.5) and summary["cut_by_edge"] == 0


def made_up_record(command: str, frames: int, blazepose: dict, summary: dict) -> dict:
    """A run's record around one pass's summary ("served"), as bench.real_pose writes it."""
    return {
        "name": "made-up",
        "video": "made-up.avi",
        "encoding": "png",
        "command": command,
        "machine": {"cpu": "a CPU", "cores": 2},
        "date": "today",
        "commit": "abc",
        "frames": frames,
        "adapt": False,
        "held_out_from": None,
        "job": None,
        "blazepose": blazepose,
        "summary": {"served": rf.json_ready(summary)},
    }


def test_summaries_and_report_on_made_up_answers():
    rng = np.random.default_rng(0)
    answers = []
    for t in range(6):
        a = square_answer(t, (10.0, 20.0, 50.0, 120.0))
        a.joints_2d = rng.uniform(10, 120, (24, 2))
        a.joints_3d = rng.normal(0, 0.3, (24, 3))
        a.kind, a.mesh_iou, a.box_iou = "whole", 0.4, 0.6
        answers.append(a)
    n = len(answers)
    image = rng.uniform(10, 120, (n, bl.NUM_LANDMARKS, 2))
    image[:, 11:17] = np.stack([a.joints_2d[[16, 17, 18, 19, 20, 21]] for a in answers])  # arms agree exactly
    marks = rp.Landmarks(
        rows={a.key: i for i, a in enumerate(answers)},
        found=np.array([True] * (n - 1) + [False]),
        image=image,
        visibility=np.ones((n, 33)),
        world=rng.normal(0, 0.3, (n, 33, 3)),
        meta={"model": "made up"},
    )
    p = rp.Pass("before", answers=answers, frames=list(range(n)))
    s = rp.pass_summary(p, marks, labelled=True, shape=(240, 320))
    assert s["masks"]["people"] == n and s["masks"]["mesh_iou"] == pytest.approx(0.4)
    pose = s["pose"]
    assert pose["blazepose_found"] == n - 1 and pose["joints_counted"] == 12 * (n - 1)
    assert pose["pck_model"] >= 0.5  # the six arm joints of every found box agree
    assert pose["pa_mm_model"] > 0 and pose["pa_mm_fixed"] > 0 and pose["tall"]["boxes"] == 0
    assert pose["clear_of_edge"]["pck_model"] == pose["pck_model"]  # every box is inside the frame
    assert pose["cut_by_edge"]["boxes"] == 0 and s["masks"]["cut_by_edge"] == 0
    cut = rp.pass_summary(p, marks, labelled=True, shape=(120, 320))  # the frame's bottom cuts every box
    assert cut["pose"]["cut_by_edge"]["pck_model"] == pose["pck_model"] and cut["pose"]["clear_of_edge"]["boxes"] == 0
    assert cut["masks"]["cut_by_edge"] == n and cut["masks"]["mesh_iou_cut"] == pytest.approx(0.4)
    assert rp.person_record(answers[0], marks)["blazepose"]["found"] is True
    bands = pose["by_height"]  # every box is 100 px tall
    assert [b["boxes"] for b in bands] == [0, 0, 0, n, 0] and bands[-1]["to_px"] is None
    assert bands[3]["pck_model"] == pose["pck_model"] and bands[3]["facing_compared"] == pose["facing_compared"]
    assert "by_detail" not in pose  # no factor read: no bands of detail
    # the site's frames blown up 2.5 times: every 100 px person holds 40 px of detail, the limb fit's edge
    p.detail_factor = 2.5
    s = rp.pass_summary(p, marks, labelled=True, shape=(240, 320))
    pose = s["pose"]
    assert pose["detail_factor"] == 2.5 and real_pose_data.DETAIL_BANDS_PX[1] == 40.0
    assert [b["boxes"] for b in pose["by_detail"]] == [0, n, 0, 0] and pose["by_detail"][-1]["to_px"] is None
    assert pose["by_detail"][1]["pck_model"] == pose["pck_model"]
    record = made_up_record("python -m bench.real_pose made-up.avi", n, marks.meta, s)
    text = rp.markdown_section(record)
    assert "(a) mesh IoU vs labelled person, mean (median) | 0.40 (0.40)" in text and "PCK@0.1" in text
    assert "(b) the same, boxes the frame's edge cuts (boxes) | n/a / n/a (0)" in text
    by_height = f"(b) the same by box height, px: model / fixed skeleton (boxes) | 100-150: {pose['pck_model']:.2f} / "
    assert by_height in text and "150+" not in text  # empty bands are left out
    by_detail = "(b) the same by pixels of detail (box height / the site's blow-up, 2.5): model / fixed skeleton"
    assert f"{by_detail} (boxes) | 40-70: {pose['pck_model']:.2f} / " in text and "100+" not in text
    # A clip too short to adapt on: the service's 409 and its reason are the run's result, before only.
    refused = {"state": "refused", "status_code": 409, "detail": "site x has 3 buffered person crops"}
    text = rp.markdown_section(
        record | {"adapt": True, "held_out_from": 4, "job": refused, "summary": {"before": rf.json_ready(s)}}
    )
    assert "`/adapt`: **refused** (409): site x has 3 buffered person crops; no after pass." in text
    assert "| figure | before |" in text and "before `/adapt` only (refused)" in text


def test_truth_scores_each_box_against_the_rendered_person_it_shows():
    """Two rendered people, answers over the first: the model's joints are the truth's (PCK 1), the
    fixed skeleton's are not; BlazePose's found boxes are scored against the truth too; a box over
    nobody counts no joints; joints out of the frame are left out."""
    rng = np.random.default_rng(3)
    frames, shape = 5, (240, 320)
    truth = np.full((frames, 2, 24, 2), np.nan, np.float32)
    truth[:, 0] = rng.uniform([20.0, 30.0], [60.0, 200.0], (frames, 24, 2))  # inside box (10, 20, 70, 210)
    truth[:, 1] = rng.uniform([200.0, 30.0], [300.0, 200.0], (frames, 24, 2))
    truth[4, 0, 9] = [-20.0, 40.0]  # one joint out of the frame (not a limb joint: spine3)
    truth[4, 0, 16] = [-20.0, 40.0]  # and one limb joint (left shoulder)
    answers = []
    for t in range(frames):
        a = square_answer(t, (10.0, 20.0, 70.0, 210.0))
        a.joints_2d = truth[t, 0].astype(float)
        answers.append(a)
    nobody = square_answer(2, (100.0, 20.0, 160.0, 210.0))
    nobody.joints_2d = rng.uniform(100, 160, (24, 2))
    answers.append(nobody)
    n = len(answers)
    image = rng.uniform(0, 300, (n, bl.NUM_LANDMARKS, 2))
    image[0, [11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]] = truth[0, 0, [16, 17, 18, 19, 20, 21, 1, 2, 4, 5, 7, 8]]
    marks = rp.Landmarks(
        rows={a.key: i for i, a in enumerate(answers)},
        found=np.array([True, True] + [False] * (n - 2)),
        image=image,
        visibility=np.ones((n, 33)),
        world=rng.normal(0, 0.3, (n, 33, 3)),
        meta={},
    )
    s = real_pose_data.truth_summary(answers, truth, marks, shape)
    assert s["boxes"] == n and s["matched"] == n - 1 and s["joints_counted"] == 12 * (n - 1) - 1
    assert s["pck_model"] == 1.0 and s["pck_fixed"] < 1.0
    # BlazePose found two boxes: the first exactly at the truth, the second anywhere
    assert s["blazepose_joints_counted"] == 24 and 0.5 <= s["pck_blazepose"] < 1.0
    assert s["tall"]["boxes"] == n  # 190 px boxes
    with pytest.raises(ValueError, match="true joints for 2 frames"):
        real_pose_data.truth_summary(answers, truth[:2], marks, shape)
    summary = rp.pass_summary(
        rp.Pass("served", answers=answers, frames=list(range(frames))), marks, False, shape, truth
    )
    assert summary["truth"]["pck_model"] == 1.0
    record = made_up_record("python -m bench.real_pose made-up.avi --truth joints.npz", frames, marks.meta, summary)
    text = rp.markdown_section(record)
    assert f"(t) PCK@0.1 against the true joints, model / fixed skeleton | 1.00 / {s['pck_fixed']:.2f}" in text
    assert f"(t) boxes showing a rendered person (of boxes) | {n - 1} ({n})" in text


def test_height_bands_put_each_box_in_the_band_its_height_falls_in():
    heights = np.array([0.0, 49.9, 50.0, 69.0, 70.0, 99.99, 100.0, 149.0, 150.0, 900.0])
    bands = real_pose_data.height_bands(heights)
    assert [(lo, hi) for lo, hi, _ in bands] == [(0, 50), (50, 70), (70, 100), (100, 150), (150, float("inf"))]
    held = np.stack([sel for *_, sel in bands])  # (bands, boxes)
    assert held.sum(0).tolist() == [1] * len(heights)
    assert held.argmax(0).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert [real_pose_data.height_bands(heights, (0.0, 100.0))[k][2].sum() for k in (0, 1)] == [6, 4]
    for bad in ((0.0, 70.0, 50.0), (), (-1.0, 50.0), (0.0, 50.0, 50.0)):
        with pytest.raises(ValueError, match="increasing"):
            real_pose_data.height_bands(heights, bad)


def test_blazepose_crops_map_back_to_the_frame():
    frame = np.zeros((120, 160, 3), np.uint8)
    point = np.array([70.0, 40.0])
    frame[40, 70] = 255
    square = bl.square_of(np.array([50.5, 20.5, 90.5, 100.5]), pad=1.5)
    crop = bl.cut(frame, square, 480)  # 4 crop pixels per frame pixel
    ys, xs = np.nonzero(crop[..., 0] > 0.5 * crop[..., 0].max())
    centre = np.array([xs.mean(), ys.mean()])
    normalised = (centre + 0.5) / 480  # MediaPipe: 0 and 1 at the crop's outer edges
    assert np.allclose(bl.to_frame(normalised, square), point, atol=0.05)


def test_blazepose_on_labelled_people(tmp_path, eval_python):
    assert eval_python == rp.EVAL_PYTHON
    if not (VIDEO.exists() and MASKS.exists()):
        pytest.skip(f"{REAL} is absent (labelled footage, evaluation only)")
    gt = rf.read_ground_truth(MASKS)
    frames = (50, 60, 70)
    entries = [{"frame": t, "box": list(p.box)} for t in frames for p in fs.label_people(gt.masks[t])]
    (tmp_path / "boxes.json").write_text(json.dumps({"boxes": entries}))
    out = tmp_path / "landmarks.npz"
    cmd = [str(rp.EVAL_PYTHON), str(rp.BLAZEPOSE_SCRIPT), str(VIDEO), str(tmp_path / "boxes.json"), str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    with np.load(out) as z:
        assert z["frame"].tolist() == [e["frame"] for e in entries] and z["image"].shape == (len(entries), 33, 2)
        assert z["found"].sum() >= len(entries) - 1
        for i in np.flatnonzero(z["found"]):
            x0, y0, x1, y1 = z["box"][i]
            seen = z["visibility"][i] > 0.5  # landmarks it sees lie in their labelled person's box, give or take
            x, y = z["image"][i, seen].T
            assert ((x > x0 - 10) & (x < x1 + 10) & (y > y0 - 10) & (y < y1 + 10)).mean() > 0.9
            world = z["world"][i]
            assert 0.2 < np.linalg.norm(world[11] - world[27]) < 2.0  # shoulder to ankle, metres


def test_more_adapt_fields_go_with_adapt_only_as_a_json_object(tmp_path):
    video = tmp_path / "clip.avi"
    video.write_bytes(b"")  # parse_args checks only that the file is there
    assert rp.parse_args([str(video), "--adapt", "--options", '{"w_root": 1.0}']).options == {"w_root": 1.0}
    assert rp.parse_args([str(video), "--adapt"]).options is None
    for bad in (["--options", '{"w_root": 1.0}'], ["--adapt", "--options", "[1]"]):
        with pytest.raises(SystemExit):
            rp.parse_args([str(video), *bad])
