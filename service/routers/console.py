"""The operator console: one static page, its script and its style (``service/console/``), behind the API key.

A browser cannot add the ``X-API-Key`` header to a page it navigates to, so the console signs in
once: ``GET /console`` without the key answers 401 with a sign-in form; the form posts the key to
``/console/session``, which sets the session cookie :mod:`service.deps` accepts (an HMAC of the
key, HttpOnly, SameSite=Strict) and sends the browser back to the console. The page holds no data
of its own: its script polls the JSON routes and the site's drawn frame, every one of them behind
the same check. With no key configured (development), the console opens straight away.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from service.deps import AUTHORIZED, SESSION_COOKIE, Service, authorized, session_token

ASSETS = Path(__file__).resolve().parent.parent / "console"
FILES = {"console.js": "text/javascript", "console.css": "text/css"}  # what /console/{name} serves
SESSION_MAX_AGE_S = 12 * 3600  # the browser forgets the session after this long
NO_STORE = {"Cache-Control": "no-store"}

SIGN_IN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - silhouette-adapt console</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<style>body{{font:15px system-ui,sans-serif;background:#f3f4f6;display:grid;place-items:center;height:100vh;margin:0}}
form{{background:#fff;padding:24px 28px;border-radius:8px;box-shadow:0 1px 4px #0002;min-width:300px}}
input,button{{font:inherit;padding:6px 8px;width:100%;box-sizing:border-box;margin-top:8px}}
.error{{color:#b91c1c}}</style></head>
<body><form method="post" action="{action}" id="sign-in"><h2>silhouette-adapt console</h2>
<label for="key">API key</label><input id="key" name="key" type="password" autocomplete="current-password" autofocus>
<button type="submit">Sign in</button><p class="error">{error}</p></form></body></html>
"""

router = APIRouter(tags=["console"])


def path_to(request: Request, route: str) -> str:
    """The path of one of this router's routes, under the app's root path (behind a proxy's prefix)."""
    return str(request.scope.get("root_path", "")) + request.app.url_path_for(route)


def sign_in_page(request: Request, error: str = "") -> HTMLResponse:
    page = SIGN_IN.format(action=html.escape(path_to(request, "sign_in")), error=html.escape(error))
    return HTMLResponse(page, status.HTTP_401_UNAUTHORIZED, headers=NO_STORE)


@router.get("/console", response_class=HTMLResponse, summary="The operator console (a sign-in form without the key)")
async def console(request: Request) -> Response:
    if not authorized(request):
        return sign_in_page(request)
    return FileResponse(ASSETS / "index.html", media_type="text/html", headers=NO_STORE)


@router.post("/console/session", summary="Sign in to the console with the API key (sets its session cookie)")
async def sign_in(request: Request, svc: Service, key: Annotated[str, Form()] = "") -> Response:
    if not svc.settings.accepts_key(key):
        return sign_in_page(request, "That is not the API key.")
    answer = RedirectResponse(path_to(request, "console"), status.HTTP_303_SEE_OTHER)
    token = session_token(svc.settings)
    if token is not None:
        answer.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=SESSION_MAX_AGE_S,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return answer


@router.post("/console/logout", summary="Sign out of the console (forgets its session cookie)")
async def sign_out(request: Request) -> Response:
    answer = RedirectResponse(path_to(request, "console"), status.HTTP_303_SEE_OTHER)
    answer.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict")
    return answer


@router.get("/console/{name}", dependencies=AUTHORIZED, summary="The console's script and style")
async def asset(name: str) -> Response:
    if name not in FILES:
        return Response(status_code=status.HTTP_404_NOT_FOUND)
    return FileResponse(ASSETS / name, media_type=FILES[name], headers=NO_STORE)
