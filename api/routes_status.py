"""Right now: connection, strap, heart rate, activation and state."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from attune.api import queries
from attune.api.deps import AppContext, context
from attune.api.models import Status

router = APIRouter(tags=["live"])


@router.get("/api/status", response_model=Status, summary="Connection, strap, heart rate, activation and state now")
def status(ctx: AppContext = Depends(context)) -> Status:
    status = queries.status_get(ctx.db.conn(), ctx.mode, ctx.watchdog_s)
    if ctx.recorder is not None:  # the database can't say that it can't be written to
        status.recording_error = ctx.recorder.storage_error
        status.recording = status.recording_error is None
    return status
