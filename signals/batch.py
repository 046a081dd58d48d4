"""Batch analysis: a file or a stored span, through the same pipeline as live.

* :func:`analysis_run` — beats as arrays in, :class:`AnalysisResult` out.
* :func:`analysis_file` — any file :func:`attune.ingest.formats.rr_file_read` reads.
* :func:`analysis_store_span` — stored beats of a half-open time span ``[from, to)``,
  results written back, replacing earlier results for that span (call it after
  ``attune import``).
* :func:`analysis_to_dict` / :func:`analysis_ticks_csv` — the output formats of
  ``attune analyze``.

Time: a file that stamps its beats (or states its start) is analysed on its wall clock;
one without any time starts at the fixed synthetic epoch :data:`SYNTHETIC_EPOCH_MS`
(2000-01-01 00:00 UTC, time zone UTC) and its output has no ``epoch_ms``.
"""

from __future__ import annotations

import csv
import dataclasses
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from attune.db import db_transaction
from attune.ingest.events import AccSamples
from attune.ingest.motion_store import acc_read
from attune.ingest.store import beats_read
from attune.signals.additional_hr import MotionModelState
from attune.signals.artifacts import BeatCleaner
from attune.signals.baseline import Baseline
from attune.signals.events import (
    BaselineSampled,
    BaselineUpdated,
    Episode,
    EpisodeEnded,
    EpisodeStatus,
    Event,
    StateChanged,
    Tick,
)
from attune.signals.features import FeatureStream, TickFeatures
from attune.signals.pipeline import DEFAULT_CONFIG, AnalysisConfig, Analyzer
from attune.signals.storage import (
    analysis_run_record,
    baseline_rebuild,
    beats_span,
    episodes_overlapping,
    motion_model_read,
    motion_model_write,
    results_replace,
)
from attune.timeutil import epoch_ms_to_iso, local_tz

SYNTHETIC_EPOCH_MS = 946_684_800_000  # 2000-01-01T00:00:00Z: start of files without any time
CHUNK_BEATS = 20_000  # beats per push in batch (bounds memory; results do not depend on it)
SPAN_WARMUP_MS = 10 * 60_000  # re-analysis starts this early so states settle before the span
SPAN_TAIL_MS = 10 * 60_000  # ... and reads this far past it so episodes crossing the end finish
SELF_CALIBRATION_TICKS = 120  # a file analysed alone: 10 min of its own quiet ticks suffice

Progress = Callable[[int, int], None]  # (beats done, beats total)


@dataclass
class AnalysisResult:
    """Everything one analysis produced, in time order."""

    ticks: list[Tick] = field(default_factory=list)
    state_changes: list[StateChanged] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)  # ended, not discarded
    discarded: list[Episode] = field(default_factory=list)  # announced, then found to be exertion
    baseline_updates: list[BaselineUpdated] = field(default_factory=list)
    baseline_used: set[int] = field(default_factory=set)  # tick times counted into the baseline
    beats: int = 0
    beats_dropped: int = 0
    first_beat_ms: int | None = None
    last_beat_ms: int | None = None
    motion_state: MotionModelState | None = None  # the personal motion model at the end (None: no motion)

    def collect(self, events: list[Event]) -> None:
        for e in events:
            if isinstance(e, Tick):
                self.ticks.append(e)
            elif isinstance(e, StateChanged):
                self.state_changes.append(e)
            elif isinstance(e, EpisodeEnded):
                (self.episodes if e.episode.status == EpisodeStatus.ENDED else self.discarded).append(e.episode)
            elif isinstance(e, BaselineUpdated):
                self.baseline_updates.append(e)
            elif isinstance(e, BaselineSampled):
                self.baseline_used.add(e.epoch_ms)


