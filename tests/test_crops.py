"""Crops: boxes, cutting, and the coordinate maps agree with each other."""

import numpy as np

from models.crops import crop, crop_to_frame, mask_box, pixels_to_crop, square_box


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
