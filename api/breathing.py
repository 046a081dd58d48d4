"""Paced-breathing sessions (issue 10): the one writer and reader of ``breathing_session``.

A session is a span the person spent breathing with the page's pacer, at a rate
(breaths/min) and an inhale:exhale ratio, optionally started from an episode. Its figures
come from the stored ticks (``signals.breathing`` puts RSA amplitude, coherence and the
breathing rate on every tick): means during the session, heart rate and lnRMSSD over the
5 min before, during, and the 5 min after. Those after the end are NULL until that span has
passed (:func:`sessions_settle` fills them in, once); any figure no tick gives stays NULL.

The demo's simulated person breathes with the pacer while a session runs
(:class:`DemoBreather`, :func:`rr_breathing`): its RR intervals carry a respiratory sinus
arrhythmia at the session's rate, with the swing of ``signals.simulate.BreathingProfile``.
"""

from __future__ import annotations

import csv
import json
import math
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

import numpy as np

from attune.db import db_transaction, ticks_replaced_listen
from attune.errors import AttuneError
from attune.ingest.store import beats_read
from attune.signals.resonance import (
    RESONANCE_PROTOCOL_PER_MIN,
    ResonanceConfig,
    ResonanceStep,
    resonance_select,
    resonance_step_compute,
)
from attune.signals.simulate import BreathingProfile
from attune.timeutil import now_ms

RATE_MIN_PER_MIN = 3.0   # slower than the resonance finder's 4.5/min with room to spare
RATE_MAX_PER_MIN = 15.0  # faster is no longer slow paced breathing
RATE_DEFAULT_PER_MIN = 6.0
RATIO_MIN, RATIO_MAX = 0.25, 4.0  # inhale/exhale
AROUND_MS = 5 * 60_000            # "before" and "after" spans
SESSION_MAX_MS = 3600_000         # a session left running (page closed) is ended after an hour
SETTLE_MARGIN_MS = 15_000         # the last tick of the "after" span is stored a few seconds late

COLUMNS = ("id", "start", "end", "rate_per_min", "inhale_ratio", "episode_id", "rsa_bpm", "coherence",
           "breath_rate_per_min", "hr_before_bpm", "ln_rmssd_before", "hr_during_bpm", "ln_rmssd_during",
           "hr_after_bpm", "ln_rmssd_after")


class SessionError(ValueError):
    """A session request that cannot be done (reported as 422, or 404/409 by the route)."""


@dataclass(frozen=True, slots=True)
class BreathingSession:
    id: int
    start_ms: int
    end_ms: int | None  # None while it runs
    rate_per_min: float
    inhale_ratio: float
    episode_id: int | None
    episode_onset_ms: int | None
    rsa_bpm: float | None
    coherence: float | None  # 0..1
    breath_rate_per_min: float | None
    hr_before_bpm: float | None
    ln_rmssd_before: float | None
    hr_during_bpm: float | None
    ln_rmssd_during: float | None
    hr_after_bpm: float | None
    ln_rmssd_after: float | None


_SELECT = ("SELECT id, start_ms, end_ms, rate_per_min, inhale_ratio, episode_id, episode_onset_ms, rsa_bpm, coherence,"
           " breath_rate_per_min, hr_before_bpm, ln_rmssd_before, hr_during_bpm, ln_rmssd_during, hr_after_bpm,"
           " ln_rmssd_after FROM breathing_session")


def _session(row: sqlite3.Row | tuple) -> BreathingSession:
    return BreathingSession(*row)


def _r(x: float | None, nd: int) -> float | None:
    return None if x is None else round(x, nd)


def _tick_means(conn: sqlite3.Connection, from_ms: int, to_ms: int) -> sqlite3.Row:
    """Means of the stored ticks in ``[from_ms, to_ms)`` (NULL where none gives a value)."""
    return conn.execute(
        "SELECT avg(hr_bpm), avg(ln_rmssd), avg(rsa_bpm), avg(coherence), avg(breath_rate_per_min)"
        " FROM tick WHERE epoch_ms >= ? AND epoch_ms < ?", (from_ms, to_ms)).fetchone()


