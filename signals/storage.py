"""SQLite persistence of the signal pipeline's results (tables of 0002_signals.sql).

Two writers: the live pipeline appends as events arrive (inside the recorder's open
transaction), and a re-analysis replaces a time span at once. Episode rows keep their
id across a re-analysis when the new episode overlaps the stored one (see
:func:`episodes_replace`), so tags that point at an id survive where the episode does.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import tzinfo

import numpy as np

from attune.db import ticks_replaced_notify
from attune.signals.additional_hr import MotionModelState
from attune.signals.baseline import Baseline, BaselineConfig
from attune.signals.events import (
    BaselineSampled,
    BaselineUpdated,
    Episode,
    EpisodeAnnounced,
    EpisodeEnded,
    EpisodeUpdated,
    Event,
    MotionStatus,
    StateChanged,
    Tick,
)
from attune.timeutil import now_ms

log = logging.getLogger(__name__)
DEFAULT_BASELINE = BaselineConfig()
_TICK_COLUMNS = (
    "epoch_ms", "state", "hr_bpm", "hr_fast_bpm", "rmssd_ms", "ln_rmssd", "sdnn_ms", "coverage",
    "artifact_fraction", "score", "z_hr", "z_ln_rmssd", "calibration",
    "activity_mg", "posture", "cadence_spm", "hr_expected_bpm",
    "breath_rate_per_min", "rsa_bpm", "coherence", "baseline_used",
)
_EPISODE_COLUMNS = (
    "onset_ms", "peak_ms", "end_ms", "confirmed_ms", "peak_score", "delta_hr_bpm", "delta_ln_rmssd",
    "duration_s", "half_recovery_s", "quality", "prolonged", "status", "motion", "source", "updated_ms",
)


# -- beats -----------------------------------------------------------------------------------
# Beat times an analysis considers: 1990-01-01 .. 2100-01-01 UTC (Unix ms). Imports before
# attune checked values could store times like -2^63 ms; they are left out, counted.
BEAT_EPOCH_MS_RANGE = (631_152_000_000, 4_102_444_800_000)


def beats_span(conn: sqlite3.Connection) -> tuple[int, int] | None:
    """First and last stored beat time within :data:`BEAT_EPOCH_MS_RANGE`, or None
    without such beats (beats outside are logged, once per call, and never analysed)."""
    row = conn.execute("SELECT min(epoch_ms), max(epoch_ms) FROM beat WHERE epoch_ms BETWEEN ? AND ?",
                       BEAT_EPOCH_MS_RANGE).fetchone()
    lo, hi = BEAT_EPOCH_MS_RANGE
    bad = conn.execute("SELECT (SELECT count(*) FROM beat WHERE epoch_ms < ?) + (SELECT count(*) FROM beat"
                       " WHERE epoch_ms > ?)", (lo, hi)).fetchone()[0]
    if bad:
        log.warning("%d stored beats have impossible times (before 1990 or after 2100, written by an import "
                    "before attune checked values); they are left out of the analysis", bad)
    return None if row[0] is None else (int(row[0]), int(row[1]))


# -- baseline -----------------------------------------------------------------------------------
def baseline_rebuild(
    conn: sqlite3.Connection, before_ms: int, config: BaselineConfig = DEFAULT_BASELINE, tz: tzinfo | None = None
) -> Baseline:
    """The baseline as it stood at ``before_ms``: every stored tick counted into it
    (``baseline_used = 1``) in the ``config.days`` before, re-counted."""
    from datetime import UTC

    baseline = Baseline(config, tz or UTC)
    since = before_ms - config.days * 86_400_000
    rows = conn.execute(
        "SELECT epoch_ms, hr_bpm, coalesce(hr_fast_bpm, 'nan'), ln_rmssd FROM tick"
        " WHERE baseline_used = 1 AND epoch_ms >= ? AND epoch_ms < ? ORDER BY epoch_ms",
        (since, before_ms),
    ).fetchall()
    if rows:
        t, hr, hrf, ln = (np.asarray(c) for c in zip(*rows, strict=True))
        baseline.add_many(t.astype(np.int64), hr.astype(float), hrf.astype(float), ln.astype(float))
    return baseline


# -- the personal motion model --------------------------------------------------------------------
def motion_model_write(conn: sqlite3.Connection, epoch_ms: int, state: MotionModelState) -> None:
    """Store the motion model as it stood after the ticks up to ``epoch_ms`` (no commit)."""
    up = state.upright_ref if state.upright_ref is not None else (None, None, None)
    conn.execute(
        "INSERT OR REPLACE INTO motion_model(epoch_ms, upright_x, upright_y, upright_z, bin_edges_mg,"
        " residual_sum, n_ticks) VALUES (?,?,?,?,?,?,?)",
        (int(epoch_ms), *up, json.dumps(list(state.bin_edges_mg)), json.dumps(list(state.residual_sum)),
         json.dumps(list(state.n_ticks))),
    )


def motion_model_read(conn: sqlite3.Connection, before_ms: int) -> MotionModelState | None:
    """The motion model stored last before ``before_ms`` (None: nothing learnt yet), as
    :func:`baseline_rebuild` gives the baseline: a restart or a re-analysis continues from it."""
    row = conn.execute(
        "SELECT upright_x, upright_y, upright_z, bin_edges_mg, residual_sum, n_ticks FROM motion_model"
        " WHERE epoch_ms < ? ORDER BY epoch_ms DESC LIMIT 1", (int(before_ms),)).fetchone()
    if row is None:
        return None
    up = None if row[0] is None else (float(row[0]), float(row[1]), float(row[2]))
    edges, sums, n = (json.loads(row[k]) for k in (3, 4, 5))
    return MotionModelState(up, tuple(float(x) for x in edges), tuple(float(x) for x in sums), tuple(int(x) for x in n))


# -- rows ---------------------------------------------------------------------------------------
def _tick_row(t: Tick, used: bool) -> tuple:
    return (t.epoch_ms, t.state, t.hr_bpm, t.hr_fast_bpm, t.rmssd_ms, t.ln_rmssd, t.sdnn_ms, t.coverage,
            t.artifact_fraction, t.score, t.z_hr, t.z_ln_rmssd, t.calibration,
            t.activity_mg, t.posture, t.cadence_spm, t.hr_expected_bpm,
            t.breath_rate_per_min, t.rsa_bpm, t.coherence, int(used))


def _episode_row(e: Episode, source: str) -> tuple:
    return (e.onset_ms, e.peak_ms, e.end_ms, e.confirmed_ms, e.peak_score, e.delta_hr_bpm, e.delta_ln_rmssd,
            e.duration_s, e.half_recovery_s, e.quality, int(e.prolonged), e.status, e.motion, source, now_ms())


def _baseline_rows(event: BaselineUpdated) -> list[tuple]:
    return [(event.epoch_ms, b, *list(asdict(est).values())) for b, est in enumerate(event.estimates)]


_INSERT_TICK = f"INSERT OR REPLACE INTO tick({', '.join(_TICK_COLUMNS)}) VALUES ({', '.join('?' * len(_TICK_COLUMNS))})"
_INSERT_BASELINE = (
    "INSERT OR REPLACE INTO baseline(epoch_ms, tod_bin, hr_bpm, hr_spread_bpm, hr_fast_bpm, hr_fast_spread_bpm,"
    " ln_rmssd, ln_rmssd_spread, progress, n_ticks) VALUES (?,?,?,?,?,?,?,?,?,?)"
)


# -- live: append events as they come -------------------------------------------------------------
def events_write(conn: sqlite3.Connection, events: Iterable[Event], source: str = "live") -> dict[int, int]:
    """Write events in order (no commit). Returns ``{onset_ms: episode id}`` of the
    episodes written, so the caller can tell listeners the ids."""
    ids: dict[int, int] = {}
    for e in events:
        if isinstance(e, Tick):
            conn.execute(_INSERT_TICK, _tick_row(e, False))
        elif isinstance(e, BaselineSampled):
            conn.execute("UPDATE tick SET baseline_used = 1 WHERE epoch_ms = ?", (e.epoch_ms,))
        elif isinstance(e, StateChanged):
            conn.execute("INSERT OR REPLACE INTO state_change(epoch_ms, state, previous) VALUES (?,?,?)",
                         (e.epoch_ms, e.state, e.previous))
        elif isinstance(e, EpisodeAnnounced | EpisodeUpdated | EpisodeEnded):
            ids[e.episode.onset_ms] = episode_upsert(conn, e.episode, source)
        elif isinstance(e, BaselineUpdated):
            conn.executemany(_INSERT_BASELINE, _baseline_rows(e))
    return ids


def episode_upsert(conn: sqlite3.Connection, episode: Episode, source: str = "live") -> int:
    """Insert or update the episode with this onset (its natural key); return its id."""
    row = _episode_row(episode, source)
    conn.execute(
        f"INSERT INTO episode({', '.join(_EPISODE_COLUMNS)}) VALUES ({', '.join('?' * len(_EPISODE_COLUMNS))})"
        " ON CONFLICT(onset_ms) DO UPDATE SET "
        + ", ".join(f"{c}=excluded.{c}" for c in _EPISODE_COLUMNS[1:]),
        row,
    )
    return int(conn.execute("SELECT id FROM episode WHERE onset_ms = ?", (episode.onset_ms,)).fetchone()[0])


def episodes_close_dangling(conn: sqlite3.Connection) -> int:
    """Episodes left ``open`` by a pipeline that stopped without finishing (crash, kill):
    end them at their last stored tick. Returns how many."""
    rows = conn.execute("SELECT id, onset_ms FROM episode WHERE status = 'open'").fetchall()
    for ep_id, onset in rows:
        last = conn.execute(
            "SELECT max(epoch_ms) FROM tick WHERE epoch_ms >= ? AND score IS NOT NULL", (onset,)
        ).fetchone()[0]
        end = last if last is not None else onset
        conn.execute(
            "UPDATE episode SET status = 'ended', end_ms = coalesce(end_ms, ?),"
            " duration_s = (coalesce(end_ms, ?) - onset_ms) / 1000.0, updated_ms = ? WHERE id = ?",
            (end, end, now_ms(), ep_id),
        )
    return len(rows)


# -- re-analysis: replace a span ------------------------------------------------------------------
def _overlap_s(a0: int, a1: int, b0: int, b1: int) -> float:
    return max(0, min(a1, b1) - max(a0, b0)) / 1000.0


def episodes_replace(
    conn: sqlite3.Connection, from_ms: int, to_ms: int, episodes: Sequence[Episode], source: str = "analysis"
) -> list[int]:
    """Make the stored episodes with onset in ``[from_ms, to_ms]`` equal ``episodes``.

    A new episode takes over the row (and id) of the stored one it overlaps most (at
    least half of the shorter of the two); stored episodes that match nothing are
    deleted. Returns the ids of ``episodes`` in order.
    """
    old = conn.execute(
        "SELECT id, onset_ms, coalesce(end_ms, onset_ms) FROM episode WHERE onset_ms BETWEEN ? AND ?",
        (from_ms, to_ms),
    ).fetchall()
    free = {int(r[0]): (int(r[1]), int(r[2])) for r in old}
    plan: list[tuple[Episode, int | None]] = []
    for ep in sorted(episodes, key=lambda e: e.onset_ms):
        end = ep.end_ms if ep.end_ms is not None else ep.onset_ms
        best, best_frac = None, 0.0
        for ep_id, (o0, o1) in free.items():
            shorter = max(1.0, min(end - ep.onset_ms, o1 - o0) / 1000.0)
            frac = _overlap_s(ep.onset_ms, end, o0, o1) / shorter
            if frac > best_frac:
                best, best_frac = ep_id, frac
        if best is not None and best_frac >= 0.5:
            del free[best]
            plan.append((ep, best))
        else:
            plan.append((ep, None))
    if free:
        conn.executemany("DELETE FROM episode WHERE id = ?", [(i,) for i in free])
    # move kept rows out of the way of onset_ms uniqueness, then write
    for _, ep_id in plan:
        if ep_id is not None:
            conn.execute("UPDATE episode SET onset_ms = -id WHERE id = ?", (ep_id,))
    ids = []
    sets = ", ".join(f"{c} = ?" for c in _EPISODE_COLUMNS)
    for ep, ep_id in plan:
        row = _episode_row(ep, source)
        if ep_id is None:
            cur = conn.execute(
                f"INSERT INTO episode({', '.join(_EPISODE_COLUMNS)}) VALUES ({', '.join('?' * len(_EPISODE_COLUMNS))})", row)
            ids.append(int(cur.lastrowid))
        else:
            conn.execute(f"UPDATE episode SET {sets} WHERE id = ?", (*row, ep_id))
            ids.append(ep_id)
    return ids


def results_replace(
    conn: sqlite3.Connection,
    from_ms: int,
    to_ms: int,
    ticks: Sequence[Tick],
    baseline_used: set[int],
    state_changes: Sequence[StateChanged],
    episodes: Sequence[Episode],
    baseline_updates: Sequence[BaselineUpdated],
) -> list[int]:
    """Replace everything derived for ``[from_ms, to_ms]`` (no commit); return episode ids."""
    conn.execute("DELETE FROM tick WHERE epoch_ms BETWEEN ? AND ?", (from_ms, to_ms))
    conn.execute("DELETE FROM state_change WHERE epoch_ms BETWEEN ? AND ?", (from_ms, to_ms))
    conn.execute("DELETE FROM baseline WHERE epoch_ms BETWEEN ? AND ?", (from_ms, to_ms))
    conn.executemany(_INSERT_TICK, [_tick_row(t, t.epoch_ms in baseline_used) for t in ticks])
    conn.executemany(
        "INSERT OR REPLACE INTO state_change(epoch_ms, state, previous) VALUES (?,?,?)",
        [(s.epoch_ms, s.state, s.previous) for s in state_changes],
    )
    conn.executemany(_INSERT_BASELINE, [row for u in baseline_updates for row in _baseline_rows(u)])
    ids = episodes_replace(conn, from_ms, to_ms, episodes)
    ticks_replaced_notify(conn, from_ms, to_ms + 1)  # e.g. breathing sessions' figures (api.breathing)
    return ids


def analysis_run_record(
    conn: sqlite3.Connection, from_ms: int, to_ms: int, beats: int, ticks: int, episodes: int, config: dict
) -> int:
    cur = conn.execute(
        "INSERT INTO analysis_run(started_ms, from_ms, to_ms, beats, ticks, episodes, config) VALUES (?,?,?,?,?,?,?)",
        (now_ms(), from_ms, to_ms, beats, ticks, episodes, json.dumps(config, sort_keys=True, default=str)),
    )
    return int(cur.lastrowid)


def episodes_overlapping(conn: sqlite3.Connection, from_ms: int, to_ms: int) -> list[sqlite3.Row]:
    """Stored episodes that overlap ``[from_ms, to_ms]``."""
    return conn.execute(
        "SELECT * FROM episode WHERE onset_ms <= ? AND coalesce(end_ms, onset_ms) >= ? ORDER BY onset_ms",
        (to_ms, from_ms),
    ).fetchall()


# -- reading back as events (``attune serve`` tails what another process analyses) -----------------
def tick_last_ms(conn: sqlite3.Connection) -> int:
    """Time of the newest stored tick (Unix ms; 0 without ticks)."""
    return int(conn.execute("SELECT coalesce(max(epoch_ms), 0) FROM tick").fetchone()[0])


def ticks_read_since(conn: sqlite3.Connection, after_ms: int, limit: int = 500) -> list[Tick]:
    """The newest ``limit`` ticks after ``after_ms`` (Unix ms), oldest first."""
    rows = conn.execute(
        f"SELECT {', '.join(_TICK_COLUMNS[:-1])} FROM tick WHERE epoch_ms > ? ORDER BY epoch_ms DESC LIMIT ?",
        (after_ms, limit),
    ).fetchall()
    return [Tick(*tuple(r)) for r in reversed(rows)]


def state_change_last_ms(conn: sqlite3.Connection) -> int:
    """Time of the newest stored state change (Unix ms; 0 without any)."""
    return int(conn.execute("SELECT coalesce(max(epoch_ms), 0) FROM state_change").fetchone()[0])


def state_changes_read_since(conn: sqlite3.Connection, after_ms: int, limit: int = 500) -> list[StateChanged]:
    """Up to ``limit`` state changes after ``after_ms`` (Unix ms), oldest first."""
    rows = conn.execute(
        "SELECT epoch_ms, state, previous FROM state_change WHERE epoch_ms > ? ORDER BY epoch_ms LIMIT ?",
        (after_ms, limit),
    ).fetchall()
    return [StateChanged(*tuple(r)) for r in rows]


def episode_updated_last_ms(conn: sqlite3.Connection) -> int:
    """When a stored episode last changed (``updated_ms``, wall-clock Unix ms; 0 without any)."""
    return int(conn.execute("SELECT coalesce(max(updated_ms), 0) FROM episode").fetchone()[0])


def episode_ids_open(conn: sqlite3.Connection) -> set[int]:
    """Ids of the stored episodes still open (announced, not yet ended)."""
    return {int(r[0]) for r in conn.execute("SELECT id FROM episode WHERE status = 'open'")}


_EPISODE_READ = ("onset_ms", "peak_ms", "end_ms", "confirmed_ms", "peak_score", "delta_hr_bpm", "delta_ln_rmssd",
                 "half_recovery_s", "quality", "prolonged", "status", "id", "motion", "updated_ms")


def episodes_read_changed_since(
    conn: sqlite3.Connection, after_updated_ms: int, limit: int = 500
) -> list[tuple[int, Episode]]:
    """Episodes written after ``after_updated_ms`` (wall-clock Unix ms), as ``(updated_ms,
    episode)`` in the order they were written; each episode carries its row id."""
    rows = conn.execute(
        f"SELECT {', '.join(_EPISODE_READ)} FROM episode WHERE updated_ms > ? ORDER BY updated_ms, id LIMIT ?",
        (after_updated_ms, limit),
    ).fetchall()
    out = []
    for r in rows:
        *fields, ep_id, motion, updated_ms = tuple(r)
        fields[9] = bool(fields[9])  # prolonged is stored as 0/1
        out.append((int(updated_ms), Episode(*fields, id=int(ep_id), motion=MotionStatus(motion))))
    return out
