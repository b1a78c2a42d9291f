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


def test_rebuild_reproduces_the_shipped_file(rebuilt):
    shipped = read_body_model_file(OPEN_BODY_MODEL)
    assert set(rebuilt) == set(shipped)
    for key in ("f", "kintree_table", "proxy_faces", "proxy_vertex_ids", "extra_joint_vertex_ids", "extra_joint_names"):
        np.testing.assert_array_equal(rebuilt[key], shipped[key], err_msg=key)
    for key in ("v_template", "shapedirs", "weights", "J_regressor", "proxy_vertex_weights"):
        np.testing.assert_allclose(rebuilt[key], shipped[key], atol=1e-4, err_msg=key)


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
