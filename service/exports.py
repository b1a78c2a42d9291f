"""A track's frames as files: ``.npz`` (arrays per frame) and ``.glb`` (an animated mesh sequence).

The same writers serve ``GET /v1/sites/{site}/tracks/{id}/export`` and the offline command
(``silhouette-adapt process``). NumPy and the standard library only: the API image has no torch,
and trimesh's glTF exporter writes no animation, so the glTF 2.0 binary is written here (tests
load it back with trimesh).

Translation. The model answers a weak-perspective camera (s, t_x, t_y) for its square crop, not
a position. Under a pinhole camera of focal length f (pixels) whose principal point is the
frame's centre, the root-centred body projects like the weak-perspective one when its root is at

    Z = 2 f / (s · side),   (X, Y) = (c + t · side / 2 − principal point) · Z / f

(c, side: the crop in frame pixels). The sites' intrinsics are not known, so f is assumed to be
the frame's diagonal in pixels (a ~53° diagonal field of view) unless the caller gives one; the
files name the focal length used and whether it was assumed. Z scales with f: the depth is only
as right as f is, the direction from the camera to the person is right for any f.
"""

from __future__ import annotations

import io
import json
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from service.tracks import TrackFrame, TrackRegistry, select

FORMAT_VERSION = 1
FORMATS = ("npz", "glb")
MEDIA_TYPES = {"npz": "application/octet-stream", "glb": "model/gltf-binary"}
# glTF's axes are x right, y up, z towards the viewer; the service's camera axes are x right, y down,
# z forward: a sign flip of y and z takes one to the other (a rotation of 180° about x).
GLTF_FROM_CAMERA = np.array([1.0, -1.0, -1.0], np.float32)
GLB_MAGIC, GLB_VERSION, CHUNK_JSON, CHUNK_BIN = 0x46546C67, 2, 0x4E4F534A, 0x004E4942
FLOAT, UNSIGNED_SHORT, UNSIGNED_INT = 5126, 5123, 5125  # glTF componentType codes
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
BODY_COLOUR = [0.35, 0.65, 0.95, 1.0]


def assumed_focal(image_size: tuple[int, int]) -> float:
    """The focal length (pixels) assumed for a frame of (width, height): its diagonal."""
    return float(math.hypot(*image_size))


