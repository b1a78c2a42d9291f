"""Where the rest of a person the frame cuts would be (models.people.extent): each reading of the
whole height against a brute-force solve, the limits, and the finder reaching past the frame for a
person walking out of it."""

import numpy as np
import pytest

from models.people.extent import (
    MAX_EXTENSION,
    SiteShape,
    cut_edges,
    height_from_ground,
    inside,
    running_aspect,
    whole_box,
)
from models.people.finder import FinderConfig, PersonFinder
from models.people.grouping import PersonScale

H, W = 240, 320
BOTTOM = H - 0.5  # a box cut by the frame's bottom ends at its last pixel's lower edge


def ground(a: float, b: float) -> PersonScale:
    """A site scale that has learnt h = a + b * y_feet exactly (feet seen on many rows, so the
    ridge hardly pulls the slope)."""
    scale = PersonScale(ridge=1e-6)
    for y in np.linspace(40, 230, 40):
        scale.observe((0.0, y - (a + b * y), 10.0, y))
    return scale


def feet_row_brute_force(scale: PersonScale, top: float) -> float:
    """The feet's row whose person's head is at ``top``: a fine search, no algebra."""
    rows = np.arange(0.0, 2000.0, 0.01)
    heights = np.array([scale.height_at(y) for y in rows])
    return float(rows[np.argmin(np.abs(rows - heights - top))])


def test_inside_and_cut_edges_agree():
    assert inside((10, 10, 50, 100), (H, W)) and cut_edges((10, 10, 50, 100), (H, W)) == (False,) * 4
    assert cut_edges((-0.5, 10, 50, BOTTOM), (H, W)) == (True, False, False, True)
    assert cut_edges((100, -0.5, W - 0.5, 100), (H, W)) == (False, True, True, False)
    assert not inside((100, -0.5, W - 0.5, 100), (H, W))


def test_a_whole_person_keeps_their_box():
    box = (100.0, 50.0, 140.0, 160.0)
    assert whole_box(box, (H, W), ground(10, 0.5), 2.8) == box


@pytest.mark.parametrize("a, b", [(10.0, 0.5), (-20.0, 0.7), (60.0, 0.1)])
def test_feet_cut_off_reach_the_row_the_ground_line_puts_them_on(a, b):
    scale = ground(a, b)
    top = 270.0 - (a + b * 270.0)  # the head of someone standing 30 rows below the frame
    x0, y0, x1, y1 = whole_box((100.0, top, 140.0, BOTTOM), (H, W), scale, aspect=None)
    assert (x0, y0, x1) == (100.0, top, 140.0)
    assert y1 == pytest.approx(feet_row_brute_force(scale, top), abs=0.05)
    assert y1 - y0 == pytest.approx(scale.height_at(y1), abs=0.05)  # as tall as a person standing there


def test_a_head_cut_off_is_as_tall_as_a_person_standing_on_the_feet_row():
    scale = ground(60.0, 0.5)
    _x0, y0, _x1, y1 = whole_box((100.0, -0.5, 140.0, 100.0), (H, W), scale, aspect=None)
    assert y1 == 100.0 and y1 - y0 == pytest.approx(60.0 + 0.5 * 100.0, abs=0.05)


def test_a_steep_or_unknown_ground_line_leaves_the_height_to_the_tracks_shape():
    box = (100.0, 150.0, 140.0, BOTTOM)
    steep = ground(-90.0, 1.1)  # heads rising as people come closer: the line cannot be solved for the feet
    assert height_from_ground(steep, top=150.0, feet=None) is None
    assert height_from_ground(PersonScale(), top=150.0, feet=None) is None
    for scale in (steep, PersonScale()):
        assert whole_box(box, (H, W), scale, aspect=2.5)[3] == pytest.approx(150.0 + 2.5 * 40.0)
        assert whole_box(box, (H, W), scale, aspect=None) == box  # nothing says how far: as seen


def test_someone_on_the_spot_whose_raised_hands_leave_the_frame_keeps_the_height_they_had():
    """Jumping jacks by the frame's top: the feet stay on their row, the arms spread the box to three
    times its width. The height is the one they had when last whole, not their shape times the width."""
    last_whole = (100.0, 20.0, 140.0, 200.0)  # 180 tall, 40 wide
    arms_up = (60.0, -0.5, 180.0, 200.0)
    assert whole_box(arms_up, (H, W), PersonScale(), aspect=4.5, last_whole=last_whole) == arms_up  # no taller
    assert whole_box(arms_up, (H, W), PersonScale(), aspect=4.5)[1] < -200  # the shape alone: 2.5 times taller


def test_someone_who_has_moved_since_they_were_whole_is_read_by_the_ground_or_their_shape():
    walked_closer = (90.0, 60.0, 150.0, BOTTOM)  # the head 40 rows lower than when last whole
    last_whole = (100.0, 20.0, 140.0, 200.0)
    assert whole_box(walked_closer, (H, W), PersonScale(), aspect=4.0, last_whole=last_whole)[3] == 60.0 + 4.0 * 60.0
    scale = ground(10.0, 0.5)
    top = 270.0 - (10.0 + 0.5 * 270.0)
    y1 = whole_box((100.0, top, 140.0, BOTTOM), (H, W), scale, aspect=4.0, last_whole=last_whole)[3]
    assert y1 == pytest.approx(270.0, abs=0.05)  # the ground line before the shape


