"""bench.footage_scores against brute-force references (explicit loops) on small hand-made frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import footage_scores as fs

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
H, W = 60, 80


# -- brute-force references ---------------------------------------------------------------------


def brute_counts(pred: np.ndarray, gt: np.ndarray) -> tuple[int, int, int]:
    tp = fp = fn = 0
    for y in range(gt.shape[0]):
        for x in range(gt.shape[1]):
            g = int(gt[y, x])
            if g in (85, 170):
                continue
            truth = g == 255
            if pred[y, x] and truth:
                tp += 1
            elif pred[y, x]:
                fp += 1
            elif truth:
                fn += 1
    return tp, fp, fn


def brute_components(fg: np.ndarray) -> list[set[tuple[int, int]]]:
    """8-connected components of a bool mask, by flood fill."""
    seen, comps = set(), []
    for y in range(fg.shape[0]):
        for x in range(fg.shape[1]):
            if not fg[y, x] or (y, x) in seen:
                continue
            stack, comp = [(y, x)], set()
            seen.add((y, x))
            while stack:
                cy, cx = stack.pop()
                comp.add((cy, cx))
                for dy in (-1, 0, 1):
                    for dx in (-1, 0, 1):
                        ny, nx = cy + dy, cx + dx
                        if 0 <= ny < fg.shape[0] and 0 <= nx < fg.shape[1] and fg[ny, nx] and (ny, nx) not in seen:
                            seen.add((ny, nx))
                            stack.append((ny, nx))
            comps.append(comp)
    return comps


def brute_people(gt: np.ndarray) -> list[set[tuple[int, int]]]:
    out = []
    for comp in brute_components(gt == 255):
        rows = [y for y, _ in comp]
        if len(comp) >= fs.PERSON_MIN_AREA_FRACTION * gt.size and max(rows) - min(rows) + 1 >= fs.PERSON_MIN_HEIGHT_PX:
            out.append(comp)
    return out


def inside(box, y: int, x: int) -> bool:
    x0, y0, x1, y1 = box
    return x0 <= x < x1 and y0 <= y < y1


def brute_match(boxes, gt: np.ndarray) -> dict[str, int]:
    """Every figure of FrameMatch.counts from explicit loops over pixels, boxes and people."""
    people = brute_people(gt)
    kinds, covers = [], []
    for box in boxes:
        n_scored = n_fg = 0
        for y in range(gt.shape[0]):
            for x in range(gt.shape[1]):
                if inside(box, y, x) and gt[y, x] not in (85, 170):
                    n_scored += 1
                    n_fg += gt[y, x] == 255
        shares = [sum(inside(box, y, x) for y, x in p) / len(p) for p in people]
        if n_scored and n_fg / n_scored < fs.FALSE_PERSON_MAX_FOREGROUND:
            kinds.append("false")
            covers.append([False] * len(people))
            continue
        if not shares or max(shares) == 0:
            kinds.append("non_person")
        else:
            kinds.append("whole" if max(shares) >= fs.WHOLE_MIN_SHARE else "fragment")
        covers.append([s >= fs.COVER_MIN_SHARE for s in shares])
    covering = [sum(c[j] for c in covers) for j in range(len(people))]
    return {
        "boxes": len(boxes),
        "people": len(people),
        **{k: kinds.count(k) for k in fs.BOX_KINDS},
        "merged": sum(sum(c) >= 2 for c in covers),
        "missed": sum(n == 0 for n in covering),
        "split": sum(n >= 2 for n in covering),
        "found": sum(n >= 1 for n in covering),
    }


# -- hand-made frames ---------------------------------------------------------------------------


def person(gt: np.ndarray, y0: int, y1: int, x0: int, x1: int, band: int = 1) -> None:
    """Draw a labelled person (rows y0..y1-1, columns x0..x1-1) with an uncertain band around them."""
    gt[max(0, y0 - band) : y1 + band, max(0, x0 - band) : x1 + band] = np.where(
        gt[max(0, y0 - band) : y1 + band, max(0, x0 - band) : x1 + band] == 255, 255, 170
    )
    gt[y0:y1, x0:x1] = 255


def edges(y0: int, y1: int, x0: int, x1: int) -> list[float]:
    """The service's box of a blob over rows y0..y1-1, columns x0..x1-1."""
    return [x0 - 0.5, y0 - 0.5, x1 - 0.5, y1 - 0.5]


