"""The routes' dependencies: the service of this app, and the API key check.

A client sends the key in the ``X-API-Key`` header. The operator console (a browser) signs in
once instead (:mod:`service.routers.console`) and then carries a session cookie: an HMAC of the
key, HttpOnly and SameSite=Strict, so the key itself is never stored in the browser. A request
that changes something on the strength of the cookie alone must also carry ``X-Console``, which
a page of another origin cannot add without a CORS preflight this API never grants.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from runtime.settings import Settings
from service.core import PoseService

KEY_HEADER = "x-api-key"
SESSION_COOKIE = "silhouette_console"
CONSOLE_HEADER = "x-console"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_SESSION_CONTEXT = b"silhouette console session v1"


def get_service(request: Request) -> PoseService:
    service: PoseService = request.app.state.service
    return service


def session_token(settings: Settings) -> str | None:
    """The console's cookie value for the configured key (None when no key is set): changing the key ends every session."""
    if settings.api_key is None:
        return None
    return hmac.new(settings.api_key.get_secret_value().encode(), _SESSION_CONTEXT, hashlib.sha256).hexdigest()


def authorized(request: Request) -> bool:
    """Whether the request carries the key (or no key is set), or the console's session cookie."""
    settings = get_service(request).settings
    if settings.accepts_key(request.headers.get(KEY_HEADER, "")):
        return True
    token = session_token(settings)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if token is None or not hmac.compare_digest(cookie.encode(), token.encode()):
        return False
    return request.method in SAFE_METHODS or CONSOLE_HEADER in request.headers


def require_key(request: Request) -> None:
    if not authorized(request):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing or wrong X-API-Key", headers={"WWW-Authenticate": "API-Key"}
        )


Service = Annotated[PoseService, Depends(get_service)]
AUTHORIZED = [Depends(require_key)]  # a router's dependencies: every route behind the API key
