"""Operations: liveness, readiness and Prometheus metrics (no API key: probes and scrapers)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service import metrics
from service.deps import Service

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: models loaded, provider in use, job store reachable")
async def readyz(svc: Service) -> JSONResponse:
    report = await run_in_threadpool(svc.readiness)
    return JSONResponse(report, status_code=200 if report["ready"] else 503)


@router.get("/metrics", summary="Prometheus metrics")
async def prometheus(svc: Service) -> Response:
    return Response(metrics.render(svc), media_type=metrics.CONTENT_TYPE)
