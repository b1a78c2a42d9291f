"""Frames in, people out: one frame, a batch of frames, and the mesh's faces."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from service import metrics
from service.deps import AUTHORIZED, Service
from service.errors import BadRequest
from service.schemas import BatchPoseResponse, Faces, PoseResponse
from service.uploads import frames_of

router = APIRouter(prefix="/v1", tags=["pose"], dependencies=AUTHORIZED)


@router.post(
    "/sites/{site_id}/pose",
    response_model=PoseResponse,
    summary="One frame (raw JPEG/PNG body or multipart) -> the people in it",
)
async def pose(
    site_id: str, request: Request, svc: Service, vertices: bool = True, buffer: bool = True
) -> PoseResponse:
    frames = await frames_of(request, svc.settings.max_body_bytes)
    if len(frames) != 1:
        raise BadRequest("send one frame here; several go to /pose/batch")
    with metrics.REQUEST_LATENCY.labels("pose").time():
        r = await run_in_threadpool(svc.pose, site_id, *frames[0], buffer)
    metrics.PERSONS.inc(len(r.persons))
    return PoseResponse.of(site_id, r, vertices)


@router.post(
    "/sites/{site_id}/pose/batch",
    response_model=BatchPoseResponse,
    summary="Several frames of one site (multipart, in time order)",
)
async def pose_batch(site_id: str, request: Request, svc: Service, vertices: bool = False) -> BatchPoseResponse:
    frames = await frames_of(request, svc.settings.max_body_bytes)
    results = []
    for data, ctype in frames:
        r = await run_in_threadpool(svc.pose, site_id, data, ctype)
        results.append(PoseResponse.of(site_id, r, vertices))
    return BatchPoseResponse(results=results)


@router.get("/faces", response_model=Faces, summary="Mesh faces (vertex indices), once")
async def faces(svc: Service) -> Faces:
    f = svc.faces()
    return Faces(count=len(f), faces=f)