def random_frame(rng: np.random.Generator) -> tuple[np.ndarray, list[list[float]]]:
    """A frame of 0-4 rectangular people (some touching, some overlapping), speckle, and 0-5 boxes:
    most cut from around or inside the people (wholes, fragments, splits, merges), some anywhere."""
    gt = np.zeros((H, W), np.uint8)
    rects = []
    for _ in range(rng.integers(0, 5)):
        y0, x0 = int(rng.integers(0, H - 10)), int(rng.integers(0, W - 5))
        rect = (y0, y0 + int(rng.integers(4, 30)), x0, x0 + int(rng.integers(2, 12)))
        person(gt, *rect, band=int(rng.integers(0, 2)))
        rects.append(rect)
    gt[rng.random((H, W)) < 0.01] = 255  # speckle: labelled foreground that is no person
    boxes = []
    for _ in range(rng.integers(0, 6)):
        if rects and rng.random() < 0.7:
            y0, y1, x0, x1 = rects[rng.integers(len(rects))]
            cut = np.sort(rng.uniform(0, 1, 2)) * (y1 - y0)  # a band of rows: whole, or a fragment
            if rng.random() < 0.3:  # around a second person too: a merge
                o = rects[rng.integers(len(rects))]
                y0, y1, x0, x1 = min(y0, o[0]), max(y1, o[1]), min(x0, o[2]), max(x1, o[3])
                cut = np.array([0.0, y1 - y0])
            boxes.append(
                [
                    x0 - 0.5 + rng.uniform(-2, 1),
                    y0 - 0.5 + cut.min(),
                    x1 - 0.5 + rng.uniform(-1, 2),
                    y0 - 0.5 + cut.max() + rng.uniform(0, 3),
                ]
            )
        else:
            x0, y0 = rng.uniform(-3, W - 2), rng.uniform(-3, H - 2)
            boxes.append([x0, y0, x0 + rng.uniform(1, 25), y0 + rng.uniform(1, 35)])
    return gt, boxes


# -- tests --------------------------------------------------------------------------------------


def test_foreground_counts_match_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(20):
        gt = rng.choice(np.array(fs.GT_VALUES, np.uint8), size=(12, 17))
        pred = rng.random((12, 17)) < 0.5
        assert fs.foreground_counts(pred, gt) == brute_counts(pred, gt)


def test_uncertain_band_is_ignored():
    gt = np.zeros((H, W), np.uint8)
    person(gt, 10, 40, 20, 30, band=2)
    band = gt == 170
    assert band.any()
    # The prediction is exactly the band: it neither helps nor hurts.
    assert fs.foreground_counts(band, gt) == (0, 0, int((gt == 255).sum()))
    # A prediction that spills over the band only: perfect.
    tp, fp, fn = fs.foreground_counts(gt > 0, gt)
    assert (tp, fp, fn) == (int((gt == 255).sum()), 0, 0)
    assert fs.precision_recall_f(tp, fp, fn) == (1.0, 1.0, 1.0)
    # A box that lies wholly in the band is not a false person.
    rows, cols = np.nonzero(band)
    m = fs.match_boxes([edges(rows.min(), rows.min() + 1, cols.min(), cols.max() + 1)], fs.label_people(gt), gt)
    assert m.kinds != ["false"]


def test_precision_recall_f():
    p, r, f = fs.precision_recall_f(6, 2, 4)
    assert (p, r) == (0.75, 0.6) and f == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert fs.precision_recall_f(0, 3, 0)[2] == 0.0
    assert all(np.isnan(v) for v in fs.precision_recall_f(0, 0, 0))
    with pytest.raises(ValueError, match="fp = -1"):
        fs.precision_recall_f(1, -1, 0)


def test_check_gt_names_the_bad_value():
    with pytest.raises(ValueError, match=r"\[7\]"):
        fs.check_gt(np.full((4, 4), 7, np.uint8))
    with pytest.raises(ValueError, match="shape"):
        fs.check_gt(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="differs"):
        fs.foreground_counts(np.zeros((3, 3), bool), np.zeros((4, 4), np.uint8))


def test_label_people_match_flood_fill():
    rng = np.random.default_rng(1)
    for _ in range(15):
        gt, _ = random_frame(rng)
        got = fs.label_people(gt)
        want = brute_people(gt)
        assert sorted(p.area for p in got) == sorted(len(c) for c in want)
        assert {frozenset(zip(*np.nonzero(p.mask), strict=True)) for p in got} == {frozenset(c) for c in want}
        for p in got:
            ys, xs = np.nonzero(p.mask)
            assert p.box == tuple(edges(ys.min(), ys.max() + 1, xs.min(), xs.max() + 1))


