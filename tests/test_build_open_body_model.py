"""The shipped open body model is what its builder makes: regenerate it and compare."""

import json

import numpy as np
import pytest

from models.body_model import OPEN_BODY_MODEL
from models.smpl_file import read_body_model_file
from models.tools import build_open_body_model as builder


@pytest.fixture(scope="module")
def rebuilt():
    return builder.build()


def area(v, f) -> float:
    v, f = np.asarray(v, dtype=np.float64), np.asarray(f)
    return 0.5 * float(np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1).sum())


def volume(v, f) -> float:
    v, f = np.asarray(v, dtype=np.float64), np.asarray(f)
    return float(np.einsum("ij,ij->i", v[f[:, 0]], np.cross(v[f[:, 1]], v[f[:, 2]])).sum() / 6.0)


def test_rebuild_reproduces_the_shipped_file(rebuilt):
    """The same body: the builder's mesh decimation is not bit-reproducible across CPUs (an AMD
    EPYC and an Intel Xeon gave different vertices and triangles for the same surface), so the
    rebuild is compared as a body: sizes, surface area and volume, landmarks, and the joints
    over the shape space."""
    shipped = read_body_model_file(OPEN_BODY_MODEL)
    assert set(rebuilt) == set(shipped)
    # The triangulation itself may differ too; the surface it spans must not.
    assert np.shape(rebuilt["f"]) == np.shape(shipped["f"])
    for measure in (area, volume):
        assert measure(rebuilt["v_template"], rebuilt["f"]) == pytest.approx(
            measure(shipped["v_template"], shipped["f"]), rel=1e-4
        ), measure.__name__
    np.testing.assert_array_equal(rebuilt["kintree_table"], shipped["kintree_table"])
    np.testing.assert_array_equal(rebuilt["extra_joint_names"], shipped["extra_joint_names"])
    # Landmark vertices are picked as nearest to anatomical points: the same places, within a centimetre.
    np.testing.assert_allclose(
        np.asarray(rebuilt["v_template"])[rebuilt["extra_joint_vertex_ids"]],
        np.asarray(shipped["v_template"])[shipped["extra_joint_vertex_ids"]],
        atol=1e-2,
    )
    # Vertices themselves differ with the decimation; the skeleton and shape space must not.
    rng = np.random.default_rng(0)
    for betas in [np.zeros(10), *rng.normal(0, 1, (3, 10))]:

        def joints(m, betas=betas):
            v = np.asarray(m["v_template"]) + np.asarray(m["shapedirs"])[..., :10] @ betas
            return np.asarray(m["J_regressor"]) @ v

        np.testing.assert_allclose(joints(rebuilt), joints(shipped), atol=5e-3, err_msg="joints")
    for key in ("proxy_faces", "proxy_vertex_ids"):
        assert np.shape(rebuilt[key]) == np.shape(shipped[key]), key


def test_builder_checks_its_own_accuracy(rebuilt):
    prov = json.loads(str(rebuilt["provenance"]))
    assert prov["joint_regressor_held_out_error_max_mm"] < 10.0
    assert prov["shape_variance_explained_by_10_betas"] > 0.99
    assert "CC0" in prov["source"] and "Apache-2.0" in prov["source"]


def test_t_pose_puts_arms_on_the_shoulder_line():
    import torch

    model = builder.load_anny()
    phen = builder.sample_adult_phenotypes(model, 3, seed=5)
    _, heads = builder.t_pose(model, phen)
    idx = {n: i for i, n in enumerate(model.bone_labels)}
    for s, sign in (("L", 1.0), ("R", -1.0)):
        arm = heads[:, idx[f"wrist.{s}"]] - heads[:, idx[f"upperarm01.{s}"]]
        direction = arm / arm.norm(dim=-1, keepdim=True)
        assert torch.all(sign * direction[:, 0] > 0.999), direction
