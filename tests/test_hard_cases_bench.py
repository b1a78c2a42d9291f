"""bench.hard_cases_bench: its figures on hand-made per-frame records, shake-0 as shake-3's still twin, and
the whole command on one tiny case through the real service."""

from __future__ import annotations

import numpy as np
import pytest

from bench import hard_cases_bench as hb
from models.synth import hard_cases as hc


def frame(index: int, people: int = 1, boxes: int = 1, false: int = 0, missed: int = 0, **extra) -> dict:
    counts = {"boxes": boxes, "people": people, "false": false, "missed": missed, "merged": 0}
    return {"index": index, "warming_up": False, "boxes": [], "counts": counts, **extra}


def test_recovery_counts_frames_to_the_first_long_enough_normal_run():
    frames = [frame(t) for t in range(100)]
    assert hb.recovery_frames(frames, 40) == 0  # normal at once
    for t in (41, 43, 50):  # a missed person, a false one, a missed one
        frames[t] = frame(t, missed=1) if t != 43 else frame(t, boxes=2, false=1)
    assert hb.recovery_frames(frames, 40) == 11  # normal from 51 on
    assert hb.recovery_frames(frames, 40, run=50) is None  # 51..99 is 49 frames: the clip ends first
    frames[60] = {**frame(60), "warming_up": True}  # relearning or warming up is not a normal answer
    assert hb.recovery_frames(frames, 40) == 21
    frames[70] = {"index": 70, "warming_up": False, "boxes": []}  # unlabelled: not normal either
    assert hb.recovery_frames(frames, 40) == 31
    del frames[73]  # a frame the record lacks breaks the run
    assert hb.recovery_frames(frames, 40) == 34  # 74..99: 26 frames
    del frames[73]  # now 75..99: 25 frames
    assert hb.recovery_frames(frames, 40) == 35
    assert hb.recovery_frames([], 0) is None


def test_light_on_figures():
    frames = [frame(t, missed=int(100 <= t < 110)) for t in range(200)]
    f = hb.light_on_figures({"fps": 25.0, "events": [{"frame": 100, "event": "light changes"}]}, frames)
    assert f["event_frame"] == 100 and f["recovery_frames"] == 10 and f["recovery_s"] == pytest.approx(0.4)
    assert f["abnormal_after_event"] == "10 of 100"


def test_standstill_share_and_track_ids():
    frames = [
        frame(t, missed=int(t in (12, 13)), matched_ids=[None if t in (12, 13) else 4 + (t >= 18)]) for t in range(30)
    ]
    f = hb.standstill_figures({"still": [10, 20]}, frames)
    assert f["answered_frames"] == 8 and f["answered_share"] == pytest.approx(0.8)
    assert f["track_ids"] == [4, 5] and not f["same_id"]
    f = hb.standstill_figures({"still": [0, 10]}, frames)
    assert f["answered_share"] == 1 and f["track_ids"] == [4] and f["same_id"]


def test_crossing_counts_frames_in_and_outside_the_overlap():
    frames = [frame(t, people=2, boxes=1 if 12 <= t < 15 else 2) for t in range(20)]
    frames[3] = frame(3, people=1, boxes=1)
    info = {"events": [{"frame": 10, "event": "overlap starts"}, {"frame": 16, "event": "overlap ends"}]}
    f = hb.crossing_figures(info, frames)
    assert f["overlap"] == [10, 16]
    assert f["in_overlap"] == {
        "frames": 6,
        "two_people": 6,
        "two_boxes": 3,
        "both": 3,
        "merged": 0,
        "missed": 0,
        "boxes": 9,
        "people": 12,
    }
    assert f["outside"]["frames"] == 14 and f["outside"]["two_people"] == 13 and f["outside"]["both"] == 13
    assert f["outside"]["boxes"] == f["outside"]["people"] == 27


def crossing_case(switches: int, outside_boxes: int, overlap_both: int = 10) -> dict:
    phase = {"frames": 10, "two_people": 10, "both": overlap_both}
    figures = {
        "in_overlap": {**phase, "boxes": 20, "people": 20},
        "outside": {**phase, "boxes": outside_boxes, "people": 100},
    }
    return {"crossing": {"persons": {"id_switches": switches}, "figures": figures}}