def session_get(conn: sqlite3.Connection, session_id: int) -> BreathingSession | None:
    row = conn.execute(_SELECT + " WHERE id=?", (session_id,)).fetchone()
    return None if row is None else _session(row)


def session_start(conn: sqlite3.Connection, *, rate_per_min: float = RATE_DEFAULT_PER_MIN, inhale_ratio: float = 1.0,
                  episode_id: int | None = None, episode_onset_ms: int | None = None,
                  start_ms: int | None = None) -> BreathingSession:
    """Store a new running session at ``start_ms`` (default now). A session still running
    (a page closed mid-session) is ended first: now, or an hour after its start."""
    if not (math.isfinite(rate_per_min) and RATE_MIN_PER_MIN <= rate_per_min <= RATE_MAX_PER_MIN):
        raise SessionError(f"the pacer's rate is {RATE_MIN_PER_MIN:g}–{RATE_MAX_PER_MIN:g} breaths/min")
    if not (math.isfinite(inhale_ratio) and RATIO_MIN <= inhale_ratio <= RATIO_MAX):
        raise SessionError(f"inhale:exhale is between {RATIO_MIN:g} and {RATIO_MAX:g} (inhale / exhale)")
    at = now_ms() if start_ms is None else start_ms
    with db_transaction(conn):
        for old in conn.execute(_SELECT + " WHERE end_ms IS NULL").fetchall():
            _end(conn, _session(old), max(old[1] + 1, min(at, old[1] + SESSION_MAX_MS)))
        sid = conn.execute(
            "INSERT INTO breathing_session(start_ms, rate_per_min, inhale_ratio, episode_id, episode_onset_ms,"
            " created_epoch_ms) VALUES (?,?,?,?,?,?)",
            (at, float(rate_per_min), float(inhale_ratio), episode_id, episode_onset_ms, now_ms())).lastrowid
    return session_get(conn, sid)  # type: ignore[return-value]


def _end(conn: sqlite3.Connection, s: BreathingSession, end_ms: int) -> None:
    before = _tick_means(conn, s.start_ms - AROUND_MS, s.start_ms)
    during = _tick_means(conn, s.start_ms, end_ms)
    conn.execute(
        "UPDATE breathing_session SET end_ms=?, hr_before_bpm=?, ln_rmssd_before=?, hr_during_bpm=?, ln_rmssd_during=?,"
        " rsa_bpm=?, coherence=?, breath_rate_per_min=? WHERE id=?",
        (end_ms, _r(before[0], 1), _r(before[1], 3), _r(during[0], 1), _r(during[1], 3), _r(during[2], 2),
         _r(during[3], 3), _r(during[4], 2), s.id))


def session_end(conn: sqlite3.Connection, session_id: int, end_ms: int | None = None) -> BreathingSession | None:
    """End a running session (default now) and compute its figures from the stored ticks.
    None if there is no such session; SessionError if it has already ended."""
    at = now_ms() if end_ms is None else end_ms
    with db_transaction(conn):
        s = session_get(conn, session_id)
        if s is None:
            return None
        if s.end_ms is not None:
            raise SessionError(f"session {session_id} has already ended")
        _end(conn, s, max(at, s.start_ms + 1))
    sessions_settle(conn)
    return session_get(conn, session_id)


