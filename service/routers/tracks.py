"""Tracks and their exports: what a site answered per person, as npz arrays or an animated glb."""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

import numpy as np
from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from service.deps import AUTHORIZED, Service
from service.exports import MEDIA_TYPES, track_file
from service.schemas import TrackInfo, TrackList, TracksCleared

router = APIRouter(prefix="/v1/sites", tags=["tracks"], dependencies=AUTHORIZED)


@router.get("/{site_id}/tracks", response_model=TrackList, summary="The site's kept tracks and their frame ranges")
async def tracks(site_id: str, svc: Service) -> TrackList:
    return TrackList(site=site_id, tracks=[TrackInfo(**asdict(t)) for t in svc.tracks.summaries(site_id)])


@router.get(
    "/{site_id}/tracks/{track_id}/export",
    summary="One track as npz (θ, β, camera, translation, joints, vertices per frame) or glb (animated meshes)",
    responses={200: {"content": {"application/octet-stream": {}, "model/gltf-binary": {}}}},
)
async def export(
    site_id: str,
    track_id: int,
    svc: Service,
    format: Literal["npz", "glb"] = Query("npz", description="npz arrays or a glTF binary"),
    start: int | None = Query(None, ge=0, description="first frame index (inclusive)"),
    end: int | None = Query(None, ge=0, description="last frame index (inclusive)"),
    since: float | None = Query(None, description="earliest answer time, unix seconds (inclusive)"),
    until: float | None = Query(None, description="latest answer time, unix seconds (inclusive)"),
    focal: float | None = Query(None, gt=0, description="the camera's focal length in pixels; unset: assumed"),
) -> Response:
    faces = np.asarray(svc.faces(), np.int32)
    data = await run_in_threadpool(
        track_file, svc.tracks, site_id, track_id, format, faces, start, end, since, until, focal
    )
    name = f"{site_id}-track-{track_id}.{format}"
    return Response(
        data, media_type=MEDIA_TYPES[format], headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.delete("/{site_id}/tracks", response_model=TracksCleared, summary="Forget the site's track history")
async def clear_tracks(site_id: str, svc: Service) -> TracksCleared:
    return TracksCleared(deleted_frames=svc.tracks.clear(site_id))