@pytest.mark.parametrize(
    ("switches", "outside_boxes", "overlap_both", "met"),
    [
        (0, 100, 10, True),
        (0, 90, 10, True),  # 10% fewer boxes than people outside the overlap: the bound
        (0, 89, 10, False),
        (0, 111, 10, False),
        (1, 100, 10, False),  # an id switch
        (0, 100, 9, False),  # one box for two people while they overlap
    ],
)
def test_crossing_goal(switches, outside_boxes, overlap_both, met):
    ((goal, text, ok),) = hb.goals(crossing_case(switches, outside_boxes, overlap_both))
    assert goal.startswith("crossing") and ok == met and f"{outside_boxes} boxes for 100" in text


def test_sway_counts_only_empty_boxes_on_the_plant():
    mask = np.zeros((40, 60), np.uint8)
    mask[5:35, 40:50] = 255  # a person right of the plant (columns 0-29)
    on_plant, person, elsewhere = [0.5, 2.5, 9.5, 20.5], [39.5, 4.5, 49.5, 34.5], [54.5, 0.5, 58.5, 9.5]
    partly = [20.5, 4.5, 49.5, 34.5]  # on the plant and the person: 10 of its 29 columns labelled, 34% > 15%
    frames = [{**frame(0, boxes=3), "boxes": [on_plant, person, elsewhere]}, {**frame(1), "boxes": [partly]}]
    f = hb.sway_figures({"sway": {"box": [0, 0, 30, 30]}}, frames, {0: mask, 1: mask})
    assert f == {"plant_box": [0, 0, 30, 30], "on_plant": 1, "frames": 1}


def test_goals_compare_shake_with_its_still_twin():
    persons = {"false": 2, "id_switches": 0}
    cases = {"shake-3": {"persons": persons}, "shake-0": {"persons": {**persons, "false": 1}}}
    ((goal, text, met),) = hb.goals(cases)
    assert goal.startswith("shake") and text == "2 vs 1" and not met


def test_shake_0_is_shake_3_with_the_camera_still():
    from models.body_model import load_body_model

    body = load_body_model()
    scene = hc.SceneSettings(width=64, height=48, frames=16, quiet=4)
    shaken, still = hb.render("shake-3", scene, body), hb.render("shake-0", scene, body)
    assert np.array_equal(shaken.frames[:5], still.frames[:5])  # the same scene and walk until the shake starts
    assert not np.array_equal(shaken.frames[8:], still.frames[8:]) and not np.any(still.info["offsets"])
    assert still.info["case"] == "shake-0" and still.info["scene"]["quiet"] == 4


def test_the_command_on_a_tiny_case(tmp_path):
    out = tmp_path / "REAL_FOOTAGE.md"
    out.write_text(
        "# doc\n\n<!-- hard-cases:start -->\nSTALE\n<!-- hard-cases-notes:start -->\nmine\n<!-- hard-cases-notes:end -->\n<!-- hard-cases:end -->\n"
    )
    record = hb.main(
        [
            "--cases",
            "light-on",
            "--frames",
            "70",
            "--size",
            "96x72",
            "--out",
            str(out),
            "--runs",
            str(tmp_path / "runs"),
        ]
    )
    assert {"command", "machine", "date", "commit", "scene", "cases", "goals"} <= set(record)
    case = record["cases"]["light-on"]
    assert set(case["persons"]) >= {"boxes_per_frame", "people_per_frame", *hb.PERSON_KEYS, "id_switches"}
    assert set(case["figures"]) == {"event_frame", "recovery_frames", "recovery_s", "abnormal_after_event"}
    assert case["figures"]["event_frame"] == 40 and [g[0] for g in record["goals"]] == [hb.goals(record["cases"])[0][0]]
    doc = out.read_text()
    assert "STALE" not in doc and "mine" in doc and "| light-on |" in doc and "### light-on" in doc
    assert (tmp_path / "runs" / "hard_cases.json").exists()
