"""bench.pose_scores against brute-force references: joint mapping, PCK with visibility and box-height
normalisation, the fixed skeletons, the mesh raster and its IoU with CDnet's 170 band left out, and the
Procrustes-aligned error against hand-made rotated, scaled and moved copies."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench import footage_scores as fs
from bench import pose_scores as ps
from models import heading
from models.body_layout import JOINT_NAMES

# MediaPipe's PoseLandmark enum, in order (mediapipe.solutions.pose.PoseLandmark).
BLAZEPOSE_NAMES = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)


def rotation(axis, angle: float) -> np.ndarray:
    """Rodrigues: (3,) axis, radians -> (3, 3)."""
    a = np.asarray(axis, np.float64) / np.linalg.norm(axis)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k


# -- joints ---------------------------------------------------------------------------------------


def test_limb_joints_are_the_same_body_points_in_both_layouts():
    assert len(BLAZEPOSE_NAMES) == ps.BLAZEPOSE_NUM_LANDMARKS and ps.NUM_LIMBS == 12
    smpl = np.arange(len(JOINT_NAMES))[:, None]
    blaze = np.arange(ps.BLAZEPOSE_NUM_LANDMARKS)[:, None]
    for k, name in enumerate(ps.LIMB_NAMES):
        assert JOINT_NAMES[ps.smpl_limbs(smpl)[k, 0]] == name
        assert BLAZEPOSE_NAMES[ps.blazepose_limbs(blaze)[k, 0]] == name
    # visibilities (N, 33) are picked the same way as landmarks (N, 33, D)
    vis = np.random.default_rng(0).random((4, 33))
    assert np.array_equal(ps.blazepose_limbs(vis), ps.blazepose_limbs(vis[..., None])[..., 0])


def test_mirror_swaps_left_and_right():
    names = np.array(ps.LIMB_NAMES)[:, None]
    for k, (name,) in enumerate(ps.mirrored(names)):
        own = ps.LIMB_NAMES[k]
        assert name == (own.replace("left", "right") if "left" in own else own.replace("right", "left"))


def test_wrong_layouts_are_refused():
    with pytest.raises(ValueError):
        ps.smpl_limbs(np.zeros((2, 33, 2)))
    with pytest.raises(ValueError):
        ps.blazepose_limbs(np.zeros((2, 24, 2)))


# -- PCK ------------------------------------------------------------------------------------------


def brute_pck(pred, target, visible, heights, threshold):
    hits = counted = 0
    for n in range(pred.shape[0]):
        for j in range(pred.shape[1]):
            if not visible[n, j]:
                continue
            counted += 1
            d = math.hypot(pred[n, j, 0] - target[n, j, 0], pred[n, j, 1] - target[n, j, 1])
            hits += d <= threshold * heights[n]
    return hits, counted


def test_pck_matches_brute_force():
    rng = np.random.default_rng(1)
    n, j = 40, 12
    boxes = np.stack([rng.uniform(0, 50, n), rng.uniform(0, 50, n), np.zeros(n), np.zeros(n)], 1)
    boxes[:, 2] = boxes[:, 0] + rng.uniform(20, 80, n)
    boxes[:, 3] = boxes[:, 1] + rng.uniform(40, 200, n)
    heights = ps.box_height(boxes)
    target = rng.uniform(0, 300, (n, j, 2))
    pred = target + rng.normal(0, 12, (n, j, 2))
    visible = rng.random((n, j)) > 0.3
    for threshold in (0.05, 0.1, 0.2):
        assert ps.pck(pred, target, visible, heights, threshold) == brute_pck(pred, target, visible, heights, threshold)


def test_pck_normalises_by_each_box_height():
    target = np.zeros((2, 1, 2))
    pred = np.array([[[0.0, 15.0]], [[0.0, 15.0]]])  # 15 px off in both
    heights = np.array([200.0, 100.0])  # within 20 px in the tall box, 10 px in the short one
    hits, counted = ps.pck_hits(pred, target, np.ones((2, 1), bool), heights)
    assert hits[:, 0].tolist() == [True, False] and counted.all()
    assert ps.box_height(np.array([[0, 10, 5, 110.0]])).tolist() == [100.0]
    with pytest.raises(ValueError):
        ps.box_height(np.array([[0, 10, 5, 10.0]]))


def test_clear_of_edge():
    """Against counting: a box is clear when more than ``margin`` whole pixels lie between it and
    every edge of the frame (the finder's rule, models.people.extent.inside)."""
    boxes = np.array(
        [
            [10.5, 10.5, 50.5, 90.5],  # well inside a 100 x 120 frame
            [-0.5, 10.5, 50.5, 90.5],  # on the left edge
            [10.5, 10.5, 50.5, 99.5],  # on the bottom edge (rows 0..99)
            [10.5, 1.5, 116.5, 96.5],  # 2 px from the top edge (rows 0 and 1), more from the others: cut
            [10.5, 2.5, 115.5, 95.5],  # 3 px from the top edge, more from the others: clear
        ]
    )
    assert ps.clear_of_edge(boxes, (100, 120)).tolist() == [True, False, False, False, True]

    def free(box, h, w):  # whole pixels between the box and each edge, counted
        cols, rows = np.arange(w), np.arange(h)
        x0, y0, x1, y1 = box
        return [(cols < x0).sum(), (rows < y0).sum(), (cols > x1).sum(), (rows > y1).sum()]

    for margin in (0.0, 1.0, 2.0, 3.0):
        want = [min(free(b, 100, 120)) > margin for b in boxes]
        assert ps.clear_of_edge(boxes, (100, 120), margin=margin).tolist() == want, margin


def test_distance_over_height():
    a = np.zeros((2, 3, 2))
    b = np.zeros((2, 3, 2))
    b[0, 1] = [3.0, 4.0]  # 5 px in a 50 px box
    b[1, 2] = [0.0, 10.0]  # 10 px in a 200 px box
    d = ps.distance_over_height(a, b, np.array([50.0, 200.0]))
    assert d.tolist() == [[0, 0.1, 0], [0, 0, 0.05]]


def test_visibility_decides_what_counts():
    vis = np.zeros((3, 33))
    vis[:, 11] = [0.9, 0.5, 0.2]  # left shoulder: only above 0.5 counts
    vis[2, :] = 1.0
    found = np.array([True, True, False])  # BlazePose found nobody in the third box
    visible = ps.visible_limbs(vis, found)
    assert visible[:, 0].tolist() == [True, False, False] and visible.sum() == 1
    # a joint that does not count is no hit even when it lies on its target
    hits, counted = ps.pck_hits(np.zeros((3, 12, 2)), np.zeros((3, 12, 2)), visible, np.ones(3))
    assert hits.sum() == counted.sum() == 1
    assert ps.rate(0, 0) != ps.rate(0, 0)  # NaN


def test_fixed_skeleton_2d_places_the_mean_crop_pose_in_each_square():
    rng = np.random.default_rng(2)
    crop_pose = rng.uniform(-0.8, 0.8, (24, 2))
    squares = np.stack([rng.uniform(50, 300, 6), rng.uniform(50, 200, 6), rng.uniform(40, 160, 6)], 1)
    joints = crop_pose[None] * squares[:, None, 2:3] / 2 + squares[:, None, :2]  # the same pose in each
    assert np.allclose(ps.fixed_skeleton_2d(joints, squares), joints)
    # two poses: the fixed skeleton is their mean, in every square
    other = rng.uniform(-0.8, 0.8, (24, 2))
    joints[3:] = other[None] * squares[3:, None, 2:3] / 2 + squares[3:, None, :2]
    fixed = ps.fixed_skeleton_2d(joints, squares)
    assert np.allclose(ps.to_crop(fixed, squares), (crop_pose + other)[None] / 2)
    # the mean of the reference rows only (people the frame shows whole), placed in every square
    first = np.arange(6) < 3
    assert np.allclose(
        ps.fixed_skeleton_2d(joints, squares, first), ps.from_crop(np.repeat(crop_pose[None], 6, 0), squares)
    )
    assert np.allclose(ps.fixed_skeleton_2d(joints, squares, np.zeros(6, bool)), fixed)  # none set: all rows


# -- 3D -------------------------------------------------------------------------------------------


def test_pa_error_is_zero_on_a_rotated_scaled_moved_copy():
    rng = np.random.default_rng(3)
    target = rng.normal(0, 0.4, (5, 12, 3))
    pred = np.stack(
        [
            0.5 * (1 + k) * target[k] @ rotation(rng.normal(size=3), rng.uniform(0, math.pi)).T + rng.normal(size=3)
            for k in range(5)
        ]
    )
    assert np.allclose(ps.pa_error_mm(pred, target), 0, atol=1e-6)
    assert np.allclose(ps.similarity_align(pred, target), target, atol=1e-9)


def test_pa_error_refuses_reflections_and_matches_a_hand_made_case():
    # a mirror image cannot be rotated back: the error stays
    target = np.random.default_rng(4).normal(0, 0.3, (1, 12, 3))
    assert ps.pa_error_mm(target * np.array([-1, 1, 1]), target)[0] > 10
    # two points: any similarity fits them exactly; three collinear points offset by a known amount
    line = np.array([[[0.0, 0, 0], [1, 0, 0], [2, 0, 0]]])
    bent = np.array([[[0.0, 0, 0], [1, 0.3, 0], [2, 0, 0]]])
    # best fit keeps the line, centred: residuals (0.1, 0.2, 0.1) in y -> mean 0.1333 m
    assert ps.pa_error_mm(line, bent)[0] == pytest.approx(1000 * (0.1 + 0.2 + 0.1) / 3, rel=1e-9)


def test_pa_error_agrees_with_models_metrics():
    torch = pytest.importorskip("torch")
    from models.metrics import pa_mpjpe

    rng = np.random.default_rng(5)
    pred, target = rng.normal(0, 0.3, (8, 12, 3)), rng.normal(0, 0.3, (8, 12, 3))
    ours = ps.pa_error_mm(pred, target)
    theirs = pa_mpjpe(torch.as_tensor(pred), torch.as_tensor(target)).numpy()
    assert np.allclose(ours, theirs, rtol=1e-6)


def test_procrustes_mean_of_rotated_copies_is_the_skeleton():
    rng = np.random.default_rng(6)
    skeleton = rng.normal(0, 0.3, (12, 3))
    skeleton -= skeleton.mean(0)
    copies = np.stack([skeleton @ rotation(rng.normal(size=3), rng.uniform(0, math.pi)).T for _ in range(9)])
    mean = ps.procrustes_mean(copies)
    assert np.allclose(ps.pa_error_mm(mean[None], skeleton[None]), 0, atol=1e-6)
    assert np.linalg.norm(mean) == pytest.approx(np.linalg.norm(skeleton))  # rotated, not shrunk
    assert np.linalg.norm(copies.mean(0)) < 0.7 * np.linalg.norm(skeleton)  # the plain mean shrinks


# -- mesh silhouettes -----------------------------------------------------------------------------


def inside(p, a, b, c) -> bool:
    """Brute force: is point p in triangle abc (edges included)?"""

    def side(o, u, v):
        return (u[0] - o[0]) * (v[1] - o[1]) - (u[1] - o[1]) * (v[0] - o[0])

    if side(a, b, c) == 0:
        return False
    s = [side(a, b, p), side(b, c, p), side(c, a, p)]
    return all(x >= 0 for x in s) or all(x <= 0 for x in s)


def brute_raster(pixels, faces, shape):
    h, w = shape
    out = np.zeros(shape, bool)
    for y in range(h):
        for x in range(w):
            out[y, x] = any(inside((x, y), *pixels[f]) for f in faces)
    return out


def test_mesh_mask_matches_a_per_pixel_triangle_test():
    rng = np.random.default_rng(7)
    shape = (23, 31)
    pixels = rng.uniform(-5, 35, (12, 2))  # some vertices outside the frame
    faces = np.array([rng.choice(12, 3, replace=False) for _ in range(9)])
    faces[0] = [0, 0, 1]  # a degenerate face covers nothing
    ours = ps.mesh_mask(pixels, faces, shape)
    assert ours.any() and np.array_equal(ours, brute_raster(pixels, faces, shape))


def test_mesh_mask_of_a_square_and_of_tiny_triangles():
    # a square over pixel centres 2..5 x 3..7, as two triangles
    sq = np.array([[1.5, 2.5], [5.5, 2.5], [5.5, 7.5], [1.5, 7.5]])
    mask = ps.mesh_mask(sq, np.array([[0, 1, 2], [0, 2, 3]]), (10, 10))
    expected = np.zeros((10, 10), bool)
    expected[3:8, 2:6] = True
    assert np.array_equal(mask, expected)
    # a mesh of sub-pixel triangles tiling the same square covers the same pixel centres
    xs, ys = np.meshgrid(np.linspace(1.5, 5.5, 13), np.linspace(2.5, 7.5, 17))
    verts = np.stack([xs.ravel(), ys.ravel()], 1)
    idx = np.arange(13 * 17).reshape(17, 13)
    quads = np.stack([idx[:-1, :-1], idx[:-1, 1:], idx[1:, 1:], idx[1:, :-1]], -1).reshape(-1, 4)
    faces = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])
    assert np.array_equal(ps.mesh_mask(verts, faces, (10, 10)), expected)


