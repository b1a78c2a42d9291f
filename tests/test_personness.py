"""The silhouette person check: the patch it sees, the finder's running vote, the shipped weights
describing themselves, and the shipped classifier on a rendered site it was not trained on."""

from dataclasses import replace

import numpy as np
import pytest

from models.people.finder import PERSON_KEEP_VOTE, PERSON_MIN_VOTE, FinderConfig, PersonFinder, reads_as_person
from models.people.personness import PATCH, SHIPPED_PERSONNESS, load_personness, silhouette_patch
from models.people.tracking import Track, Tracker
from tests.test_people import scene, with_person


def test_the_patch_keeps_the_aspect_and_centres_the_blob():
    mask = np.zeros((100, 120), bool)
    mask[10:90, 50:70] = True  # 80 tall, 20 wide
    patch = silhouette_patch(mask, (50, 10, 70, 90))
    assert patch.shape == (PATCH, PATCH) and patch.dtype == np.float32
    cols = patch.mean(0)
    assert np.allclose(patch.mean(1), 0.25, atol=0.02)  # every row: a quarter of the square
    assert cols[: PATCH // 2 - 5].max() == 0 and cols[PATCH // 2 + 4 :].max() == 0  # centred
    assert np.allclose(patch, patch[:, ::-1], atol=1e-6)


def test_a_box_off_the_mask_is_a_value_error_that_names_it():
    with pytest.raises(ValueError, match=r"\(200, 0, 210, 5\)"):
        silhouette_patch(np.ones((10, 10), bool), (200, 0, 210, 5))


class Constant:
    """A classifier that answers the same logit for every silhouette."""

    def __init__(self, logit: float):
        self.p = 1 / (1 + np.exp(-logit))

    def __call__(self, patches: np.ndarray) -> np.ndarray:
        assert patches.shape[1:] == (PATCH, PATCH)
        return np.full(len(patches), self.p, np.float32)


def walk(finder: PersonFinder, frames: int = 30) -> list[list[int]]:
    """A block person walking right over a textured wall; the track ids answered per frame."""
    base = scene()
    out = []
    for t in range(frames):
        out.append([p.track_id for p in finder.apply(with_person(base, 20 + 3 * t) if t >= 5 else base).people])
    return out


def sway_in_place(finder: PersonFinder, frames: int = 40) -> list[list[int]]:
    """A block that appears and swings 3 px either way in place; the track ids answered per frame."""
    base = scene()
    return [
        [p.track_id for p in finder.apply(with_person(base, 70 + (3 if t % 4 < 2 else -3)) if t >= 5 else base).people]
        for t in range(frames)
    ]


def checked_finder(mode: str, logit: float) -> PersonFinder:
    finder = PersonFinder(replace(FinderConfig.with_warmup(5), person_check=mode))
    finder.personness = Constant(logit)
    return finder


@pytest.mark.parametrize("logit,answered", [(8.0, True), (-8.0, False)])
def test_always_answers_a_track_only_while_its_silhouettes_read_as_a_person(logit, answered):
    unchecked = walk(checked_finder("off", 0.0))
    finder = checked_finder("always", logit)
    checked = walk(finder)
    assert sum(map(len, unchecked)) > 10
    assert checked == (unchecked if answered else [[] for _ in unchecked])
    (track,) = [t for t in finder.tracker.tracks if t.confirmed]
    assert (track.personness >= PERSON_MIN_VOTE) == answered


def test_unmoved_refuses_what_swings_in_place_and_keeps_who_walks():
    """The default: a track the classifier doubts is refused only while it has not gone far."""
    assert sum(map(len, sway_in_place(checked_finder("off", 0.0)))) > 20
    assert not any(sway_in_place(checked_finder("unmoved", -8.0)))
    walked = walk(checked_finder("unmoved", -8.0))
    assert walked[-1] and not walked[10]  # answered once it has walked half its height, not before


def test_the_vote_turns_after_a_few_frames_not_one():
    finder = checked_finder("always", 8.0)
    seen = walk(finder, 20)
    assert seen[-1]
    finder.personness = Constant(-8.0)  # the same track's silhouettes stop reading as a person
    base = scene()
    after = [[p.track_id for p in finder.apply(with_person(base, 80 + 3 * t)).people] for t in range(20)]
    answered = [bool(a) for a in after]
    # from a vote of 1 to under PERSON_KEEP_VOTE at PERSON_VOTE's pace: 0.8^k < 0.05 from k = 14
    assert answered == [True] * 13 + [False] * 7


def test_an_answered_person_is_held_to_the_lower_vote():
    """Two thresholds: a new track needs PERSON_MIN_VOTE, one already answered only PERSON_KEEP_VOTE."""
    vote = (PERSON_KEEP_VOTE + PERSON_MIN_VOTE) / 2
    track = Track(id=1, box=(0, 0, 10, 20), confirmed=True, personness=vote)
    assert not reads_as_person(track, "always")
    track.answered = True
    assert reads_as_person(track, "always")
    track.personness = PERSON_KEEP_VOTE * 0.9
    assert not reads_as_person(track, "always")
    assert reads_as_person(track, "off")


def test_a_jump_restarts_the_vote():
    """A box that jumps to another shape (a walker's track left on a plant) is judged afresh."""
    tracker = Tracker()
    for _ in range(tracker.config.confirm_hits + 1):
        (track,) = tracker.update([(10, 10, 30, 60)])
    track.personness, track.answered = 0.9, True
    tracker.update([(12, 10, 32, 60)])  # an ordinary step keeps the vote
    assert track.personness == 0.9 and track.answered
    tracker.update([(14, 30, 44, 60)])  # half the box: IoU under jump_iou
    assert track.personness is None and not track.answered


def test_an_unknown_mode_is_a_value_error_that_names_it():
    with pytest.raises(ValueError, match="'sometimes'"):
        FinderConfig(person_check="sometimes")


def test_the_shipped_graph_describes_its_training():
    provenance = load_personness(SHIPPED_PERSONNESS).provenance
    assert provenance["command"].startswith("python -m models.synth.train_personness")
    assert provenance["counts"] and provenance["held_out"]
    # held-out scenes (seeds the training never saw): people and plants both mostly right
    for name, figure in provenance["held_out"].items():
        assert figure["right"] >= 0.8, (name, figure)


def test_the_exported_graph_agrees_with_the_torch_network(tmp_path):
    """A small net, trained a few steps on drawn shapes, exported: ONNX Runtime's answers equal
    torch's to 1e-5 on new silhouettes, and the graph carries the provenance it was given."""
    import torch

    from models.synth import personness_data as pd
    from models.synth.train_personness import PersonnessNet, export_onnx, score_patches

    rng = np.random.default_rng(0)
    data = pd.drawn_objects(64, rng)
    torch.manual_seed(0)
    net = PersonnessNet(width=4)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    x = torch.from_numpy(data.patches)[:, None]
    y = torch.from_numpy((data.patches.mean((1, 2)) > 0.3).astype(np.float32))
    for _ in range(5):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    path = tmp_path / "p.onnx"
    export_onnx(net, path, {"command": "test"})
    served = load_personness(path)
    fresh = pd.drawn_objects(16, rng).patches
    assert np.abs(served(fresh) - score_patches(net, fresh)).max() < 1e-5
    assert served.provenance == {"command": "test"}


@pytest.mark.parametrize("activity", ["jumping_jacks", "bending"])
def test_a_person_exercising_on_the_spot_reads_as_a_person_on_every_frame(activity):
    """A person who does jumping jacks (facing the camera) or bends to the floor (in profile) where
    they stand: a track that stays on the spot is the kind the classifier judges (a new track after
    a loss never moves), and the poses are none of the walkers' and standers' it learnt from. With
    every track judged, each frame on the spot is still answered."""
    from models.body_model import load_body_model
    from models.synth import hard_cases as hc

    scene = hc.SceneSettings(width=320, height=240, frames=170, seed=7)
    case = hc.standstill(scene, hc.Standstill(still_frames=60, walk_frames=30, activity=activity), load_body_model())
    first, last = case.info["still"]
    finder = PersonFinder(replace(FinderConfig(), person_check="always"))
    answered = 0
    for t, frame in enumerate(case.frames):
        found = finder.apply(frame)
        person = case.instances[t] > 0
        answered += first <= t < last and any(float(person[p.blob.mask].mean()) > 0.5 for p in found.people)
    assert answered == last - first


def plant_and_walker(case, mode: str) -> tuple[int, int, int]:
    """(answers on the plant, answers on the walker, frames the walker is in view) after warm-up."""
    x0, y0, x1, y1 = case.info["sway"]["box"]
    finder = PersonFinder(replace(FinderConfig(), person_check=mode))
    on_plant = walker = in_view = 0
    for t, frame in enumerate(case.frames):
        found = finder.apply(frame)
        person = case.instances[t] > 0
        if t >= 45 and person.sum() > 200:
            in_view += 1
        for p in found.people:
            if float(person[p.blob.mask].mean()) < 0.15:
                bx0, by0, bx1, by1 = p.blob.box
                on_plant += int(bx0 < x1 and bx1 > x0 and by0 < y1 and by1 > y0)
            elif t >= 45:
                walker += 1
    return on_plant, walker, in_view


def test_the_shipped_check_refuses_a_swaying_plant_and_keeps_the_walker():
    """The benchmark's sway scene (seed 0; training draws its scenes from other seeds), 320x240.
    Without the check the plant is answered on most frames; with it only while the walker's track,
    which slid onto the plant as they passed it, starts its vote afresh (measured: 0 frames; 12 while
    it kept the walker's vote)."""
    from models.body_model import load_body_model
    from models.synth import hard_cases as hc

    case = hc.sway(hc.SceneSettings(width=320, height=240, frames=150, seed=0), body=load_body_model())
    off, _, _ = plant_and_walker(case, "off")
    on_plant, walker, in_view = plant_and_walker(case, "unmoved")
    assert off >= 30 and on_plant <= 3, (off, on_plant)
    assert walker >= 0.8 * in_view, (walker, in_view)
