"""models/pose_fit.py: the limbs and camera fitted to a silhouette in NumPy. Its derivatives against
finite differences of the skinned, projected mesh; its fits against silhouettes of known bodies."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from models.body_layout import JOINT_NAMES
from models.mesh_mask import crop_pixels, mesh_mask
from models.pose_fit import (
    HINGE_AXES,
    LIMB_JOINTS,
    PoseFit,
    PoseFitConfig,
    PoseFitter,
    _Target,
    bilinear,
)
from models.skinning import Skinning, axis_angle_to_matrices
from models.smpl_file import body_model_data

SIZE = 64
CAMERA = np.array([0.9, 0.02, -0.01])


@pytest.fixture(scope="module")
def data() -> dict:
    return body_model_data(None)


@pytest.fixture(scope="module")
def fitter(data) -> PoseFitter:
    return PoseFitter.of(data)


def body(data: dict, pose: np.ndarray, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Root-centred joints (24, 3) and vertices (V, 3) of the whole mesh."""
    posed = Skinning.of(data).pose(betas, axis_angle_to_matrices(pose))
    return posed.joints - posed.joints[0], posed.vertices - posed.joints[0]


def silhouette(data: dict, vertices: np.ndarray, camera: np.ndarray) -> np.ndarray:
    return mesh_mask(crop_pixels(vertices[:, :2], camera, SIZE), np.asarray(data["f"]), (SIZE, SIZE))


