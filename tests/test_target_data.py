"""models/target_data.py: the split in time, plausible people, crops and their silhouettes, site_target."""

from __future__ import annotations

import numpy as np
import pytest

from models.crops import crop, square_box
from models.heading import AWAY, TOWARDS, UNKNOWN
from models.people.blobs import PersonBlob
from models.target_data import TargetSet, crops_of, plausible_person, site_target

H, W = 120, 160


def target_set(frame_index: list[int]) -> TargetSet:
    """A set whose crop k is filled with the value k, so order can be read off the images."""
    n = len(frame_index)
    return TargetSet(
        images=np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones((1, 4, 4, 3), np.uint8),
        silhouettes=np.zeros((n, 2, 2), bool),
        frame_index=np.asarray(frame_index, dtype=np.int64),
        squares=np.arange(3 * n, dtype=np.float64).reshape(n, 3),
    )


def order(t: TargetSet) -> list[int]:
    return t.images[:, 0, 0, 0].tolist()


# -- split ----------------------------------------------------------------------------------------
def test_split_is_by_frame_time_and_keeps_the_order():
    frames = [0, 0, 1, 2, 3, 5, 6, 6, 7, 8, 9]  # two people in frames 0 and 6, frame 4 has none
    first, rest = target_set(frames).split(0.7)  # the cut falls at frame 7 of 0..9
    assert first.frame_index.tolist() == [0, 0, 1, 2, 3, 5, 6, 6]
    assert rest.frame_index.tolist() == [7, 8, 9]
    assert order(first) == list(range(8)) and order(rest) == [8, 9, 10]
    assert first.squares.tolist() == target_set(frames).squares[:8].tolist()


def test_split_never_shuffles_even_when_crops_arrive_out_of_time_order():
    frames = [5, 1, 8, 0, 9, 3]
    first, rest = target_set(frames).split(0.5)  # cut at frame 5
    assert first.frame_index.tolist() == [1, 0, 3] and order(first) == [1, 3, 5]
    assert rest.frame_index.tolist() == [5, 8, 9] and order(rest) == [0, 2, 4]


def test_split_counts_frames_from_the_first_one_seen():
    first, rest = target_set(list(range(100, 110))).split(0.3)
    assert first.frame_index.tolist() == [100, 101, 102]
    assert rest.frame_index.tolist() == list(range(103, 110))


def test_split_fractions_zero_and_one_put_everything_on_one_side():
    t = target_set([0, 1, 2, 3])
    first, rest = t.split(0.0)
    assert len(first) == 0 and order(rest) == [0, 1, 2, 3]
    first, rest = t.split(1.0)
    assert order(first) == [0, 1, 2, 3] and len(rest) == 0


def test_split_of_an_empty_set_is_two_empty_sets():
    empty = target_set([])
    first, rest = empty.split(0.7)
    assert len(first) == 0 and len(rest) == 0


def test_subset_takes_the_same_rows_of_every_field():
    t = target_set([3, 4, 5, 6])
    t.approach[:] = [TOWARDS, AWAY, UNKNOWN, AWAY]
    t = t.subset(np.array([2, 0]))
    assert order(t) == [2, 0] and t.frame_index.tolist() == [5, 3]
    assert t.squares.tolist() == [[6.0, 7.0, 8.0], [0.0, 1.0, 2.0]] and t.silhouettes.shape == (2, 2, 2)
    assert t.approach.tolist() == [UNKNOWN, TOWARDS]


def test_a_set_given_no_walks_has_every_walk_unknown_and_one_per_crop_when_given():
    assert target_set([0, 1, 2]).approach.tolist() == [UNKNOWN] * 3
    with pytest.raises(ValueError, match="approach has 2 entries for 3 crops"):
        TargetSet(
            images=np.zeros((3, 4, 4, 3), np.uint8),
            silhouettes=np.zeros((3, 2, 2), bool),
            frame_index=np.arange(3),
            squares=np.zeros((3, 3)),
            approach=np.array([TOWARDS, AWAY]),
        )


# -- plausible_person -----------------------------------------------------------------------------
def blob(box: tuple[float, float, float, float]) -> PersonBlob:
    return PersonBlob(box=box, mask=np.zeros((H, W), bool), area=1)


@pytest.mark.parametrize(
    "box,expected",
    [
        ((50, 20, 70, 100), True),  # well inside, upright
        ((2, 20, 22, 100), False),  # x0 on the margin: cut by the left edge
        ((2.5, 20, 22.5, 100), True),  # just inside it
        ((50, 2, 70, 100), False),  # top margin
        ((50, 20, 70, H - 3), False),  # y1 = h - 1 - margin: cut by the bottom edge
        ((50, 20, 70, H - 3.5), True),
        ((W - 23, 20, W - 3, 100), False),  # x1 = w - 1 - margin: cut by the right edge
        ((50, 50, 110, 70), True),  # lying down but taller than a third of its width
        ((20, 40, 120, 73), False),  # exactly 0.33 of its width tall: not a person
        ((20, 40, 120, 73.5), True),
        ((50, 60, 110, 60), False),  # no height at all
    ],
)
def test_plausible_person_edges_and_aspect(box, expected):
    assert plausible_person(blob(box), (H, W)) is expected