def test_label_people_joins_diagonal_pixels_and_drops_small_ones():
    gt = np.zeros((H, W), np.uint8)
    for i in range(20):  # a one-pixel diagonal line, 8-connected, 20 rows
        gt[5 + i, 5 + i] = 255
    gt[30:40, 60:62] = 255  # 20 px, 10 rows: below the height floor
    people = fs.label_people(gt, min_area_fraction=0.0)
    assert len(people) == 1 and people[0].area == 20
    assert len(fs.label_people(gt)) == 1  # 20 px >= 0.2% of 4,800 = 9.6
    assert fs.label_people(gt, min_area_fraction=0.005) == []  # 20 px < 24
    with pytest.raises(ValueError, match="min_area_fraction = 2"):
        fs.label_people(gt, min_area_fraction=2)


def test_box_slices_hold_the_pixels_whose_centres_lie_inside():
    rng = np.random.default_rng(2)
    for _ in range(50):
        x0, y0 = rng.uniform(-5, 20), rng.uniform(-5, 15)
        box = (x0, y0, x0 + rng.uniform(0, 20), y0 + rng.uniform(0, 15))
        rows, cols = fs.box_slices(box, (12, 17))
        got = np.zeros((12, 17), bool)
        got[rows, cols] = True
        want = np.array([[inside(box, y, x) for x in range(17)] for y in range(12)])
        assert np.array_equal(got, want)
    with pytest.raises(ValueError, match="x0 <= x1"):
        fs.box_slices((5, 0, 4, 3), (10, 10))


def test_split_fragment_false_missed_merged():
    gt = np.zeros((H, W), np.uint8)
    person(gt, 5, 45, 5, 15)  # A: 400 px, split into a whole box and a fragment
    person(gt, 5, 45, 30, 38)  # B: 320 px, missed
    person(gt, 10, 40, 55, 60)  # C and D side by side: merged into one box
    person(gt, 10, 40, 63, 68)
    boxes = [
        edges(5, 29, 5, 15),  # A rows 5..28: 60% of A -> whole, covers A
        edges(29, 45, 5, 15),  # A rows 29..44: 40% of A -> fragment, covers A -> A split
        edges(5, 9, 30, 38),  # B's head: 10% of B -> fragment that does not cover B -> B missed
        edges(50, 59, 40, 55),  # on the floor -> false person
        edges(10, 40, 55, 68),
    ]  # C and D -> merged (and whole)
    people = fs.label_people(gt)
    m = fs.match_boxes(boxes, people, gt)
    assert m.kinds == ["whole", "fragment", "fragment", "false", "whole"]
    assert m.merged.tolist() == [False, False, False, False, True]
    c = m.counts()
    assert c == {
        "boxes": 5,
        "people": 4,
        "whole": 2,
        "fragment": 2,
        "non_person": 0,
        "false": 1,
        "merged": 1,
        "missed": 1,
        "split": 1,
        "found": 3,
    }
    assert c == brute_match(boxes, gt)
    assert c["false"] + c["fragment"] + c["non_person"] + c["whole"] == c["boxes"]


def test_box_on_foreground_that_is_no_person():
    gt = np.zeros((H, W), np.uint8)
    gt[50:54, 50:56] = 255  # a moved object: 24 px, too small for a person
    m = fs.match_boxes([edges(50, 54, 50, 56)], fs.label_people(gt), gt)
    assert m.kinds == ["non_person"] and m.counts()["people"] == 0


def test_match_boxes_agrees_with_brute_force_on_random_frames():
    rng = np.random.default_rng(3)
    seen = dict.fromkeys(fs.COUNT_KEYS, 0)
    for _ in range(60):
        gt, boxes = random_frame(rng)
        c = fs.match_boxes(boxes, fs.label_people(gt), gt).counts()
        seen = {k: seen[k] + c[k] for k in seen}
        assert c == brute_match(boxes, gt)
        assert sum(c[k] for k in fs.BOX_KINDS) == c["boxes"]
        assert c["missed"] + c["found"] == c["people"] and c["split"] <= c["found"]
    assert all(seen[k] > 0 for k in seen), seen  # every kind of error came up