def test_box_mask_holds_the_pixel_centres_inside_the_box():
    mask = ps.box_mask((1.5, 2.5, 5.5, 7.5), (10, 10))
    rows, cols = fs.box_slices((1.5, 2.5, 5.5, 7.5), (10, 10))
    expected = np.zeros((10, 10), bool)
    expected[rows, cols] = True
    assert np.array_equal(mask, expected) and mask.sum() == 20


def brute_iou(pred, gt_person, gt):
    inter = union = 0
    for y in range(gt.shape[0]):
        for x in range(gt.shape[1]):
            if gt[y, x] in (fs.GT_UNKNOWN, fs.GT_OUTSIDE_ROI):
                continue
            inter += pred[y, x] and gt_person[y, x]
            union += pred[y, x] or gt_person[y, x]
    return inter / union


def test_masked_iou_leaves_the_unknown_band_out():
    rng = np.random.default_rng(8)
    gt = rng.choice(np.array([0, 170, 255], np.uint8), (20, 24), p=[0.5, 0.2, 0.3])
    person = gt == fs.GT_FOREGROUND
    pred = rng.random((20, 24)) > 0.5
    assert ps.masked_iou(pred, person, fs.scored(gt)) == pytest.approx(brute_iou(pred, person, gt))
    # a prediction that differs from the person only inside the band scores 1
    band = gt == fs.GT_UNKNOWN
    assert ps.masked_iou(person | band, person, fs.scored(gt)) == 1.0
    assert math.isnan(ps.masked_iou(np.zeros((2, 2), bool), np.zeros((2, 2), bool), np.ones((2, 2), bool)))


