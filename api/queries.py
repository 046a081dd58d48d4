"""What the routes answer, computed from the database (ingest, signals and tag tables)."""

from __future__ import annotations

import bisect
import sqlite3
import statistics
from collections import Counter
from datetime import date, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from attune import timeutil
from attune.api import analysis, settling
from attune.api.breathing import sessions_between
from attune.api.models import (
    Calibration,
    Device,
    Episode,
    LabelCount,
    Moment,
    MotionScale,
    PartOfDay,
    ScoreScale,
    StateSpan,
    Status,
    Summary,
    TagOut,
    Timeline,
    Week,
    WeekDay,
)
from attune.api.tags import Tag, label_sets_aside, tags_for_episodes, tags_overlapping
from attune.ingest.events import LinkKind
from attune.ingest.readers import status_value_parse
from attune.timeutil import datetime_to_epoch_ms, epoch_ms_to_datetime

# Link life as the recorder stores it (attune.ingest.recorder / collector).
_LINK_KINDS = (LinkKind.RECORDING_STARTED, LinkKind.RECORDING_STOPPED, LinkKind.CONNECTED, LinkKind.DISCONNECTED,
               LinkKind.LINK_SILENT, LinkKind.SCAN_MISS, LinkKind.CONNECT_FAILED, LinkKind.RETRY_WAIT)
HR_RECENT_BEATS = 8  # without a tick, the strap's reading of a clean beat among the newest 8
HR_RECENT_MS = 60_000  # a heart rate older than this is not shown as the present one
UNNAMED = "not named yet"


# -- status -----------------------------------------------------------------------------------
def _connection(
    conn: sqlite3.Connection, mode: str, last_beat_ms: int | None, now_ms: int, watchdog_s: float
) -> tuple[str, sqlite3.Row | None]:
    marks = ",".join("?" * len(_LINK_KINDS))
    last = conn.execute(
        f"SELECT kind, epoch_ms, device_id FROM status_event WHERE kind IN ({marks})"
        " ORDER BY epoch_ms DESC, id DESC LIMIT 1",
        _LINK_KINDS,
    ).fetchone()
    if last is None or last["kind"] == LinkKind.RECORDING_STOPPED:
        return "not_recording", last
    # in `serve` mode a recorder elsewhere may have died without saying so: after two
    # minutes without a beat or a word from it, call it not recording
    latest_ms = max(last["epoch_ms"], last_beat_ms or 0)
    if mode == "stored" and now_ms - latest_ms > 120_000:
        return "not_recording", last
    if last["kind"] == LinkKind.CONNECTED:
        return "connected", last
    return "reconnecting", last


def _hr_now(beats: list[sqlite3.Row], tick: analysis.TickRow | None, now_ms: int) -> float | None:
    """Heart rate for the live card (bpm), given the newest beats (newest first): the
    newest tick's 60 s HR while the analysis keeps up with the beats; before there is one
    (``attune record``, the first half minute) the strap's own reading of the newest clean
    beat. None without a recent beat."""
    if not beats or now_ms - beats[0]["epoch_ms"] >= HR_RECENT_MS:
        return None
    if tick is not None and tick.hr_bpm is not None and beats[0]["epoch_ms"] - tick.epoch_ms < HR_RECENT_MS:
        return round(tick.hr_bpm, 1)
    return next((b["hr_bpm"] for b in beats if not b["flags"] and b["hr_bpm"]), None)