def test_plausible_person_margin_is_a_parameter():
    b = blob((5, 20, 25, 100))
    assert plausible_person(b, (H, W), margin=2)
    assert not plausible_person(b, (H, W), margin=5)


# -- crops_of -------------------------------------------------------------------------------------
def frame_and_blob(box_px: tuple[int, int, int, int], fill_square: bool = False):
    """A textured frame and one blob whose mask covers rows y0:y1, cols x0:x1 (or its whole square)."""
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    x0, y0, x1, y1 = box_px
    box = (x0 - 0.5, y0 - 0.5, x1 - 0.5, y1 - 0.5)
    mask = np.zeros((H, W), bool)
    if fill_square:
        cx, cy, side = square_box(box)
        pad = side / 2 + 2
        mask[int(cy - pad) : int(cy + pad) + 1, int(cx - pad) : int(cx + pad) + 1] = True
    else:
        mask[y0:y1, x0:x1] = True
    return frame, PersonBlob(box=box, mask=mask, area=int(mask.sum()))


def test_crops_of_gives_one_image_silhouette_and_square_per_blob():
    frame, a = frame_and_blob((60, 30, 80, 90))
    _, b = frame_and_blob((20, 40, 40, 80))
    images, sils, squares = crops_of(frame, [a, b], 48, 16)
    assert len(images) == len(sils) == len(squares) == 2
    for img, sil, sq, bl in zip(images, sils, squares, [a, b], strict=True):
        assert img.shape == (48, 48, 3) and img.dtype == np.uint8
        assert sil.shape == (16, 16) and sil.dtype == bool
        assert sq == square_box(bl.box)
        np.testing.assert_array_equal(img, crop(frame, sq, 48))
        assert sil.any() and not sil.all()  # a person narrower than its square


def test_crops_of_no_blobs_is_empty():
    frame, _ = frame_and_blob((60, 30, 80, 90))
    assert crops_of(frame, [], 48, 16) == ([], [], [])


def test_silhouette_crop_of_a_mask_covering_the_whole_square_is_all_true():
    frame, b = frame_and_blob((60, 30, 90, 80), fill_square=True)
    _, (sil,), _ = crops_of(frame, [b], 64, 32)
    assert sil.all()


def test_silhouette_crop_of_a_centred_rectangle_is_a_centred_rectangle():
    # box 24 wide, 60 tall -> a 72-px square; the rectangle spans rows 6..66 and cols 24..48 of it
    frame, b = frame_and_blob((58, 30, 82, 90))
    _, (sil,), (sq,) = crops_of(frame, [b], 72, 72)
    assert sq == (69.5, 59.5, 72.0)
    ys, xs = np.nonzero(sil)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (6, 65, 24, 47)
    assert sil.sum() == 60 * 24


# -- site_target ----------------------------------------------------------------------------------
def test_site_target_with_true_masks_crops_each_plausible_person():
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (4, H, W, 3), dtype=np.uint8)
    masks = np.zeros((4, H, W), bool)
    masks[0, 30:90, 50:70] = True  # a person
    # frame 1: nobody
    masks[2, 0:60, 100:120] = True  # cut by the top edge: not kept
    masks[3, 40:100, 80:96] = True
    t = site_target(frames, image_size=32, silhouette_size=16, true_masks=masks)
    assert len(t) == 2 and t.frame_index.tolist() == [0, 3]
    assert t.images.shape == (2, 32, 32, 3) and t.silhouettes.shape == (2, 16, 16)
    assert t.squares.shape == (2, 3)
    assert tuple(t.squares[0]) == square_box((49.5, 29.5, 69.5, 89.5))
    assert tuple(t.squares[1]) == square_box((79.5, 39.5, 95.5, 99.5))
    np.testing.assert_array_equal(t.images[1], crop(frames[3], tuple(t.squares[1]), 32))
    assert t.silhouettes.any((1, 2)).all()


def test_site_target_reads_each_crops_walk_from_its_track():
    """A person whose box grows with the feet coming down the image walks towards the camera; once
    the track has seen enough of it, the crops say so (models.people.walk.approach_of)."""
    frames = np.zeros((16, H, W, 3), np.uint8)
    masks = np.zeros((16, H, W), bool)
    for k in range(16):
        bottom, height = 60 + 3 * k, 40 + 2 * k
        masks[k, bottom - height : bottom, 70 : 70 + height // 3] = True
    t = site_target(frames, image_size=32, silhouette_size=16, true_masks=masks)
    assert len(t) == 16 and t.approach[0] == UNKNOWN and (t.approach[8:] == TOWARDS).all()
    back = site_target(frames[::-1], image_size=32, silhouette_size=16, true_masks=masks[::-1])
    assert (back.approach[8:] == AWAY).all()


def test_site_target_with_no_person_anywhere_is_empty_with_the_right_shapes():
    frames = np.zeros((3, H, W, 3), np.uint8)
    t = site_target(frames, image_size=32, silhouette_size=16, true_masks=np.zeros((3, H, W), bool))
    assert len(t) == 0
    assert t.images.shape == (0, 32, 32, 3) and t.silhouettes.shape == (0, 16, 16) and t.squares.shape == (0, 3)
    assert t.frame_index.dtype == np.int64
