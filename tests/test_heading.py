"""models.heading: turning a body round against the body model itself (brute force), which way a
body faces, a track's approach, and the pipeline serving a body turned round only where its track
walks the other way."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.body_layout import JOINT_NAMES
from models.body_model import load_body_model
from models.heading import (
    AWAY,
    EVAL_MIRROR,
    FACING_MIN_SPREAD,
    FACING_PAIRS,
    JOINT_MIRROR,
    TOWARDS,
    UNKNOWN,
    FaceWalk,
    TurnRound,
    against_walk,
    facing,
    heading_angle,
    torso_facing,
    turn_round_points,
    turn_round_pose,
    vertex_mirror,
    yaw_points,
    yaw_pose,
)
from models.people.tracking import Track, Tracker, TrackerConfig
from models.people.walk import APPROACH_MIN_FRAMES, APPROACH_MIN_GROWTH, approach_of
from models.smpl_file import mesh_template
from models.synth.source_data import rotmats


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def turn():
    return TurnRound.of(mesh_template())


def posed(body, poses: np.ndarray):
    """(N, 72) -> root-centred (N, 24, 3) joints and (N, V, 3) vertices of the mean shape."""
    with torch.no_grad():
        out = body(torch.zeros(len(poses), 10), rotmats(poses.astype(np.float32)))
    root = out.joints[:, :1]
    return (out.joints - root).numpy(), (out.vertices - root).numpy()


def test_the_joint_mirror_pairs_left_with_right():
    for i, j in enumerate(JOINT_MIRROR):
        a, b = JOINT_NAMES[i], JOINT_NAMES[j]
        assert JOINT_MIRROR[j] == i
        assert (
            a == b
            if "left" not in a and "right" not in a
            else a.replace("left", "right") == b or a.replace("right", "left") == b
        )


def test_turned_round_parameters_pose_the_mirror_through_the_image_plane(body, turn):
    """The body posed by the turned-round theta is the original with depth negated and left and
    right swapped: joints exactly, vertices as closely as the mesh is symmetric."""
    rng = np.random.default_rng(0)
    poses = rng.normal(0, 0.3, (6, 72))
    poses[:, :3] = rng.normal(0, 1.2, (6, 3))  # any heading, tilted
    poses[0, :3] = [0.0, np.pi - 1e-4, 0.0]  # near the half turn, where axis-angle is delicate
    joints, vertices = posed(body, poses)
    turned_joints, turned_vertices = posed(body, np.stack([turn_round_pose(p) for p in poses]))
    for k in range(len(poses)):
        assert np.abs(turn.joints(joints[k]) - turned_joints[k]).max() < 1e-3  # metres
        err = np.linalg.norm(turn.vertices(vertices[k]) - turned_vertices[k], axis=-1)
        assert err.mean() < 0.005 and np.percentile(err, 99) < 0.03
    # turning round twice gives the same body back
    twice = posed(body, np.stack([turn_round_pose(turn_round_pose(p)) for p in poses]))[0]
    assert np.abs(twice - joints).max() < 1e-4


def test_turning_round_keeps_the_joints_in_the_image_and_swaps_their_names(turn):
    uv = np.random.default_rng(1).normal(size=(24, 2))
    out = turn.joints_2d(uv)
    assert np.array_equal(out[JOINT_NAMES.index("left_wrist")], uv[JOINT_NAMES.index("right_wrist")])
    assert np.array_equal(np.sort(out, axis=0), np.sort(uv, axis=0))


def test_vertex_mirror_of_a_symmetric_cloud_is_exact():
    half = np.random.default_rng(2).uniform(0.1, 1, (50, 3))
    cloud = np.concatenate([half, half * [-1, 1, 1], [[0.0, 0.5, 0.2]]])
    index, worst = vertex_mirror(cloud, chunk=7)
    assert worst < 1e-12
    assert np.array_equal(index[:50], np.arange(50, 100)) and index[100] == 100


def test_facing_reads_shoulders_and_hips(body):
    rng = np.random.default_rng(3)
    poses = np.zeros((3, 72))
    poses[:, :3] = [[np.pi, 0, 0], [0, 0, np.pi], [np.pi / 2, 0, 0]]  # y down: facing the camera, away, side
    poses[2, :3] = cv2_rodrigues_product()
    joints, _ = posed(body, poses + rng.normal(0, 0.01, poses.shape))
    uv = joints[..., :2] * 100  # weak perspective, 100 px a metre
    got = facing(uv, np.full(3, 170.0))
    assert got[0] == -got[1] != UNKNOWN and got[2] == UNKNOWN
    with pytest.raises(ValueError, match="joints must be"):
        facing(uv[:, :12], np.full(3, 170.0))


def cv2_rodrigues_product() -> np.ndarray:
    """Upright (pi about x: the body's y up becomes the camera's y down) then a quarter turn about the vertical."""
    import cv2

    upright = cv2.Rodrigues(np.array([np.pi, 0.0, 0.0]))[0]
    quarter = cv2.Rodrigues(np.array([0.0, np.pi / 2, 0.0]))[0]
    return cv2.Rodrigues(quarter @ upright)[0].ravel()


def test_facing_sign_matches_the_turned_round_body(body, turn):
    pose = np.zeros(72)
    pose[:3] = [np.pi, 0, 0]
    joints, _ = posed(body, pose[None])
    uv = joints[0, :, :2] * 100
    before = facing(uv[None], np.array([170.0]))[0]
    after = facing(turn.joints_2d(uv)[None], np.array([170.0]))[0]
    assert before != UNKNOWN and after == -before
    assert FACING_MIN_SPREAD > 0


def test_a_growing_box_comes_towards_the_camera():
    tracker = Tracker(TrackerConfig())
    for k in range(20):  # 2% taller each frame, feet moving down
        h = 50 * 1.02**k
        (track,) = tracker.update([(100.0, 200.0 + k - h, 100.0 + 0.4 * h, 200.0 + k)])
    assert track.growth == pytest.approx(0.02, rel=0.15) and approach_of(track) == TOWARDS
    # shrinking 1% a frame with the feet going up the image 1.5 times as fast: walking away
    shrinking = [(100 * 0.99**k, 300 - 1.5 * (100 - 100 * 0.99**k)) for k in range(APPROACH_MIN_FRAMES)]
    assert approach_of(Track(id=1, box=(0, 0, 40, 100), recent=shrinking)) == AWAY
    assert approach_of(Track(id=1, box=(0, 0, 40, 100), recent=shrinking[:-1])) == UNKNOWN  # too few boxes yet
    slow = [(100 * (1 + 0.5 * APPROACH_MIN_GROWTH) ** k, 300 + k) for k in range(20)]
    assert approach_of(Track(id=1, box=(0, 0, 40, 100), recent=slow)) == UNKNOWN


def test_a_walk_is_read_through_a_silhouettes_jumping_height():
    """Background subtraction loses a head or a foot now and then: a box growing 1% a frame whose
    height jumps by 10% every other frame still walks towards the camera."""
    boxes = []
    for k in range(25):
        h = 80 * 1.01**k * (0.9 if k % 2 else 1.0)
        bottom = 150 + 1.2 * k
        boxes.append((100.0, bottom - h, 130.0, bottom))
    assert approach_of(tracked(boxes)) == TOWARDS


def tracked(boxes) -> Track:
    tracker = Tracker(TrackerConfig())
    for box in boxes:
        (track,) = tracker.update([box])
    return track


def test_a_box_that_shrinks_or_grows_with_its_feet_in_place_is_no_walk():
    """Squatting or bending shrinks the box from the top, standing up grows it: no walk either way
    (APPROACH_MIN_FEET_SHARE), though the height changes as fast as a walker's."""
    squat = tracked([(100.0, 100.0 + 2.5 * k, 140.0, 200.0) for k in range(20)])  # the top comes down
    rise = tracked([(100.0, 150.0 - 2.5 * k, 140.0, 200.0) for k in range(20)])
    assert squat.growth < -2 * APPROACH_MIN_GROWTH and approach_of(squat) == UNKNOWN
    assert rise.growth > 2 * APPROACH_MIN_GROWTH and approach_of(rise) == UNKNOWN
    # the same shrinking with the feet going up the image is walking away
    walk = tracked([(100.0, 200.0 - 3 * k - 100 * 0.98**k, 140.0, 200.0 - 3 * k) for k in range(20)])
    assert approach_of(walk) == AWAY
    assert approach_of(walk, min_feet_share=100.0) == UNKNOWN  # the share is a parameter