def sessions_settle(conn: sqlite3.Connection, now: int | None = None) -> int:
    """Fill in heart rate and lnRMSSD of the 5 min after each ended session whose "after"
    span has passed and was not computed yet. Returns how many sessions were filled in."""
    at = now_ms() if now is None else now
    done = 0
    rows = conn.execute("SELECT id, end_ms FROM breathing_session WHERE end_ms IS NOT NULL AND stats_after_ms IS NULL"
                        " AND end_ms <= ?", (at - AROUND_MS - SETTLE_MARGIN_MS,)).fetchall()
    if not rows:
        return 0
    with db_transaction(conn):
        for sid, end in rows:
            after = _tick_means(conn, end, end + AROUND_MS)
            conn.execute("UPDATE breathing_session SET hr_after_bpm=?, ln_rmssd_after=?, stats_after_ms=? WHERE id=?",
                         (_r(after[0], 1), _r(after[1], 3), at, sid))
            done += 1
    return done


def sessions_refresh(conn: sqlite3.Connection, from_ms: int, to_ms: int) -> int:
    """Recompute, from the ticks stored now, the figures of the ended sessions whose before,
    during or after span meets ``[from_ms, to_ms)``: called when a re-analysis (``attune
    analyze --db``, an import, a finished pending analysis) has rewritten those ticks, inside
    its transaction. "After" figures are recomputed only where already computed
    (:func:`sessions_settle` does the others when their time comes). Returns how many
    sessions were recomputed."""
    rows = conn.execute(_SELECT + " WHERE end_ms IS NOT NULL AND start_ms < ? AND end_ms > ?",
                        (to_ms + AROUND_MS, from_ms - AROUND_MS)).fetchall()
    if not rows:
        return 0
    with db_transaction(conn):  # joins the re-analysis's transaction
        for row in rows:
            s = _session(row)
            _end(conn, s, s.end_ms)  # type: ignore[arg-type]
            after = _tick_means(conn, s.end_ms, s.end_ms + AROUND_MS)  # type: ignore[operator]
            conn.execute("UPDATE breathing_session SET hr_after_bpm=?, ln_rmssd_after=?, stats_after_ms=?"
                         " WHERE id=? AND stats_after_ms IS NOT NULL", (_r(after[0], 1), _r(after[1], 3), now_ms(), s.id))
    return len(rows)


# a re-analysis that rewrites ticks refreshes the sessions they gave figures to
ticks_replaced_listen("breathing_session", sessions_refresh)


def sessions_between(conn: sqlite3.Connection, from_ms: int | None, to_ms: int | None) -> list[BreathingSession]:
    """Sessions meeting ``[from_ms, to_ms)`` (a running one reaches the present), oldest first."""
    sql, args = _SELECT + " WHERE 1=1", []
    if to_ms is not None:
        sql += " AND start_ms < ?"
        args.append(to_ms)
    if from_ms is not None:
        sql += " AND (end_ms IS NULL OR end_ms > ?)"
        args.append(from_ms)
    return [_session(r) for r in conn.execute(sql + " ORDER BY start_ms, id", args).fetchall()]


def session_export_rows(conn: sqlite3.Connection, from_ms: int | None, to_ms: int | None) -> Iterator[tuple]:
    """Rows of :data:`COLUMNS` for ``attune export`` and ``/api/export`` (times as ISO 8601)."""
    from attune.timeutil import epoch_ms_to_iso

    for s in sessions_between(conn, from_ms, to_ms):
        yield (s.id, epoch_ms_to_iso(s.start_ms), None if s.end_ms is None else epoch_ms_to_iso(s.end_ms),
               s.rate_per_min, s.inhale_ratio, s.episode_id, s.rsa_bpm, s.coherence, s.breath_rate_per_min,
               s.hr_before_bpm, s.ln_rmssd_before, s.hr_during_bpm, s.ln_rmssd_during, s.hr_after_bpm, s.ln_rmssd_after)


