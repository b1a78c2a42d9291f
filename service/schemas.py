"""Request and response bodies of the HTTP API."""

from __future__ import annotations

import base64
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from models.adapt_config import AdaptConfig, Control, S2DGradient, SkeletonPaths, Variant
from models.camera_tilt import MAX_TILT_DEG
from models.people.foreground import Subtractor
from runtime.jobs import JobRecord
from runtime.model_store import ModelVersion
from service.pipeline import FrameResult, PersonResult

_DEFAULT = AdaptConfig()
MAX_LOSS_WEIGHT = 1000.0  # the most a job may weigh an added loss term (w_facing, w_root)


def _loss_weight(name: str, what: str):
    """An optional added loss term's weight: what it does, and the engine's default for it."""
    return Field(
        default=None,
        ge=0,
        le=MAX_LOSS_WEIGHT,
        description=f"{what}; default {getattr(_DEFAULT, name):g}, 0 turns it off",
    )


WARMING_UP_MESSAGE = "the background is still being learnt: nobody is answered until it is"
RELEARNING_MESSAGE = "the light changed or the camera moved: the background is being relearnt (about half a second)"


class Vertices(BaseModel):
    encoding: Literal["float16-le-base64"] = "float16-le-base64"
    shape: list[int]
    data: str

    @classmethod
    def of(cls, v: np.ndarray) -> Vertices:
        return cls(shape=list(v.shape), data=base64.b64encode(v.astype("<f2").tobytes()).decode())

    def decode(self) -> np.ndarray:
        return np.frombuffer(base64.b64decode(self.data), "<f2").reshape(self.shape).astype(np.float32)


class Person(BaseModel):
    track_id: int = Field(description="the person's id at this site, kept from frame to frame while they stay in view")
    box: list[float] = Field(description="x0, y0, x1, y1: the person's blob in frame pixels (pixel edges)")
    crop: list[float] = Field(
        description="cx, cy, side: the square crop the model saw, in frame pixels; it reaches past the frame "
        "where the frame's edge cuts the person (SILHOUETTE_CROP_PAST_EDGE)"
    )
    pose: list[float] = Field(description="SMPL theta: 24 axis-angle rotations, root first (72)")
    betas: list[float] = Field(description="SMPL shape (10)")
    camera: list[float] = Field(
        description="weak perspective s, t_x, t_y in crop coordinates [-1, 1]: the model's, or where the "
        "site fits cameras (SILHOUETTE_CAMERA_FIT), the one laying the mesh best over the person's silhouette"
    )
    joints_3d: list[list[float]] = Field(
        description="24 SMPL joints, metres, root-centred, camera axes (x right, y down)"
    )
    joints_2d: list[list[float]] = Field(description="24 SMPL joints in frame pixels")
    vertices: Vertices | None = Field(description="mesh vertices like joints_3d; faces from GET /v1/faces")
    buffered: bool = Field(description="kept in the site's buffer for adaptation")
    silhouette_iou: float | None = Field(
        default=None,
        description="the mesh's IoU with the person's silhouette in the crop, under the served camera "
        "(null where cameras are not fitted, or the silhouette was too small to fit to)",
    )

    @classmethod
    def of(cls, p: PersonResult, with_vertices: bool) -> Person:
        return cls(
            track_id=p.track_id,
            box=[float(v) for v in p.box],
            crop=[float(v) for v in p.square],
            pose=p.pose.tolist(),
            betas=p.betas.tolist(),
            camera=p.camera.tolist(),
            joints_3d=p.joints.tolist(),
            joints_2d=p.joints_2d.tolist(),
            vertices=Vertices.of(p.vertices) if with_vertices else None,
            buffered=p.buffered,
            silhouette_iou=p.silhouette_iou,
        )


class PoseResponse(BaseModel):
    site: str
    frame_index: int
    warming_up: bool
    relearning: bool = Field(description="the light changed or the camera moved: the background is being relearnt")
    message: str | None = None
    model_version: str
    persons: list[Person]
    timings_ms: dict[str, float]

    @classmethod
    def of(cls, site: str, r: FrameResult, with_vertices: bool) -> PoseResponse:
        return cls(
            site=site,
            frame_index=r.frame_index,
            warming_up=r.warming_up,
            relearning=r.relearning,
            message=WARMING_UP_MESSAGE if r.warming_up else RELEARNING_MESSAGE if r.relearning else None,
            model_version=r.model_version,
            persons=[Person.of(p, with_vertices) for p in r.persons],
            timings_ms=r.timings_ms,
        )


class BatchPoseResponse(BaseModel):
    results: list[PoseResponse]