def test_no_boxes_and_bad_boxes():
    gt = np.zeros((H, W), np.uint8)
    person(gt, 5, 45, 5, 15)
    c = fs.match_boxes([], fs.label_people(gt), gt).counts()
    assert c["boxes"] == 0 and c["missed"] == 1
    with pytest.raises(ValueError, match=r"\(1, 3\)"):
        fs.match_boxes([[0, 0, 1]], [], gt)


def test_summarise_rates():
    frames = [
        {
            "boxes": 3,
            "people": 2,
            "whole": 2,
            "fragment": 0,
            "non_person": 0,
            "false": 1,
            "merged": 0,
            "missed": 0,
            "split": 0,
            "found": 2,
        },
        {
            "boxes": 1,
            "people": 2,
            "whole": 1,
            "fragment": 0,
            "non_person": 0,
            "false": 0,
            "merged": 1,
            "missed": 0,
            "split": 0,
            "found": 2,
        },
    ]
    s = fs.summarise(frames)
    assert s["boxes"] == 4 and s["boxes_per_frame"] == 2.0 and s["people_per_frame"] == 2.0
    assert s["false_share_of_boxes"] == 0.25 and s["merged_share_of_boxes"] == 0.25
    assert s["frames_with_more_boxes_than_people"] == 1 and s["frames_with_fewer_boxes_than_people"] == 1
    assert np.isnan(fs.summarise([])["boxes_per_frame"])


def test_tracks_and_id_switches():
    gt = np.zeros((H, W), np.uint8)
    person(gt, 5, 45, 5, 15)
    person(gt, 5, 45, 40, 50)
    first = fs.label_people(gt)
    ids, nxt = fs.link_people([], [], first, 0)
    assert sorted(ids) == [0, 1] and nxt == 2
    moved = np.zeros_like(gt)
    person(moved, 6, 46, 6, 16)  # A moves one pixel; B leaves; C arrives
    person(moved, 5, 45, 65, 75)
    second = fs.label_people(moved)
    ids2, nxt = fs.link_people(first, ids, second, nxt)
    a_before = ids[[p.box[0] for p in first].index(4.5)]
    assert ids2[[p.box[0] for p in second].index(5.5)] == a_before
    assert ids2[[p.box[0] for p in second].index(64.5)] == 2 and nxt == 3
    # Person tracks 0 and 1 over four frames; the service's ids: 7, 7, 9 (switch), 9; 8, None, 8, 7 (switch).
    tracks = [[0, 1], [0, 1], [0, 1], [0, 1]]
    matched = [[7, 8], [7, None], [9, 8], [9, 7]]
    assert fs.count_id_switches(tracks, matched) == 2
    with pytest.raises(ValueError, match="2 people but 1"):
        fs.count_id_switches([[0, 1]], [[7]])


def test_person_track_matches_take_the_covering_box():
    gt = np.zeros((H, W), np.uint8)
    person(gt, 5, 45, 5, 15)
    person(gt, 5, 45, 40, 50)
    people = fs.label_people(gt)
    boxes = [edges(5, 45, 5, 15), edges(5, 10, 40, 50)]  # the second box holds 12.5% of B: does not cover
    m = fs.match_boxes(boxes, people, gt)
    got = fs.person_track_matches(m, [3, 4])
    assert got[[p.box[0] for p in people].index(4.5)] == 3
    assert got[[p.box[0] for p in people].index(39.5)] is None
    assert fs.box_track_ids([{"box": [0, 0, 1, 1]}, {"box": [0, 0, 1, 1], "track_id": 5}]) == [None, 5]


def test_real_masks_are_cdnet_masks():
    """Every mask of the labelled clips reads as CDnet codes and scores itself perfectly."""
    tar = REAL / "sbi_IBMtest2_groundtruth.tar"
    if not tar.exists():
        pytest.skip(f"{REAL} is absent (labelled footage, evaluation only)")
    from bench.real_footage import read_ground_truth

    gt = read_ground_truth(tar)
    assert sorted(gt.masks) == list(range(90))
    for mask in gt.masks.values():
        _, fp, fn = fs.foreground_counts(mask == 255, mask)
        assert fp == fn == 0 and mask.shape == (240, 320)
    people = [len(fs.label_people(m)) for m in gt.masks.values()]
    assert set(people) <= {0, 1, 2}  # the clip has two people