# -- the resonance-frequency finder (migration 0010) -----------------------------------------------
# A run paces the protocol's steps one after the other; each step is a breathing session
# (started and ended here, so it has the session figures and shows on the day) plus a
# resonance_step row with the step's own figures, computed from its stored beats when it
# ends (signals.resonance). The page advances the steps; a page that goes away leaves a
# run whose step is overdue, which the next read stops (its session ended at the step's
# end): there is never a run waiting for a page that will not come back.
STEP_MIN_S, STEP_MAX_S, STEP_DEFAULT_S = 20.0, 600.0, 120.0
SETTLE_MAX_S = 15.0          # default settling-in: 15 s, at most a quarter of a short step
STEP_EARLY_MS = 1_500        # "next" this much before a step's end is accepted (timers drift)
STEP_GRACE_MS = 30_000       # a step not advanced this long after its end: the page has gone


@dataclass(frozen=True, slots=True)
class ResonanceRunStep:
    k: int
    rate_per_min: float
    session_id: int
    start_ms: int
    end_ms: int | None
    n_beats: int | None
    window_s: float | None
    rsa_bpm: float | None
    peak_power_bpm2: float | None
    coherence: float | None
    breath_rate_per_min: float | None
    usable: bool | None  # None while the step runs
    reason: str | None
    score: float | None


@dataclass(frozen=True, slots=True)
class ResonanceRun:
    id: int
    start_ms: int
    end_ms: int | None
    status: str  # running | done | stopped
    step_s: float
    settle_s: float
    inhale_ratio: float
    chosen_per_min: float | None
    reason: str | None
    steps: tuple[ResonanceRunStep, ...]

    @property
    def current(self) -> ResonanceRunStep | None:
        """The step being paced (None unless running)."""
        return self.steps[-1] if self.status == "running" and self.steps else None


def resonance_run_get(conn: sqlite3.Connection, run_id: int) -> ResonanceRun | None:
    row = conn.execute("SELECT id, start_ms, end_ms, status, step_s, settle_s, inhale_ratio, chosen_per_min, reason"
                       " FROM resonance_run WHERE id=?", (run_id,)).fetchone()
    if row is None:
        return None
    steps = conn.execute(
        "SELECT k, rate_per_min, session_id, start_ms, end_ms, n_beats, window_s, rsa_bpm, peak_power_bpm2, coherence,"
        " breath_rate_per_min, usable, reason, score FROM resonance_step WHERE run_id=? ORDER BY k", (run_id,)).fetchall()
    return ResonanceRun(*row, steps=tuple(
        ResonanceRunStep(*s[:11], None if s[11] is None else bool(s[11]), *s[12:]) for s in steps))


def resonance_runs_recent(conn: sqlite3.Connection, limit: int = 5) -> list[ResonanceRun]:
    """The latest runs, newest first (running runs whose page has gone are stopped first)."""
    resonance_runs_tidy(conn)
    ids = [r[0] for r in conn.execute("SELECT id FROM resonance_run ORDER BY start_ms DESC, id DESC LIMIT ?", (limit,))]
    return [r for r in (resonance_run_get(conn, i) for i in ids) if r is not None]


def _step_start(conn: sqlite3.Connection, run_id: int, k: int, rate: float, ratio: float, at: int) -> None:
    s = session_start(conn, rate_per_min=rate, inhale_ratio=ratio, start_ms=at)
    conn.execute("INSERT INTO resonance_step(run_id, k, rate_per_min, session_id, start_ms) VALUES (?,?,?,?,?)",
                 (run_id, k, rate, s.id, at))


