"""Sites and their model versions: what a site holds, its buffer, its versions and rollback."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from service.deps import AUTHORIZED, Service
from service.schemas import BackgroundRequest, BufferCleared, CameraRequest, SiteInfo, SiteSummary, VersionInfo

router = APIRouter(prefix="/v1/sites", tags=["sites"], dependencies=AUTHORIZED)


@router.get(
    "", response_model=list[SiteSummary], summary="Every site: state, serving version, recent people and latency"
)
async def list_sites(svc: Service) -> list[SiteSummary]:
    overview = await run_in_threadpool(svc.site_overview)
    return [SiteSummary(**asdict(status), **asdict(rates)) for status, rates in overview]


@router.get("/{site_id}", response_model=SiteInfo, summary="A site's state: versions, frames seen, buffer")
async def site_info(site_id: str, svc: Service) -> SiteInfo:
    return SiteInfo(**asdict(await run_in_threadpool(svc.site_status, site_id)))


@router.put(
    "/{site_id}/background",
    response_model=SiteInfo,
    summary="Choose the site's background subtractor; the site relearns its background and restarts its tracks",
)
async def set_background(site_id: str, body: BackgroundRequest, svc: Service) -> SiteInfo:
    return SiteInfo(**asdict(await run_in_threadpool(svc.set_background, site_id, body.method)))


@router.put(
    "/{site_id}/camera",
    response_model=SiteInfo,
    summary="Give the site camera's tilt below the horizon: answered bodies stand upright in the world",
)
async def set_camera(site_id: str, body: CameraRequest, svc: Service) -> SiteInfo:
    return SiteInfo(**asdict(await run_in_threadpool(svc.set_camera_tilt, site_id, body.tilt_deg)))


@router.delete("/{site_id}/buffer", response_model=BufferCleared, summary="Delete the site's buffered frames")
async def clear_buffer(site_id: str, svc: Service) -> BufferCleared:
    return BufferCleared(deleted_crops=svc.clear_buffer(site_id))


@router.get("/{site_id}/versions", response_model=list[VersionInfo], summary="The site's model versions")
async def versions(site_id: str, svc: Service) -> list[VersionInfo]:
    return [VersionInfo.of(v, active) for v, active in await run_in_threadpool(svc.versions, site_id)]


@router.post(
    "/{site_id}/versions/{version}/activate", response_model=VersionInfo, summary="Serve this version (rollback)"
)
async def activate(site_id: str, version: str, svc: Service) -> VersionInfo:
    return VersionInfo.of(await run_in_threadpool(svc.activate, site_id, version), active=True)


@router.get(
    "/{site_id}/frame.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
    summary="The site's latest frame with meshes, boxes and track ids drawn (drawn on request)",
)
async def latest_frame(site_id: str, svc: Service) -> Response:
    data = await run_in_threadpool(svc.frame_jpeg, site_id)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
