"""models/limb_swing.py: a limb swung whole against the skinned joints themselves, and the distance
between a mask and a silhouette against a pixel-by-pixel search."""

from __future__ import annotations

import numpy as np
import pytest

from models.limb_swing import SWUNG_JOINTS, chamfer_px, point_limb
from models.skinning import Skinning, axis_angle_to_matrices
from models.smpl_file import body_model_data


@pytest.fixture(scope="module")
def data() -> dict:
    return body_model_data(None)


def known_pose(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A body facing the camera with its joints turned at random, and its shape."""
    rng = np.random.default_rng(seed)
    pose = rng.normal(0.0, 0.3, 72)
    pose[:3] = [np.pi, 0.0, 0.0]
    return pose, rng.normal(0.0, 1.0, 10)


def pairwise(points: np.ndarray) -> np.ndarray:
    """(N, 3) points -> (N, N) their distances."""
    return np.linalg.norm(points[:, None] - points[None], axis=-1)


def test_a_swing_points_the_bone_in_the_image_plane_and_moves_the_limb_rigidly(data):
    """Against the skinned joints themselves: the line from the swung joint to its limb's end (the
    wrist) points where asked, its length kept; its descendants keep their distances to it and to
    each other; every other joint stays where it was."""
    truth, betas = known_pose(7)
    start = axis_angle_to_matrices(truth)
    whole = Skinning.of(data)
    before = whole.pose(betas, start).joints
    for joint in SWUNG_JOINTS:
        child = int(np.flatnonzero(whole.parents == int(np.flatnonzero(whole.parents == joint)[0]))[0])
        moved = np.flatnonzero(whole.descendants(joint))
        still = np.setdiff1d(np.arange(len(before)), moved)
        for degrees in (0.0, 135.0, 270.0):
            after = whole.pose(betas, point_limb(whole, betas, start, joint, degrees)).joints
            bone = after[child] - after[joint]
            length = np.linalg.norm(before[child] - before[joint])
            aim = np.array([np.cos(np.radians(degrees)), np.sin(np.radians(degrees)), 0.0])
            np.testing.assert_allclose(bone, length * aim, atol=1e-9)
            np.testing.assert_allclose(after[still], before[still], atol=1e-9)
            np.testing.assert_allclose(pairwise(after[moved]), pairwise(before[moved]), atol=1e-9)


def test_a_limb_already_along_the_aim_is_left_as_it_was_and_one_against_it_turns_round(data):
    whole = Skinning.of(data)
    pose, betas = known_pose(3)
    start = axis_angle_to_matrices(pose)
    joint = SWUNG_JOINTS[1]
    wrist = int(np.flatnonzero(whole.parents == int(np.flatnonzero(whole.parents == joint)[0]))[0])
    aimed = point_limb(whole, betas, start, joint, 200.0)
    again = point_limb(whole, betas, aimed, joint, 200.0)
    np.testing.assert_allclose(again, aimed, atol=1e-9)
    back = whole.pose(betas, point_limb(whole, betas, aimed, joint, 20.0)).joints
    line = back[wrist] - back[joint]
    np.testing.assert_allclose(
        line / np.linalg.norm(line), [np.cos(np.radians(20.0)), np.sin(np.radians(20.0)), 0.0], atol=1e-9
    )
    with pytest.raises(ValueError, match="joint 22"):
        point_limb(whole, betas, start, 22, 90.0)  # a hand: no limb below it


def brute_chamfer(mask, silhouette, visible):
    """Each pixel's nearest pixel of the other set, by search over every pixel."""
    ys, xs = np.nonzero(mask)
    sy, sx = np.nonzero(silhouette)
    to_mask = [np.hypot(xs - x, ys - y).min() for y, x in zip(sy, sx, strict=True) if visible[y, x]]
    to_sil = [np.hypot(sx - x, sy - y).min() for y, x in zip(ys, xs, strict=True) if visible[y, x]]
    return float(np.mean(to_mask) + np.mean(to_sil))


def test_chamfer_matches_a_search_over_every_pixel():
    import cv2

    rng = np.random.default_rng(0)
    silhouette = np.zeros((32, 32), bool)
    silhouette[6:26, 12:18] = True
    silhouette[8:10, 4:28] = True  # arms out
    mask = np.zeros_like(silhouette)
    mask[7:27, 11:19] = True
    mask[rng.integers(0, 32, 5), rng.integers(0, 32, 5)] = True
    visible = np.ones_like(silhouette)
    visible[:, 28:] = False
    distance = cv2.distanceTransform((~silhouette).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE) * visible
    got = chamfer_px(mask, silhouette, distance, visible)
    assert got == pytest.approx(brute_chamfer(mask, silhouette, visible), rel=1e-3)
    assert chamfer_px(silhouette, silhouette, distance, visible) == 0.0
    assert chamfer_px(np.zeros_like(mask), silhouette, distance, visible) == float("inf")
