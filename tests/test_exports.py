"""service/tracks.py, service/exports.py and service/routers/tracks.py: the track history, its npz and glb
files (loaded back with NumPy and trimesh), and the export endpoints against /pose's own answers."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest
import trimesh
from fastapi.testclient import TestClient

from models.people.finder import FinderConfig
from models.smpl_file import mesh_faces
from service.app import create_app
from service.errors import BadRequest, NotFound
from service.exports import (
    GLTF_FROM_CAMERA,
    TrackArrays,
    camera_translation,
    export_bytes,
    glb_bytes,
    gltf_vertices,
    npz_bytes,
)
from service.pipeline import FrameResult, PersonResult
from service.schemas import Vertices
from service.sites import BufferLimits, SiteRegistry
from service.tracks import TrackFrame, TrackHistory, TrackLimits, TrackRegistry, select
from tests.service_helpers import site_jpegs, small_service_settings

KEY = "export-key"
HK = {"x-api-key": KEY}
F16 = {"rtol": 1e-3, "atol": 1e-3}  # float16's precision: what /pose's vertices are served in
FACES = mesh_faces(None)
SIZE = (160, 120)  # (width, height) of the frames


def person(track_id: int, rng: np.random.Generator, vertices: int = 6890) -> PersonResult:
    return PersonResult(
        track_id=track_id,
        box=(10.0, 20.0, 60.0, 140.0),
        pose=rng.normal(size=72).astype(np.float32),
        betas=rng.normal(size=10).astype(np.float32),
        camera=np.array([rng.uniform(0.5, 1.2), *rng.uniform(-0.2, 0.2, 2)], np.float32),
        square=(35.0, 80.0, 144.0),
        joints=rng.normal(size=(24, 3)).astype(np.float32) * 0.4,
        joints_2d=rng.uniform(0, 160, (24, 2)).astype(np.float32),
        vertices=rng.normal(size=(vertices, 3)).astype(np.float32) * 0.4,
        buffered=False,
    )


def frame(index: int, when: float, rng, track_id: int = 1) -> TrackFrame:
    return TrackFrame.of(person(track_id, rng), index, when, "source", (160, 120))


def arrays(n: int = 4, seed: int = 0, fps: float | None = None) -> TrackArrays:
    rng = np.random.default_rng(seed)
    frames = [frame(10 + 2 * i, 1000.0 + 0.1 * i, rng) for i in range(n)]
    return TrackArrays.of("cam", 1, frames, FACES, fps=fps)


# -- the translation -----------------------------------------------------------------------------


def test_translation_projects_like_the_weak_perspective_camera():
    rng = np.random.default_rng(1)
    camera = np.stack([rng.uniform(0.3, 1.5, 50), *rng.uniform(-0.5, 0.5, (2, 50))], 1)
    square = np.stack([rng.uniform(0, 640, 50), rng.uniform(0, 480, 50), rng.uniform(40, 400, 50)], 1)
    f = 700.0
    T = camera_translation(camera, square, (640, 480), f).astype(np.float64)
    pp = np.array([319.5, 239.5])
    for i in range(50):
        s, t, (cx, cy, side) = camera[i, 0], camera[i, 1:], square[i]
        # The root: its pinhole pixel is its weak-perspective pixel (crop coords t -> frame pixels).
        assert np.allclose(f * T[i, :2] / T[i, 2] + pp, np.array([cx, cy]) + t * side / 2, atol=1e-3)
        # A point a millimetre off the root moves the same number of pixels under both cameras.
        d = np.array([1e-3, -1e-3])
        pinhole = f * (T[i, :2] + d) / T[i, 2] + pp - (f * T[i, :2] / T[i, 2] + pp)
        assert np.allclose(pinhole, s * d * side / 2, rtol=1e-4)
    bad = camera_translation(np.array([[0.0, 0, 0]]), np.array([[1.0, 1, 10]]), (8, 8), 10.0)
    assert np.isnan(bad[0, 2])
    with pytest.raises(ValueError, match="focal=-1"):
        camera_translation(camera, square, (640, 480), -1)


# -- the history ---------------------------------------------------------------------------------


def frame_result(index: int, people: list[PersonResult]) -> FrameResult:
    return FrameResult(people, False, False, index, "source", {})


def test_history_is_bounded_in_frames_tracks_bytes_and_age():
    rng = np.random.default_rng(2)
    one = frame(0, 0.0, rng).nbytes
    history = TrackHistory(TrackLimits(max_frames=3, max_tracks=2, max_bytes=10**9, max_age_s=100.0))
    for i in range(5):
        history.record(frame_result(i, [person(7, rng)]), SIZE, now=float(i))
    assert [f.frame_index for f in history.tracks[7]] == [2, 3, 4] and history.nbytes == 3 * one
    history.record(frame_result(5, [person(8, rng)]), SIZE, now=5.0)
    history.record(frame_result(6, [person(9, rng)]), SIZE, now=6.0)
    assert sorted(history.tracks) == [8, 9]  # track 7 was the least recently seen
    history.record(frame_result(7, []), SIZE, now=105.5)  # frame 5 is now 100.5 s old
    assert sorted(history.tracks) == [9] and history.nbytes == one
    small = TrackHistory(TrackLimits(max_frames=10, max_tracks=10, max_bytes=2 * one, max_age_s=100.0))
    for i in range(3):
        small.record(frame_result(10 + i, [person(9, rng)]), SIZE, now=10.0 + i)
    assert [f.frame_index for f in small.tracks[9]] == [11, 12] and small.nbytes == 2 * one


def test_sites_keep_their_answers_and_the_registry_tells_what_is_missing():
    rng = np.random.default_rng(3)
    sites = SiteRegistry(FinderConfig(), BufferLimits(10, 10**6, 3600.0), TrackLimits(10, 10, 10**9, 3600.0))
    reg = TrackRegistry(sites)
    with pytest.raises(NotFound, match="no site cam"):
        reg.summaries("cam")
    history = sites.get("cam").tracks
    assert history is not None
    for i in range(3):
        history.record(frame_result(i, [person(1, rng), person(4, rng)] if i else [person(1, rng)]), SIZE)
    assert [(t.track_id, t.frames, t.first_frame, t.last_frame) for t in reg.summaries("cam")] == [
        (1, 3, 0, 2),
        (4, 2, 1, 2),
    ]
    kept = reg.frames("cam", 4)[0]
    assert kept.vertices.dtype == np.float16 and kept.image_size == SIZE
    with pytest.raises(NotFound, match=r"no track 5 .*1, 4"):
        reg.frames("cam", 5)
    assert reg.clear("cam") == 5 and reg.summaries("cam") == []
    assert SiteRegistry(FinderConfig(), BufferLimits(10, 10**6, 3600.0)).get("cam").tracks is None  # not kept


def test_select_ranges_and_their_errors():
    rng = np.random.default_rng(4)
    frames = [frame(i, 100.0 + i, rng) for i in (5, 3, 4, 6)]
    assert [f.frame_index for f in select(frames)] == [3, 4, 5, 6]
    assert [f.frame_index for f in select(frames, start=4, end=5)] == [4, 5]
    assert [f.frame_index for f in select(frames, since=105.0)] == [5, 6]
    with pytest.raises(BadRequest, match="start=5 is after end=4"):
        select(frames, start=5, end=4)
    with pytest.raises(BadRequest, match=r"since=9\.0 is after until=1\.0"):
        select(frames, since=9.0, until=1.0)
    with pytest.raises(BadRequest, match=r"start=7 holds none .*frames 3-6"):
        select(frames, start=7)


# -- the files -----------------------------------------------------------------------------------


def test_npz_round_trip():
    tr = arrays(fps=25.0)
    with np.load(io.BytesIO(npz_bytes(tr))) as f:  # no allow_pickle: nothing in it is a pickled object
        assert f["pose"].shape == (4, 72) and f["vertices"].dtype == np.float16
        for key in ("frame_index", "pose", "betas", "camera", "joints", "joints_2d", "vertices", "translation"):
            assert np.array_equal(f[key], getattr(tr, key)), key
        assert np.array_equal(f["faces"], FACES)
        assert np.allclose(f["joints_camera"], tr.joints + tr.translation[:, None])
        assert np.allclose(f["video_time"], tr.frame_index / 25.0)
        meta = json.loads(str(f["meta"]))
        assert meta["focal_assumed"] and meta["focal_px"] == pytest.approx(200.0)  # 160x120's diagonal
        assert list(f["model_version"]) == ["source"] * 4


def glb_json(data: bytes) -> tuple[dict, int]:
    magic, version, length = struct.unpack("<III", data[:12])
    assert (magic, version, length) == (0x46546C67, 2, len(data))
    n, kind = struct.unpack("<II", data[12:20])
    assert kind == 0x4E4F534A and n % 4 == 0
    m, kind = struct.unpack("<II", data[20 + n : 28 + n])
    assert kind == 0x004E4942 and 28 + n + m == len(data)
    return json.loads(data[20 : 20 + n]), m


def test_glb_loads_back_with_trimesh_and_its_animation_shows_one_frame_at_a_time():
    tr = arrays(n=5, fps=10.0)
    data = glb_bytes(tr)
    gltf, bin_length = glb_json(data)
    for view in gltf["bufferViews"]:
        assert view["byteOffset"] % 4 == 0 and view["byteOffset"] + view["byteLength"] <= bin_length
    (anim,) = gltf["animations"]
    assert len(anim["channels"]) == 5 and {s["interpolation"] for s in anim["samplers"]} == {"STEP"}
    # Brute force: sampled at each frame's time (STEP: the last key at or before it), exactly that frame's
    # node has scale 1, and at the start only the first frame's (as the nodes' rest scales say).
    n = struct.unpack("<I", data[12:16])[0]
    binary = data[28 + n :]

    def read(index: int) -> np.ndarray:
        acc = gltf["accessors"][index]
        view = gltf["bufferViews"][acc["bufferView"]]
        return np.frombuffer(binary, np.float32, acc["count"] * (3 if acc["type"] == "VEC3" else 1), view["byteOffset"])

    times = tr.seconds()
    for t_index, t in enumerate(times):
        shown = []
        for sampler in anim["samplers"]:
            keys, scales = read(sampler["input"]), read(sampler["output"]).reshape(-1, 3)
            shown.append(scales[max(np.searchsorted(keys, t, side="right") - 1, 0), 0])
        assert shown == [1.0 if i == t_index else 0.0 for i in range(5)]
    assert [node.get("scale") for node in gltf["nodes"][1:]] == [[1.0] * 3] + [[0.0] * 3] * 4
    scene = trimesh.load(io.BytesIO(data), file_type="glb", process=False)
    expected = gltf_vertices(tr)
    assert len(scene.geometry) == 5
    for i, index in enumerate(tr.frame_index):
        mesh = scene.geometry[f"frame-{index}"]
        assert np.array_equal(mesh.faces, FACES)
        assert np.allclose(mesh.vertices, expected[i])
        assert np.allclose(mesh.vertices, (tr.vertices[i].astype(np.float32) + tr.translation[i]) * GLTF_FROM_CAMERA)
    assert glb_json(glb_bytes(arrays(n=1)))[0].get("animations") is None  # one frame: a still mesh


def test_export_bytes_names_a_bad_format():
    with pytest.raises(ValueError, match="format='obj'"):
        export_bytes(arrays(), "obj")


# -- the API -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    with TestClient(create_app(small_service_settings(root, KEY))) as c:
        yield c


@pytest.fixture(scope="module")
def answered(client):
    """/pose's answers (with vertices) to a short site, by frame index, for the one person in it."""
    answers = {}
    for data in site_jpegs(frames=16):
        r = client.post("/v1/sites/lobby/pose", content=data, headers={**HK, "content-type": "image/jpeg"})
        assert r.status_code == 200, r.text
        body = r.json()
        for p in body["persons"]:
            answers[body["frame_index"]] = p
    assert len(answers) >= 5 and len({p["track_id"] for p in answers.values()}) == 1
    return answers


