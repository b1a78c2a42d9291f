"""Request and response bodies of the HTTP API."""
from __future__ import annotations

import base64
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from service.jobs import JobRecord


class Vertices(BaseModel):
    encoding: Literal["float16-le-base64"] = "float16-le-base64"
    shape: list[int]
    data: str

    @classmethod
    def of(cls, v: np.ndarray) -> "Vertices":
        return cls(shape=list(v.shape), data=base64.b64encode(v.astype("<f2").tobytes()).decode())

    def decode(self) -> np.ndarray:
        return np.frombuffer(base64.b64decode(self.data), "<f2").reshape(self.shape).astype(np.float32)


class Person(BaseModel):
    box: list[float] = Field(description="x0, y0, x1, y1: the person's blob in frame pixels (pixel edges)")
    crop: list[float] = Field(description="cx, cy, side: the square crop the model saw, in frame pixels")
    pose: list[float] = Field(description="SMPL theta: 24 axis-angle rotations, root first (72)")
    betas: list[float] = Field(description="SMPL shape (10)")
    camera: list[float] = Field(description="weak perspective s, t_x, t_y in crop coordinates [-1, 1]")
    joints_3d: list[list[float]] = Field(description="24 SMPL joints, metres, root-centred, camera axes (x right, y down)")
    joints_2d: list[list[float]] = Field(description="24 SMPL joints in frame pixels")
    vertices: Vertices | None = Field(description="mesh vertices like joints_3d; faces from GET /v1/faces")
    buffered: bool = Field(description="kept in the site's buffer for adaptation")


class PoseResponse(BaseModel):
    site: str
    frame_index: int
    warming_up: bool
    message: str | None = None
    model_version: str
    persons: list[Person]
    timings_ms: dict[str, float]


class BatchPoseResponse(BaseModel):
    results: list[PoseResponse]


class AdaptRequest(BaseModel):
    iterations: int = Field(default=60, ge=1, le=20000, description="The engine's default (AdaptConfig.iterations)")
    variant: Literal["ours", "b1", "b2", "b3", "a2"] = "ours"
    batch: int = Field(default=16, ge=1, le=256)
    lr: float | None = Field(default=None, gt=0, le=1e-2, description="CNN learning rate; unset: the engine's default")
    s2d_gradient: Literal["distance", "erosions"] = Field(
        default="distance", description="How S2D is differentiated (AdaptConfig.s2d_gradient): 'distance' adapts a trained "
        "model better; 'erosions' (Eq. 2 literally) pulls a model whose limbs are far off its silhouettes better")
    skeleton_paths: Literal["all", "articulation"] = Field(
        default="all", description="What L_T may move (AdaptConfig.skeleton_paths): 'all' parameters, as the paper has "
        "it, or only the 'articulation' (pose latent and shape; root rotation and camera left to L_S)")


class JobResponse(JobRecord):
    warning: str | None = Field(default=None, description="Set while a job waits longer than it should (no worker taking work)")


class VersionInfo(BaseModel):
    id: str
    created: float
    parent: str | None
    health: dict | None
    active: bool


class SiteInfo(BaseModel):
    id: str
    active_version: str = Field(description="The version the site's active pointer names")
    serving_version: str | None = Field(description="The version this API process answers with now "
                                        "(differs from active_version for a moment during a swap; None before any frame)")
    frames_seen: int
    warming_up: bool
    buffered_crops: int
    buffered_bytes: int


class Faces(BaseModel):
    count: int
    faces: list[list[int]]
