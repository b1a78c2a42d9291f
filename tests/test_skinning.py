"""models/skinning.py: the body model's skinning in NumPy, against the torch body model (smplx's lbs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.body_model import load_body_model
from models.skinning import Skinning, axis_angle_to_matrices, matrices_to_axis_angle
from models.smpl_file import body_model_data


@pytest.fixture(scope="module")
def data() -> dict:
    return body_model_data(None)


def random_body(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 0.4, 72), rng.normal(0.0, 1.0, 10)


@pytest.mark.parametrize("seed", [0, 1])
def test_skinning_poses_the_body_as_the_torch_body_model_does(data, seed):
    pose, betas = random_body(seed)
    out = load_body_model()(
        torch.tensor(betas[None], dtype=torch.float32), torch.tensor(pose[None], dtype=torch.float32)
    )
    posed = Skinning.of(data).pose(betas, axis_angle_to_matrices(pose))
    np.testing.assert_allclose(posed.vertices, out.vertices[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(posed.joints, out.joints[0].numpy(), atol=1e-5)
    # Each joint's transform takes its rest position to its posed one.
    rest_joints = Skinning.of(data).joint_template + Skinning.of(data).joint_shapedirs @ betas
    moved = np.einsum("jab,jb->ja", posed.transforms[:, :3, :3], rest_joints) + posed.transforms[:, :3, 3]
    np.testing.assert_allclose(moved, posed.joints, atol=1e-9)


def test_skinning_some_vertices_gives_those_rows_of_the_whole_body(data):
    pose, betas = random_body(2)
    ids = np.array([5, 17, 400, 6000, 17])
    whole = Skinning.of(data).pose(betas, axis_angle_to_matrices(pose))
    some = Skinning.of(data, ids).pose(betas, axis_angle_to_matrices(pose))
    np.testing.assert_allclose(some.vertices, whole.vertices[ids], atol=1e-12)
    np.testing.assert_allclose(some.joints, whole.joints, atol=1e-12)


def test_pose_blend_shapes_correct_the_rest_shape_where_a_file_has_them(data):
    """The open body model has none (and skips their product); a licensed file's are applied as
    smplx applies them: rest = shaped + posedirs . (R_j - I) over the non-root joints."""
    pose, betas = random_body(3)
    rotmats = axis_angle_to_matrices(pose)
    assert not Skinning.of(data).pose_blend
    rng = np.random.default_rng(4)
    ids = np.array([0, 300, 5000])
    posedirs = rng.normal(0.0, 0.01, (len(data["v_template"]), 3, 9 * 23))
    skin = Skinning.of({**data, "posedirs": posedirs}, ids)
    assert skin.pose_blend
    plain = Skinning.of(data, ids).pose(betas, rotmats)
    blended = skin.pose(betas, rotmats)
    features = np.concatenate([(rotmats[j] - np.eye(3)).ravel() for j in range(1, 24)])
    for row, v in enumerate(ids):
        expected = plain.rest[row] + posedirs[v] @ features
        np.testing.assert_allclose(blended.rest[row], expected, atol=1e-12)
    np.testing.assert_allclose(blended.joints, plain.joints, atol=1e-12)


def test_descendants_follow_the_kinematic_tree(data):
    skin = Skinning.of(data)
    below = skin.descendants(18)  # the left elbow: itself, the wrist and the hand
    assert set(np.flatnonzero(below)) == {18, 20, 22}
    assert skin.descendants(0).all()
    for j in range(1, skin.num_joints):  # brute force: walk up from each joint
        up, chain = j, set()
        while up >= 0:
            chain.add(up)
            up = skin.parents[up]
        assert {k for k in range(skin.num_joints) if skin.descendants(k)[j]} == chain


def test_axis_angle_round_trip():
    pose, _ = random_body(3)
    np.testing.assert_allclose(matrices_to_axis_angle(axis_angle_to_matrices(pose)), pose, atol=1e-9)


def test_a_wrong_number_of_rotations_is_refused(data):
    with pytest.raises(ValueError, match="rotmats"):
        Skinning.of(data).pose(np.zeros(10), np.tile(np.eye(3), (23, 1, 1)))