def test_the_track_list_and_the_npz_match_what_pose_answered(client, answered):
    track = next(iter(answered.values()))["track_id"]
    listed = client.get("/v1/sites/lobby/tracks", headers=HK).json()
    (info,) = listed["tracks"]
    assert info["track_id"] == track and info["frames"] == len(answered)
    assert (info["first_frame"], info["last_frame"]) == (min(answered), max(answered))
    r = client.get(f"/v1/sites/lobby/tracks/{track}/export", params={"format": "npz"}, headers=HK)
    assert r.status_code == 200 and "lobby-track" in r.headers["content-disposition"]
    frames = sorted(answered)
    with np.load(io.BytesIO(r.content)) as f:
        assert list(f["frame_index"]) == frames
        for key, api_key in (("pose", "pose"), ("betas", "betas"), ("camera", "camera"), ("crop", "crop")):
            assert np.allclose(f[key], [answered[i][api_key] for i in frames], **F16), key
        assert np.allclose(f["joints"], [answered[i]["joints_3d"] for i in frames], **F16)
        assert np.allclose(f["joints_2d"], [answered[i]["joints_2d"] for i in frames], **F16)
        ious = [np.nan if answered[i]["silhouette_iou"] is None else answered[i]["silhouette_iou"] for i in frames]
        assert np.allclose(f["silhouette_iou"], ious, equal_nan=True) and np.isfinite(f["silhouette_iou"]).any()
        served = np.stack([Vertices(**answered[i]["vertices"]).decode() for i in frames])
        assert np.allclose(f["vertices"].astype(np.float32), served, **F16)
        T = camera_translation(f["camera"], f["crop"], (160, 120), float(f["focal_px"]))
        assert np.allclose(f["translation"], T) and np.all(f["translation"][:, 2] > 0)


