"""The HTTP API: ``uvicorn service.app:app`` (OpenAPI docs at /docs).

Routes are thin: they check input, call :class:`service.core.PoseService`, and shape the answer.
"""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service import metrics, redaction
from service.core import Conflict, PoseService, Unavailable
from service.imaging import BadImage
from service.pipeline import FrameResult
from service.schemas import (AdaptRequest, BatchPoseResponse, Faces, JobResponse, Person, PoseResponse, SiteInfo,
                             VersionInfo, Vertices)
from service.settings import Settings, get_settings
from service.sites import BadSiteId
from service.stream import router as stream_router

log = logging.getLogger(__name__)


def get_service(request: Request) -> PoseService:
    return request.app.state.service


def require_key(request: Request) -> None:
    if not request.app.state.service.settings.accepts_key(request.headers.get("x-api-key", "")):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or wrong X-API-Key",
                            headers={"WWW-Authenticate": "API-Key"})


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as more than ``limit`` bytes have arrived
    (chunked uploads included: Content-Length is not trusted)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"body larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def frames_of(request: Request, limit: int) -> list[tuple[bytes, str | None]]:
    """Frames from a raw image body or from a multipart form (every file part, in order)."""
    body = await read_body(request, limit)
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        request._body = body  # the form parser reads the cached body, not the stream again
        try:
            form = await request.form(max_files=64)
        except Exception as exc:  # noqa: BLE001
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"malformed multipart body ({type(exc).__name__})") from None
        files = [v for _, v in form.multi_items() if hasattr(v, "read")]
        if not files:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "multipart body has no file part")
        return [(await f.read(), f.content_type) for f in files]
    return [(body, ctype or None)]