def status_get(conn: sqlite3.Connection, mode: Literal["live", "stored"], watchdog_s: float) -> Status:
    now_ms = timeutil.now_ms()
    beats = conn.execute(
        "SELECT epoch_ms, hr_bpm, flags FROM beat ORDER BY epoch_ms DESC, id DESC LIMIT ?", (HR_RECENT_BEATS,)
    ).fetchall()
    last_beat_ms = beats[0]["epoch_ms"] if beats else None
    tick = analysis.tick_latest(conn)
    hr = _hr_now(beats, tick, now_ms)

    connection, last_link = _connection(conn, mode, last_beat_ms, now_ms, watchdog_s)
    device = None
    drow = conn.execute(
        "SELECT d.address, d.name, d.model, d.body_location, d.has_acc, d.has_rsc FROM status_event s"
        " JOIN device d ON d.id=s.device_id WHERE s.kind='connected' ORDER BY s.epoch_ms DESC, s.id DESC LIMIT 1"
    ).fetchone()
    motion = None
    if drow is not None:
        caps = [drow["has_acc"], drow["has_rsc"]]
        if any(c is not None for c in caps):  # NULL: this strap was never asked (recorded before issue 8)
            motion = any(bool(c) for c in caps)
        device = Device(**{k: drow[k] for k in ("address", "name", "model", "body_location")})
    battery = None
    for row in conn.execute(
        "SELECT value FROM status_event WHERE kind IN ('battery','connected') ORDER BY epoch_ms DESC, id DESC LIMIT 3"
    ):
        b = status_value_parse(row["value"]).get("battery")
        if isinstance(b, int) and 0 <= b <= 100:
            battery = b
            break
    contact = None
    if connection == "connected":
        crow = conn.execute(
            "SELECT value FROM status_event WHERE kind='contact' AND epoch_ms >= ? ORDER BY epoch_ms DESC, id DESC LIMIT 1",
            (last_link["epoch_ms"] if last_link else 0,),
        ).fetchone()
        if crow is not None:
            c = status_value_parse(crow["value"]).get("contact")
            contact = c if isinstance(c, bool) else None

    fresh_tick = tick is not None and now_ms - tick.epoch_ms < 5 * 60_000
    return Status(
        mode=mode,
        connection=connection,  # type: ignore[arg-type]
        device=device,
        motion=motion,
        battery_pct=battery,
        contact=contact,
        last_beat_at=epoch_ms_to_datetime(last_beat_ms) if last_beat_ms is not None else None,
        last_beat_age_s=round((now_ms - last_beat_ms) / 1000, 1) if last_beat_ms is not None else None,
        hr_bpm=hr,
        score=tick.score if fresh_tick else None,
        state=tick.state if fresh_tick else None,
        state_words=analysis.state_words(tick.state, tick.activity_mg, tick.cadence_spm) if fresh_tick else None,
        calibration=Calibration(**analysis.calibration(conn)),
        now=epoch_ms_to_datetime(now_ms),
    )


# -- episodes and moments -------------------------------------------------------------------------
def _tag_out(tag: Tag) -> TagOut:
    return TagOut(label=tag.label, note=tag.note, updated_at=epoch_ms_to_datetime(tag.updated_epoch_ms))


def _episode_model(row: analysis.EpisodeRow, tag: Tag | None) -> Episode:
    end_ms = row.extent_end_ms
    return Episode(
        id=row.id,
        start=epoch_ms_to_datetime(row.onset_ms),
        end=epoch_ms_to_datetime(row.end_ms) if row.end_ms is not None else None,
        open=row.end_ms is None,
        peak_at=epoch_ms_to_datetime(row.peak_ms),
        duration_s=round((end_ms - row.onset_ms) / 1000, 1),
        peak_score=round(row.peak_score, 2),
        delta_hr_bpm=round(row.delta_hr_bpm, 1),
        delta_ln_rmssd=round(row.delta_ln_rmssd, 3),
        recovery_s=round((row.end_ms - row.peak_ms) / 1000, 1) if row.end_ms is not None else None,
        half_recovery_s=row.half_recovery_s,
        prolonged=row.prolonged,
        quality=round(row.quality, 3),
        tag=_tag_out(tag) if tag else None,
        needs_name=tag is None,
        motion=row.motion if row.motion in ("still", "moving") else "unknown",
        set_aside=tag is not None and label_sets_aside(tag.label),
    )


def moment_out(tag: Tag) -> Moment:
    return Moment(
        id=tag.id, start=epoch_ms_to_datetime(tag.start_epoch_ms), end=epoch_ms_to_datetime(tag.end_epoch_ms),
        label=tag.label, note=tag.note, origin=tag.origin,  # type: ignore[arg-type]
    )


def episodes_and_moments(
    conn: sqlite3.Connection, from_ms: int | None, to_ms: int | None
) -> tuple[list[Episode], list[Moment]]:
    """Episodes meeting the span with their tags, and the tags that belong to none."""
    rows = analysis.episodes_between(conn, from_ms, to_ms)
    # tags are looked up over the episodes' full extent, which may reach past the span
    lo = min([r.onset_ms for r in rows] + ([from_ms] if from_ms is not None else []), default=None)
    hi = max([r.extent_end_ms for r in rows] + ([to_ms] if to_ms is not None else []), default=None)
    tags = tags_overlapping(conn, lo, hi)
    attached, loose = tags_for_episodes([(r.id, r.onset_ms, r.extent_end_ms) for r in rows], tags)
    episodes = [_episode_model(r, attached.get(r.id)) for r in rows]
    moments = [moment_out(t) for t in loose
               if (to_ms is None or t.start_epoch_ms < to_ms) and (from_ms is None or t.end_epoch_ms > from_ms)]
    return episodes, moments


