"""Adaptation jobs: start one for a site (202 + the job), follow it, cancel it."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from starlette.concurrency import run_in_threadpool

from service.deps import AUTHORIZED, Service
from service.schemas import AdaptRequest, JobResponse

router = APIRouter(prefix="/v1", tags=["adaptation"], dependencies=AUTHORIZED)


@router.post(
    "/sites/{site_id}/adapt",
    response_model=JobResponse,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Adapt the site's model on its buffered frames (a job); the running job if one is (200)",
)
async def adapt(site_id: str, response: Response, svc: Service, body: AdaptRequest | None = None) -> JobResponse:
    job, created = await run_in_threadpool(svc.adapt, site_id, (body or AdaptRequest()).config())
    if not created:
        response.status_code = status.HTTP_200_OK
    return JobResponse(**job.model_dump())


@router.get("/jobs/{job_id}", response_model=JobResponse, summary="A job's state, progress and result")
async def job(job_id: str, svc: Service) -> JobResponse:
    record = await run_in_threadpool(svc.job, job_id)
    return JobResponse(**record.model_dump(), warning=svc.stall_warning(record))


@router.delete("/jobs/{job_id}", response_model=JobResponse, summary="Cancel a job")
async def cancel(job_id: str, svc: Service) -> JobResponse:
    record = await run_in_threadpool(svc.cancel, job_id)
    return JobResponse(**record.model_dump())


@router.get("/sites/{site_id}/jobs", response_model=list[JobResponse], summary="The site's recent jobs, newest first")
async def site_jobs(site_id: str, svc: Service) -> list[JobResponse]:
    records = await run_in_threadpool(svc.site_jobs, site_id)
    return [JobResponse(**r.model_dump(), warning=svc.stall_warning(r)) for r in records]