def test_facing_reads_which_way_the_shoulders_and_hips_lie():
    front = np.zeros((ps.NUM_LIMBS, 2))
    for name, x in (("left_shoulder", 20), ("right_shoulder", -20), ("left_hip", 10), ("right_hip", -10)):
        front[ps.LIMB_NAMES.index(name)] = (x, 0)
    side = front * [0.1, 1]  # 6 px of spread on a 100 px box: a profile
    limbs = np.stack([front, ps.mirrored(front), side])
    assert ps.facing(limbs, np.full(3, 100.0)).tolist() == [1, -1, 0]
    assert ps.facing(limbs[2:], np.array([50.0])).tolist() == [1]  # 6 px is clear on a 50 px box


def test_facing_agreement_matches_brute_force():
    rng = np.random.default_rng(5)
    n = 200
    pred, target = rng.normal(0, 30, (n, ps.NUM_LIMBS, 2)), rng.normal(0, 30, (n, ps.NUM_LIMBS, 2))
    visible = rng.random((n, ps.NUM_LIMBS)) > 0.2
    heights = rng.uniform(50, 200, n)
    ids = [i for pair in ps.FACING_PAIRS for i in pair]
    agree = compared = 0

    def way(limbs, k):
        spread = sum(limbs[k, a, 0] - limbs[k, b, 0] for a, b in ps.FACING_PAIRS)
        return 0 if abs(spread) < heading.FACING_MIN_SPREAD * heights[k] else (1 if spread > 0 else -1)

    for k in range(n):
        a, b = way(pred, k), way(target, k)
        if all(visible[k, i] for i in ids) and a != 0 and b != 0:
            compared += 1
            agree += a == b
    assert ps.facing_agreement(pred, target, visible, heights) == (agree, compared)
    assert 20 < compared < n
    assert (
        ps.facing_agreement(pred, pred, np.ones_like(visible), heights)[0]
        == ps.facing_agreement(pred, pred, np.ones_like(visible), heights)[1]
    )
    mirrored_agree, mirrored_compared = ps.facing_agreement(ps.mirrored(pred), pred, np.ones_like(visible), heights)
    assert mirrored_agree == 0 and mirrored_compared > 0