def known_case(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A body facing the camera (camera axes: y down) with its limbs turned at random; the same body
    with other limbs (the regressor's guess); its shape."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(0.0, 0.2, 72)
    truth[:3] = [np.pi, 0.0, 0.0]
    guess = truth.copy()
    for j in LIMB_JOINTS:
        truth[3 * j : 3 * j + 3] += rng.normal(0.0, 0.5, 3)
        guess[3 * j : 3 * j + 3] = rng.normal(0.0, 0.25, 3)
    return truth, guess, rng.normal(0.0, 1.0, 10)


def test_bilinear_against_its_definition():
    rng = np.random.default_rng(0)
    image = rng.normal(size=(6, 7))
    points = np.array([[2.0, 3.0], [2.25, 3.5], [6.0, 5.0], [-1.0, 9.0]])
    expected = [
        image[3, 2],
        0.5 * (0.75 * image[3, 2] + 0.25 * image[3, 3]) + 0.5 * (0.75 * image[4, 2] + 0.25 * image[4, 3]),
    ]
    np.testing.assert_allclose(bilinear(image, points)[:2], expected, atol=1e-12)
    np.testing.assert_allclose(bilinear(image, points)[2:], [image[5, 6], image[5, 0]], atol=1e-12)  # clamped


def test_the_jacobian_is_the_finite_difference_of_the_projected_fit_mesh(data, fitter):
    truth, _, betas = known_case(1)
    start = axis_angle_to_matrices(truth)
    joints = fitter.config.joints
    eta = np.random.default_rng(2).normal(0.0, 0.2, (len(joints), 3))
    mesh, posed = fitter._mesh(betas, fitter._rotations(start, eta))
    jac = fitter._jacobian(posed, mesh, CAMERA, SIZE)
    base = crop_pixels(mesh[:, :2], CAMERA, SIZE)
    h = 1e-6
    for k, j in enumerate(joints):
        for axis in range(3):
            turn = np.zeros(3)
            turn[axis] = h
            rotmats = fitter._rotations(start, eta)
            rotmats[j] = rotmats[j] @ cv2.Rodrigues(turn)[0]  # a turn in the joint's own axes
            moved, _ = fitter._mesh(betas, rotmats)
            numeric = (crop_pixels(moved[:, :2], CAMERA, SIZE) - base) / h
            np.testing.assert_allclose(jac[:, :, 3 * k + axis], numeric, atol=1e-4 * np.abs(numeric).max() + 1e-6)
    for column, camera in enumerate(
        (CAMERA * np.array([np.exp(h), 1, 1]), CAMERA + np.array([0, h, 0]), CAMERA + np.array([0, 0, h])),
        start=3 * len(joints),
    ):
        numeric = (crop_pixels(mesh[:, :2], camera, SIZE) - base) / h
        np.testing.assert_allclose(jac[:, :, column], numeric, atol=1e-4)


@pytest.fixture(scope="module")
def free(data) -> PoseFitter:
    """A fit held lightly: limbs turned far from the guess are found (the served prior holds them
    nearer the regressor's, where real silhouettes mislead)."""
    return PoseFitter.of(data, PoseFitConfig(prior=100.0, depth=0.0, off_hinge=1.0))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_known_body_s_limbs_are_found_from_its_silhouette(data, free, seed):
    truth, guess, betas = known_case(seed)
    true_joints, true_vertices = body(data, truth, betas)
    sil = silhouette(data, true_vertices, CAMERA)
    joints, vertices = body(data, guess, betas)
    start = CAMERA * [1.05, 1, 1] + [0, 0.03, 0]  # the camera a little off too
    fit = free.fit(guess, betas, joints, vertices, start, sil)
    assert fit.fitted and fit.iou_after > fit.iou_before + 0.1
    # The served body is the fitted one: its mesh covers the silhouette as the fit says ...
    covered = silhouette(data, fit.vertices, fit.camera)
    iou = (covered & sil).sum() / (covered | sil).sum()
    assert iou == pytest.approx(fit.iou_after, abs=0.03)
    # ... its joints are the skinned pose's, its root rotation the one given, and its limbs nearer the truth.
    refit_joints, refit_vertices = body(data, fit.pose, betas)
    np.testing.assert_allclose(fit.joints, refit_joints, atol=1e-6)
    np.testing.assert_allclose(fit.vertices, refit_vertices, atol=1e-6)
    np.testing.assert_allclose(fit.pose[:3], guess[:3])
    before = np.linalg.norm(
        crop_pixels(joints[:, :2], start, SIZE) - crop_pixels(true_joints[:, :2], CAMERA, SIZE), axis=1
    )
    after = np.linalg.norm(
        crop_pixels(fit.joints[:, :2], fit.camera, SIZE) - crop_pixels(true_joints[:, :2], CAMERA, SIZE), axis=1
    )
    assert after.mean() < 0.6 * before.mean()


def test_a_body_that_already_covers_its_silhouette_is_served_as_given(data, fitter):
    truth, _, betas = known_case(3)
    joints, vertices = body(data, truth, betas)
    fit = fitter.fit(truth, betas, joints, vertices, CAMERA, silhouette(data, vertices, CAMERA))
    assert not fit.fitted and fit.iou_before > 0.9
    assert np.array_equal(fit.pose, truth) and fit.vertices is vertices
    np.testing.assert_array_equal(fit.camera, CAMERA)


def test_a_silhouette_too_small_to_say_anything_is_not_fitted_to(data, fitter):
    _, guess, betas = known_case(4)
    joints, vertices = body(data, guess, betas)
    speck = np.zeros((SIZE, SIZE), bool)
    speck[30:33, 30:33] = True
    fit = fitter.fit(guess, betas, joints, vertices, CAMERA, speck)
    assert not fit.fitted and np.isnan(fit.iou_before) and fit.joints is joints


def test_a_person_the_frame_resolves_too_coarsely_is_not_fitted(data, fitter):
    """Below ``min_detail_px`` pixels of detail the silhouette shows no limbs: the body is served as
    given; at it, the fit is the one made where the detail is not known."""
    truth, guess, betas = known_case(6)
    joints, vertices = body(data, guess, betas)
    sil = silhouette(data, body(data, truth, betas)[1], CAMERA)
    limit = fitter.config.min_detail_px
    coarse = fitter.fit(guess, betas, joints, vertices, CAMERA, sil, None, limit - 0.5)
    assert not coarse.fitted and np.isnan(coarse.iou_before) and coarse.joints is joints
    unknown = fitter.fit(guess, betas, joints, vertices, CAMERA, sil)
    resolved = fitter.fit(guess, betas, joints, vertices, CAMERA, sil, None, limit)
    assert unknown.fitted and resolved.fitted
    np.testing.assert_array_equal(resolved.pose, unknown.pose)


def fitted_guess(data: dict, config: PoseFitConfig, seed: int) -> tuple[PoseFit, np.ndarray]:
    """:func:`known_case`'s guess fitted to its truth's silhouette under ``config``, and the guess."""
    truth, guess, betas = known_case(seed)
    _, true_vertices = body(data, truth, betas)
    joints, vertices = body(data, guess, betas)
    fitter = PoseFitter.of(data, config)
    return fitter.fit(guess, betas, joints, vertices, CAMERA, silhouette(data, true_vertices, CAMERA)), guess


def raised_arm_case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A body facing the camera with its left arm raised out to the side (the truth), the same body
    with that arm hanging inside its outline (the regressor's guess), and its shape."""
    truth, _, betas = known_case(8)
    truth[3:] *= 0.3  # a calm body, the arms near the sides
    left = JOINT_NAMES.index("left_shoulder")
    truth[3 * left : 3 * left + 3] = [0.0, 0.0, 1.0]  # turned about its own z: the arm out and up
    guess = truth.copy()
    guess[3 * left : 3 * left + 3] = [0.0, 0.0, -2.2]  # down along the body
    return truth, guess, betas


def test_a_raised_arm_out_of_the_mesh_s_reach_is_swung_up_and_found(data, fitter):
    """The fit alone pulls the head and shoulder towards the raised hand; swung first, the arm is
    found. Without swings (swing_deg empty) the hand stays far off."""
    truth, guess, betas = raised_arm_case()
    true_joints, true_vertices = body(data, truth, betas)
    sil = silhouette(data, true_vertices, CAMERA)
    joints, vertices = body(data, guess, betas)
    wrist = JOINT_NAMES.index("left_wrist")

    def wrist_error(fit: PoseFit) -> float:
        pixels = crop_pixels(fit.joints[[wrist], :2], fit.camera, SIZE)
        return float(np.linalg.norm(pixels - crop_pixels(true_joints[[wrist], :2], CAMERA, SIZE)))

    unswung = PoseFitter.of(data, PoseFitConfig(swing_deg=())).fit(guess, betas, joints, vertices, CAMERA, sil)
    swung = fitter.fit(guess, betas, joints, vertices, CAMERA, sil)
    assert wrist_error(unswung) > 8.0
    assert swung.fitted and wrist_error(swung) < 3.0


def test_an_arm_within_the_mesh_s_reach_is_not_swung(data, fitter):
    """Limbs a little off, the silhouette all within reach: the fit is the one made without swings."""
    truth, _, betas = known_case(9)
    guess = truth.copy()
    guess[3:] += np.random.default_rng(9).normal(0.0, 0.03, 69)
    _, true_vertices = body(data, truth, betas)
    sil = silhouette(data, true_vertices, CAMERA)
    joints, vertices = body(data, guess, betas)
    start = axis_angle_to_matrices(guess)
    swung, _, _ = fitter._swung(betas, start, CAMERA, _Target.of(sil, None))
    assert swung is start
    plain = PoseFitter.of(data, PoseFitConfig(swing_deg=())).fit(guess, betas, joints, vertices, CAMERA, sil)
    fit = fitter.fit(guess, betas, joints, vertices, CAMERA, sil)
    np.testing.assert_allclose(fit.pose, plain.pose, atol=1e-9)


def test_a_prior_without_bounds_holds_the_limbs_where_they_were(data):
    fit, guess = fitted_guess(data, PoseFitConfig(prior=1e9, min_gain=0.0, swing_deg=()), 0)
    np.testing.assert_allclose(fit.pose, guess, atol=1e-4)


def test_where_the_frame_shows_nothing_the_mesh_is_not_pulled_in(data, fitter):
    """A person the frame's right edge cuts: the mesh past the edge is not outside their silhouette."""
    truth, _, betas = known_case(5)
    joints, vertices = body(data, truth, betas)
    sil = silhouette(data, vertices, CAMERA)
    visible = np.zeros_like(sil)
    visible[:, : SIZE // 2] = True
    fit = fitter.fit(truth, betas, joints, vertices, CAMERA, sil & visible, visible)
    assert not fit.fitted and fit.iou_before > 0.9  # judged over what the frame shows, it already fits


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("joints", ()),
        ("joints", (0,)),
        ("iterations", -1),
        ("prior", -1.0),
        ("depth", -1.0),
        ("min_gain", 1.0),
        ("min_silhouette", -0.1),
        ("min_detail_px", -1.0),
        ("swing_deg", (90.0, 360.0)),
        ("reach_px", -1.0),
        ("min_out_of_reach", 1.5),
        ("min_swing_gain", 1.0),
        ("swing_iou_slack", -0.1),
    ],
)
def test_a_bad_config_names_the_bad_value(field, value):
    with pytest.raises(ValueError, match=field):
        PoseFitConfig(**{field: value})


def test_a_wrong_shaped_body_is_refused(fitter):
    with pytest.raises(ValueError, match="pose"):
        fitter.fit(
            np.zeros(69), np.zeros(10), np.zeros((24, 3)), np.zeros((10, 3)), CAMERA, np.zeros((SIZE, SIZE), bool)
        )
    with pytest.raises(ValueError, match="square"):
        fitter.fit(np.zeros(72), np.zeros(10), np.zeros((24, 3)), np.zeros((10, 3)), CAMERA, np.zeros((SIZE, 8), bool))


def test_the_depth_jacobian_is_the_finite_difference_of_the_joints_depths(data, fitter):
    truth, _, betas = known_case(6)
    start = axis_angle_to_matrices(truth)
    eta = np.random.default_rng(7).normal(0.0, 0.2, (len(fitter.config.joints), 3))
    _, posed = fitter._mesh(betas, fitter._rotations(start, eta))
    jac = fitter._depth_jacobian(posed)
    h = 1e-6
    for k, j in enumerate(fitter.config.joints):
        for axis in range(3):
            turn = np.zeros(3)
            turn[axis] = h
            rotmats = fitter._rotations(start, eta)
            rotmats[j] = rotmats[j] @ cv2.Rodrigues(turn)[0]
            _, moved = fitter._mesh(betas, rotmats)
            numeric = (moved.joints[fitter.moved, 2] - posed.joints[fitter.moved, 2]) / h
            np.testing.assert_allclose(jac[:, 3 * k + axis], numeric, atol=1e-5)


def test_knees_and_elbows_held_off_their_hinge_only_bend_about_it(data):
    fit, guess = fitted_guess(data, PoseFitConfig(off_hinge=1e9, min_gain=0.0, swing_deg=()), 1)
    bent = 0.0
    for j, axis in HINGE_AXES.items():
        start, end = (
            axis_angle_to_matrices(guess[3 * j : 3 * j + 3])[0],
            axis_angle_to_matrices(fit.pose[3 * j : 3 * j + 3])[0],
        )
        turn = cv2.Rodrigues(start.T @ end)[0].ravel()  # in the joint's own axes
        off = np.delete(turn, axis)
        assert np.abs(off).max() < 1e-4
        bent = max(bent, abs(turn[axis]))
    assert bent > 0.05  # they did bend


def test_the_served_fit_brings_known_bodies_joints_nearer_on_the_whole(data, fitter):
    """Held nearer the guess, the served fit does not find every limb (of these six wildly posed bodies
    it leaves two as they were: its objective fell, their IoU did not rise), but where it serves a fit
    it takes the joints nearer the truth, and keeps their depths nearer the guess than their places."""
    before, after, moved, deepened = [], [], [], []
    for seed in range(6):
        truth, guess, betas = known_case(seed)
        true_joints, true_vertices = body(data, truth, betas)
        joints, vertices = body(data, guess, betas)
        fit = fitter.fit(guess, betas, joints, vertices, CAMERA, silhouette(data, true_vertices, CAMERA))
        if not fit.fitted:
            assert fit.iou_after < fit.iou_before + fitter.config.min_gain and fit.joints is joints
            continue
        assert fit.iou_after >= fit.iou_before + fitter.config.min_gain
        true_2d = crop_pixels(true_joints[:, :2], CAMERA, SIZE)
        before.append(np.linalg.norm(crop_pixels(joints[:, :2], CAMERA, SIZE) - true_2d, axis=1).mean())
        after.append(np.linalg.norm(crop_pixels(fit.joints[:, :2], fit.camera, SIZE) - true_2d, axis=1).mean())
        moved.append(np.linalg.norm(fit.joints[:, :2] - joints[:, :2], axis=1).mean())
        deepened.append(np.abs(fit.joints[:, 2] - joints[:, 2]).mean())
    assert len(after) >= 4 and np.mean(after) < 0.7 * np.mean(before)
    assert np.mean(deepened) < np.mean(moved)
