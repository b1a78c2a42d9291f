"""The shipped open body model, through smplx and through ``models.body_model``."""

import numpy as np
import pytest
import smplx
import torch
from smplx.utils import Struct

from models.body_layout import EXTRA_JOINT_NAMES, FLIP_PAIRS, JOINT_NAMES, PARENTS
from models.body_model import OPEN_BODY_MODEL, load_body_model, open_vertex_ids
from models.smpl_file import read_body_model_file
from models.tools.export_smpl_pkl import export_smpl_pkl

J = {n: i for i, n in enumerate(JOINT_NAMES)}


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def data():
    return read_body_model_file(OPEN_BODY_MODEL)


def rest(body, betas=None, pose=None):
    betas = torch.zeros(1, body.num_betas) if betas is None else betas
    pose = torch.zeros(betas.shape[0], 72) if pose is None else pose
    with torch.no_grad():
        return body(betas, pose)


def height(vertices: torch.Tensor) -> torch.Tensor:
    return vertices[..., 1].amax(-1) - vertices[..., 1].amin(-1)


def test_smplx_loads_the_shipped_arrays_unchanged(body, data):
    with np.load(OPEN_BODY_MODEL) as npz:
        plain = smplx.SMPL(
            model_path="unused", data_struct=Struct(**{k: npz[k] for k in npz.files}), vertex_ids=open_vertex_ids()
        )
    ref = plain(betas=torch.zeros(1, 10), body_pose=torch.full((1, 69), 0.1), global_orient=torch.zeros(1, 3))
    ours = rest(body, pose=torch.cat([torch.zeros(1, 3), torch.full((1, 69), 0.1)], 1))
    assert torch.allclose(ref.vertices, ours.vertices, atol=1e-6)
    assert torch.allclose(ref.joints[:, :24], ours.joints, atol=1e-6)


def test_exported_pkl_loads_with_plain_smplx(tmp_path, body):
    path = export_smpl_pkl(tmp_path)
    plain = smplx.create(str(path), vertex_ids=open_vertex_ids())
    out = plain(betas=torch.zeros(1, 10), body_pose=torch.zeros(1, 69), global_orient=torch.zeros(1, 3))
    assert torch.allclose(out.vertices, rest(body).vertices, atol=1e-6)


def test_layout_is_smpls(data, body):
    V = len(data["v_template"])
    assert V <= 7000
    assert data["f"].shape[1] == 3 and data["f"].max() == V - 1
    assert data["shapedirs"].shape[:2] == (V, 3) and data["shapedirs"].shape[2] >= 10
    assert data["posedirs"].shape == (V, 3, 207)
    assert data["J_regressor"].shape == (24, V)
    assert data["weights"].shape == (V, 24)
    np.testing.assert_allclose(data["weights"].sum(1), 1.0, atol=1e-5)
    parents = data["kintree_table"][0].astype(np.int64)
    parents[0] = -1
    assert tuple(parents) == PARENTS
    assert len(data["proxy_faces"]) <= 1600
    assert body.num_betas == 10


def test_joint_regressor_rows_sum_to_one(data):
    np.testing.assert_allclose(data["J_regressor"].sum(1), 1.0, atol=1e-5)


def test_joint_regressor_error_recorded_at_build_is_under_a_centimetre(data):
    import json

    prov = json.loads(str(data["provenance"]))
    assert prov["joint_regressor_held_out_error_max_mm"] < 10.0
    assert prov["adult_shapes_sampled"] >= 100


def test_mean_shape_stands_human_height(body):
    h = height(rest(body).vertices)[0].item()
    assert 1.5 <= h <= 1.9, h


def test_left_and_right_joints_mirror(body):
    for betas in (torch.zeros(1, 10), torch.randn(1, 10, generator=torch.Generator().manual_seed(0))):
        joints = rest(body, betas).joints[0]
        mirrored = joints * torch.tensor([-1.0, 1.0, 1.0])
        for left, right in FLIP_PAIRS:
            assert (mirrored[left] - joints[right]).norm() < 0.01, (JOINT_NAMES[left], JOINT_NAMES[right])
        for centre in ("pelvis", "spine1", "spine2", "spine3", "neck", "head"):
            assert abs(joints[J[centre], 0]) < 0.01