def episode_out(conn: sqlite3.Connection, row: analysis.EpisodeRow) -> Episode:
    tags = tags_overlapping(conn, row.onset_ms, row.extent_end_ms)
    attached, _ = tags_for_episodes([(row.id, row.onset_ms, row.extent_end_ms)], tags)
    return _episode_model(row, attached.get(row.id))


# -- timeline ---------------------------------------------------------------------------------------
def timeline_get(conn: sqlite3.Connection, from_ms: int, to_ms: int, max_points: int) -> Timeline:
    """HR, lnRMSSD and score averaged into at most ``max_points`` buckets, the main state
    of each bucket merged into spans, episodes with their tags, and moments."""
    span_ms = to_ms - from_ms
    bucket_ms = max(1000, -(-span_ms // max_points))  # ceil, never under a second
    n = -(-span_ms // bucket_ms)
    buckets = analysis.tick_buckets(conn, from_ms, bucket_ms, n)
    states: list[StateSpan] = []
    run_start = 0
    for i in range(1, n + 1):  # close a run where the state changes or data stops
        if i == n or buckets.state[i] != buckets.state[run_start]:
            if buckets.state[run_start] is not None:
                states.append(StateSpan(
                    state=buckets.state[run_start],
                    start=epoch_ms_to_datetime(from_ms + run_start * bucket_ms),
                    end=epoch_ms_to_datetime(min(to_ms, from_ms + i * bucket_ms)),
                ))
            run_start = i
    episodes, moments = episodes_and_moments(conn, from_ms, to_ms)
    return Timeline(
        from_=epoch_ms_to_datetime(from_ms),
        to=epoch_ms_to_datetime(to_ms),
        first_at=epoch_ms_to_datetime(from_ms),
        bucket_s=bucket_ms / 1000,
        hr_bpm=buckets.hr_bpm,
        ln_rmssd=buckets.ln_rmssd,
        score=buckets.score,
        score_scale=ScoreScale(min=analysis.SCORE_MIN, max=analysis.SCORE_MAX, activated=analysis.ACTIVATE_SCORE),
        activity_mg=buckets.activity_mg,
        posture=buckets.posture,
        motion_scale=MotionScale(moving_mg=analysis.MOVING_MIN_MG),
        states=states,
        episodes=episodes,
        moments=moments,
    )


# -- summary ----------------------------------------------------------------------------------------
_PARTS = ("night", "morning", "afternoon", "evening")


def set_aside_spans_ms(episodes: list[Episode]) -> list[tuple[int, int]]:
    """``[start_ms, end_ms)`` of the episodes set aside ("i was moving"), for
    :func:`analysis.activated_s`: every count of the regulation statistics leaves them out."""
    return [(datetime_to_epoch_ms(e.start), datetime_to_epoch_ms(e.start) + round(e.duration_s * 1000))
            for e in episodes if e.set_aside]


def summary_get(conn: sqlite3.Connection, from_ms: int, to_ms: int, tz: ZoneInfo | None) -> Summary:
    episodes, moments = episodes_and_moments(conn, from_ms, to_ms)
    # "i was moving": movement, not feeling; it counts nowhere but in set_aside
    named = [e for e in episodes if not e.set_aside]
    aside = [e for e in episodes if e.set_aside]
    labels = Counter(e.tag.label if e.tag else UNNAMED for e in named)
    labels.update(m.label for m in moments if not label_sets_aside(m.label))
    by_label = [LabelCount(label=k, count=v) for k, v in sorted(labels.items(), key=lambda kv: (kv[0] == UNNAMED, -kv[1], kv[0]))]
    parts = Counter()
    for e in named:
        local = e.start.astimezone(tz) if tz else e.start
        parts[_PARTS[local.hour // 6]] += 1
    recoveries = [e.recovery_s for e in named if e.recovery_s is not None]
    # did it help? breathing sessions in the span, and the settling comparison over the
    # four weeks ending with it, or the span if longer (a day alone almost never holds enough)
    look_ms = min(from_ms, to_ms - settling.LOOKBACK_DAYS * 86_400_000)
    n_sessions, breathing_min = settling.sessions_minutes(sessions_between(conn, from_ms, to_ms), from_ms, to_ms)
    looked = episodes if look_ms == from_ms else episodes_and_moments(conn, look_ms, to_ms)[0]
    return Summary(
        from_=epoch_ms_to_datetime(from_ms),
        to=epoch_ms_to_datetime(to_ms),
        episodes=len(named),
        set_aside=len(aside),
        by_label=by_label,
        time_of_day=[PartOfDay(part=p, count=parts[p]) for p in _PARTS],  # type: ignore[arg-type]
        median_recovery_s=round(statistics.median(recoveries), 1) if recoveries else None,
        activated_s=analysis.activated_s(conn, from_ms, to_ms, set_aside_spans_ms(episodes)),
        breathing_sessions=n_sessions,
        breathing_min=breathing_min,
        settling=settling.settling_compare(conn, look_ms, to_ms, looked),
    )


def tz_parse(name: str | None) -> ZoneInfo | None:
    """An IANA zone name from the phone (``Europe/Berlin``); ValueError if unknown."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


# -- week ------------------------------------------------------------------------------------------
WEEK_DAYS = 7
LABEL_KINDS = ("waiting", "bracing")  # the built-in names; any other is the person's own


def label_kind(label: str | None) -> str:
    """``waiting`` / ``bracing`` / ``own`` (any other name) / ``unnamed`` (None)."""
    if label is None:
        return "unnamed"
    return label if label in LABEL_KINDS else "own"


def week_get(conn: sqlite3.Connection, last_day: date, tz: ZoneInfo | None = None) -> Week:
    """The seven local days ending with ``last_day``: per day the episodes (and moments marked
    by hand) by kind of name, the minutes activated; over the week the hour of day they began."""
    zone = tz or timeutil.local_tz()
    first = last_day - timedelta(days=WEEK_DAYS - 1)
    bounds = [timeutil.local_midnight_ms(first + timedelta(days=i), zone) for i in range(WEEK_DAYS + 1)]
    episodes, moments = episodes_and_moments(conn, bounds[0], bounds[-1])
    counts = [Counter() for _ in range(WEEK_DAYS)]
    by_hour = [0] * 24
    # "i was moving" takes an episode (or a moment) out of every count, as in summary_get
    starts = [(datetime_to_epoch_ms(e.start), e.tag.label if e.tag else None) for e in episodes if not e.set_aside]
    starts += [(datetime_to_epoch_ms(m.start), m.label) for m in moments if not label_sets_aside(m.label)]
    aside = set_aside_spans_ms(episodes)
    for start_ms, label in starts:
        if not bounds[0] <= start_ms < bounds[-1]:  # began before the week: counted in its own
            continue
        day = bisect.bisect_right(bounds, start_ms) - 1
        counts[day][label_kind(label)] += 1
        by_hour[epoch_ms_to_datetime(start_ms, zone).hour] += 1
    sessions = sessions_between(conn, bounds[0], bounds[-1])
    breathing = [settling.sessions_minutes(sessions, bounds[i], bounds[i + 1]) for i in range(WEEK_DAYS)]
    days = [WeekDay(
        date=(first + timedelta(days=i)).isoformat(),
        from_=epoch_ms_to_datetime(bounds[i], zone), to=epoch_ms_to_datetime(bounds[i + 1], zone),
        activated_min=round(analysis.activated_s(conn, bounds[i], bounds[i + 1], aside) / 60, 1),
        breathing_sessions=breathing[i][0], breathing_min=breathing[i][1],
        **{k: counts[i][k] for k in ("waiting", "bracing", "own", "unnamed")},
    ) for i in range(WEEK_DAYS)]
    return Week(
        from_=epoch_ms_to_datetime(bounds[0], zone), to=epoch_ms_to_datetime(bounds[-1], zone), days=days,
        by_hour=by_hour, activated_min=round(sum(d.activated_min for d in days), 1),
        breathing_sessions=sum(n for n, _ in breathing), breathing_min=round(sum(m for _, m in breathing), 1),
        settling=settling.settling_compare(conn, bounds[0], bounds[-1], episodes),
        **{k: sum(getattr(d, k) for d in days) for k in ("waiting", "bracing", "own", "unnamed")},
    )