def test_the_still_walking_check_tells_a_walker_who_has_stopped():
    """Walking towards the camera for 17 frames, then standing still for 8 (at a desk, before an
    exercise): the window's slopes still show the walk, the last boxes do not. The check is off by
    default (APPROACH_STILL_FEET_SHARE: it cost HallAndMonitor's facings), so only when asked."""
    walk = [(100.0, 150 + 1.2 * k - 80 * 1.01**k, 130.0, 150 + 1.2 * k) for k in range(17)]
    track = tracked(walk + [walk[-1]] * 8)
    assert len(track.recent) == 25 and approach_of(track) == TOWARDS
    assert approach_of(track, still_feet_share=0.25) == UNKNOWN
    assert approach_of(tracked(walk + walk[-1:]), still_feet_share=0.25) == TOWARDS  # one frame still: walking


def test_turning_round_the_evaluation_joints_matches_the_turned_round_pose(body):
    """EVAL_MIRROR turns the 14 evaluation joints round as turn_round_pose turns the body (brute
    force through the body model, head top included)."""
    rng = np.random.default_rng(4)
    poses = rng.normal(0, 0.3, (4, 72))
    poses[:, :3] = rng.normal(0, 1.2, (4, 3))

    def eval_joints(p):
        with torch.no_grad():
            out = body(torch.zeros(len(p), 10), rotmats(p.astype(np.float32)))
        return (out.eval_joints - out.joints[:, :1]).numpy()

    turned = eval_joints(np.stack([turn_round_pose(p) for p in poses]))
    assert (
        np.abs(turn_round_points(eval_joints(poses), EVAL_MIRROR) - turned).max() < 0.01
    )  # metres (head top: a vertex)
    assert sorted(EVAL_MIRROR) == list(range(len(EVAL_MIRROR)))