def test_the_glb_holds_the_served_meshes(client, answered):
    track = next(iter(answered.values()))["track_id"]
    r = client.get(f"/v1/sites/lobby/tracks/{track}/export?format=glb", headers=HK)
    assert r.status_code == 200 and r.headers["content-type"] == "model/gltf-binary"
    npz = client.get(f"/v1/sites/lobby/tracks/{track}/export", headers=HK)
    with np.load(io.BytesIO(npz.content)) as f:
        translation = f["translation"]
    scene = trimesh.load(io.BytesIO(r.content), file_type="glb", process=False)
    for i, index in enumerate(sorted(answered)):
        served = Vertices(**answered[index]["vertices"]).decode()
        mesh = scene.geometry[f"frame-{index}"]
        assert np.allclose(mesh.vertices, (served + translation[i]) * GLTF_FROM_CAMERA, **F16)


def test_a_frame_range_and_a_time_range(client, answered):
    track = next(iter(answered.values()))["track_id"]
    frames = sorted(answered)
    url = f"/v1/sites/lobby/tracks/{track}/export"
    r = client.get(url, params={"start": frames[1], "end": frames[2]}, headers=HK)
    with np.load(io.BytesIO(r.content)) as f:
        assert list(f["frame_index"]) == frames[1:3]
        times = f["time"]
    r = client.get(url, params={"since": float(times[1]), "until": float(times[1])}, headers=HK)
    assert r.status_code == 200, r.text
    with np.load(io.BytesIO(r.content)) as f:
        assert list(f["frame_index"]) == [frames[2]]


