"""The routes' dependencies: the service of this app, and the API key check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from service.core import PoseService

KEY_HEADER = "x-api-key"


def get_service(request: Request) -> PoseService:
    service: PoseService = request.app.state.service
    return service


def require_key(request: Request) -> None:
    if not get_service(request).settings.accepts_key(request.headers.get(KEY_HEADER, "")):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing or wrong X-API-Key", headers={"WWW-Authenticate": "API-Key"}
        )


Service = Annotated[PoseService, Depends(get_service)]
AUTHORIZED = [Depends(require_key)]  # a router's dependencies: every route behind the API key