def test_against_walk_is_a_facing_against_a_known_walk():
    towards, away, side = np.zeros((3, 24, 2))
    for pts, dx in ((towards, 30.0), (away, -30.0), (side, 1.0)):
        for left, right in FACING_PAIRS:
            pts[left, 0], pts[right, 0] = dx / 2, -dx / 2
    points = np.stack([towards, towards, away, side, towards])
    walks = np.array([TOWARDS, AWAY, TOWARDS, AWAY, UNKNOWN])
    assert against_walk(points, np.full(5, 170.0), walks).tolist() == [False, True, True, False, False]


def test_the_pipeline_turns_round_only_a_body_facing_against_its_walk(body, turn):
    from service.pipeline import facing_fixed

    pose = np.zeros(72)
    pose[:3] = [np.pi, 0, 0]  # upright, facing the camera
    joints, vertices = posed(body, pose[None])
    uv = joints[0, :, :2] * 100 + 200
    body_of = (pose, joints[0], uv, vertices[0])
    box = (uv[:, 0].min(), uv[:, 1].min(), uv[:, 0].max(), uv[:, 1].max())
    faces = facing(uv[None], np.array([box[3] - box[1]]))[0]
    for approach in (faces, UNKNOWN):  # walking the way it faces, or no clear walk: as the model said
        got = facing_fixed(body_of, box[3] - box[1], approach, turn)
        assert np.array_equal(got[0], pose) and got[2] is uv and np.array_equal(got[3], vertices[0])
    p, j, j2, v = facing_fixed(body_of, box[3] - box[1], -faces, turn)  # walking the other way: turned round
    assert np.allclose(p, turn_round_pose(pose)) and np.allclose(j, turn.joints(joints[0]))
    assert np.allclose(j2, turn.joints_2d(uv)) and np.allclose(v, turn.vertices(vertices[0]))
    assert facing(j2[None], np.array([box[3] - box[1]]))[0] == -faces


def upright_turned(yaw: float) -> np.ndarray:
    """(72,) an upright body facing the camera turned by ``yaw`` about the camera's vertical."""
    import cv2

    upright = cv2.Rodrigues(np.array([np.pi, 0.0, 0.0]))[0]
    pose = np.zeros(72)
    pose[:3] = cv2.Rodrigues(cv2.Rodrigues(np.array([0.0, yaw, 0.0]))[0] @ upright)[0].ravel()
    return pose


def test_torso_heading_reads_the_turn_about_the_vertical(body):
    # Facing the camera is pi (atan2 of -z); a turn by phi about the camera's y axis adds phi.
    for yaw in (0.0, 0.7, -1.2, 2.5):
        joints, _ = posed(body, upright_turned(yaw)[None])
        got = heading_angle(torso_facing(joints))[0]
        assert abs((got - (np.pi + yaw) + np.pi) % (2 * np.pi) - np.pi) < np.radians(2)
    with pytest.raises(ValueError, match="layout"):
        torso_facing(joints[:, :14])


def test_a_turn_about_the_vertical_poses_what_it_moves(body):
    """Brute force: the body model posed by the turned theta has the turned joints and vertices."""
    rng = np.random.default_rng(4)
    pose = upright_turned(0.4) + np.concatenate([[0, 0, 0], rng.normal(0, 0.2, 69)])
    joints, vertices = posed(body, pose[None])
    got_j, got_v = posed(body, yaw_pose(pose, 1.1)[None])
    assert np.abs(yaw_points(joints[0], 1.1) - got_j[0]).max() < 1e-4
    assert np.abs(yaw_points(vertices[0], 1.1) - got_v[0]).max() < 1e-4


def test_face_walk_turns_a_side_on_body_only_as_far_as_it_must(body):
    face = FaceWalk(max_off_deg=60.0)
    side = upright_turned(np.pi / 2)  # side-on: a quarter turn from facing the camera
    joints, vertices = posed(body, side[None])
    for approach, goal in ((TOWARDS, np.pi), (AWAY, 0.0)):
        pose, j, v = face.apply(side, joints[0], vertices[0], approach)
        off = (heading_angle(torso_facing(j[None]))[0] - goal + np.pi) % (2 * np.pi) - np.pi
        assert abs(abs(off) - np.radians(60)) < np.radians(2)  # to the limit, no further
        pj, pv = posed(body, pose[None])
        assert np.abs(pj[0] - j).max() < 1e-4 and np.abs(pv[0] - v).max() < 1e-4  # theta, joints, mesh agree
    # within the limit, or no walk known: as given (the very arrays)
    near = upright_turned(0.5)
    nj, nv = (x[0] for x in posed(body, near[None]))
    assert face.apply(near, nj, nv, TOWARDS)[1] is nj
    assert face.apply(side, joints[0], vertices[0], UNKNOWN)[0] is side
    with pytest.raises(ValueError, match="max_off_deg"):
        FaceWalk(max_off_deg=200.0)