def _step_end(conn: sqlite3.Connection, run: ResonanceRun, step: ResonanceRunStep, at: int) -> None:
    """End a step's session (if it still runs) and store the step's figures from its beats."""
    end = max(at, step.start_ms + 1)
    s = session_get(conn, step.session_id)
    if s is not None and s.end_ms is None:
        _end(conn, s, end)
    elif s is not None and s.end_ms is not None:
        end = min(end, s.end_ms)  # ended elsewhere (another session, "End"): the step ends there
    beats = list(beats_read(conn, step.start_ms, end))
    cols = np.array(beats, dtype=float).reshape(-1, 5).T
    f = resonance_step_compute(step.rate_per_min, cols[0].astype(np.int64), cols[1], step.start_ms, end,
                               segment_id=cols[3].astype(np.int64), flags=cols[4].astype(np.int64),
                               config=ResonanceConfig(settle_s=run.settle_s))
    conn.execute(
        "UPDATE resonance_step SET end_ms=?, n_beats=?, window_s=?, rsa_bpm=?, peak_power_bpm2=?, coherence=?,"
        " breath_rate_per_min=?, usable=?, reason=? WHERE run_id=? AND k=?",
        (end, f.n_beats, f.window_s, _r(f.rsa_bpm, 2), _r(f.peak_power_bpm2, 2), _r(f.coherence, 3),
         _r(f.breath_rate_per_min, 2), int(f.usable), f.reason, run.id, step.k))


def _run_stop(conn: sqlite3.Connection, run: ResonanceRun, at: int) -> None:
    step = run.current
    if step is not None:
        _step_end(conn, run, step, min(at, step.start_ms + round(run.step_s * 1000)))
    conn.execute("UPDATE resonance_run SET status='stopped', end_ms=?, reason=? WHERE id=?",
                 (max(at, run.start_ms), "stopped before the last step", run.id))


def resonance_runs_tidy(conn: sqlite3.Connection, now: int | None = None) -> int:
    """Stop running runs that nobody paces any more: the current step is more than
    :data:`STEP_GRACE_MS` past its end (the page closed), or its session was ended by
    something else (another session, "End"). Returns how many were stopped."""
    at = now_ms() if now is None else now
    stopped = 0
    with db_transaction(conn):
        for (rid,) in conn.execute("SELECT id FROM resonance_run WHERE status='running'").fetchall():
            run = resonance_run_get(conn, rid)
            step = run.current if run else None
            if run is None or step is None:
                continue
            s = session_get(conn, step.session_id)
            overdue = at > step.start_ms + run.step_s * 1000 + STEP_GRACE_MS
            if overdue or s is None or s.end_ms is not None:
                _run_stop(conn, run, at)
                stopped += 1
    return stopped


def resonance_run_start(conn: sqlite3.Connection, *, step_s: float = STEP_DEFAULT_S, settle_s: float | None = None,
                        inhale_ratio: float = 1.0, start_ms: int | None = None) -> ResonanceRun:
    """Start a finder run at ``start_ms`` (default now): its first step (6.5/min) is a new
    breathing session. A run still running is stopped first. ``settle_s`` defaults to
    15 s, at most a quarter of the step."""
    if not (math.isfinite(step_s) and STEP_MIN_S <= step_s <= STEP_MAX_S):
        raise SessionError(f"a step lasts {STEP_MIN_S:g}–{STEP_MAX_S:g} s")
    settle = min(SETTLE_MAX_S, step_s / 4) if settle_s is None else settle_s
    if not (math.isfinite(settle) and 0 <= settle <= step_s - ResonanceConfig.min_window_s):
        raise SessionError(f"settling in lasts 0 s to the step's length minus {ResonanceConfig.min_window_s:g} s")
    if not (math.isfinite(inhale_ratio) and RATIO_MIN <= inhale_ratio <= RATIO_MAX):
        raise SessionError(f"inhale:exhale is between {RATIO_MIN:g} and {RATIO_MAX:g} (inhale / exhale)")
    at = now_ms() if start_ms is None else start_ms
    with db_transaction(conn):
        for (rid,) in conn.execute("SELECT id FROM resonance_run WHERE status='running'").fetchall():
            old = resonance_run_get(conn, rid)
            if old is not None:
                _run_stop(conn, old, at)
        rid = conn.execute(
            "INSERT INTO resonance_run(start_ms, status, step_s, settle_s, inhale_ratio, created_epoch_ms)"
            " VALUES (?, 'running', ?, ?, ?, ?)", (at, float(step_s), float(settle), float(inhale_ratio), now_ms())
        ).lastrowid
        _step_start(conn, rid, 1, RESONANCE_PROTOCOL_PER_MIN[0], inhale_ratio, at)
    return resonance_run_get(conn, rid)  # type: ignore[return-value]