class AdaptRequest(BaseModel):
    """Every field optional: an unset field takes the engine's default (``AdaptConfig``), the one
    source of truth for them."""

    model_config = ConfigDict(extra="forbid")

    iterations: int | None = Field(default=None, ge=1, le=20000, description=f"default {_DEFAULT.iterations}")
    variant: Variant | Control | None = Field(
        default=None,
        description=f"the alignment objective; default {_DEFAULT.variant!r}; 'prior' is a control, not a method "
        "(the shape prior's gradient alone)",
    )
    batch: int | None = Field(default=None, ge=1, le=256, description=f"default {_DEFAULT.batch}")
    lr: float | None = Field(default=None, gt=0, le=1e-2, description=f"CNN learning rate; default {_DEFAULT.lr:g}")
    s2d_gradient: S2DGradient | None = Field(
        default=None,
        description=f"how S2D is differentiated; default {_DEFAULT.s2d_gradient!r}: 'distance' adapts a trained model "
        "better; 'erosions' (Eq. 2 literally) pulls a model whose limbs are far off its silhouettes better",
    )
    skeleton_paths: SkeletonPaths | None = Field(
        default=None,
        description=f"what L_T may move; default {_DEFAULT.skeleton_paths!r}: 'all' parameters, as the paper has it, "
        "or only the 'articulation' (pose latent and shape; root rotation and camera left to L_S)",
    )

    w_facing: float | None = _loss_weight(
        "w_facing", "how hard people walking towards the camera or away from it are kept facing that way while adapting"
    )
    w_root: float | None = _loss_weight(
        "w_root",
        "how hard each body's root rotation is kept near the source model's for the same crop while adapting "
        "(a silhouette hardly tells front from back)",
    )

    def config(self) -> dict:
        """The fields the client set: the job builds ``AdaptConfig(**config)`` from them."""
        return self.model_dump(exclude_none=True)


class JobResponse(JobRecord):
    warning: str | None = Field(
        default=None, description="Set while a job waits longer than it should (no worker taking work)"
    )


class VersionInfo(BaseModel):
    id: str
    created: float
    parent: str | None
    health: dict | None
    active: bool

    @classmethod
    def of(cls, v: ModelVersion, active: bool) -> VersionInfo:
        return cls(id=v.id, created=v.created, parent=v.parent, health=v.health, active=active)


class SiteInfo(BaseModel):
    id: str
    active_version: str = Field(description="The version the site's active pointer names")
    serving_version: str | None = Field(
        description="The version this API process answers with now "
        "(differs from active_version for a moment during a swap; None before any frame)"
    )
    frames_seen: int
    warming_up: bool
    buffered_crops: int
    buffered_bytes: int
    background_method: str = Field(description="the site's background subtractor (PUT .../background changes it)")
    camera_tilt_deg: float | None = Field(
        default=None, description="the camera's tilt below the horizon the site's bodies are turned by (PUT .../camera)"
    )
    ghosts: int = Field(
        default=0,
        description="places refused as ghosts in the latest frame: where the background still holds someone who was in "
        "view while it was learnt and has left (they fade as it relearns; PUT .../background relearns it now)",
    )
    detail_factor: float | None = Field(
        default=None,
        description="how many times the camera's frames are blown up from the detail they hold (1: as sharp as "
        "their pixels; read every 50th frame, models.detail): a person's height in pixels over this is how much "
        "of them the frame resolves, and the limbs of people it resolves too coarsely are served as the model "
        "has them, not fitted to their silhouette. None before the first frame",
    )


class BackgroundRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Subtractor = Field(description="OpenCV's MOG2 (the default: better on the labelled real clips) or KNN")


class CameraRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tilt_deg: float | None = Field(
        gt=-MAX_TILT_DEG,
        lt=MAX_TILT_DEG,
        description="how far the camera looks down from the horizon, in degrees (negative: up); the answered "
        "bodies are turned by it so that they stand upright in the world, not in the camera. null: unknown",
    )


class BufferCleared(BaseModel):
    deleted_crops: int


class TrackInfo(BaseModel):
    track_id: int
    frames: int = Field(description="frames of this track kept (the most recent, within the history's bounds)")
    first_frame: int = Field(description="the site's frame index of the first kept frame")
    last_frame: int
    first_time: float = Field(description="unix seconds when the first kept frame was answered")
    last_time: float


class TrackList(BaseModel):
    site: str
    tracks: list[TrackInfo]


class TracksCleared(BaseModel):
    deleted_frames: int


class Faces(BaseModel):
    count: int
    faces: list[list[int]]


class SiteSummary(SiteInfo):
    """A site in the list the console shows: its state and what it served recently."""

    persons_per_s: float = Field(description="people answered per second over the last few seconds")
    frames_per_s: float = Field(description="frames answered per second over the last few seconds")
    latency_p50_ms: float | None = Field(
        description="median time from a frame's arrival to its answer, in this process, over the last few seconds"
    )
    last_frame_age_s: float | None = Field(description="seconds since the site's latest frame; None before any")
