"""Crops: boxes, cutting, and the coordinate maps agree with each other."""

import numpy as np

from models.crops import crop, crop_to_frame, in_frame, mask_box, pixels_to_crop, square_box, uncrop_mask


def test_a_crop_of_a_box_shows_the_box_where_the_coordinates_say():
    frame = np.zeros((200, 300, 3), dtype=np.uint8)
    mask = np.zeros((200, 300), dtype=bool)
    mask[50:150, 100:140] = True
    frame[mask] = 255
    sq = square_box(mask_box(mask), pad=1.25)
    assert np.allclose(sq, (119.5, 99.5, 125.0))
    c = crop(frame, sq, 100)[..., 0] > 127
    m = crop(mask, sq, 100)
    assert np.array_equal(c, m)
    ys, xs = np.nonzero(m)
    # the box spans 100 of 125 px vertically: 80 crop pixels, centred
    assert ys.min() == 10 and ys.max() == 89 and abs((xs.min() + xs.max()) / 2 - 49.5) < 1


def test_coordinate_maps_invert_each_other_and_match_the_crop():
    sq = (120.0, 90.0, 64.0)
    p = np.array([[120.0, 90.0], [88.0, 58.0], [152.0, 122.0]])
    u = pixels_to_crop(p, sq)
    assert np.allclose(u, [[0, 0], [-1, -1], [1, 1]])
    assert np.allclose(crop_to_frame(u, sq), p)


def test_empty_masks_have_no_box_and_edges_are_filled():
    assert mask_box(np.zeros((5, 5), dtype=bool)) is None
    frame = np.full((50, 50, 3), 100, dtype=np.uint8)
    out = crop(frame, (0.0, 0.0, 40.0), 32)  # half outside the frame
    assert (out == 100).all()


def test_a_mask_cut_and_put_back_lands_where_it_was():
    mask = np.zeros((120, 160), dtype=bool)
    mask[30:100, 60:85] = True
    mask[40:50, 85:110] = True  # an arm
    sq = square_box(mask_box(mask))
    for size in (64, 128):
        back = uncrop_mask(crop(mask, sq, size), sq, mask.shape)
        iou = (back & mask).sum() / (back | mask).sum()
        assert iou > (0.9 if size == 64 else 0.95), (size, iou)
    # brute force: each frame pixel centre mapped into the crop by the documented map, nearest cell
    small = crop(mask, sq, 32)
    back = uncrop_mask(small, sq, mask.shape)
    ys, xs = np.mgrid[0:120, 0:160]
    q = (np.stack([xs, ys], -1) - np.array(sq[:2])) * 32 / sq[2] + 16 - 0.5
    qi = np.round(q).astype(int)
    inside = ((qi >= 0) & (qi < 32)).all(-1)
    nearest = np.zeros_like(mask)
    nearest[inside] = small[qi[inside][:, 1], qi[inside][:, 0]]
    assert (back != nearest).mean() < 0.02  # they differ only along the outline (bilinear, not nearest)
    assert not uncrop_mask(small, (1000.0, 1000.0, 40.0), mask.shape).any()  # a square off the frame


def test_in_frame_is_the_crop_of_an_all_true_frame():
    shape = (48, 64)
    for square in [(20.0, 10.0, 40.0), (60.0, 45.0, 30.0), (-5.0, 20.0, 24.0), (32.0, 24.0, 30.0)]:
        reference = crop(np.ones(shape, bool), square, 32)  # each crop pixel samples the frame at its centre
        got = in_frame(square, shape, 32)
        if reference.all():
            assert got is None
        else:
            np.testing.assert_array_equal(got, reference)