def test_facing_as_turns_round_only_the_boxes_that_face_the_other_way():
    front = np.zeros((ps.NUM_LIMBS, 2))
    for name, x in (("left_shoulder", 20), ("right_shoulder", -20), ("left_hip", 10), ("right_hip", -10)):
        front[ps.LIMB_NAMES.index(name)] = (x, 0)
    front[ps.LIMB_NAMES.index("left_wrist")] = (30, 40)
    pred = np.stack([front, front, front * [0.1, 1]])  # facing, facing, seen from the side
    target = np.stack([front, ps.mirrored(front), ps.mirrored(front)])
    visible = np.ones((3, ps.NUM_LIMBS), bool)
    out = ps.facing_as(pred, target, visible, np.full(3, 100.0))
    assert np.array_equal(out[0], pred[0])  # already agrees
    assert np.array_equal(out[1], ps.mirrored(pred[1]))  # turned round: its left wrist is now the right one
    assert np.array_equal(out[2], pred[2])  # a profile is left alone
    visible[1, ps.LIMB_NAMES.index("left_hip")] = False  # the reference's facing is not seen
    assert np.array_equal(ps.facing_as(pred, target, visible, np.full(3, 100.0))[1], pred[1])


def test_torso_width_ratio_is_the_median_of_the_shoulder_and_hip_widths_over_the_references():
    rng = np.random.default_rng(8)
    n = 9
    target = rng.normal(0, 30, (n, ps.NUM_LIMBS, 2))
    scale = rng.uniform(0.2, 1.5, n)
    centre = target.mean(axis=1, keepdims=True)
    pred = centre + (target - centre) * scale[:, None, None]  # each box's body drawn scale times as wide
    visible = np.ones((n, ps.NUM_LIMBS), bool)
    visible[0, ps.LIMB_NAMES.index("right_hip")] = False  # box 0 is left out
    assert ps.torso_width_ratio(pred, target, visible) == pytest.approx(np.median(scale[1:]))
    # against brute force on unrelated joints
    pred = rng.normal(0, 30, (n, ps.NUM_LIMBS, 2))

    def width(limbs, k):
        return sum(math.dist(limbs[k, a], limbs[k, b]) for a, b in ps.FACING_PAIRS)

    want = np.median([width(pred, k) / width(target, k) for k in range(1, n)])
    assert ps.torso_width_ratio(pred, target, visible) == pytest.approx(want)
    assert ps.torso_width_ratio(ps.mirrored(pred), target, visible) == pytest.approx(want)  # names do not count
    assert math.isnan(ps.torso_width_ratio(pred, target, np.zeros_like(visible)))