def camera_translation(camera: np.ndarray, square: np.ndarray, image_size: tuple[int, int], focal: float) -> np.ndarray:
    """Crop cameras (N, 3) (s, t_x, t_y) and squares (N, 3) (cx, cy, side) -> the root's position (N, 3)
    in the camera frame, metres, under a pinhole camera of ``focal`` pixels centred on the frame.
    NaN where s <= 0 (no depth can be had from it)."""
    if focal <= 0:
        raise ValueError(f"focal={focal}: a focal length is positive")
    w, h = image_size
    principal = np.array([(w - 1) / 2, (h - 1) / 2])  # pixel centres at integers, as in models.crops
    cam = np.asarray(camera, np.float64)
    sq = np.asarray(square, np.float64)
    s, side = cam[:, 0], sq[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(s > 0, 2 * focal / (s * side), np.nan)
    root_px = sq[:, :2] + cam[:, 1:] * side[:, None] / 2
    xy = (root_px - principal) * (z / focal)[:, None]
    return np.concatenate([xy, z[:, None]], 1).astype(np.float32)


@dataclass(frozen=True)
class TrackArrays:
    """A track's selected frames stacked (N frames, V vertices), and what they mean."""

    site: str
    track_id: int
    frame_index: np.ndarray  # (N,) int64
    time: np.ndarray  # (N,) float64 unix seconds when answered
    model_version: np.ndarray  # (N,) str
    box: np.ndarray  # (N, 4) float32
    crop: np.ndarray  # (N, 3) float32 (cx, cy, side)
    pose: np.ndarray  # (N, 72) float32
    betas: np.ndarray  # (N, 10) float32
    camera: np.ndarray  # (N, 3) float32
    joints: np.ndarray  # (N, 24, 3) float32 root-centred
    joints_2d: np.ndarray  # (N, 24, 2) float32
    vertices: np.ndarray  # (N, V, 3) float16 root-centred
    silhouette_iou: np.ndarray  # (N,) float32, NaN where the camera was not fitted
    translation: np.ndarray  # (N, 3) float32 root in the camera frame
    faces: np.ndarray  # (F, 3) int32
    image_size: tuple[int, int]
    focal: float
    focal_assumed: bool
    fps: float | None  # the video's frame rate where the frames come from a file

    @classmethod
    def of(
        cls,
        site: str,
        track_id: int,
        frames: Sequence[TrackFrame],
        faces: np.ndarray,
        focal: float | None = None,
        fps: float | None = None,
    ) -> TrackArrays:
        if not frames:
            raise ValueError(f"track {track_id} of site {site}: no frames to export")
        image_size = frames[-1].image_size
        f = assumed_focal(image_size) if focal is None else float(focal)
        camera = np.stack([fr.camera for fr in frames])
        square = np.stack([fr.square for fr in frames])
        return cls(
            site=site,
            track_id=track_id,
            frame_index=np.array([fr.frame_index for fr in frames], np.int64),
            time=np.array([fr.time for fr in frames], np.float64),
            model_version=np.array([fr.model_version for fr in frames]),
            box=np.stack([fr.box for fr in frames]),
            crop=square.astype(np.float32),
            pose=np.stack([fr.pose for fr in frames]),
            betas=np.stack([fr.betas for fr in frames]),
            camera=camera,
            joints=np.stack([fr.joints for fr in frames]),
            joints_2d=np.stack([fr.joints_2d for fr in frames]),
            vertices=np.stack([fr.vertices for fr in frames]),
            silhouette_iou=np.array([fr.silhouette_iou for fr in frames], np.float32),
            translation=camera_translation(camera, square, image_size, f),
            faces=np.asarray(faces, np.int32),
            image_size=image_size,
            focal=f,
            focal_assumed=focal is None,
            fps=fps,
        )

    def meta(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "site": self.site,
            "track_id": self.track_id,
            "frames": len(self.frame_index),
            "image_size": list(self.image_size),
            "focal_px": self.focal,
            "focal_assumed": self.focal_assumed,
            "principal_point_px": [(self.image_size[0] - 1) / 2, (self.image_size[1] - 1) / 2],
            "fps": self.fps,
            "units": "metres; pixels for joints_2d, box and crop; seconds for time",
            "axes": "camera frame: x right, y down, z forward (glb: x right, y up, z towards the viewer)",
            "translation": "the root in the camera frame from the weak-perspective crop camera and the "
            "focal length; its depth is only as right as focal_px",
        }

    def seconds(self) -> np.ndarray:
        """(N,) seconds from the first frame: the video's time with ``fps``, else the time of answering
        (nudged to increase strictly, as an animation's keys must)."""
        if self.fps:
            t = (self.frame_index - self.frame_index[0]) / self.fps
        else:
            t = self.time - self.time[0]
        step = 1e-3 * np.arange(len(t))  # at least a millisecond apart
        return (np.maximum.accumulate(t - step) + step).astype(np.float32)


def npz_bytes(track: TrackArrays) -> bytes:
    """The track as a compressed ``.npz`` (keys documented in the README; no pickled objects)."""
    arrays = {
        "frame_index": track.frame_index,
        "time": track.time,
        "model_version": track.model_version,
        "box": track.box,
        "crop": track.crop,
        "pose": track.pose,
        "betas": track.betas,
        "camera": track.camera,
        "joints": track.joints,
        "joints_2d": track.joints_2d,
        "translation": track.translation,
        "joints_camera": track.joints + track.translation[:, None],
        "vertices": track.vertices,
        "silhouette_iou": track.silhouette_iou,
        "faces": track.faces,
        "focal_px": np.float64(track.focal),
        "meta": np.array(json.dumps(track.meta())),
    }
    if track.fps:
        arrays["video_time"] = track.frame_index / track.fps
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def gltf_vertices(track: TrackArrays) -> np.ndarray:
    """(N, V, 3) float32: each frame's mesh at its translation, in glTF's axes (what the glb holds)."""
    placed = track.vertices.astype(np.float32) + np.nan_to_num(track.translation)[:, None]
    return placed * GLTF_FROM_CAMERA


class _Buffer:
    """The binary chunk, its buffer views and accessors, grown together."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.views: list[dict] = []
        self.accessors: list[dict] = []

    def add(self, array: np.ndarray, kind: str, component: int, target: int | None = None, bounds=False) -> int:
        offset = len(self.data)
        self.data += array.tobytes()
        self.data += b"\0" * (-len(self.data) % 4)  # every view starts on a 4-byte boundary
        view: dict = {"buffer": 0, "byteOffset": offset, "byteLength": array.nbytes}
        if target is not None:
            view["target"] = target
        self.views.append(view)
        per = {"SCALAR": 1, "VEC3": 3}[kind]
        accessor: dict = {"bufferView": len(self.views) - 1, "componentType": component, "count": array.size // per}
        accessor["type"] = kind
        if bounds:
            flat = array.reshape(-1, per)
            accessor["min"], accessor["max"] = flat.min(0).tolist(), flat.max(0).tolist()
        self.accessors.append(accessor)
        return len(self.accessors) - 1


def glb_bytes(track: TrackArrays) -> bytes:
    """The track as a glTF 2.0 binary: one mesh per frame sharing one index list, each under a node
    that a STEP animation of its scale shows for its frame only (1 while current, 0 otherwise).
    Without animation (a still viewer) the first frame shows. Positions float32, no normals
    (viewers compute them)."""
    verts = gltf_vertices(track)
    n = len(verts)
    times = track.seconds()
    buf = _Buffer()
    index_type = (np.uint16, UNSIGNED_SHORT) if verts.shape[1] <= 0xFFFF else (np.uint32, UNSIGNED_INT)
    faces = buf.add(track.faces.astype(index_type[0]).ravel(), "SCALAR", index_type[1], ELEMENT_ARRAY_BUFFER, True)
    meshes: list[dict] = []
    nodes: list[dict] = [{"name": f"track-{track.track_id}", "children": list(range(1, n + 1))}]
    for i, v in enumerate(verts):
        position = buf.add(np.ascontiguousarray(v), "VEC3", FLOAT, ARRAY_BUFFER, bounds=True)
        name = f"frame-{int(track.frame_index[i])}"
        primitive = {"attributes": {"POSITION": position}, "indices": faces, "material": 0}
        meshes.append({"name": name, "primitives": [primitive]})
        nodes.append({"name": name, "mesh": i, "scale": [1.0, 1.0, 1.0] if i == 0 else [0.0, 0.0, 0.0]})
    gltf: dict = {
        "asset": {"version": "2.0", "generator": f"silhouette-adapt exports v{FORMAT_VERSION}"},
        "scene": 0,
        "scenes": [{"name": f"{track.site} track {track.track_id}", "nodes": [0]}],
        "nodes": nodes,
        "meshes": meshes,
        "materials": [
            {"pbrMetallicRoughness": {"baseColorFactor": BODY_COLOUR, "metallicFactor": 0.0}, "doubleSided": True}
        ],
        "extras": track.meta() | {"frame_index": track.frame_index.tolist()},
    }
    if n > 1:
        channels, samplers = [], []
        for i in range(n):
            keys, shown = [times[0], times[i]], [0.0, 1.0]
            if i < n - 1:
                keys.append(times[i + 1])
                shown.append(0.0)
            if i == 0:  # its show key is the first key
                keys, shown = keys[1:], shown[1:]
            k = buf.add(np.array(keys, np.float32), "SCALAR", FLOAT, bounds=True)
            s = buf.add(np.repeat(np.array(shown, np.float32), 3), "VEC3", FLOAT)
            samplers.append({"input": k, "output": s, "interpolation": "STEP"})
            channels.append({"sampler": i, "target": {"node": i + 1, "path": "scale"}})
        gltf["animations"] = [{"name": f"track-{track.track_id}", "channels": channels, "samplers": samplers}]
    gltf["accessors"], gltf["bufferViews"] = buf.accessors, buf.views
    gltf["buffers"] = [{"byteLength": len(buf.data)}]
    text = json.dumps(gltf, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)  # the JSON chunk is padded with spaces, the binary one with zeros
    total = 12 + 8 + len(text) + 8 + len(buf.data)
    return b"".join(
        [
            struct.pack("<III", GLB_MAGIC, GLB_VERSION, total),
            struct.pack("<II", len(text), CHUNK_JSON),
            text,
            struct.pack("<II", len(buf.data), CHUNK_BIN),
            bytes(buf.data),
        ]
    )


def export_bytes(track: TrackArrays, fmt: str) -> bytes:
    """The track in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "npz":
        return npz_bytes(track)
    if fmt == "glb":
        return glb_bytes(track)
    raise ValueError(f"format={fmt!r}: exports are {', '.join(FORMATS)}")


def track_file(
    tracks: TrackRegistry,
    site: str,
    track_id: int,
    fmt: str,
    faces: np.ndarray,
    start: int | None = None,
    end: int | None = None,
    since: float | None = None,
    until: float | None = None,
    focal: float | None = None,
    fps: float | None = None,
) -> bytes:
    """One track of a site's history, optionally a frame-index and/or time range of it, as ``fmt``.
    :class:`service.errors.NotFound` for an unknown site or track, :class:`service.errors.BadRequest`
    for an empty or reversed range."""
    if fmt not in FORMATS:
        raise ValueError(f"format={fmt!r}: exports are {', '.join(FORMATS)}")
    chosen = select(tracks.frames(site, track_id), start, end, since, until)
    return export_bytes(TrackArrays.of(site, track_id, chosen, faces, focal, fps), fmt)
