"""``GET /api/live``: Server-Sent Events as things happen."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Header, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from attune.api.auth import request_token, sha256_hex
from attune.api.deps import AppContext, context

router = APIRouter(tags=["live"])

RETRY_MS = 2000


@router.get(
    "/api/live",
    summary="Live events (Server-Sent Events)",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": (
        "Events: `beats` (new beats and the strap's heart rate), `tick` (activation score and "
        "state), `state` (state changed), `episode` (started/updated/ended), `tag` (a name "
        "changed), `link` (strap connection, battery, contact), `reset` (missed events could "
        "not be replayed: fetch status and timeline again). Each event has an id; a client "
        "reconnecting with `Last-Event-ID` receives what it missed.")}},
)
async def live(
    request: Request,
    last_event_id: str | None = Header(None, alias="Last-Event-ID", max_length=64),
    ctx: AppContext = Depends(context),
) -> EventSourceResponse:
    hub = ctx.live
    # in paired mode the stream remembers its token: revoking it ends the stream at once
    token = request_token({k.lower(): v for k, v in request.headers.items()}) if ctx.policy.paired else None

    async def events() -> AsyncIterator[ServerSentEvent]:
        async for event in hub.subscribe(last_event_id, token_sha256=sha256_hex(token) if token else None):
            yield ServerSentEvent(data=event.data_json, event=event.kind, id=event.event_id(hub.run_id),
                                  retry=RETRY_MS)

    return EventSourceResponse(events(), ping=15, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
