"""Frames out of a request body: a raw JPEG/PNG body, or every file part of a multipart form.

The body is read with a byte limit (chunked uploads included: Content-Length is not trusted);
a multipart body is then parsed from those bytes by Starlette's form parser.
"""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request

from service.errors import BadRequest, TooLarge

MAX_PARTS = 64  # frames in one multipart body
Frame = tuple[bytes, str | None]  # (the bytes, their declared content type)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with :class:`TooLarge` as soon as more than ``limit`` bytes have arrived."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"body larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def multipart_files(request: Request, body: bytes) -> list[Frame]:
    """Every file part of a ``multipart/form-data`` body, in order, parsed by Starlette's own form
    parser from a copy of the request that replays the bytes already read."""

    async def replay() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=MAX_PARTS)
    except Exception as exc:  # noqa: BLE001 - any parser failure is the client's malformed body
        raise BadRequest(f"malformed multipart body ({type(exc).__name__})") from None
    files = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
    if not files:
        raise BadRequest("multipart body has no file part")
    return [(await f.read(), f.content_type) for f in files]


async def frames_of(request: Request, limit: int) -> list[Frame]:
    """Frames from a raw image body or from a multipart form (every file part, in order)."""
    body = await read_body(request, limit)
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        return await multipart_files(request, body)
    return [(body, ctype or None)]
