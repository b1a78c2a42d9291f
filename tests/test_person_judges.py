"""bench.person_judges and bench.hog_people: the verdict counting, the candidates a finder gives on a
rendered scene, HOG's detections mapped back to the frame, and HOG itself (in .venv-eval) on the
rendered walker and plant."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from bench import blazepose_landmarks as bl
from bench import hog_people as hp
from bench import person_judges as pj
from bench.person_check import sway_scene


def test_truth_of_box_kinds():
    assert [pj.truth_of(k) for k in ("whole", "fragment", "false", "non_person", "?")] == [1, 1, 0, -1, -1]


def test_share_counts_verdicts_of_the_selected_boxes():
    accepted = np.array([True, False, True, True, False])
    truth = np.array([1, 1, 0, -1, 0])
    assert pj.share(accepted, truth == 1, True) == "1 of 2 (50%)"
    assert pj.share(accepted, truth == 0, False) == "1 of 2 (50%)"
    assert pj.share(accepted, truth == 2, True) == "-"
    (row,) = pj.judge_rows("clip", {"j": (accepted, np.array([1.0, 2.0, 3.0, 4.0, 5.0]))}, truth)
    assert row == "| clip | j | 1 of 2 (50%) | 1 of 2 (50%) | 1 of 1 (100%) | 3.00 ms |"


def test_hog_detections_map_back_to_the_frame():
    """A rect drawn around a frame pixel's image in the crop has its centre on that pixel."""
    frame = np.zeros((120, 160, 3), np.uint8)
    frame[40, 70] = 255
    square = bl.square_of(np.array([50.5, 20.5, 90.5, 100.5]), pad=1.5)
    crop = bl.cut(frame, square, 480)  # 4 crop pixels per frame pixel
    ys, xs = np.nonzero(crop[..., 0] > 0.5 * crop[..., 0].max())
    x0, y0 = xs.min(), ys.min()
    rect = [x0, y0, xs.max() + 1 - x0, ys.max() + 1 - y0]  # (x, y, w, h) as detectMultiScale gives them
    assert np.allclose(hp.centres_in_frame(np.array([rect]), square, 480), [[70.0, 40.0]], atol=0.05)
    assert hp.centres_in_frame(np.zeros((0, 4)), square, 480).shape == (0, 2)


@pytest.fixture(scope="module")
def sway():
    return sway_scene()


def test_candidates_on_the_rendered_plant_and_walker(sway):
    frames, gt, _ = sway
    c = pj.candidates(frames, gt)
    assert len(c.frame) == len(c.box) == len(c.truth) == len(c.silhouette) > 100
    assert c.frame.min() >= 30  # after warm-up
    assert set(np.unique(c.truth)) == {0, 1}  # the walker and the plant, both labelled
    # The silhouette classifier tells them apart box by box (a vote over frames decides in the finder).
    assert (c.silhouette[c.truth == 1] >= pj.PERSON_MIN_VOTE).mean() > 0.9
    assert (c.silhouette[c.truth == 0] < pj.PERSON_MIN_VOTE).mean() > 0.9


def test_hog_on_the_rendered_walker_and_plant(sway, tmp_path, eval_python):
    assert eval_python == pj.EVAL_PYTHON
    frames, gt, _ = sway
    c = pj.candidates(frames[:120], gt)
    video = tmp_path / "sway.avi"
    pj.write_video(frames[:120], video)
    found, ms = pj.run_detector("HOG", video, c)
    assert found.shape == ms.shape == c.truth.shape and (ms > 0).all()
    assert not found[c.truth == 0].any()  # never on the plant
    assert found[c.truth == 1].mean() > 0.3  # on the walker often (58% over the whole scene)


def test_hog_script_refuses_bad_arguments(eval_python):
    done = subprocess.run(
        [str(eval_python), str(pj.DETECTORS["HOG"]), "v.avi", "b.json", "o.npz", "--pad", "0.5"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "--pad 0.5 must be >= 1" in done.stderr
