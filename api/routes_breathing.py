"""Paced-breathing sessions (issue 10): start, end, list; the resonance-frequency finder and
the person's rate (the default pace)."""

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
    STEP_DEFAULT_S,
    STEP_MAX_S,
    STEP_MIN_S,
    BreathingSession,
    ResonanceRate,
    ResonanceRun,
    SessionError,
    resonance_rate_get,
    resonance_rate_reset,
    resonance_rate_set,
    resonance_run_get,
    resonance_run_next,
    resonance_run_start,
    resonance_run_stop,
    resonance_runs_recent,
    resonance_runs_tidy,
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
    rate_per_min: float | None = Field(None, ge=RATE_MIN_PER_MIN, le=RATE_MAX_PER_MIN,
                                       description="the pacer's rate, breaths/min (default: the person's rate,"
                                                   f" /api/breathing/resonance/rate, {RATE_DEFAULT_PER_MIN:g} unless set)")
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
        rate = resonance_rate_get(conn).rate_per_min if body.rate_per_min is None else body.rate_per_min
        s = session_start(conn, rate_per_min=rate, inhale_ratio=body.inhale_ratio,
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
    resonance_runs_tidy(conn)  # a finder run whose page has gone: its step's session ends
    return Sessions(sessions=[session_out(s) for s in sessions_between(conn, a, b)])


# -- the resonance-frequency finder ---------------------------------------------------------------
RunId = Path(ge=1, le=2**62, description="finder run id from /api/breathing/resonance/runs")


class RunIn(Strict):
    step_s: float = Field(STEP_DEFAULT_S, ge=STEP_MIN_S, le=STEP_MAX_S, description="each step's length, s")
    settle_s: float | None = Field(None, ge=0, le=STEP_MAX_S,
                                   description="left out at each step's start, s (default 15, at most a quarter step)")
    inhale_ratio: float = Field(1.0, ge=RATIO_MIN, le=RATIO_MAX, description="inhale:exhale as inhale/exhale")


class RunStep(BaseModel):
    k: int = Field(description="1..5, in the order paced")
    rate_per_min: float = Field(description="the pacer's rate")
    session_id: int
    start: datetime
    end: datetime | None = Field(description="null while it runs")
    n_beats: int | None
    window_s: float | None = Field(description="the analysed part (after settling in)")
    rsa_bpm: float | None = Field(description="mean peak-to-trough HR swing per breath")
    peak_power_bpm2: float | None = Field(description="HR variance within 0.03 Hz of the pacer")
    coherence: float | None
    breath_rate_per_min: float | None = Field(description="the breathing rate the heart showed")
    usable: bool | None = Field(description="takes part in the choice; null while it runs")
    reason: str | None = Field(description="why not usable")
    score: float | None = Field(description="0..1: RSA and peak power as shares of the largest, averaged")


class Run(BaseModel):
    id: int
    start: datetime
    end: datetime | None
    status: str = Field(description="running | done | stopped")
    step_s: float
    settle_s: float
    inhale_ratio: float
    step: int | None = Field(description="the step being paced (1..5), null unless running")
    chosen_per_min: float | None = Field(description="the rate chosen; null: not done, or could not tell")
    reason: str | None
    steps: list[RunStep]


class Runs(BaseModel):
    runs: list[Run]


class RateIn(Strict):
    rate_per_min: float = Field(ge=RATE_MIN_PER_MIN, le=RATE_MAX_PER_MIN, description="breaths/min")
    run_id: int | None = Field(None, ge=1, le=2**62, description="the finder run that chose it")


class Rate(BaseModel):
    rate_per_min: float = Field(description="the default pace, breaths/min")
    run_id: int | None = Field(description="the finder run it came from")
    set_at: datetime | None = Field(description="null: never set, the default 6/min")


def run_out(r: ResonanceRun) -> Run:
    dt = epoch_ms_to_datetime
    return Run(
        id=r.id, start=dt(r.start_ms), end=None if r.end_ms is None else dt(r.end_ms), status=r.status,
        step_s=r.step_s, settle_s=r.settle_s, inhale_ratio=r.inhale_ratio,
        step=None if r.current is None else r.current.k, chosen_per_min=r.chosen_per_min, reason=r.reason,
        steps=[RunStep(k=s.k, rate_per_min=s.rate_per_min, session_id=s.session_id, start=dt(s.start_ms),
                       end=None if s.end_ms is None else dt(s.end_ms), n_beats=s.n_beats, window_s=s.window_s,
                       rsa_bpm=s.rsa_bpm, peak_power_bpm2=s.peak_power_bpm2, coherence=s.coherence,
                       breath_rate_per_min=s.breath_rate_per_min, usable=s.usable, reason=s.reason, score=s.score)
               for s in r.steps])


def rate_out(r: ResonanceRate) -> Rate:
    return Rate(rate_per_min=r.rate_per_min, run_id=r.run_id,
                set_at=None if r.set_ms is None else epoch_ms_to_datetime(r.set_ms))


def _run_paced(request: Request, ctx: AppContext, r: ResonanceRun, event: str) -> Run:
    """The demo's person follows the step; the page hears of the step's session."""
    _breather_pace(request, None if r.current is None else r.current.rate_per_min)
    ctx.live.publish("breathing", {"event": event, "id": r.steps[-1].session_id, "resonance_run": r.id})
    return run_out(r)


@router.post("/api/breathing/resonance/runs", response_model=Run, status_code=201, responses=BAD,
             summary="Start the resonance-frequency finder: 5 steps (6.5 … 4.5/min), the first paced now")
def run_start(body: RunIn, request: Request, ctx: AppContext = Depends(context)) -> Run:
    try:
        r = resonance_run_start(ctx.db.conn(), step_s=body.step_s, settle_s=body.settle_s,
                                inhale_ratio=body.inhale_ratio)
    except SessionError as exc:
        raise HTTPException(422, str(exc)) from None
    return _run_paced(request, ctx, r, "started")


@router.get("/api/breathing/resonance/runs", response_model=Runs, responses=BAD,
            summary="The latest finder runs, newest first")
def runs(limit: int = Query(5, ge=1, le=50), ctx: AppContext = Depends(context)) -> Runs:
    return Runs(runs=[run_out(r) for r in resonance_runs_recent(ctx.db.conn(), limit)])


@router.get("/api/breathing/resonance/runs/{run_id}", response_model=Run, responses=NOT_FOUND,
            summary="A finder run: its steps' figures and the rate chosen")
def run_get(run_id: int = RunId, ctx: AppContext = Depends(context)) -> Run:
    conn = ctx.db.conn()
    resonance_runs_tidy(conn)  # stops a run whose page has gone
    r = resonance_run_get(conn, run_id)
    if r is None:
        raise HTTPException(404, f"no finder run {run_id}")
    return run_out(r)


@router.post("/api/breathing/resonance/runs/{run_id}/next", response_model=Run, responses=NOT_FOUND,
             summary="End the current step (measured from its beats) and pace the next; after the last, choose")
def run_next(request: Request, run_id: int = RunId, ctx: AppContext = Depends(context)) -> Run:
    try:
        r = resonance_run_next(ctx.db.conn(), run_id)
    except SessionError as exc:
        raise HTTPException(409, str(exc)) from None
    if r is None:
        raise HTTPException(404, f"no finder run {run_id}")
    return _run_paced(request, ctx, r, "started" if r.status == "running" else "ended")


@router.post("/api/breathing/resonance/runs/{run_id}/stop", response_model=Run, responses=NOT_FOUND,
             summary="Stop a running finder run (no rate is chosen)")
def run_stop(request: Request, run_id: int = RunId, ctx: AppContext = Depends(context)) -> Run:
    try:
        r = resonance_run_stop(ctx.db.conn(), run_id)
    except SessionError as exc:
        raise HTTPException(409, str(exc)) from None
    if r is None:
        raise HTTPException(404, f"no finder run {run_id}")
    return _run_paced(request, ctx, r, "ended")


@router.get("/api/breathing/resonance/rate", response_model=Rate,
            summary="The person's breathing rate: the default pace (6/min unless kept from the finder)")
def rate_get(ctx: AppContext = Depends(context)) -> Rate:
    return rate_out(resonance_rate_get(ctx.db.conn()))


@router.put("/api/breathing/resonance/rate", response_model=Rate, responses=BAD,
            summary="Keep a rate as the default pace (a finder run's choice, or one picked by hand)")
def rate_put(body: RateIn, ctx: AppContext = Depends(context)) -> Rate:
    try:
        return rate_out(resonance_rate_set(ctx.db.conn(), body.rate_per_min, body.run_id))
    except SessionError as exc:
        raise HTTPException(422, str(exc)) from None


@router.delete("/api/breathing/resonance/rate", response_model=Rate, summary="Back to the default 6/min")
def rate_reset(ctx: AppContext = Depends(context)) -> Rate:
    return rate_out(resonance_rate_reset(ctx.db.conn()))