def test_the_whole_person_is_never_shorter_than_the_part_in_view_nor_past_the_limit():
    box = (100.0, 100.0, 160.0, BOTTOM)  # 139.5 tall, 60 wide
    assert whole_box(box, (H, W), PersonScale(), aspect=1.0)[3] == BOTTOM  # 60 px would be shorter
    y1 = whole_box(box, (H, W), PersonScale(), aspect=20.0)[3]
    assert y1 - 100.0 == pytest.approx(MAX_EXTENSION * (BOTTOM - 100.0))


def test_a_person_cut_at_both_ends_reaches_as_far_past_each():
    _x0, y0, _x1, y1 = whole_box((100.0, -0.5, 150.0, BOTTOM), (H, W), PersonScale(), aspect=6.0)
    assert y1 - y0 == pytest.approx(300.0) and (y0 + y1) / 2 == pytest.approx((BOTTOM - 0.5) / 2)


@pytest.mark.parametrize("left", [True, False])
def test_a_person_cut_at_a_side_is_as_wide_as_their_shape_says_on_that_side(left):
    box = (-0.5, 60.0, 20.0, 180.0) if left else (W - 20.5, 60.0, W - 0.5, 180.0)
    x0, y0, x1, y1 = whole_box(box, (H, W), PersonScale(), aspect=3.0)
    assert (y0, y1) == (60.0, 180.0) and x1 - x0 == pytest.approx(40.0)
    assert (x1 == box[2]) if left else (x0 == box[0])  # the side the frame shows stays


def test_the_running_aspect_starts_at_the_first_box_and_follows_the_rest():
    a = running_aspect(None, (0, 0, 10, 30))
    assert a == 3.0
    assert running_aspect(a, (0, 0, 10, 20), smoothing=0.25) == pytest.approx(3.0 + 0.25 * (2.0 - 3.0))


def test_the_site_shape_is_the_median_once_enough_people_were_seen():
    shape = SiteShape(memory=5, min_samples=3)
    shape.observe((0, 0, 10, 20))
    shape.observe((0, 0, 10, 30))
    assert shape.aspect is None
    shape.observe((0, 0, 10, 100))
    assert shape.aspect == 3.0
    for _ in range(5):  # only the last ``memory`` count
        shape.observe((0, 0, 10, 40))
    assert shape.aspect == 4.0


def people_seen(seed: int, frames: int, draw) -> list:
    """What a finder answers over ``frames`` frames of a scene, ``draw(frame, k)`` adding a figure to
    it from the 10th frame on (k = 0, 1, ...), after the background has been learnt."""
    from tests.test_people import scene

    base = scene(seed)
    finder = PersonFinder(FinderConfig.with_warmup(10, person_check="off"))
    seen = []
    for t in range(frames):
        frame = base.copy()
        if t >= 10:
            draw(frame, t - 10)
        seen += finder.apply(frame).people
    return seen


def test_the_finder_reaches_past_the_frame_for_a_person_walking_out_of_it():
    """A figure walks down the frame and out of it at the bottom: while whole, its box is its extent;
    once the frame cuts its legs, the extent keeps the height it had (its shape times its width),
    past the frame's bottom, and the head stays where the frame shows it."""

    def figure(frame, k):
        y0 = 10 + 2 * k
        frame[y0 : y0 + 60, 70:90] = (200, 40, 40)
        frame[max(y0 - 10, 0) : y0, 75:85] = (230, 190, 160)  # a head

    seen = people_seen(11, 50, figure)
    fh = 120  # the scene's height
    whole = [p for p in seen if p.whole]
    cut = [p for p in seen if not p.whole]
    assert whole and cut and all(p.extent == p.blob.box for p in whole)
    full = np.median([p.blob.box[3] - p.blob.box[1] for p in whole])
    for p in cut:
        _x0, y0, _x1, y1 = p.blob.box
        assert y1 >= fh - 1.5 and p.extent[1] == y0 and p.extent[3] - y0 == pytest.approx(full, rel=0.1)
    assert sum(p.extent[3] > fh + 10 for p in cut) >= 5  # the legs well past the frame's bottom


def test_a_person_walking_out_of_the_frame_keeps_the_walk_read_while_whole():
    """Towards the camera (the box grows, its feet come down the image) and out at the bottom: the cut
    box no longer grows as a walker's does, so the walk read while whole is the one kept."""
    from models.heading import TOWARDS

    def walker(frame, k):
        h, y1 = int(40 * 1.03**k), 60 + 3 * k
        frame[y1 - h : y1, 70 : 70 + h // 3] = (200, 40, 40)

    seen = people_seen(12, 60, walker)
    whole = [p for p in seen if p.whole]
    cut = [p for p in seen if not p.whole]
    assert whole[-1].approach == TOWARDS and len(cut) >= 5
    assert all(p.approach == TOWARDS for p in cut)