def test_bending_left_elbow_moves_only_left_forearm_and_hand(body):
    pose = torch.zeros(1, 72)
    pose[0, 3 * J["left_elbow"] + 1] = -1.5  # flex forwards
    before, after = rest(body), rest(body, pose=pose)
    moved = (after.vertices - before.vertices)[0].norm(dim=-1)
    w = body.smpl.lbs_weights
    arm = w[:, [J["left_elbow"], J["left_wrist"], J["left_hand"]]].sum(1)
    assert moved[arm == 0].max() < 1e-6  # nothing outside the forearm's skin
    assert moved[arm > 0.99].min() > 0.01  # and all of the forearm and hand went
    x = before.vertices[0, :, 0]
    assert moved[x < before.joints[0, J["left_shoulder"], 0]].max() < 1e-6  # torso, head, other arm, legs
    # Skin weights fade smoothly, so the upper arm next to the elbow follows a little: by less
    # than a centimetre further than 10 cm from the joint.
    assert x[moved > 0.01].min() > before.joints[0, J["left_elbow"], 0] - 0.10
    wrist_shift = (after.joints - before.joints)[0, J["left_wrist"]]
    assert wrist_shift[2] > 0.15  # the hand came forwards
    untouched = [i for i in range(24) if i not in (J["left_wrist"], J["left_hand"])]
    assert torch.allclose(after.joints[0, untouched], before.joints[0, untouched], atol=1e-6)


def test_first_shape_component_changes_height_monotonically(body):
    betas = torch.zeros(9, 10)
    betas[:, 0] = torch.linspace(-3, 3, 9)
    h = height(rest(body, betas).vertices)
    assert torch.all(h[1:] > h[:-1] + 0.01), h
    assert h[-1] - h[0] > 0.3


def test_extra_joints_sit_where_their_names_say(body):
    out = rest(body)
    e = dict(zip(EXTRA_JOINT_NAMES, out.extra_joints[0], strict=True))
    j = out.joints[0]
    head = j[J["head"]]
    assert e["nose"][2] > head[2] + 0.05 and abs(e["nose"][0]) < 0.01  # in front, centred
    assert e["leye"][0] > 0.01 and e["reye"][0] < -0.01 and e["leye"][1] > e["nose"][1]
    assert e["lear"][0] > e["leye"][0] and e["rear"][0] < e["reye"][0]
    for s, side in (("L", "left"), ("R", "right")):
        ankle = j[J[f"{side}_ankle"]]
        assert e[f"{s}BigToe"][2] > ankle[2] + 0.1 and e[f"{s}BigToe"][1] < ankle[1]
        assert e[f"{s}Heel"][2] < ankle[2] and e[f"{s}Heel"][1] < ankle[1]
        sign = 1.0 if s == "L" else -1.0
        wrist = j[J[f"{side}_wrist"]]
        for tip in ("thumb", "index", "middle", "ring", "pinky"):
            assert sign * (e[f"{side[0]}{tip}"][0] - wrist[0]) > 0.05
    assert out.eval_joints[0, -1, 1] == out.vertices[0, :, 1].max()  # head top


def test_eval_joints_are_lsp_ordered(body):
    out = rest(body)
    ev = out.eval_joints[0]
    assert ev.shape == (14, 3)
    assert torch.equal(ev[0], out.joints[0, J["right_ankle"]]) and torch.equal(ev[12], out.joints[0, J["neck"]])
    assert ev[0, 0] < 0 < ev[5, 0]  # right ankle on the right (-x), left ankle on the left


def test_render_proxy_hugs_the_full_mesh(body):
    from pytorch3d.renderer import FoVOrthographicCameras, MeshRasterizer, RasterizationSettings
    from pytorch3d.structures import Meshes

    pose = torch.zeros(1, 72)
    pose[0, 3 * J["left_shoulder"] + 2] = -1.2
    pose[0, 3 * J["right_knee"]] = 0.8
    v = rest(body, pose=pose).vertices
    cams = FoVOrthographicCameras(min_x=-1.0, max_x=1.0, min_y=-1.0, max_y=1.0, T=torch.tensor([[0.0, 0.0, 3.0]]))
    raster = MeshRasterizer(cameras=cams, raster_settings=RasterizationSettings(image_size=96))
    full = raster(Meshes(v, body.faces[None])).pix_to_face[0, ..., 0] >= 0
    proxy = raster(Meshes(body.proxy_vertices(v), body.proxy_faces[None])).pix_to_face[0, ..., 0] >= 0
    iou = (full & proxy).sum() / (full | proxy).sum()
    assert iou > 0.9, iou
