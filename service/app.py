"""The HTTP API: ``uvicorn service.app:app`` (OpenAPI docs at /docs).

Routes are thin (one router per resource in :mod:`service.routers`): they read the request,
call :class:`service.core.PoseService`, and shape the answer. Errors are exception types, each
mapped to its status code in :mod:`service.errors`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

import service.routers.tracks as track_routes
from runtime.settings import Settings, get_settings
from service import redaction
from service.core import PoseService
from service.deps import session_token
from service.errors import RETRY_AFTER_S, STATUS, Unavailable, status_of
from service.routers import console, jobs, ops, pose, sites, stream

API_VERSION = "0.1.0"


async def error_response(_: Request, exc: Exception) -> JSONResponse:
    headers = {"Retry-After": str(RETRY_AFTER_S)} if isinstance(exc, Unavailable) else None
    return JSONResponse({"detail": str(exc)}, status_code=status_of(exc), headers=headers)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    redaction.install([settings.api_key.get_secret_value(), session_token(settings) or ""] if settings.api_key else [])

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = PoseService(settings)
        await run_in_threadpool(service.start)
        app.state.service = service
        yield
        service.stop()

    app = FastAPI(
        title="Silhouette-topology pose service",
        version=API_VERSION,
        lifespan=lifespan,
        description="Static-camera 3D human pose (SMPL) with per-site self-adaptation.",
    )
    for kind, _ in STATUS:
        app.add_exception_handler(kind, error_response)
    for router in (pose.router, stream.router, jobs.router, sites.router, ops.router, console.router):
        app.include_router(router)
    app.include_router(track_routes.router)
    return app


app = create_app()