def analysis_run(
    epoch_ms: np.ndarray,
    rr_ms: np.ndarray,
    segment_id: np.ndarray,
    flags: np.ndarray,
    *,
    config: AnalysisConfig = DEFAULT_CONFIG,
    baseline: Baseline | None = None,
    tz: tzinfo = UTC,
    progress: Progress | None = None,
    chunk_beats: int = CHUNK_BEATS,
    motion: AccSamples | None = None,
    motion_state: MotionModelState | None = None,
) -> AnalysisResult:
    """Analyse beats given as arrays (arrival order), with the accelerometer samples of
    the same time when there are any (``motion``: pushed first, see
    :meth:`~attune.signals.pipeline.Analyzer.push_motion`), continuing the personal motion
    model ``motion_state`` (e.g. :func:`attune.signals.storage.motion_model_read`); the
    model as learnt at the end is in ``result.motion_state``.

    Parameters
    ----------
    epoch_ms, rr_ms, segment_id, flags : arrays
        Beat times (Unix ms), RR intervals (ms), segment ids and ingest flags.
    config : AnalysisConfig
    baseline : Baseline, optional
        Baseline to start from (e.g. :func:`attune.signals.storage.baseline_rebuild`).
    tz : tzinfo
        Local time zone for the time-of-day baseline (when ``baseline`` is None).
    progress : callable, optional
        Called with (beats done, beats total) after each chunk.

    Returns
    -------
    AnalysisResult
    """
    epoch = np.asarray(epoch_ms, dtype=np.int64)
    analyzer = Analyzer(config, baseline=baseline, tz=tz, motion_state=motion_state)
    result = AnalysisResult(beats=int(epoch.size))
    if motion is not None:
        result.collect(analyzer.push_motion(motion))
    if epoch.size:
        result.first_beat_ms, result.last_beat_ms = int(epoch[0]), int(epoch[-1])
    n = epoch.size
    for i in range(0, n, chunk_beats):
        sl = slice(i, i + chunk_beats)
        result.collect(analyzer.push(epoch[sl], rr_ms[sl], segment_id[sl], flags[sl]))
        if progress is not None:
            progress(min(n, i + chunk_beats), n)
    result.collect(analyzer.finish())
    result.beats_dropped = analyzer.cleaner.beats_dropped
    result.motion_state = analyzer.motion_state()
    return result


