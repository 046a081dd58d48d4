"""Paced-breathing sessions (issue 10): start, end, list."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from attune.api import analysis
from attune.api.breathing import (
    RATE_DEFAULT_PER_MIN,
    RATE_MAX_PER_MIN,
    RATE_MIN_PER_MIN,
    RATIO_MAX,
    RATIO_MIN,
    BreathingSession,
    SessionError,
    session_end,
    session_start,
    sessions_between,
    sessions_settle,
)
from attune.api.deps import AppContext, context
from attune.api.models import Problem, Strict, ZonedTime
from attune.api.routes_day import span_ms
from attune.timeutil import epoch_ms_to_datetime

router = APIRouter(tags=["breathing"])

SessionId = Path(ge=1, le=2**62, description="session id from /api/breathing/sessions")
BAD = {422: {"model": Problem}}
NOT_FOUND = {404: {"model": Problem}, 409: {"model": Problem}, 422: {"model": Problem}}


class SessionIn(Strict):
    rate_per_min: float = Field(RATE_DEFAULT_PER_MIN, ge=RATE_MIN_PER_MIN, le=RATE_MAX_PER_MIN,
                                description="the pacer's rate, breaths/min")
    inhale_ratio: float = Field(1.0, ge=RATIO_MIN, le=RATIO_MAX, description="inhale:exhale as inhale/exhale (1: even)")
    episode_id: int | None = Field(None, ge=1, le=2**62, description="the episode it was started from")


class Session(BaseModel):
    id: int
    start: datetime
    end: datetime | None = Field(description="null while it runs")
    rate_per_min: float
    inhale_ratio: float
    episode_id: int | None
    rsa_bpm: float | None = Field(description="mean RSA amplitude during (peak-to-trough HR per breath, bpm)")
    coherence: float | None = Field(description="mean coherence during, 0..1")
    breath_rate_per_min: float | None = Field(description="mean breathing rate the heart showed during")
    hr_before_bpm: float | None
    ln_rmssd_before: float | None
    hr_during_bpm: float | None
    ln_rmssd_during: float | None
    hr_after_bpm: float | None = Field(description="the 5 min after the end; null until they have passed")
    ln_rmssd_after: float | None


class Sessions(BaseModel):
    sessions: list[Session]


def session_out(s: BreathingSession) -> Session:
    return Session(
        id=s.id, start=epoch_ms_to_datetime(s.start_ms),
        end=None if s.end_ms is None else epoch_ms_to_datetime(s.end_ms),
        rate_per_min=s.rate_per_min, inhale_ratio=s.inhale_ratio, episode_id=s.episode_id, rsa_bpm=s.rsa_bpm,
        coherence=s.coherence, breath_rate_per_min=s.breath_rate_per_min, hr_before_bpm=s.hr_before_bpm,
        ln_rmssd_before=s.ln_rmssd_before, hr_during_bpm=s.hr_during_bpm, ln_rmssd_during=s.ln_rmssd_during,
        hr_after_bpm=s.hr_after_bpm, ln_rmssd_after=s.ln_rmssd_after)


def _breather_pace(request: Request, rate_per_min: float | None) -> None:
    """In ``attune demo``, the simulated person breathes with the pacer (api.breathing.DemoBreather)."""
    breather = getattr(request.app.state, "breather", None)
    if breather is not None:
        breather.pace(rate_per_min)


@router.post("/api/breathing/sessions", response_model=Session, status_code=201, responses=NOT_FOUND,
             summary="Start a paced-breathing session (optionally from an episode)")
def start(body: SessionIn, request: Request, ctx: AppContext = Depends(context)) -> Session:
    conn = ctx.db.conn()
    onset = None
    if body.episode_id is not None:
        row = analysis.episode_get(conn, body.episode_id)
        if row is None:
            raise HTTPException(404, f"no episode {body.episode_id} (re-analysis may have renumbered episodes; reload)")
        onset = row.onset_ms
    try:
        s = session_start(conn, rate_per_min=body.rate_per_min, inhale_ratio=body.inhale_ratio,
                          episode_id=body.episode_id, episode_onset_ms=onset)
    except SessionError as exc:
        raise HTTPException(422, str(exc)) from None
    _breather_pace(request, s.rate_per_min)
    ctx.live.publish("breathing", {"event": "started", "id": s.id})
    return session_out(s)


@router.post("/api/breathing/sessions/{session_id}/end", response_model=Session, responses=NOT_FOUND,
             summary="End a running session; its figures come from the stored ticks")
def end(request: Request, session_id: int = SessionId, ctx: AppContext = Depends(context)) -> Session:
    try:
        s = session_end(ctx.db.conn(), session_id)
    except SessionError as exc:
        raise HTTPException(409, str(exc)) from None
    if s is None:
        raise HTTPException(404, f"no breathing session {session_id}")
    _breather_pace(request, None)
    ctx.live.publish("breathing", {"event": "ended", "id": s.id})
    return session_out(s)


@router.get("/api/breathing/sessions", response_model=Sessions, responses=BAD,
            summary="Breathing sessions meeting a span (default: today)")
def sessions(
    from_: ZonedTime | None = Query(None, alias="from", description="start, ISO 8601 with zone (default: today's midnight)"),
    to: ZonedTime | None = Query(None, description="end (exclusive), ISO 8601 with zone (default: the next midnight)"),
    ctx: AppContext = Depends(context),
) -> Sessions:
    a, b = span_ms(from_, to, max_days=366)
    conn = ctx.db.conn()
    sessions_settle(conn)  # the "after" figures of sessions whose 5 min after have passed
    return Sessions(sessions=[session_out(s) for s in sessions_between(conn, a, b)])
