"""One frame of one site -> the people in it, as SMPL bodies in the frame's pixels.

Background subtraction finds person blobs; each blob gives a square crop; all crops of the
frame go through the site's model as one batch; crop-camera outputs are mapped back to frame
pixels. Crops and their silhouettes are buffered for the site's adaptation; every answered
person is kept in the site's track history (exports).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from models.camera_tilt import tilt_points, tilt_pose
from models.crops import crop_to_frame, in_frame
from models.detail import person_detail_px
from models.heading import FaceWalk, TurnRound, against_walk
from models.pose_fit import PoseFitter
from models.silhouette_camera import CameraFit, SilhouetteCamera
from models.target_data import SILHOUETTE_SIZE, crops_of, plausible_person
from service.inference import LoadedModel
from service.sites import BufferedCrop, Site


@dataclass
class PersonResult:
    track_id: int
    box: tuple[float, float, float, float]
    pose: np.ndarray  # (72,)
    betas: np.ndarray  # (10,)
    camera: np.ndarray  # (3,) crop weak perspective (s, t_x, t_y), as served (fitted to the silhouette)
    square: tuple[float, float, float]  # the crop in frame pixels (cx, cy, side)
    joints: np.ndarray  # (24, 3) root-centred, metres, camera axes
    joints_2d: np.ndarray  # (24, 2) frame pixels
    vertices: np.ndarray  # (V, 3) root-centred, metres, camera axes
    buffered: bool
    silhouette_iou: float | None = None  # the mesh's with the person's silhouette in the crop, where fitted


# One person's pose (72,), joints (24, 3), joints in the frame (24, 2) and vertices (V, 3).
Body = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass
class FrameResult:
    persons: list[PersonResult]
    warming_up: bool
    relearning: bool
    frame_index: int
    model_version: str
    timings_ms: dict[str, float]


def facing_fixed(body: Body, height: float, approach: int, turn: TurnRound) -> Body:
    """One person's (pose, joints, joints_2d, vertices), turned round where the model has them face
    one way and their track walks the other (models.heading); as given otherwise."""
    if not against_walk(body[2][None], np.array([height]), np.array([approach]))[0]:
        return body
    pose, joints, joints_2d, vertices = body
    return turn.pose(pose), turn.joints(joints), turn.joints_2d(joints_2d), turn.vertices(vertices)


def upright_in_world(body: Body, tilt_deg: float) -> Body:
    """One person's (pose, joints, joints_2d, vertices) turned by the site camera's tilt
    (models.camera_tilt); the joints in the image stay where the image shows them."""
    pose, joints, joints_2d, vertices = body
    return tilt_pose(pose, tilt_deg), tilt_points(joints, tilt_deg), joints_2d, tilt_points(vertices, tilt_deg)


def process_frame(
    site: Site,
    frame: np.ndarray,
    model: LoadedModel,
    max_persons: int,
    buffer: bool = True,
    turn: TurnRound | None = None,
    camera: SilhouetteCamera | None = None,
    face: FaceWalk | None = None,
    past_edge: bool = True,
    limbs: PoseFitter | None = None,
) -> FrameResult:
    """One frame of a site: its people found, cut, run through the model; with ``turn``, a body
    facing against its track's walk is served turned round; with ``face``, a body whose person walks
    towards the camera or away is turned about the vertical to face that way (models.heading); with
    ``camera``, each body, so turned, is served under the camera that lays its mesh best over the
    person's silhouette; with ``limbs``, each body's limbs and camera are then fitted to the silhouette
    (models.pose_fit), where the frame resolves the person (models.detail) and that covers it better;
    with ``past_edge``, a person the frame's edge cuts is cropped around where the whole of them would
    be (models.people.extent)."""
    t0 = time.perf_counter()
    with site.lock:
        found = site.finder.apply(frame)
        index = site.frames_seen
        site.frames_seen += 1
        site.detail.observe(frame, index)
        factor = site.detail.factor
    t1 = time.perf_counter()
    people = found.people[:max_persons]
    blobs = [p.blob for p in people]
    images, sils, squares = crops_of(
        frame, blobs, model.image_size, SILHOUETTE_SIZE, [p.extent for p in people] if past_edge else None
    )
    out = model.run(np.stack(images)) if images else None
    t2 = time.perf_counter()
    # Each body turned to its walk first: a turn about the vertical moves its mesh in the crop,
    # which the camera is then fitted to. (The 2D joints that decide a turn round are the
    # regressor's camera's; turning round keeps them where they are.)
    bodies: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (pose, joints, vertices) each
    if out is not None:
        for i, blob in enumerate(blobs):
            pose, joints, vertices = out["pose"][i], out["joints"][i], out["vertices"][i]
            if turn is not None:
                uv = crop_to_frame(out["camera"][i][0] * joints[:, :2] + out["camera"][i][1:], squares[i])
                body = facing_fixed((pose, joints, uv, vertices), blob.box[3] - blob.box[1], people[i].approach, turn)
                pose, joints, vertices = body[0], body[1], body[3]
            if face is not None:
                pose, joints, vertices = face.apply(pose, joints, vertices, people[i].approach)
            bodies.append((pose, joints, vertices))
    fits: list[CameraFit | None] = [None] * len(blobs)
    visible = [in_frame(square, frame.shape[:2], SILHOUETTE_SIZE) for square in squares]
    if out is not None and camera is not None:
        fits = [camera.fit(bodies[i][2][:, :2], out["camera"][i], sils[i], visible[i]) for i in range(len(blobs))]
    t3 = time.perf_counter()
    if out is not None and limbs is not None:
        for i in range(len(blobs)):
            given = fits[i]
            start = out["camera"][i] if given is None else given.camera
            pose, joints, vertices = bodies[i]
            whole = people[i].extent if past_edge else blobs[i].box  # the person's height, cut or not
            detail = person_detail_px(whole[3] - whole[1], factor)
            limb = limbs.fit(pose, out["betas"][i], joints, vertices, start, sils[i], visible[i], detail)
            if limb.fitted:
                bodies[i] = (
                    limb.pose.astype(pose.dtype),
                    limb.joints.astype(joints.dtype),
                    limb.vertices.astype(vertices.dtype),
                )
                fits[i] = CameraFit(limb.camera, limb.iou_before, limb.iou_after, True)
    t4 = time.perf_counter()
    persons: list[PersonResult] = []
    if out is not None:  # None: nobody in the frame, so nothing was run
        now = time.time()
        for i, blob in enumerate(blobs):
            fit = fits[i]
            cam = out["camera"][i] if fit is None else fit.camera
            uv = cam[0] * bodies[i][1][:, :2] + cam[1:]
            # Only confirmed, whole people teach adaptation (the finder answers confirmed tracks
            # only, never while warming up or relearning): not people cut by the frame's edge.
            keep = buffer and people[i].whole and plausible_person(blob, frame.shape[:2])
            if keep:
                site.buffer.add(
                    BufferedCrop(
                        time=now,
                        frame_index=index,
                        image=images[i],
                        silhouette=sils[i],
                        square=squares[i],
                        approach=people[i].approach,
                    )
                )
            body = (bodies[i][0], bodies[i][1], crop_to_frame(uv, squares[i]), bodies[i][2])
            if site.camera_tilt_deg is not None:
                body = upright_in_world(body, site.camera_tilt_deg)
            pose, joints, joints_2d, vertices = body
            persons.append(
                PersonResult(
                    track_id=people[i].track_id,
                    box=blob.box,
                    pose=pose,
                    betas=out["betas"][i],
                    camera=cam,
                    square=squares[i],
                    joints=joints,
                    joints_2d=joints_2d,
                    vertices=vertices,
                    buffered=keep,
                    silhouette_iou=None if fit is None or not np.isfinite(fit.iou_after) else fit.iou_after,
                )
            )
    timings = {
        "background_ms": 1000 * (t1 - t0),
        "inference_ms": 1000 * (t2 - t1),
        "camera_fit_ms": 1000 * (t3 - t2),
        "limb_fit_ms": 1000 * (t4 - t3),
        "total_ms": 1000 * (time.perf_counter() - t0),
    }
    result = FrameResult(
        persons=persons,
        warming_up=found.warming_up,
        relearning=found.relearning,
        frame_index=index,
        model_version=model.version,
        timings_ms=timings,
    )
    if site.tracks is not None:
        site.tracks.record(result, (frame.shape[1], frame.shape[0]))
    return result