def analysis_self_calibrated(
    epoch_ms: np.ndarray,
    rr_ms: np.ndarray,
    segment_id: np.ndarray,
    flags: np.ndarray,
    *,
    config: AnalysisConfig = DEFAULT_CONFIG,
    tz: tzinfo = UTC,
    progress: Progress | None = None,
    motion: AccSamples | None = None,
) -> AnalysisResult:
    """Analyse a recording that comes without history: a first pass learns the
    baseline from the recording's own quiet ticks (as if it were the previous day), the
    second pass scores it. The calibration requirement drops to
    :data:`SELF_CALIBRATION_TICKS` (10 min) so a short recording can calibrate."""
    b = config.baseline
    cfg = dataclasses.replace(config, baseline=dataclasses.replace(
        b, calibration_ticks=min(b.calibration_ticks, SELF_CALIBRATION_TICKS),
        bin_full_ticks=min(b.bin_full_ticks, SELF_CALIBRATION_TICKS // 2),
    ))
    # Cleaning and features do not depend on the baseline: computed once, both passes
    # take the same ticks (what Analyzer.push would compute, chunking changes nothing).
    epoch = np.asarray(epoch_ms, dtype=np.int64)
    n = epoch.size
    cleaner, stream = BeatCleaner(cfg.artifacts), FeatureStream(cfg.features)
    first = Analyzer(cfg, tz=tz, ticks=False)  # learns the baseline only
    if motion is not None:
        first.push_motion(motion)
    shared: list[TickFeatures] = []
    for i in range(0, n, CHUNK_BEATS):
        sl = slice(i, i + CHUNK_BEATS)
        shared.append(stream.push(cleaner.push(epoch[sl], rr_ms[sl], segment_id[sl], flags[sl])))
        first.push_features(shared[-1])
        if progress is not None:
            progress(min(n, i + CHUNK_BEATS) // 2, n)
    shared.append(stream.push(cleaner.finish()))
    first.push_features(shared[-1])
    first.finish()
    # the second pass scores with the learned baseline, as analysis_run would
    second = Analyzer(cfg, baseline=first.baseline.copy())
    result = AnalysisResult(beats=int(n))
    if motion is not None:
        result.collect(second.push_motion(motion))
    if n:
        result.first_beat_ms, result.last_beat_ms = int(epoch[0]), int(epoch[-1])
    for k, f in enumerate(shared[:-1]):
        result.collect(second.push_features(f))
        if progress is not None:
            progress(n // 2 + min(n, (k + 1) * CHUNK_BEATS) // 2, n)
    result.collect(second.push_features(shared[-1]))
    result.collect(second.finish())
    result.beats_dropped = cleaner.beats_dropped
    return result


# -- files ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileBeats:
    """Beats reconstructed from a file, as the pipeline wants them."""

    epoch_ms: np.ndarray
    rr_ms: np.ndarray
    segment_id: np.ndarray
    flags: np.ndarray
    wall_time: bool  # False: times start at SYNTHETIC_EPOCH_MS
    format: str
    notes: tuple[str, ...]


def beats_from_file(path: str | Path, format: str | None = None, tz: tzinfo | None = None) -> FileBeats:
    """Read an RR file and lay its beats on a time axis, as ``attune import`` would.

    Stamped files go through the ingest :class:`~attune.ingest.timestamps.BeatClock`
    (phone arrival stamps → a continuous RR chain, new segment where it breaks); a file
    with a start time gets RR sums from it; a file without either starts at
    :data:`SYNTHETIC_EPOCH_MS`. Flags as at import: RR outside the plausible range, HR 0.
    """
    from attune.ingest.exchange import beats_lay_out
    from attune.ingest.formats import rr_file_read

    series = rr_file_read(Path(path), format, tz=tz)
    laid = beats_lay_out(series, untimed_start_ms=SYNTHETIC_EPOCH_MS)
    notes = list(series.notes) + list(laid.notes)
    if not laid.timed:
        notes.append("the file carries no time: t_s counts from its first beat (synthetic start 2000-01-01 UTC)")
    return FileBeats(laid.epoch_ms, laid.rr_ms, laid.segment_index + 1, laid.flags, laid.timed,
                     series.format, tuple(notes))


def analysis_file(
    path: str | Path,
    format: str | None = None,
    *,
    tz: tzinfo | None = None,
    config: AnalysisConfig = DEFAULT_CONFIG,
    progress: Progress | None = None,
    motion: AccSamples | None = None,
) -> tuple[AnalysisResult, FileBeats]:
    """Analyse an RR file on its own (self-calibrated, see :func:`analysis_self_calibrated`),
    with accelerometer samples of the same wall time if given.

    Raises
    ------
    attune.ingest.formats.RRFormatError
        Not an RR file, or no valid RR in it.
    """
    beats = beats_from_file(path, format, tz)
    return analysis_beats(beats, tz=tz, config=config, progress=progress, motion=motion), beats


def analysis_beats(
    beats: FileBeats,
    *,
    tz: tzinfo | None = None,
    config: AnalysisConfig = DEFAULT_CONFIG,
    progress: Progress | None = None,
    motion: AccSamples | None = None,
) -> AnalysisResult:
    """Analyse beats already read by :func:`beats_from_file` (self-calibrated); ``tz``
    (default: the machine's) applies only when the file had wall time, else UTC."""
    zone = (tz or local_tz()) if beats.wall_time else UTC
    return analysis_self_calibrated(beats.epoch_ms, beats.rr_ms, beats.segment_id, beats.flags,
                                    config=config, tz=zone, progress=progress, motion=motion)


# -- the database ------------------------------------------------------------------------------
def analysis_store_span(
    conn: sqlite3.Connection,
    from_ms: int | None = None,
    to_ms: int | None = None,
    *,
    config: AnalysisConfig = DEFAULT_CONFIG,
    tz: tzinfo | None = None,
    progress: Progress | None = None,
    pending_done: Sequence[int] = (),
) -> AnalysisResult:
    """Analyse stored beats of ``[from_ms, to_ms)`` (default: all) and store the results,
    replacing what was stored for that span, in one transaction (which also deletes the
    ``analysis_pending`` rows ``pending_done`` this analysis completes).

    The span is half-open, as everywhere (``attune export``, the API): ``to_ms`` itself
    is not part of it.

    The span grows to cover whole stored episodes at its edges. The analysis starts
    :data:`SPAN_WARMUP_MS` earlier with the baseline rebuilt from the ticks stored before
    that, and reads :data:`SPAN_TAIL_MS` past the end; only the span is written.
    Returns the result for the span (episode ``id`` filled in).
    """
    span = beats_span(conn)
    result_empty = AnalysisResult()
    if span is None:
        _pending_delete(conn, pending_done)
        return result_empty
    from_ms = span[0] if from_ms is None else int(from_ms)
    if to_ms is not None and int(to_ms) < from_ms:
        raise ValueError("the end of the span is before its start")
    # times are whole ms: [from_ms, to_ms) is [from_ms, to_ms - 1], which storage takes
    to_ms = span[1] if to_ms is None else int(to_ms) - 1
    for row in episodes_overlapping(conn, from_ms, to_ms):
        from_ms = min(from_ms, int(row["onset_ms"]))
        to_ms = max(to_ms, int(row["end_ms"] if row["end_ms"] is not None else row["onset_ms"]))
    zone = tz or local_tz()
    start = from_ms - SPAN_WARMUP_MS
    baseline = baseline_rebuild(conn, start, config.baseline, zone)
    epoch, rr, seg, flags = _beat_arrays(conn, start, to_ms + SPAN_TAIL_MS + 1)  # to_ms is inclusive here
    # the accelerometer samples of the same stretch (the first ticks' 10 s windows included)
    acc = acc_read(conn, start - config.motion.cadence_window_ms, to_ms + SPAN_TAIL_MS + 1)
    full = analysis_run(epoch, rr, seg, flags, config=config, baseline=baseline, progress=progress,
                        motion=acc if len(acc) else None, motion_state=motion_model_read(conn, start))

    def inside(t: int) -> bool:
        return from_ms <= t <= to_ms

    result = AnalysisResult(
        ticks=[t for t in full.ticks if inside(t.epoch_ms)],
        state_changes=[s for s in full.state_changes if inside(s.epoch_ms)],
        episodes=[e for e in full.episodes if inside(e.onset_ms)],
        discarded=[e for e in full.discarded if inside(e.onset_ms)],
        baseline_updates=[u for u in full.baseline_updates if inside(u.epoch_ms)],
        baseline_used={t for t in full.baseline_used if inside(t)},
        beats=int(((epoch >= from_ms) & (epoch <= to_ms)).sum()),
        beats_dropped=full.beats_dropped,
        first_beat_ms=from_ms, last_beat_ms=to_ms,
    )
    with db_transaction(conn):
        ids = results_replace(conn, from_ms, to_ms, result.ticks, result.baseline_used, result.state_changes,
                              result.episodes, result.baseline_updates)
        analysis_run_record(conn, from_ms, to_ms, result.beats, len(result.ticks), len(result.episodes),
                            dataclasses.asdict(config))
        if full.motion_state is not None:  # the model learnt over the span replaces what was stored in it
            conn.execute("DELETE FROM motion_model WHERE epoch_ms BETWEEN ? AND ?", (from_ms, to_ms))
            motion_model_write(conn, to_ms, full.motion_state)
        _pending_delete(conn, pending_done)
    result.episodes = [dataclasses.replace(e, id=i) for e, i in zip(result.episodes, ids, strict=True)]
    return result


def _beat_arrays(
    conn: sqlite3.Connection, from_ms: int, to_ms: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stored beats of ``[from_ms, to_ms)`` as the pipeline wants them: ``(epoch_ms, rr_ms,
    segment_id, flags)`` arrays in time order."""
    rows = list(beats_read(conn, from_ms, to_ms))
    if not rows:
        z = np.zeros(0, dtype=np.int64)
        return z, np.zeros(0), z, z
    epoch, rr, _, seg, flags = zip(*rows, strict=True)
    return (np.asarray(epoch, dtype=np.int64), np.asarray(rr, dtype=float),
            np.asarray(seg, dtype=np.int64), np.asarray(flags, dtype=np.int64))


def analysis_import_hook(conn: sqlite3.Connection, imported: Any) -> AnalysisResult:
    """Analyse the span an import just stored (its first beat to just after its last) and
    clear the span's ``analysis_pending`` row, ``imported.pending_id``."""
    pending = getattr(imported, "pending_id", None)
    return analysis_store_span(conn, int(imported.first_beat_ms), int(imported.last_beat_ms) + 1,
                               pending_done=() if pending is None else (pending,))


def _pending_delete(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    with db_transaction(conn):
        conn.executemany("DELETE FROM analysis_pending WHERE id = ?", [(int(i),) for i in ids])


def analysis_pending_finish(
    conn: sqlite3.Connection, say: Callable[[str], None] | None = None, *, tz: tzinfo | None = None
) -> int:
    """Analyse every span left ``analysis_pending`` (beats stored by an import or the demo
    whose process was killed before their analysis was stored), telling ``say`` one line
    each. Returns the number of spans finished."""
    rows = conn.execute("SELECT id, from_ms, to_ms, reason FROM analysis_pending ORDER BY id").fetchall()
    for pending_id, from_ms, to_ms, reason in rows:
        if say is not None:
            say(f"finishing analysis left pending by an interrupted {reason}: "
                f"{epoch_ms_to_iso(from_ms)} → {epoch_ms_to_iso(to_ms)}")
        analysis_store_span(conn, int(from_ms), int(to_ms), tz=tz, pending_done=(int(pending_id),))
    return len(rows)


# -- output -----------------------------------------------------------------------------------
def _r(x: float | None, nd: int) -> float | None:
    return None if x is None else round(float(x), nd)


def analysis_to_dict(result: AnalysisResult, t0_ms: int | None = None, wall_time: bool = True) -> dict[str, Any]:
    """The JSON document of ``attune analyze``: ticks and episodes, times in seconds from
    the first beat (``t_s``), plus ``epoch_ms`` when the input had wall time. Every tick
    carries ``activity_mg``, ``posture``, ``cadence_spm`` and ``hr_expected_bpm`` (``null``
    when motion is unknown), every episode ``motion`` (still / moving / unknown)."""
    t0 = t0_ms if t0_ms is not None else (result.first_beat_ms or 0)
    ticks = []
    for t in result.ticks:
        row: dict[str, Any] = {"t_s": round((t.epoch_ms - t0) / 1000, 3)}
        if wall_time:
            row["epoch_ms"] = t.epoch_ms
        row.update(hr_bpm=_r(t.hr_bpm, 2), ln_rmssd=_r(t.ln_rmssd, 4), score=_r(t.score, 3), state=t.state,
                   activity_mg=_r(t.activity_mg, 2), posture=t.posture, cadence_spm=_r(t.cadence_spm, 1),
                   hr_expected_bpm=_r(t.hr_expected_bpm, 2))
        row.update(breath_rate_per_min=_r(t.breath_rate_per_min, 2), rsa_bpm=_r(t.rsa_bpm, 2),
                   coherence=_r(t.coherence, 3))
        ticks.append(row)
    episodes = []
    for e in result.episodes:
        row = {
            "onset_s": round((e.onset_ms - t0) / 1000, 3),
            "peak_s": round((e.peak_ms - t0) / 1000, 3),
            "end_s": None if e.end_ms is None else round((e.end_ms - t0) / 1000, 3),
            "peak_score": _r(e.peak_score, 3),
            "delta_hr_bpm": _r(e.delta_hr_bpm, 2),
            "delta_ln_rmssd": _r(e.delta_ln_rmssd, 4),
            "quality": _r(e.quality, 3),
            "duration_s": e.duration_s,
            "half_recovery_s": e.half_recovery_s,
            "prolonged": e.prolonged,
            "motion": str(e.motion),
        }
        if wall_time:
            row.update(onset_epoch_ms=e.onset_ms, end_epoch_ms=e.end_ms)
        if e.id is not None:
            row["id"] = e.id
        episodes.append(row)
    return {"ticks": ticks, "episodes": episodes}


TICK_CSV_COLUMNS = ("t_s", "epoch_ms", "state", "hr_bpm", "hr_fast_bpm", "rmssd_ms", "ln_rmssd", "sdnn_ms",
                    "score", "coverage", "artifact_fraction", "activity_mg", "posture", "cadence_spm",
                    "hr_expected_bpm", "breath_rate_per_min", "rsa_bpm", "coherence")
EPISODE_CSV_COLUMNS = ("onset_s", "peak_s", "end_s", "peak_score", "delta_hr_bpm", "delta_ln_rmssd", "quality",
                       "duration_s", "half_recovery_s", "prolonged", "motion")


def analysis_ticks_csv(result: AnalysisResult, out: TextIO, t0_ms: int | None = None, wall_time: bool = True) -> None:
    """Ticks as CSV (``epoch_ms`` empty when the input had no wall time; the motion
    columns empty when motion is unknown)."""
    t0 = t0_ms if t0_ms is not None else (result.first_beat_ms or 0)
    w = csv.writer(out, lineterminator="\n")
    w.writerow(TICK_CSV_COLUMNS)
    for t in result.ticks:
        w.writerow([round((t.epoch_ms - t0) / 1000, 3), t.epoch_ms if wall_time else "", t.state,
                    *("" if v is None else round(v, 4) for v in (t.hr_bpm, t.hr_fast_bpm, t.rmssd_ms, t.ln_rmssd,
                                                                  t.sdnn_ms, t.score)),
                    round(t.coverage, 4), round(t.artifact_fraction, 4),
                    "" if t.activity_mg is None else round(t.activity_mg, 2), t.posture or "",
                    "" if t.cadence_spm is None else round(t.cadence_spm, 1),
                    "" if t.hr_expected_bpm is None else round(t.hr_expected_bpm, 2),
                    *("" if v is None else round(v, 4) for v in (t.breath_rate_per_min, t.rsa_bpm, t.coherence))])


def analysis_episodes_csv(result: AnalysisResult, out: TextIO, t0_ms: int | None = None) -> None:
    """Episodes as CSV."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(EPISODE_CSV_COLUMNS)
    for row in analysis_to_dict(result, t0_ms, wall_time=False)["episodes"]:
        w.writerow(["" if row[c] is None else row[c] for c in EPISODE_CSV_COLUMNS])
