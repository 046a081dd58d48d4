"""Moving beats in and out: ``attune import`` and ``attune export``.

Import reads any file :mod:`attune.ingest.formats` understands and stores it as beats of
``source='import'`` segments. Beat times: when the file stamps each beat, the same
:class:`~attune.ingest.timestamps.BeatClock` used for live notifications turns those stamps
(often phone arrival times, jittery and sometimes out of order) into a continuous RR chain
that never runs later than the stamps; otherwise beats are laid end to end from the file's
start time, ``--start``, or (last resort, with a notice) the file's modification time.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import numpy as np

from attune.db import db_transaction, sql_span
from attune.errors import AttuneError, UsageError
from attune.ingest.events import DeviceInfo
from attune.ingest.formats import RRSeries, rr_file_read
from attune.ingest.plausibility import RR_MAX_MS, RR_MIN_MS, BeatFlag
from attune.ingest.recorder import device_upsert
from attune.ingest.timestamps import BeatClock

EXPORT_FORMATS = ("csv", "json", "rr")
EXPORT_COLUMNS = ("epoch_ms", "rr_ms", "hr_bpm", "segment", "flags")


class ImportRefused(AttuneError):
    """The file cannot be imported (already imported, no usable time base, …)."""


@dataclass(frozen=True)
class ImportResult:
    path: Path
    format: str
    beats: int
    segments: int
    first_epoch_ms: int
    last_epoch_ms: int
    skipped_lines: int
    notes: tuple[str, ...]


def iso_to_epoch_ms(value: str) -> int:
    """Parse ISO 8601 (``2026-11-21``, ``2026-11-21T08:00``, with or without zone; no zone
    means local time) into Unix ms."""
    try:
        dt = datetime.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(f"not an ISO 8601 date/time: {value!r}") from exc
    if dt.tzinfo is None:
        dt = dt.astimezone()  # local time zone of this machine
    return int(dt.timestamp() * 1000)


def epoch_ms_to_iso(epoch_ms: float) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).astimezone().isoformat(
        timespec="milliseconds"
    )


@dataclass(frozen=True, eq=False)
class LaidOutBeats:
    """An RR series placed on the time axis, as ``attune import`` stores it."""

    epoch_ms: np.ndarray  # int64, Unix ms of each beat
    rr_ms: np.ndarray  # float64
    segment_index: np.ndarray  # int64, 0-based: a new one wherever the RR chain breaks
    flags: np.ndarray  # int64, BeatFlag bits (range, HR 0)
    timed: bool  # False: the file has no time and ``untimed_start_ms`` was used
    notes: tuple[str, ...]


def beats_lay_out(
    series: RRSeries, start_epoch_ms: float | None = None, *, untimed_start_ms: float
) -> LaidOutBeats:
    """Give every beat of ``series`` a time and a segment, and ingest's plausibility flags.

    Times come from, in order: ``start_epoch_ms`` (an explicit start: RR sums from it); the
    file's per-beat stamps, which go through the ingest :class:`BeatClock` (phone arrival
    stamps, jittery and sometimes out of order, become a continuous RR chain that never
    runs later than them, with a new segment where it breaks — exactly as live
    notifications); the file's own start time; else ``untimed_start_ms``.
    """
    rr = np.asarray(series.rr_ms, dtype=float)
    notes: list[str] = []
    timed = True
    stamps = None if series.epoch_ms is None else np.asarray(series.epoch_ms, dtype=float)
    segment = np.zeros(rr.size, dtype=np.int64)
    if start_epoch_ms is None and stamps is not None and np.isfinite(stamps).any():
        good = np.isfinite(stamps)
        if not good.all():
            # rows whose time did not parse are placed by RR sums from the nearest earlier
            # parsed row (before the first one, back from it)
            idx = np.arange(stamps.size)
            ref = np.maximum.accumulate(np.where(good, idx, -1))
            ref = np.where(ref < 0, int(np.argmax(good)), ref)
            csum = np.cumsum(rr)
            stamps = np.where(good, stamps, stamps[ref] + csum - csum[ref])
            notes.append("beats without a parsable time were placed by RR sums from their neighbours")
        clock = BeatClock()
        times = np.empty(rr.size)
        seg = -1
        for i, (t, v) in enumerate(zip(stamps.tolist(), rr.tolist(), strict=True)):
            ns = int(t * 1e6)
            stamped = clock.stamp(ns, ns, (v,))
            seg += stamped.new_segment is not None
            times[i] = stamped.beat_mono_ms[0]
            segment[i] = seg
    else:
        start = start_epoch_ms if start_epoch_ms is not None else series.start_epoch_ms
        if start is None:
            start, timed = untimed_start_ms, False
        times = start + np.cumsum(rr)
    flags = np.where((rr < RR_MIN_MS) | (rr > RR_MAX_MS), int(BeatFlag.RR_OUT_OF_RANGE), 0).astype(np.int64)
    if series.hr_bpm is not None:
        flags |= np.where(np.asarray(series.hr_bpm) == 0, int(BeatFlag.HR_ZERO), 0).astype(np.int64)
    return LaidOutBeats(np.round(times).astype(np.int64), rr, segment, flags, timed, tuple(notes))


def rr_import(
    conn: sqlite3.Connection,
    path: str | Path,
    *,
    format: str | None = None,
    start_epoch_ms: float | None = None,
) -> ImportResult:
    """Store the beats of an RR file; refuse a file already imported (by content hash)."""
    path = Path(path)
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    row = conn.execute("SELECT path, imported_at FROM import_file WHERE sha256=?", (sha,)).fetchone()
    if row is not None:
        raise ImportRefused(
            f"{path.name} was already imported (as {row['path']} on {epoch_ms_to_iso(row['imported_at'])})"
        )
    series = rr_file_read(path, format)
    if len(series.rr_ms) == 0:
        raise ImportRefused(f"{path.name}: no RR intervals found")
    end_ms = path.stat().st_mtime * 1000
    laid = beats_lay_out(series, start_epoch_ms, untimed_start_ms=end_ms - float(np.sum(series.rr_ms)))
    notes = list(laid.notes)
    if not laid.timed:
        notes.append(
            "the file carries no time: beats placed to end at its modification time "
            f"({epoch_ms_to_iso(end_ms)}); use --start to set the real start"
        )
    epoch, rr, segment_index, flags, hr = laid.epoch_ms, laid.rr_ms, laid.segment_index, laid.flags, series.hr_bpm
    with db_transaction(conn):
        device_id = device_upsert(conn, DeviceInfo(f"import:{sha[:16]}", f"{series.format}: {path.name}"))
        segment_ids = []
        for k in range(int(segment_index.max()) + 1):
            first = int(np.argmax(segment_index == k))
            cur = conn.execute(
                "INSERT INTO segment(device_id, source, reason, started_epoch_ms, note)"
                " VALUES (?, 'import', 'import', ?, ?)",
                (device_id, int(epoch[first]), path.name),
            )
            segment_ids.append(cur.lastrowid)
        seg_col = np.asarray(segment_ids, dtype=np.int64)[segment_index]
        hr_col = [None] * len(rr) if hr is None else [None if np.isnan(h) else int(round(h)) for h in hr]
        conn.executemany(
            "INSERT INTO beat(segment_id, epoch_ms, rr_ms, hr_bpm, flags) VALUES (?,?,?,?,?)",
            zip(seg_col.tolist(), epoch.tolist(), rr.tolist(), hr_col, flags.tolist(), strict=True),
        )
        conn.execute(
            "INSERT INTO import_file(sha256, path, format, beats, imported_at) VALUES (?,?,?,?,?)",
            (sha, str(path.resolve()), series.format, len(rr), int(time.time() * 1000)),
        )
    return ImportResult(
        path, series.format, len(rr), len(segment_ids), int(epoch[0]), int(epoch[-1]),
        series.skipped_lines, tuple(series.notes) + tuple(notes),
    )


def beats_query(
    conn: sqlite3.Connection, from_ms: int | None = None, to_ms: int | None = None
) -> Iterator[sqlite3.Row]:
    """Beats in ``[from_ms, to_ms)`` in time order, with the export columns."""
    where, args = sql_span("epoch_ms", from_ms, to_ms)
    yield from conn.execute(
        f"SELECT epoch_ms, rr_ms, hr_bpm, segment_id AS segment, flags FROM beat WHERE {where}"
        " ORDER BY epoch_ms, id", args)


def beats_export(
    conn: sqlite3.Connection,
    out: TextIO,
    format: str,
    from_ms: int | None = None,
    to_ms: int | None = None,
) -> int:
    """Write beats as csv (header + rows), json (an array of objects) or rr (one RR in ms
    per line, as Kubios and most HRV tools import). Returns the number of beats written."""
    if format not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {format!r}; choose from {', '.join(EXPORT_FORMATS)}")
    n = 0
    rows = beats_query(conn, from_ms, to_ms)
    if format == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        for r in rows:
            writer.writerow([r["epoch_ms"], _ms(r["rr_ms"]), _blank(r["hr_bpm"]), r["segment"], r["flags"]])
            n += 1
    elif format == "json":
        out.write("[")
        for r in rows:
            out.write(("," if n else "") + "\n" + json.dumps(dict(r)))
            n += 1
        out.write("\n]\n")
    else:
        for r in rows:
            out.write(_ms(r["rr_ms"]) + "\n")
            n += 1
    return n


def _ms(value: float) -> str:
    # 1/1024 s ticks have at most 7 decimals in ms; print them exactly, integers plainly
    text = f"{value:.7f}".rstrip("0").rstrip(".")
    return text


def _blank(value: object) -> object:
    return "" if value is None else value