def resonance_run_next(conn: sqlite3.Connection, run_id: int, at_ms: int | None = None) -> ResonanceRun | None:
    """End the run's current step (its figures from its beats) and start the next one; after
    the last, choose the rate (:func:`signals.resonance.resonance_select`) and finish the
    run. None if there is no such run; SessionError if it is not running or the step has
    not lasted its length yet."""
    at = now_ms() if at_ms is None else at_ms
    resonance_runs_tidy(conn, at)
    with db_transaction(conn):
        run = resonance_run_get(conn, run_id)
        if run is None:
            return None
        step = run.current
        if step is None:
            raise SessionError(f"finder run {run_id} is {run.status}, not running")
        step_end = step.start_ms + round(run.step_s * 1000)
        if at < step_end - STEP_EARLY_MS:
            raise SessionError(f"step {step.k} runs {math.ceil((step_end - at) / 1000)} s more")
        _step_end(conn, run, step, at)
        if step.k < len(RESONANCE_PROTOCOL_PER_MIN):
            _step_start(conn, run.id, step.k + 1, RESONANCE_PROTOCOL_PER_MIN[step.k], run.inhale_ratio, at)
        else:
            done = resonance_run_get(conn, run_id)
            assert done is not None
            choice = resonance_select([
                ResonanceStep(s.rate_per_min, s.n_beats or 0, s.window_s or 0.0, s.rsa_bpm, s.peak_power_bpm2,
                              s.coherence, s.breath_rate_per_min, bool(s.usable), s.reason) for s in done.steps])
            for s, score in zip(done.steps, choice.scores, strict=True):
                conn.execute("UPDATE resonance_step SET score=? WHERE run_id=? AND k=?", (score, run_id, s.k))
            conn.execute("UPDATE resonance_run SET status='done', end_ms=?, chosen_per_min=?, reason=? WHERE id=?",
                         (at, choice.rate_per_min, choice.reason, run_id))
    return resonance_run_get(conn, run_id)


def resonance_run_stop(conn: sqlite3.Connection, run_id: int, at_ms: int | None = None) -> ResonanceRun | None:
    """Stop a running run now (its current step ends and is measured; no rate is chosen).
    None if there is no such run; SessionError if it is not running."""
    at = now_ms() if at_ms is None else at_ms
    with db_transaction(conn):
        run = resonance_run_get(conn, run_id)
        if run is None:
            return None
        if run.status != "running":
            raise SessionError(f"finder run {run_id} is {run.status}, not running")
        _run_stop(conn, run, at)
    return resonance_run_get(conn, run_id)


@dataclass(frozen=True, slots=True)
class ResonanceRate:
    rate_per_min: float
    run_id: int | None     # the finder run it came from
    set_ms: int | None     # None: never set (the default)


def resonance_rate_get(conn: sqlite3.Connection) -> ResonanceRate:
    """The person's breathing rate: the one they kept from the finder (or chose), else 6/min."""
    row = conn.execute("SELECT rate_per_min, run_id, set_epoch_ms FROM resonance_rate WHERE id=1").fetchone()
    return ResonanceRate(RATE_DEFAULT_PER_MIN, None, None) if row is None else ResonanceRate(*row)


