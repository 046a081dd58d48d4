"""Reading what ``signals/`` stored (``0002_signals.sql``): ticks, state changes, episodes.

Everything the API knows about the signals schema is in this module, so a change there
is a change here only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from attune.db import sql_span
from attune.signals.events import State
from attune.signals.features import FeatureConfig
from attune.signals.states import StateConfig
from attune.signals.storage import tick_last_ms
from attune.timeutil import epoch_ms_to_iso as iso

# Plain words for the states (seeds/README.md: gentle and descriptive, never alarming).
# The page's legend uses the same table (api/static/scale.js STATE_WORDS; a test keeps
# them equal). Exertion is said to be exercise and not counted, so it never reads as stress.
STATE_WORDS = {
    "settled": "settled",
    "activated": "activated",
    "high": "strongly activated",
    "recovering": "recovering",
    "physical": "exercise — not counted",
    "calibrating": "getting to know you",
    "unknown": "no clear signal",
}

# the chart's score axis always shows at least this range (score units: see signals.states)
SCORE_MIN, SCORE_MAX = -1.0, 4.0
ACTIVATE_SCORE = StateConfig().activate_score
TICK_MS = FeatureConfig().tick_ms


# Motion (issue 8). A tick counts as moving from this activity (MAD of the resultant over
# 5 s, signals.motion): on the Hexoskin chest sessions rest has a median of 9 mg and
# walking 300 mg; 60 mg is where the analysis' motion model starts expecting a higher heart
# rate. The page's motion band uses the same number (sent in Timeline.motion_scale).
# Movement the analysis discounts is said as such (exertion, or settled while stepping:
# the walk's heart rate is not counted); without motion exertion stays "exercise"
# (STATE_WORDS), and a state about the person (activated …) is never hidden by movement.
MOVING_MIN_MG = 60.0
RUNNING_MIN_SPM = 140.0  # signals.motion.MotionConfig.walk_max_spm: above it, a run
MOTION_WORDS = {
    "walking": "walking — not counted",
    "running": "running — not counted",
    "moving": "moving — not counted",
}


def state_words(state: str | None, activity_mg: float | None = None, cadence_spm: float | None = None) -> str | None:
    """The state in plain words; a physical tick whose motion is known says what the
    body was doing (steps: walking or running; movement without steps: moving), and so
    does a settled one taken while stepping."""
    if state is None:
        return None
    if state == State.SETTLED and cadence_spm is not None and cadence_spm > 0:
        return MOTION_WORDS["running" if cadence_spm >= RUNNING_MIN_SPM else "walking"]
    if state == State.PHYSICAL:
        if cadence_spm is not None and cadence_spm > 0:
            return MOTION_WORDS["running" if cadence_spm >= RUNNING_MIN_SPM else "walking"]
        if activity_mg is not None and activity_mg >= MOVING_MIN_MG:
            return MOTION_WORDS["moving"]
    return STATE_WORDS.get(state, state.replace("_", " "))


@dataclass(frozen=True, slots=True)
class TickRow:
    epoch_ms: int
    hr_bpm: float | None
    ln_rmssd: float | None
    score: float | None
    state: str
    calibration: float
    activity_mg: float | None = None  # None: motion unknown
    cadence_spm: float | None = None


@dataclass(frozen=True, slots=True)
class EpisodeRow:
    id: int
    onset_ms: int
    peak_ms: int
    end_ms: int | None  # None while open
    peak_score: float
    delta_hr_bpm: float
    delta_ln_rmssd: float
    half_recovery_s: float | None
    quality: float
    prolonged: bool
    last_tick_ms: int  # how far the analysis has got (an open episode reaches that far)
    motion: str = "unknown"  # still | moving | unknown (signals.events.MotionStatus)

    @property
    def extent_end_ms(self) -> int:
        """End, or for an open episode the latest analysed tick (never before the peak)."""
        if self.end_ms is not None:
            return self.end_ms
        return max(self.peak_ms, self.last_tick_ms, self.onset_ms + TICK_MS)


def tick_latest(conn: sqlite3.Connection) -> TickRow | None:
    row = conn.execute(
        "SELECT epoch_ms, hr_bpm, ln_rmssd, score, state, calibration, activity_mg, cadence_spm"
        " FROM tick ORDER BY epoch_ms DESC LIMIT 1"
    ).fetchone()
    return TickRow(*row) if row else None


def calibration(conn: sqlite3.Connection) -> dict:
    """Baseline calibration from the latest tick (none yet: nothing learned)."""
    tick = tick_latest(conn)
    progress = min(1.0, tick.calibration) if tick else 0.0
    done = progress >= 1.0
    return {
        "done": done,
        "progress": round(progress, 3),
        "message": None if done else "Getting to know your quiet baseline — this takes about an hour of ordinary wear.",
    }


@dataclass(frozen=True, slots=True)
class Buckets:
    """Ticks summarised per time bucket (None where a bucket holds no tick)."""

    hr_bpm: list[float | None]
    ln_rmssd: list[float | None]
    score: list[float | None]
    state: list[str | None]  # the state most of the bucket's ticks were in
    activity_mg: list[float | None]  # mean activity of the ticks whose motion is known; None: unknown
    posture: list[str | None]  # the posture most of those ticks had; None: unknown


def tick_buckets(conn: sqlite3.Connection, from_ms: int, bucket_ms: int, n: int) -> Buckets:
    """Mean HR, lnRMSSD, score and activity and the main state and posture in each of
    ``n`` buckets from ``from_ms``. Grouped scans in SQLite: a day of ticks never reaches
    Python."""
    hr: list[float | None] = [None] * n
    ln: list[float | None] = [None] * n
    sc: list[float | None] = [None] * n
    act: list[float | None] = [None] * n
    state: list[str | None] = [None] * n
    posture: list[str | None] = [None] * n
    sums = [[0.0, 0, 0.0, 0, 0.0, 0, 0.0, 0] for _ in range(n)]
    top = [0] * n
    args = (from_ms, bucket_ms, n)
    for b, st, count, hs, hn, ls, lnn, ss, sn, As, an in conn.execute(
        "SELECT (epoch_ms - ?1) / ?2 AS b, state, count(*), total(hr_bpm), count(hr_bpm),"
        " total(ln_rmssd), count(ln_rmssd), total(score), count(score), total(activity_mg), count(activity_mg)"
        " FROM tick WHERE epoch_ms >= ?1 AND epoch_ms < ?1 + ?2 * ?3 GROUP BY b, state", args,
    ):
        acc = sums[b]
        acc[0] += hs
        acc[1] += hn
        acc[2] += ls
        acc[3] += lnn
        acc[4] += ss
        acc[5] += sn
        acc[6] += As
        acc[7] += an
        if count > top[b]:
            top[b], state[b] = count, st
    for b, (hs, hn, ls, lnn, ss, sn, As, an) in enumerate(sums):
        hr[b] = round(hs / hn, 2) if hn else None
        ln[b] = round(ls / lnn, 3) if lnn else None
        sc[b] = round(ss / sn, 2) if sn else None
        act[b] = round(As / an, 1) if an else None
    if any(a is not None for a in act):  # posture only where motion is known at all
        top = [0] * n
        for b, p, count in conn.execute(
            "SELECT (epoch_ms - ?1) / ?2 AS b, posture, count(*) FROM tick"
            " WHERE epoch_ms >= ?1 AND epoch_ms < ?1 + ?2 * ?3 AND posture IS NOT NULL AND posture != 'unknown'"
            " GROUP BY b, posture", args,
        ):
            if count > top[b]:
                top[b], posture[b] = count, p
    return Buckets(hr, ln, sc, state, act, posture)


_ACTIVATED_SQL = f"('{State.ACTIVATED}', '{State.HIGH}')"


def activated_s(
    conn: sqlite3.Connection, from_ms: int, to_ms: int, set_aside: Sequence[tuple[int, int]] = ()
) -> float:
    """Time spent activated (or strongly so): one tick stands for its 5 s. Ticks inside
    the ``set_aside`` spans (``[start_ms, end_ms)``, episodes the user said were movement)
    are not counted."""
    # literals, not parameters: SQLite uses the partial index tick_activated (migration 0010)
    # only when the query's states are written as the index's are
    sql = f"SELECT count(*) FROM tick WHERE epoch_ms >= ? AND epoch_ms < ? AND state IN {_ACTIVATED_SQL}"
    n = conn.execute(sql, (from_ms, to_ms)).fetchone()[0]
    done: list[tuple[int, int]] = []
    for a, b in sorted(set_aside):  # merged, so an overlap is not taken off twice
        a, b = max(a, from_ms, done[-1][1] if done else a), min(b, to_ms)
        if b > a:
            n -= conn.execute(sql, (a, b)).fetchone()[0]
            done.append((a, b))
    return n * TICK_MS / 1000


# -- episodes -------------------------------------------------------------------------------------
_EPISODE_SELECT = (
    "SELECT id, onset_ms, peak_ms, end_ms, peak_score, delta_hr_bpm, delta_ln_rmssd, half_recovery_s,"
    " quality, prolonged, motion FROM episode WHERE status != 'discarded'"
)


def _episode(row: sqlite3.Row | tuple, last_tick_ms: int) -> EpisodeRow:
    r = tuple(row)
    return EpisodeRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9]), last_tick_ms, r[10] or "unknown")


def episodes_between(conn: sqlite3.Connection, from_ms: int | None, to_ms: int | None) -> list[EpisodeRow]:
    """Episodes (not those that turned out to be exertion) meeting ``[from_ms, to_ms)``."""
    sql, args = _EPISODE_SELECT, []
    if to_ms is not None:
        sql += " AND onset_ms < ?"
        args.append(to_ms)
    if from_ms is not None:
        sql += " AND (end_ms IS NULL OR end_ms > ?)"
        args.append(from_ms)
    rows = conn.execute(sql + " ORDER BY onset_ms", args).fetchall()
    last = tick_last_ms(conn) if any(r[3] is None for r in rows) else 0
    return [_episode(r, last) for r in rows]


def episode_get(conn: sqlite3.Connection, episode_id: int) -> EpisodeRow | None:
    row = conn.execute(_EPISODE_SELECT + " AND id=?", (episode_id,)).fetchone()
    if row is None:
        return None
    return _episode(row, tick_last_ms(conn) if row[3] is None else 0)


# -- export ----------------------------------------------------------------------------
TICK_EXPORT_COLUMNS = ("at", "epoch_ms", "state", "hr_bpm", "hr_fast_bpm", "rmssd_ms", "ln_rmssd", "sdnn_ms",
                       "coverage", "artifact_fraction", "score", "z_hr", "z_ln_rmssd", "calibration",
                       "activity_mg", "posture", "cadence_spm", "hr_expected_bpm")


def tick_export_rows(conn: sqlite3.Connection, from_ms: int | None, to_ms: int | None) -> Iterator[tuple]:
    where, args = sql_span("epoch_ms", from_ms, to_ms)
    for r in conn.execute(f"SELECT {', '.join(TICK_EXPORT_COLUMNS[1:])} FROM tick WHERE {where} ORDER BY epoch_ms", args):
        yield (iso(r[0]), *tuple(r))
