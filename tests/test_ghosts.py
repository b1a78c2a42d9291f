"""The ghost tests (models.people.ghosts): the stillness test against brute-force loops, both tests
on drawn images, and on a real site started while people were in view (skipped where
../shared/data/real is absent: labelled footage, evaluation only)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from models.people.blobs import PersonBlob
from models.people.ghosts import (
    GHOST_EDGE_SHARE,
    NOISE_SAMPLE,
    STILL_LAG,
    STILL_MIN_LEVEL,
    STILL_NOISE_LEVELS,
    GhostTest,
    change_level,
    edge_share,
    moving_share,
)

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
H, W = 60, 80


def test_change_level_and_moving_share_against_loops():
    rng = np.random.default_rng(0)
    change = rng.exponential(3.0, (H, W)).astype(np.float32)
    background = rng.random((H, W)) < 0.7
    mask = rng.random((H, W)) < 0.2
    values = sorted(
        float(change[y, x]) for y in range(0, H, NOISE_SAMPLE) for x in range(0, W, NOISE_SAMPLE) if background[y, x]
    )
    n = len(values)
    median = values[n // 2] if n % 2 else 0.5 * (values[n // 2 - 1] + values[n // 2])
    level = change_level(change, background)
    assert level == pytest.approx(max(STILL_MIN_LEVEL, STILL_NOISE_LEVELS * median))
    inside = [float(change[y, x]) for y in range(H) for x in range(W) if mask[y, x]]
    assert moving_share(mask, change, 5.0) == pytest.approx(sum(v > 5.0 for v in inside) / len(inside))
    assert change_level(change * 10, background) == pytest.approx(STILL_NOISE_LEVELS * 10 * median)  # a noisy camera
    assert change_level(change, np.zeros_like(background)) == STILL_MIN_LEVEL
    assert moving_share(np.zeros_like(mask), change, 5.0) == 1.0  # no pixels, no evidence of stillness


def textured_wall(seed: int = 0) -> np.ndarray:
    """(H, W, 3) uint8: a wall with sharp dark rails every 8 rows (the edges a ghost's outline crosses)."""
    rng = np.random.default_rng(seed)
    wall = np.full((H, W, 3), 170, np.uint8) + rng.integers(0, 3, (H, W, 3), dtype=np.uint8)
    wall[::8] = 60
    wall[1::8] = 60
    return wall


def blurred_person_background(wall: np.ndarray) -> np.ndarray:
    """The background a model learnt while someone moved about in front of ``wall``: them, blurred."""
    bg = wall.astype(np.float32).mean(axis=2)
    bg[10:55, 30:50] = 120.0
    return cv2.GaussianBlur(bg, (0, 0), 4)


def person_blob() -> PersonBlob:
    mask = np.zeros((H, W), bool)
    mask[10:55, 30:50] = True
    return PersonBlob(box=(30.0, 10.0, 50.0, 55.0), mask=mask, area=int(mask.sum()))


def seen(test: GhostTest, frames: list[np.ndarray], blob: PersonBlob, background: np.ndarray) -> GhostTest:
    for frame in frames:
        test.see(frame, blob.mask, background)
    return test


def test_a_ghost_over_sharp_edges_passes_the_edge_test_and_is_told_by_its_stillness():
    """The case the edge test misses (HallAndMonitor started at frame 100): the background holds the
    departed person blurred, the wall they uncovered has sharp rails, so the frame has as much edge
    along the outline as the background. Nothing in it moves: for a track that never walked it is a
    ghost; for one that walked in (someone standing still) stillness proves nothing."""
    wall, blob = textured_wall(), person_blob()
    background = blurred_person_background(wall)
    grey = cv2.cvtColor(wall, cv2.COLOR_RGB2GRAY).astype(np.float32)
    ring_mask = blob.mask[5:60, 25:55]
    assert edge_share(ring_mask, grey[5:60, 25:55], background[5:60, 25:55]) >= GHOST_EDGE_SHARE
    test = seen(GhostTest(), [wall] * (STILL_LAG + 1), blob, background)
    assert test.ready
    assert test.ghostly(blob, 1.0, still_counts=True)
    assert not test.ghostly(blob, 1.0, still_counts=False)


def test_a_person_moving_on_the_spot_is_no_ghost():
    """The same blob with someone in it who moves (a textured figure shifting by a few pixels)."""
    wall, blob = textured_wall(), person_blob()
    background = blurred_person_background(wall)
    rng = np.random.default_rng(1)
    cloth = rng.integers(0, 256, (45, 26, 3), dtype=np.uint8)
    frames = []
    for t in range(STILL_LAG + 1):
        frame = wall.copy()
        dx = 3 * (t % 3)
        frame[10:55, 30:50] = cloth[:, dx : dx + 20]
        frames.append(frame)
    test = seen(GhostTest(), frames, blob, background)
    assert not test.ghostly(blob, 1.0, still_counts=True)


def test_stillness_needs_a_full_lag_and_a_background():
    wall, blob = textured_wall(), person_blob()
    background = blurred_person_background(wall)
    test = seen(GhostTest(), [wall] * STILL_LAG, blob, background)
    assert not test.ghostly(blob, 1.0, still_counts=True)  # one frame short of the lag: no stillness test yet
    test.see(wall, blob.mask, None)
    assert not test.ready and not test.ghostly(blob, 1.0, still_counts=True)


def test_the_edge_test_still_calls_a_flat_ghost_whatever_the_track():
    """A departed person sharp in the background over a flat floor: a ghost by its edges alone."""
    flat = np.full((H, W, 3), 150, np.uint8)
    blob = person_blob()
    background = np.full((H, W), 150.0, np.float32)
    background[10:55, 30:50] = 60.0
    test = seen(GhostTest(), [flat], blob, background)
    assert test.ghostly(blob, 1.0, still_counts=False)


def test_a_site_started_while_people_are_in_view_answers_few_ghosts():
    """HallAndMonitor started at frame 100, while a woman works at a shelf (in the background the
    site learns) and walks off at frame 240: the ghost she leaves scored an edge share of 0.45-0.53
    and was answered on 50 frames (71 false persons in all) before the stillness test; the finder
    as served, scored against the labelled masks."""
    from bench import footage_scores as fs
    from bench.footage_io import read_ground_truth
    from models.people.finder import FinderConfig, PersonFinder
    from runtime.video import read_frames

    video, tar = REAL / "sbi_HallAndMonitor.avi", REAL / "sbi_HallAndMonitor_groundtruth.tar"
    if not (video.exists() and tar.exists()):
        pytest.skip(f"{REAL} is absent (labelled footage, evaluation only)")
    frames, gt = list(read_frames(video)), read_ground_truth(tar).masks
    finder = PersonFinder(FinderConfig.with_warmup(30))
    counts = dict.fromkeys(("false", "fragment", "missed", "people"), 0)
    for i in range(100, len(frames)):
        found = finder.apply(frames[i])
        if found.warming_up or i not in gt:
            continue
        boxes = np.array([p.blob.box for p in found.people]).reshape(-1, 4)
        c = fs.match_boxes(boxes, fs.label_people(gt[i]), gt[i]).counts()
        for k in counts:
            counts[k] += c[k]
    assert counts["false"] <= 35, counts  # 71 before the stillness test, 24 with it
    assert counts["people"] > 250 and counts["missed"] <= 0.5 * counts["people"], counts


def test_something_that_swings_back_and_forth_in_step_with_one_lag_is_not_still():
    """A block swinging 3 px either way every two frames is back where it was after 16 frames (the
    long lag) but not after 9: the larger share of the two lags counts."""
    from models.people.ghosts import STILL_LAGS

    assert any(lag % 4 for lag in STILL_LAGS) and STILL_LAG % 4 == 0
    wall, blob = textured_wall(), person_blob()
    background = blurred_person_background(wall)
    frames = []
    for t in range(STILL_LAG + 1):
        frame = wall.copy()
        x = 30 + (3 if t % 4 < 2 else -3)
        frame[10:55, x : x + 20] = (200, 40, 40)
        frames.append(frame)
    test = seen(GhostTest(), frames, blob, background)
    assert not test.ghostly(blob, 1.0, still_counts=True)


def test_the_finder_counts_the_ghosts_it_refuses():
    """Someone learnt with the background who is elsewhere once the site starts answering: the
    place they left is refused, and counted (GET /v1/sites/{site} reports it as ``ghosts``), while
    they are answered where they are."""
    from models.people.finder import FinderConfig, PersonFinder

    rng = np.random.default_rng(4)
    base = cv2.GaussianBlur(rng.integers(40, 200, (120, 160, 3), dtype=np.uint8), (0, 0), 2)

    def with_person(x: int) -> np.ndarray:
        out = base.copy()
        out[30:100, x : x + 22] = (200, 40, 40)
        out[18:30, x + 6 : x + 16] = (230, 190, 160)
        return out

    finder = PersonFinder(FinderConfig.with_warmup(10))
    assert finder.ghosts_in_view == 0
    for t in range(30):
        found = finder.apply(with_person(20 if t < 12 else 120 + (2 * t) % 5))
    assert [p.blob.box[0] > 100 for p in found.people] == [True]
    assert finder.ghosts_in_view == 1