def resonance_rate_set(conn: sqlite3.Connection, rate_per_min: float, run_id: int | None = None) -> ResonanceRate:
    """Keep ``rate_per_min`` as the person's rate; with ``run_id`` it must be that finished
    run's choice. SessionError otherwise."""
    if not (math.isfinite(rate_per_min) and RATE_MIN_PER_MIN <= rate_per_min <= RATE_MAX_PER_MIN):
        raise SessionError(f"the pacer's rate is {RATE_MIN_PER_MIN:g}–{RATE_MAX_PER_MIN:g} breaths/min")
    with db_transaction(conn):
        if run_id is not None:
            row = conn.execute("SELECT status, chosen_per_min FROM resonance_run WHERE id=?", (run_id,)).fetchone()
            if row is None or row[0] != "done" or row[1] is None:
                raise SessionError(f"finder run {run_id} chose no rate")
            if abs(row[1] - rate_per_min) > 1e-9:
                raise SessionError(f"finder run {run_id} chose {row[1]:g}/min, not {rate_per_min:g}/min")
        conn.execute("INSERT INTO resonance_rate(id, rate_per_min, run_id, set_epoch_ms) VALUES (1,?,?,?)"
                     " ON CONFLICT(id) DO UPDATE SET rate_per_min=excluded.rate_per_min, run_id=excluded.run_id,"
                     " set_epoch_ms=excluded.set_epoch_ms", (float(rate_per_min), run_id, now_ms()))
    return resonance_rate_get(conn)


def resonance_rate_reset(conn: sqlite3.Connection) -> ResonanceRate:
    """Back to the default 6/min."""
    with db_transaction(conn):
        conn.execute("DELETE FROM resonance_rate WHERE id=1")
    return resonance_rate_get(conn)


# -- the demo's simulated person breathes with the pacer ------------------------------------------
# the demo's person: their heart swings most at 5.5/min (not the default 6/min), so the
# finder has something to find in `attune demo`; a narrower resonance than the default
# profile's, so that even short test steps tell it apart
DEMO_PERSON = BreathingProfile(resonance_per_min=5.5, resonance_width_per_min=1.2)


class DemoBreather:
    """What the demo's simulated person is doing: breathing at ``rate_per_min`` while a
    session runs (set by the session routes), breathing freely (None) otherwise."""

    def __init__(self) -> None:
        self.rate_per_min: float | None = None

    def pace(self, rate_per_min: float | None) -> None:
        self.rate_per_min = rate_per_min


def rr_breathing(rr_ms: Iterator[float], breather: DemoBreather,
                 person: BreathingProfile | None = None) -> Iterator[float]:
    """RR intervals (ms) of ``rr_ms``, with a respiratory sinus arrhythmia at the breather's
    rate while it paces: the heart rate of each beat is raised by ``swing/2 · sin(phase)``,
    the phase advancing with the time each beat takes, as in ``signals.simulate.rr_with_rsa``
    (largest near the person's resonance, 6/min). Unchanged while no session runs."""
    person = person or BreathingProfile()
    phase = 0.0
    for rr in rr_ms:
        rate = breather.rate_per_min
        if rate is None or rr <= 0:
            phase = 0.0
            yield rr
            continue
        phase += 2 * math.pi * rate / 60.0 * rr / 1000.0
        hr = 60_000.0 / rr + float(person.swing_bpm(rate)) / 2 * math.sin(phase)
        yield 60_000.0 / max(hr, 30.0)


def sessions_export(conn: sqlite3.Connection, out: TextIO, format: str, from_ms: int | None = None,
                    to_ms: int | None = None) -> int:
    """``attune export --table sessions``: csv (header + rows) or json (an array of objects),
    as ``/api/export``'s ``sessions`` table. Returns the number of sessions written."""
    if format not in ("csv", "json"):
        raise AttuneError(f"breathing sessions export as csv or json, not {format}")
    n = 0
    rows = session_export_rows(conn, from_ms, to_ms)
    if format == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
            n += 1
    else:
        out.write("[")
        for row in rows:
            out.write(("," if n else "") + "\n" + json.dumps(dict(zip(COLUMNS, row, strict=True))))
            n += 1
        out.write("\n]\n")
    return n
