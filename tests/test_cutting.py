"""Rows of people in one blob (models.people.cutting): heads in the top profile, cuts between them,
checked against brute-force references on drawn silhouettes, and the finder on a rendered group."""

from dataclasses import replace

import numpy as np
import pytest

from models.people.blobs import PersonBlob, connected_blobs
from models.people.cutting import RowConfig, cut_columns, head_columns, split_row, supported, top_profile

H, W = 120, 200
PERSON = 80  # px tall


def draw_person(mask: np.ndarray, cx: int, top: int = 20, height: int = PERSON, arms_up: bool = False) -> None:
    """A stick-figure silhouette: head, trunk and legs (and, with ``arms_up``, both arms raised in a
    V above the head, hands higher than it), ``height`` px from the head's top."""
    head = height // 8
    mask[top : top + head, max(cx - head // 2, 0) : cx + head // 2 + 1] = True
    trunk_w = height // 8
    mask[top + head : top + height // 2, max(cx - trunk_w, 0) : cx + trunk_w + 1] = True
    for side in (-1, 1):  # legs apart
        for y in range(top + height // 2, top + height):
            x = cx + side * (2 + (y - top - height // 2) // 4)
            mask[y, max(x - 3, 0) : max(x + 4, 0)] = True
    if arms_up:
        for side in (-1, 1):
            for k in range(height // 3):
                y, x = top + head + 2 - k, cx + side * (trunk_w + k // 2)
                mask[y - 1 : y + 2, x - 1 : x + 2] = True


def blob_of(mask: np.ndarray) -> PersonBlob:
    (blob,) = connected_blobs(mask, 1, 1)
    return blob


def brute_top_profile(mask: np.ndarray) -> np.ndarray:
    out = np.full(mask.shape[1], float(mask.shape[0]))
    for c in range(mask.shape[1]):
        for r in range(mask.shape[0]):
            if mask[r, c]:
                out[c] = r
                break
    return out


def test_the_top_profile_is_each_columns_first_foreground_row():
    rng = np.random.default_rng(0)
    mask = rng.random((30, 40)) < 0.05
    mask[:, 7] = False
    np.testing.assert_array_equal(top_profile(mask), brute_top_profile(mask))


def test_three_people_in_a_row_are_cut_between_them():
    mask = np.zeros((H, W), bool)
    centres = (50, 74, 98)  # their legs overlap
    for cx in centres:
        draw_person(mask, cx)
    blob = blob_of(mask)
    parts = split_row(blob, PERSON)
    assert parts is not None and len(parts) == 3
    for part, cx in zip(parts, centres, strict=True):
        assert part.box[0] < cx < part.box[2]
        assert part.height == pytest.approx(blob.height, abs=1)
    np.testing.assert_array_equal(np.logical_or.reduce([p.mask for p in parts]), blob.mask)
    assert sum(p.area for p in parts) == blob.area


def test_the_cut_is_the_emptiest_column_between_two_heads():
    """Brute force: the cut columns are the argmin of foreground pixels over the middle of each span."""
    mask = np.zeros((H, W), bool)
    for cx in (60, 88):
        draw_person(mask, cx)
    heads = head_columns(top_profile(mask), PERSON)
    np.testing.assert_array_equal(heads, [60, 88])
    cfg = RowConfig()
    counts = [int(mask[:, c].sum()) for c in range(W)]
    lo, hi = 60 + round(cfg.cut_margin * 28), 88 - round(cfg.cut_margin * 28)
    best = min(range(lo, hi), key=lambda c: (counts[c], c))
    assert cut_columns(mask, heads, cfg) == [best]


def test_one_person_with_raised_arms_or_a_narrow_blob_is_no_row():
    mask = np.zeros((H, W), bool)
    draw_person(mask, 100, top=40, arms_up=True)
    blob = blob_of(mask)
    hands = np.flatnonzero(top_profile(mask) == top_profile(mask).min())  # the hands are highest...
    assert hands.min() < 100 - PERSON // 4 and hands.max() > 100 + PERSON // 4
    assert not any(supported(mask, int(c), PERSON) for c in hands)  # ... with no body under them
    assert supported(mask, 100, PERSON)  # (as the head has)
    assert split_row(blob, PERSON) is None
    narrow = np.zeros((H, W), bool)
    draw_person(narrow, 100)
    assert split_row(blob_of(narrow), PERSON) is None


def test_a_head_at_the_frames_edge_counts_where_the_edge_cuts_the_blob():
    """Someone walking in, cut by the frame's left edge, beside another: their head is the blob's
    first column, no peak of the profile alone; the part they make may be narrow."""
    mask = np.zeros((H, W), bool)
    draw_person(mask, 4)
    draw_person(mask, 28)
    blob = blob_of(mask)
    assert blob.box[0] == -0.5
    parts = split_row(blob, PERSON)
    assert parts is not None and len(parts) == 2
    assert parts[0].box[2] < 28 < parts[1].box[2]
    profile = top_profile(mask[:, : int(blob.box[2]) + 1])
    np.testing.assert_array_equal(head_columns(profile, PERSON), [28])  # a closed end holds no head
    np.testing.assert_array_equal(head_columns(profile, PERSON, open_ends=(True, False)), [4, 28])


def test_bad_settings_are_refused_with_the_value():
    with pytest.raises(ValueError, match="person_height=0"):
        split_row(blob_of(np.pad(np.ones((10, 4), bool), 2)), 0)
    with pytest.raises(ValueError, match=r"cut_margin=0\.5"):
        RowConfig(cut_margin=0.5)


@pytest.fixture(scope="module")
def group_case():
    from models.body_model import load_body_model
    from models.synth import hard_cases as hc

    return hc.group(hc.SceneSettings(seed=0), hc.Group(), load_body_model())


def finder_scores(case, config) -> dict[str, int]:
    """The finder's answers on a labelled case after warm-up: the footage scores' counts summed
    over the frames (boxes, merged, false, ...) and ``id_switches`` (CLEAR-MOT)."""
    from bench import footage_scores as fs
    from models.people.finder import PersonFinder

    finder = PersonFinder(config)
    gt = case.groundtruth()
    totals: dict[str, int] = {}
    previous, previous_ids, next_id, tracks, matched = [], [], 0, [], []
    for t, frame in enumerate(case.frames):
        found = finder.apply(frame)
        if found.warming_up:
            continue
        people = fs.label_people(gt[t])
        match = fs.match_boxes([p.blob.box for p in found.people], people, gt[t])
        for k, v in match.counts().items():
            totals[k] = totals.get(k, 0) + v
        ids, next_id = fs.link_people(previous, previous_ids, people, next_id)
        previous, previous_ids = people, ids
        tracks.append(ids)
        matched.append(fs.person_track_matches(match, [p.track_id for p in found.people]))
    return {**totals, "id_switches": fs.count_id_switches(tracks, matched)}


def test_a_group_walking_in_file_is_answered_one_box_a_person(group_case):
    """Three people 0.1 m apart walk across the view (640x480): their silhouettes touch from the
    first frame they are all in, so tracks never see them apart. Cut by their heads, few boxes hold
    two people (11 of 361 here); without the cut, 97 of 220."""
    from models.people.finder import FinderConfig

    after = finder_scores(group_case, FinderConfig())
    assert after["merged"] <= 0.05 * after["boxes"] and after["false"] <= 0.02 * after["boxes"], after
    before = finder_scores(group_case, replace(FinderConfig(), rows=None))
    assert before["merged"] >= 0.3 * before["boxes"], before


def test_the_finder_keeps_a_cut_only_where_every_part_reads_as_a_person():
    """A plant's crown has bumps like heads: the cut stands only where the classifier reads each
    part as a person (a stand-in classifier here; the shipped one on rendered plants is measured by
    bench.in_view's sway rows)."""
    from models.people.finder import FinderConfig, PersonFinder

    mask = np.zeros((H, W), bool)
    for cx in (50, 74, 98):
        draw_person(mask, cx)
    blob = blob_of(mask)
    finder = PersonFinder(FinderConfig())
    finder.personness = lambda patches: np.ones(len(patches), np.float32)
    assert len(finder._row(blob)) == 3
    finder.personness = lambda patches: np.array([1.0, 0.3, 1.0][: len(patches)], np.float32)
    assert finder._row(blob) == [blob]
    assert PersonFinder(replace(FinderConfig(), rows=None))._row(blob) == [blob]


def test_passing_is_heading_opposite_ways_not_a_faster_box():
    from models.people.finder import WALKING_SPEED, passing
    from models.people.tracking import Track

    box = (0.0, 0.0, 40.0, 100.0)
    step = 2 * WALKING_SPEED * 100  # px a frame: a walk
    assert passing(Track(id=1, box=box, velocity=(step, 0.0)), Track(id=2, box=box, velocity=(-step, 0.0)))
    # side by side, one box still growing at the frame's edge: the same way, at different speeds
    assert not passing(Track(id=1, box=box, velocity=(step, 0.0)), Track(id=2, box=box, velocity=(3 * step, 0.0)))
    # standing about: opposite, but slower than a walk apart
    slow = 0.2 * WALKING_SPEED * 100
    assert not passing(Track(id=1, box=box, velocity=(slow, 0.0)), Track(id=2, box=box, velocity=(-slow, 0.0)))


def test_two_people_passing_each_other_are_cut_along_their_tracks_not_by_their_heads(monkeypatch):
    """The crossing hard case at 640x480: while they pass, their heads are two peaks of one blob,
    and a cut between them keeps the left one on the left (5 id switches here); two tracks heading
    opposite ways are left to the cut along their predicted boxes, which lets them cross (0)."""
    from models.body_model import load_body_model
    from models.people import finder as finder_module
    from models.people.finder import FinderConfig
    from models.synth import hard_cases as hc

    case = hc.crossing(hc.SceneSettings(seed=0), hc.Crossing(), load_body_model())
    assert finder_scores(case, FinderConfig())["id_switches"] == 0
    monkeypatch.setattr(finder_module, "passing", lambda a, b: False)
    assert finder_scores(case, FinderConfig())["id_switches"] > 0


def test_a_cut_along_predicted_boxes_leaves_no_sliver():
    """A stale track's box at the frame's edge would cut a sliver off a blob: no cut then."""
    from models.people.cutting import MIN_SPLIT_ASPECT, split_blob

    mask = np.zeros((H, W), bool)
    mask[20:100, 0:60] = True
    blob = blob_of(mask)
    parts = split_blob(blob, (-0.5, 20.0, 29.5, 100.0), (29.5, 20.0, 59.5, 100.0))
    assert parts is not None and [p.area for p in parts] == [30 * 80, 30 * 80]
    sliver = round(MIN_SPLIT_ASPECT * 80) - 1  # px wide: under the share of its 80 px height
    assert split_blob(blob, (-0.5, 20.0, sliver - 0.5, 100.0), (sliver - 0.5, 20.0, 59.5, 100.0)) is None


def test_a_group_coming_in_at_low_resolution_leaves_no_slivers_answered():
    """The group at 320x240 (people about 90 px tall): a track left at the frame's edge as the group
    came in cut a sliver off it along its predicted box, answered as a person on 9 frames."""
    from models.body_model import load_body_model
    from models.people.finder import FinderConfig
    from models.synth import hard_cases as hc

    case = hc.group(hc.SceneSettings(width=320, height=240, seed=0), hc.Group(), load_body_model())
    scores = finder_scores(case, FinderConfig())
    assert scores["false"] <= 3 and scores["merged"] <= 0.1 * scores["boxes"], scores
