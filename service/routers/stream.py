"""A WebSocket frame stream per site, with bounded backpressure.

The client sends binary messages (one JPEG or PNG frame each) and receives one JSON answer per
processed frame. Frames wait in a queue of ``QUEUE_BOUND``; when it is full the oldest waiting
frame is dropped (a live camera wants the newest frame, not a backlog) and the answer to the
next processed frame says how many were dropped so far. Memory is bounded by the queue.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from runtime.site_ids import BadSiteId, check_site_id
from service import metrics
from service.core import PoseService
from service.deps import KEY_HEADER
from service.imaging import BadImage
from service.schemas import PoseResponse

router = APIRouter(tags=["pose"])
QUEUE_BOUND = 4


async def refuse(websocket: WebSocket, status: int, reason: str) -> None:
    """Refuse the handshake with an HTTP status and reason, as the HTTP routes would; a server
    without ASGI's denial-response extension can only close (a bare 403), so the code and reason
    then travel in the close frame (4000 + status)."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(JSONResponse({"detail": reason}, status_code=status))
    else:
        await websocket.close(code=4000 + status, reason=reason)


@router.websocket("/v1/sites/{site_id}/stream")
async def stream(websocket: WebSocket, site_id: str, vertices: bool = False):
    svc: PoseService = websocket.app.state.service
    if not svc.settings.accepts_key(websocket.headers.get(KEY_HEADER, "")):
        await refuse(websocket, 401, "missing or wrong X-API-Key")
        return
    try:
        check_site_id(site_id)
    except BadSiteId as exc:
        await refuse(websocket, 422, str(exc)[:120])
        return
    await websocket.accept()
    queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=QUEUE_BOUND)
    dropped = 0

    async def receive():
        nonlocal dropped
        while True:
            msg = await websocket.receive()
            if msg["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(msg.get("code", 1000))
            data = msg.get("bytes")
            if data is None or len(data) > svc.settings.max_body_bytes:
                await websocket.send_json({"error": "send binary frames (JPEG or PNG) within the size limit"})
                continue
            if queue.full():
                queue.get_nowait()
                dropped += 1
                metrics.STREAM_DROPPED.inc()
            queue.put_nowait(data)

    async def work():
        while True:
            data = await queue.get()
            try:
                r = await run_in_threadpool(svc.pose, site_id, data)
            except BadImage as exc:
                await websocket.send_json({"error": str(exc)})
                continue
            answer = PoseResponse.of(site_id, r, vertices).model_dump()
            answer["dropped_so_far"] = dropped
            await websocket.send_json(answer)

    tasks = [asyncio.create_task(receive()), asyncio.create_task(work())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for t in done:
            failure = t.exception()
            if failure is not None and not isinstance(failure, WebSocketDisconnect):
                raise failure
    finally:
        for t in tasks:
            t.cancel()
