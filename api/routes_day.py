"""The day: timeline, episodes with their names, and a summary."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, HTTPException, Query

from attune.api import queries
from attune.api.deps import AppContext, context
from attune.api.models import Episodes, Problem, Summary, Timeline, Week, ZonedTime
from attune.timeutil import datetime_to_epoch_ms, epoch_ms_to_datetime, local_day_bounds_ms, local_tz, now_ms

router = APIRouter(tags=["day"])

DAY_MS = 24 * 3600 * 1000
BAD = {422: {"model": Problem}}

FromQ = Query(None, alias="from", description="start, ISO 8601 with zone (default: today's midnight here)")
ToQ = Query(None, description="end (exclusive), ISO 8601 with zone (default: the next midnight)")


def span_ms(from_: ZonedTime | None, to: ZonedTime | None, max_days: float) -> tuple[int, int]:
    """``[from, to)`` in Unix ms; today when neither is given, one day when one is."""
    if from_ is None and to is None:
        return local_day_bounds_ms()
    a = datetime_to_epoch_ms(from_) if from_ is not None else datetime_to_epoch_ms(to) - DAY_MS  # type: ignore[arg-type]
    b = datetime_to_epoch_ms(to) if to is not None else a + DAY_MS
    if b <= a:
        raise HTTPException(422, "`to` must be after `from`")
    if b - a > max_days * DAY_MS:
        raise HTTPException(422, f"ask for at most {max_days:g} days at a time")
    return a, b


@router.get("/api/timeline", response_model=Timeline, response_model_by_alias=True, responses=BAD,
            summary="Heart rate, lnRMSSD, activation, states, episodes and moments, sized for a phone")
def timeline(
    from_: ZonedTime | None = FromQ,
    to: ZonedTime | None = ToQ,
    max_points: int = Query(720, ge=10, le=5000, description="most buckets per series"),
    ctx: AppContext = Depends(context),
) -> Timeline:
    a, b = span_ms(from_, to, max_days=31)
    return queries.timeline_get(ctx.db.conn(), a, b, max_points)


@router.get("/api/episodes", response_model=Episodes, responses=BAD,
            summary="Episodes of activation with their names, and moments you marked")
def episodes(from_: ZonedTime | None = FromQ, to: ZonedTime | None = ToQ, ctx: AppContext = Depends(context)) -> Episodes:
    a, b = span_ms(from_, to, max_days=366)
    found, moments = queries.episodes_and_moments(ctx.db.conn(), a, b)
    return Episodes(episodes=found, moments=moments)


@router.get("/api/summary", response_model=Summary, response_model_by_alias=True, responses=BAD,
            summary="Counts by name, time-of-day pattern and median time to settle")
def summary(
    from_: ZonedTime | None = FromQ,
    to: ZonedTime | None = ToQ,
    tz: str | None = Query(None, max_length=64, description="IANA zone for the time of day, e.g. Europe/Berlin (default: this machine's)"),
    ctx: AppContext = Depends(context),
) -> Summary:
    a, b = span_ms(from_, to, max_days=366)
    try:
        zone = queries.tz_parse(tz)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return queries.summary_get(ctx.db.conn(), a, b, zone)


@router.get("/api/week", response_model=Week, response_model_by_alias=True, responses=BAD,
            summary="Seven days: per day the episodes by kind of name and minutes activated; hours they began")
def week(
    end: date | None = Query(None, description="the week's last day, YYYY-MM-DD (default: today there)"),
    tz: str | None = Query(None, max_length=64, description="IANA zone of the days, e.g. Europe/Berlin (default: this machine's)"),
    ctx: AppContext = Depends(context),
) -> Week:
    try:
        zone = queries.tz_parse(tz)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    last = end or epoch_ms_to_datetime(now_ms(), zone or local_tz()).date()
    if not date(1971, 1, 7) <= last <= date(9998, 12, 31):
        raise HTTPException(422, "`end` is out of range")
    return queries.week_get(ctx.db.conn(), last, zone)