def pose_response(site: str, r: FrameResult, with_vertices: bool) -> PoseResponse:
    persons = [Person(box=list(map(float, p.box)), crop=list(map(float, p.square)), pose=p.pose.tolist(),
                      betas=p.betas.tolist(), camera=p.camera.tolist(), joints_3d=p.joints.tolist(),
                      joints_2d=p.joints_2d.tolist(), vertices=Vertices.of(p.vertices) if with_vertices else None,
                      buffered=p.buffered) for p in r.persons]
    msg = "the background is still being learnt: people may be missed or cut" if r.warming_up else None
    return PoseResponse(site=site, frame_index=r.frame_index, warming_up=r.warming_up, message=msg,
                        model_version=r.model_version, persons=persons, timings_ms=r.timings_ms)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    redaction.install([settings.api_key.get_secret_value()] if settings.api_key else [])

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        service = PoseService(settings)
        await run_in_threadpool(service.start)
        app.state.service = service
        yield
        service.stop()

    app = FastAPI(title="Silhouette-topology pose service", version="0.1.0", lifespan=lifespan,
                  description="Static-camera 3D human pose (SMPL) with per-site self-adaptation.")

    @app.exception_handler(BadImage)
    async def bad_image(_, exc: BadImage):
        return JSONResponse({"detail": str(exc)}, status_code=415 if "content type" in str(exc) else 400)

    @app.exception_handler(BadSiteId)
    async def bad_site(_, exc: BadSiteId):
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(Unavailable)
    async def unavailable(_, exc: Unavailable):
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(Conflict)
    async def conflict(_, exc: Conflict):
        return JSONResponse({"detail": str(exc)}, status_code=409)

    auth = [Depends(require_key)]

    @app.post("/v1/sites/{site_id}/pose", response_model=PoseResponse, dependencies=auth,
              summary="One frame (raw JPEG/PNG body or multipart) -> the people in it")
    async def pose(site_id: str, request: Request, vertices: bool = True, buffer: bool = True,
                   svc: PoseService = Depends(get_service)) -> PoseResponse:
        frames = await frames_of(request, svc.settings.max_body_bytes)
        if len(frames) != 1:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "send one frame here; several go to /pose/batch")
        with metrics.REQUEST_LATENCY.labels("pose").time():
            r = await run_in_threadpool(svc.pose, site_id, *frames[0], buffer)
        metrics.PERSONS.inc(len(r.persons))
        return pose_response(site_id, r, vertices)

    @app.post("/v1/sites/{site_id}/pose/batch", response_model=BatchPoseResponse, dependencies=auth,
              summary="Several frames of one site (multipart, in time order)")
    async def pose_batch(site_id: str, request: Request, vertices: bool = False,
                         svc: PoseService = Depends(get_service)) -> BatchPoseResponse:
        frames = await frames_of(request, svc.settings.max_body_bytes)
        results = []
        for data, ctype in frames:
            results.append(pose_response(site_id, await run_in_threadpool(svc.pose, site_id, data, ctype), vertices))
        return BatchPoseResponse(results=results)

    @app.post("/v1/sites/{site_id}/adapt", response_model=JobResponse, status_code=202, dependencies=auth,
              summary="Adapt the site's model on its buffered frames (a job)")
    async def adapt(site_id: str, response: Response, body: AdaptRequest | None = None,
                    svc: PoseService = Depends(get_service)) -> JobResponse:
        config = (body or AdaptRequest()).model_dump(exclude_none=True)
        job, created = await run_in_threadpool(svc.adapt, site_id, config)
        if not created:
            response.status_code = status.HTTP_200_OK
        return JobResponse(**job.model_dump())

    @app.get("/v1/jobs/{job_id}", response_model=JobResponse, dependencies=auth)
    async def job(job_id: str, svc: PoseService = Depends(get_service)) -> JobResponse:
        record = await run_in_threadpool(svc.job, job_id)
        if record is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job_id}")
        return JobResponse(**record.model_dump(), warning=svc.stall_warning(record))

    @app.delete("/v1/jobs/{job_id}", response_model=JobResponse, dependencies=auth, summary="Cancel a job")
    async def cancel(job_id: str, svc: PoseService = Depends(get_service)) -> JobResponse:
        record = await run_in_threadpool(svc.cancel, job_id)
        if record is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job_id}")
        return JobResponse(**record.model_dump())

    @app.get("/v1/sites/{site_id}", response_model=SiteInfo, dependencies=auth)
    async def site_info(site_id: str, svc: PoseService = Depends(get_service)) -> SiteInfo:
        site = svc.sites.get(site_id)
        return SiteInfo(id=site.id, active_version=svc.store.active(site_id),
                        serving_version=svc.server.serving_version(site_id), frames_seen=site.frames_seen,
                        warming_up=site.background.warming_up, buffered_crops=len(site.buffer),
                        buffered_bytes=site.buffer.nbytes)

    @app.delete("/v1/sites/{site_id}/buffer", dependencies=auth, summary="Delete the site's buffered frames")
    async def clear_buffer(site_id: str, svc: PoseService = Depends(get_service)) -> dict:
        return {"deleted_crops": svc.sites.get(site_id).buffer.clear()}

    @app.get("/v1/sites/{site_id}/versions", response_model=list[VersionInfo], dependencies=auth)
    async def versions(site_id: str, svc: PoseService = Depends(get_service)) -> list[VersionInfo]:
        active = svc.store.active(site_id)
        return [VersionInfo(id=v.id, created=v.created, parent=v.parent, health=v.health, active=v.id == active)
                for v in svc.store.versions(site_id)]

    @app.post("/v1/sites/{site_id}/versions/{version}/activate", response_model=VersionInfo, dependencies=auth,
              summary="Serve this version (rollback)")
    async def activate(site_id: str, version: str, svc: PoseService = Depends(get_service)) -> VersionInfo:
        try:
            await run_in_threadpool(svc.activate, site_id, version)
        except KeyError:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"site {site_id} has no version {version}") from None
        v = svc.store.get(site_id, version)
        return VersionInfo(id=v.id, created=v.created, parent=v.parent, health=v.health, active=True)

    @app.get("/v1/faces", response_model=Faces, dependencies=auth, summary="Mesh faces (vertex indices), once")
    async def faces(svc: PoseService = Depends(get_service)) -> Faces:
        f = svc.faces()
        return Faces(count=len(f), faces=f)

    @app.get("/healthz", summary="Liveness")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", summary="Readiness: models loaded, provider in use, job store reachable")
    async def readyz(svc: PoseService = Depends(get_service)) -> JSONResponse:
        report = await run_in_threadpool(svc.readiness)
        return JSONResponse(report, status_code=200 if report["ready"] else 503)

    @app.get("/metrics", summary="Prometheus metrics")
    async def prometheus(svc: PoseService = Depends(get_service)) -> Response:
        return Response(metrics.render(svc), media_type=metrics.CONTENT_TYPE)

    app.include_router(stream_router)
    return app


app = create_app()