@pytest.mark.parametrize(
    "url,code,reason",
    [
        ("/v1/sites/lobby/tracks/999/export", 404, "no track 999"),
        ("/v1/sites/nowhere/tracks", 404, "no site nowhere"),
        ("/v1/sites/Bad!Site/tracks", 422, "bad site id"),
        ("/v1/sites/lobby/tracks/{track}/export?format=obj", 422, "format"),
        ("/v1/sites/lobby/tracks/{track}/export?start=100000", 400, "holds none of the track's frames"),
        ("/v1/sites/lobby/tracks/{track}/export?start=9&end=8", 400, "start=9 is after end=8"),
        ("/v1/sites/lobby/tracks/{track}/export?focal=0", 422, "focal"),
    ],
)
def test_bad_requests_get_a_clear_4xx(client, answered, url, code, reason):
    track = next(iter(answered.values()))["track_id"]
    r = client.get(url.format(track=track), headers=HK)
    assert r.status_code == code and reason in r.text, r.text


def test_everything_is_behind_the_api_key(client, answered):
    track = next(iter(answered.values()))["track_id"]
    for url in ("/v1/sites/lobby/tracks", f"/v1/sites/lobby/tracks/{track}/export?format=glb"):
        assert client.get(url).status_code == 401
        assert client.get(url, headers={"x-api-key": "wrong"}).status_code == 401
    assert client.delete("/v1/sites/lobby/tracks").status_code == 401


def test_batch_and_stream_feed_the_history_and_deleting_forgets_it(client):
    jpegs = site_jpegs(frames=12, seed=5)
    files = [("frames", (f"{i}.jpg", d, "image/jpeg")) for i, d in enumerate(jpegs[:8])]
    r = client.post("/v1/sites/fed/pose/batch", files=files, headers=HK)
    answered = sum(len(a["persons"]) for a in r.json()["results"])
    with client.websocket_connect("/v1/sites/fed/stream", headers=HK) as ws:
        for data in jpegs[8:]:
            ws.send_bytes(data)
            answered += len(ws.receive_json()["persons"])
    tracks = client.get("/v1/sites/fed/tracks", headers=HK).json()["tracks"]
    assert answered > 0 and sum(t["frames"] for t in tracks) == answered
    assert client.delete("/v1/sites/fed/buffer", headers=HK).status_code == 200
    assert client.get("/v1/sites/fed/tracks", headers=HK).json()["tracks"] == []