def brute_truth_person(box, people, margin):
    """One box: for each person, count the joints inside the grown box one at a time."""
    pad = margin * (box[3] - box[1])
    counts = []
    for joints in people:
        inside = 0
        for x, y in joints:
            if box[0] - pad <= x <= box[2] + pad and box[1] - pad <= y <= box[3] + pad:
                inside += 1
        counts.append(inside)
    best = int(np.argmax(counts)) if counts else -1
    return best if counts and 2 * counts[best] >= people.shape[1] else -1


def test_truth_person_matches_brute_force():
    rng = np.random.default_rng(4)
    n, p, j = 30, 3, 24
    centres = rng.uniform(50, 250, (n, p, 1, 2))
    people = centres + rng.normal(0, 20, (n, p, j, 2))
    people[3, 1] = np.nan  # a person not in view
    boxes = np.concatenate([centres[:, 0, 0] - 30, centres[:, 0, 0] + 30], 1)[:, [0, 1, 2, 3]]
    boxes[5] = [900, 900, 950, 960]  # nobody there
    got = ps.truth_person(boxes, people)
    want = [brute_truth_person(boxes[i], people[i], ps.TRUTH_BOX_MARGIN) for i in range(n)]
    assert got.tolist() == want and got[5] == -1 and (got == 0).sum() > n // 2
    assert ps.truth_person(boxes, people[:, :0]).tolist() == [-1] * n  # a clip with nobody rendered
    with pytest.raises(ValueError, match="true joints for 29"):
        ps.truth_person(boxes, people[:-1])


def test_in_image_keeps_the_pixels_the_frame_holds():
    points = np.array([[-0.5, 0.0], [-0.6, 0.0], [319.5, 239.5], [319.6, 10.0], [np.nan, 1.0]])
    assert ps.in_image(points, (240, 320)).tolist() == [True, False, True, False, False]
