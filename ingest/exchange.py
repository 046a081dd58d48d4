"""Moving beats in and out: ``attune import`` and ``attune export``; accelerometer files in
(:func:`acc_import`; ``attune export`` writes beats only).

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
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from attune.db import db_transaction
from attune.errors import AttuneError
from attune.ingest.events import DeviceInfo
from attune.ingest.format_ids import ACC_FORMATS
from attune.ingest.formats import RRSeries, rr_file_read
from attune.ingest.formats.acc import AccSeries, acc_file_read
from attune.ingest.motion_store import acc_imports_orphaned_delete, acc_series_store, acc_sources, acc_span_clear
from attune.ingest.plausibility import beat_flags
from attune.ingest.store import beats_read, series_store
from attune.ingest.timestamps import BeatClock
from attune.timeutil import epoch_ms_to_iso, now_ms

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
    first_beat_ms: int
    last_beat_ms: int
    skipped_lines: int
    notes: tuple[str, ...]
    pending_id: int | None = None  # the analysis_pending row of this import's span


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
    flags = beat_flags(rr, series.hr_bpm)
    return LaidOutBeats(np.round(times).astype(np.int64), rr, segment, flags, timed, tuple(notes))


# Plausibility of what an import may store, checked before anything is written.
IMPORT_RR_MAX_MS = 3_600_000.0  # one "interval" of an hour is no heartbeat and no dropout an export encodes
IMPORT_EPOCH_MS_MIN = 631_152_000_000  # 1990-01-01 UTC: before any consumer HR strap
IMPORT_FUTURE_SLACK_MS = 86_400_000  # beats may run at most a day ahead of this machine's clock


def epoch_ms_check(epoch_ms: float, what: str) -> None:
    """Refuse (:class:`ImportRefused`) a time outside 1990-01-01 .. now + 1 day."""
    latest = now_ms() + IMPORT_FUTURE_SLACK_MS
    if not (np.isfinite(epoch_ms) and IMPORT_EPOCH_MS_MIN <= epoch_ms <= latest):
        shown = epoch_ms_to_iso(epoch_ms) if np.isfinite(epoch_ms) and abs(epoch_ms) < 2.5e14 else f"{epoch_ms:.4g} ms"
        raise ImportRefused(f"{what} is {shown}, outside the plausible range 1990-01-01 .. tomorrow")


def beats_digest(epoch_ms: np.ndarray | None, rr_ms: np.ndarray) -> str:
    """SHA-256 of beats as stored: ``epoch_ms`` (int64) and ``rr_ms`` rounded to the µs
    (a file in seconds and one in ms hold the same beats); RR alone when ``epoch_ms`` is
    None. The bytes of the file (line ends, final newline, format) play no part."""
    h = hashlib.sha256()
    if epoch_ms is not None:
        h.update(np.ascontiguousarray(epoch_ms, dtype="<i8").tobytes())
    h.update(np.ascontiguousarray(np.round(np.asarray(rr_ms, dtype=float), 3), dtype="<f8").tobytes())
    return h.hexdigest()


SPAN_JOIN_MS = 60_000  # segments of a file closer than this count as one span for overlap checks
SPANS_MAX = 1000  # bounded SQL: 2 parameters a span, well under SQLite's 32766


def beats_spans(epoch_ms: np.ndarray, segment_index: np.ndarray) -> list[tuple[int, int]]:
    """The time spans ``[first, last]`` (ms) the beats of each segment cover, sorted and
    merged where they overlap or lie within :data:`SPAN_JOIN_MS`: a file's gaps between
    segments are not part of it, so stored beats there do not overlap it."""
    order = np.argsort(segment_index, kind="stable")
    seg, epoch = segment_index[order], epoch_ms[order]
    starts = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
    firsts = np.minimum.reduceat(epoch, starts)
    lasts = np.maximum.reduceat(epoch, starts)
    spans: list[tuple[int, int]] = []
    for lo, hi in sorted(zip(firsts.tolist(), lasts.tolist(), strict=True)):
        if spans and lo <= spans[-1][1] + SPAN_JOIN_MS:
            spans[-1] = (spans[-1][0], max(spans[-1][1], hi))
        else:
            spans.append((lo, hi))
    return spans


def _spans_where(spans: list[tuple[int, int]], column: str = "b.epoch_ms") -> tuple[str, list[int]]:
    return "(" + " OR ".join(f"{column} BETWEEN ? AND ?" for _ in spans) + ")", [t for s in spans for t in s]


def _stored_sources(conn: sqlite3.Connection, spans: list[tuple[int, int]]) -> list[sqlite3.Row]:
    """Stored beats within ``spans`` per device and source: count, first, last."""
    where, args = _spans_where(spans)
    return conn.execute(
        "SELECT s.source AS source, coalesce(d.name, d.address, '?') AS name, count(*) AS n,"
        " min(b.epoch_ms) AS first, max(b.epoch_ms) AS last"
        " FROM beat b JOIN segment s ON s.id = b.segment_id LEFT JOIN device d ON d.id = s.device_id"
        f" WHERE {where} GROUP BY s.device_id, s.source ORDER BY first",
        args,
    ).fetchall()


def _source_label(row: sqlite3.Row) -> str:
    how = {"ble": "recorded", "import": "imported", "demo": "simulated (demo)"}.get(row["source"], row["source"])
    return f"{row['name']} ({how})"


def _same_beats(conn: sqlite3.Connection, spans: list[tuple[int, int]], epoch: np.ndarray, rr: np.ndarray) -> bool:
    """Whether the stored beats within ``spans`` are exactly ``(epoch, rr)``."""
    where, args = _spans_where(spans)
    rows = conn.execute(f"SELECT b.epoch_ms, b.rr_ms FROM beat b WHERE {where} ORDER BY 1, 2", args).fetchall()
    if len(rows) != epoch.size:
        return False
    stored = np.asarray([tuple(r) for r in rows], dtype=float)
    order = np.lexsort((rr, epoch))
    return bool(np.array_equal(stored[:, 0], epoch[order].astype(float))
                and np.array_equal(np.round(stored[:, 1], 3), np.round(rr[order], 3)))


def _spans_clear(conn: sqlite3.Connection, spans: list[tuple[int, int]]) -> int:
    """Delete the stored beats within ``spans`` and what was derived from them (no
    commit); segments, import devices and import records left without beats go too. Raw
    BLE packets are kept. Returns the beats deleted."""
    where, args = _spans_where(spans, "epoch_ms")
    seg_ids = [r[0] for r in conn.execute(f"SELECT DISTINCT segment_id FROM beat WHERE {where}", args)]
    n = conn.execute(f"DELETE FROM beat WHERE {where}", args).rowcount
    for table in ("tick", "state_change", "baseline"):
        conn.execute(f"DELETE FROM {table} WHERE {where}", args)
    for first_ms, last_ms in spans:
        conn.execute("DELETE FROM episode WHERE onset_ms <= ? AND coalesce(end_ms, onset_ms) >= ?", (last_ms, first_ms))
    for seg_id in seg_ids:
        row = conn.execute("SELECT device_id FROM segment WHERE id = ?", (seg_id,)).fetchone()
        gone = conn.execute(
            "DELETE FROM segment WHERE id = ? AND NOT EXISTS (SELECT 1 FROM beat WHERE segment_id = ?)"
            " AND NOT EXISTS (SELECT 1 FROM packet WHERE segment_id = ?)", (seg_id, seg_id, seg_id)).rowcount
        if gone and row is not None and row[0] is not None:
            dev = conn.execute("SELECT address FROM device WHERE id = ?", (row[0],)).fetchone()
            if dev is not None and str(dev[0]).startswith("import:") and conn.execute(
                    "SELECT 1 FROM segment WHERE device_id = ? LIMIT 1", (row[0],)).fetchone() is None:
                conn.execute("DELETE FROM import_file WHERE 'import:' || substr(sha256, 1, 16) = ?", (dev[0],))
                conn.execute("DELETE FROM status_event WHERE device_id = ?", (row[0],))
                conn.execute("DELETE FROM device WHERE id = ?", (row[0],))
    return n


def rr_import(
    conn: sqlite3.Connection,
    path: str | Path,
    *,
    format: str | None = None,
    start_epoch_ms: float | None = None,
    replace: bool = False,
) -> ImportResult:
    """Store the beats of an RR file, in one transaction, after checking all of them.

    Refused (:class:`ImportRefused`, nothing written): beats already imported (the same
    beats, whatever the file's bytes or format, see :func:`beats_digest`); beats over a
    span where other beats are stored, unless ``replace`` (then those beats and their
    analysis are deleted in the same transaction, so two series never interleave); an RR
    over :data:`IMPORT_RR_MAX_MS` or a beat time outside 1990 .. tomorrow. The span is
    marked ``analysis_pending`` in the same transaction (``ImportResult.pending_id``).
    """
    path = Path(path)
    if start_epoch_ms is not None:
        epoch_ms_check(start_epoch_ms, "--start")
    series = rr_file_read(path, format)
    if len(series.rr_ms) == 0:
        raise ImportRefused(f"{path.name}: no RR intervals found")
    rr_all = np.asarray(series.rr_ms, dtype=float)
    worst = int(np.argmax(rr_all))
    if not rr_all[worst] <= IMPORT_RR_MAX_MS:
        raise ImportRefused(
            f"{path.name}: RR interval #{worst + 1} is {rr_all[worst]:.6g} ms, not a heartbeat"
            f" (limit {IMPORT_RR_MAX_MS / 60_000:g} min); nothing imported")
    if start_epoch_ms is None and series.epoch_ms is not None:
        stamps = np.asarray(series.epoch_ms, dtype=float)
        bad = np.isfinite(stamps) & ((stamps < IMPORT_EPOCH_MS_MIN)
                                     | (stamps > now_ms() + IMPORT_FUTURE_SLACK_MS))
        if bad.any():
            k = int(np.argmax(bad))
            epoch_ms_check(float(stamps[k]), f"{path.name}: the time of beat #{k + 1}")
    end_ms = path.stat().st_mtime * 1000
    with np.errstate(over="ignore", invalid="ignore"):
        laid = beats_lay_out(series, start_epoch_ms, untimed_start_ms=end_ms - float(np.sum(series.rr_ms)))
    epoch, rr, segment_index, flags, hr = laid.epoch_ms, laid.rr_ms, laid.segment_index, laid.flags, series.hr_bpm
    first_ms, last_ms = int(epoch.min()), int(epoch.max())
    epoch_ms_check(first_ms, f"{path.name}: its first beat")
    epoch_ms_check(last_ms, f"{path.name}: its last beat")
    notes = list(laid.notes)
    if not laid.timed:
        notes.append(
            "the file carries no time: beats placed to end at its modification time "
            f"({epoch_ms_to_iso(end_ms)}); use --start to set the real start"
        )
    sha = beats_digest(epoch, rr)
    rr_sha = beats_digest(None, rr)
    row = conn.execute("SELECT path, imported_at FROM import_file WHERE sha256=?", (sha,)).fetchone()
    if row is None and not laid.timed and start_epoch_ms is None:
        # no time in the file: the same RR values placed by another mtime are the same import
        row = conn.execute("SELECT path, imported_at FROM import_file WHERE rr_sha256=?", (rr_sha,)).fetchone()
    if row is not None:
        raise ImportRefused(
            f"{path.name}: these beats were already imported (from {row['path']} on"
            f" {epoch_ms_to_iso(row['imported_at'])}); nothing imported")
    span = f"{epoch_ms_to_iso(first_ms)} → {epoch_ms_to_iso(last_ms)}"
    spans = beats_spans(epoch, segment_index)
    if len(spans) > SPANS_MAX:  # a file of many short stretches: check its whole span at once
        spans = [(first_ms, last_ms)]
    with db_transaction(conn):
        stored = _stored_sources(conn, spans)
        replaced = 0
        if stored:
            if _same_beats(conn, spans, epoch, rr):
                raise ImportRefused(
                    f"{path.name}: the same {len(rr)} beats are already stored over {span}"
                    f" ({', '.join(_source_label(r) for r in stored)}); nothing imported")
            if not replace:
                n = sum(int(r["n"]) for r in stored)
                raise ImportRefused(
                    f"{path.name}: its beats {span} overlap {n} stored beats from "
                    + ", ".join(f"{_source_label(r)} {epoch_ms_to_iso(r['first'])} → {epoch_ms_to_iso(r['last'])}"
                                for r in stored)
                    + "; nothing imported (use `attune import --replace` to replace the stored beats of that span)")
            replaced = _spans_clear(conn, spans)
        hr_col = None if hr is None else [
            None if not np.isfinite(h) or not 0 <= h < 1000 else int(round(h)) for h in hr]
        segment_ids = series_store(conn, DeviceInfo(f"import:{sha[:16]}", f"{series.format}: {path.name}"),
                                   "import", segment_index, epoch, rr, hr_col, flags, reasons="import",
                                   note=path.name)
        conn.execute(
            "INSERT INTO import_file(sha256, rr_sha256, path, format, beats, imported_at) VALUES (?,?,?,?,?,?)",
            (sha, rr_sha, str(path.resolve()), series.format, len(rr), now_ms()),
        )
        pending_id = analysis_pending_add(conn, first_ms, last_ms + 1, f"import {path.name}")
    if replaced:
        notes.append(f"replaced {replaced} stored beats over {span} (--replace)")
    return ImportResult(
        path, series.format, len(rr), len(segment_ids), first_ms, last_ms,
        series.skipped_lines, tuple(series.notes) + tuple(notes), pending_id,
    )


def analysis_pending_add(conn: sqlite3.Connection, from_ms: int, to_ms: int, reason: str) -> int:
    """Mark ``[from_ms, to_ms)`` as stored but not yet analysed (no commit: call it in the
    transaction that stores the beats). Returns the row id."""
    cur = conn.execute(
        "INSERT INTO analysis_pending(from_ms, to_ms, reason, created_ms) VALUES (?,?,?,?)",
        (int(from_ms), int(to_ms), reason, now_ms()))
    return int(cur.lastrowid)


@dataclass(frozen=True)
class AccImportResult:
    """What :func:`acc_import` stored: ``samples`` at ``rate_hz`` from ``first_ms`` to
    ``last_ms`` (Unix ms) in ``frames`` evenly spaced frames; ``beats_in_span`` stored beats
    it overlaps; ``pending_id`` the ``analysis_pending`` row of its span (None when no beat
    is stored there: nothing to analyse yet)."""

    path: Path
    format: str
    samples: int
    rate_hz: float
    frames: int
    first_ms: int
    last_ms: int
    skipped_lines: int
    notes: tuple[str, ...]
    beats_in_span: int = 0
    pending_id: int | None = None
    replaced: int = 0


def acc_digest(epoch_ms: np.ndarray, xyz_mg: np.ndarray) -> str:
    """SHA-256 of accelerometer samples as stored (``epoch_ms`` int64, ``xyz_mg`` int16),
    prefixed so that it never equals a digest of beats: the same samples from another file,
    line ending or format are the same import."""
    h = hashlib.sha256(b"acc\0")
    h.update(np.ascontiguousarray(epoch_ms, dtype="<i8").tobytes())
    h.update(np.ascontiguousarray(xyz_mg, dtype="<i2").tobytes())
    return h.hexdigest()


def acc_import(
    conn: sqlite3.Connection, path: str | Path, *, format: str | None = None, replace: bool = False
) -> AccImportResult:
    """Store the samples of an accelerometer file, in one transaction, after checking them.

    Refused (:class:`ImportRefused` or the reader's error, nothing written): a file the
    reader refuses (no wall time, rate outside 12.5–200 Hz, …); times outside 1990 ..
    tomorrow; the same samples imported before (:func:`acc_digest`); samples over a span
    where accelerometer samples are stored, unless ``replace`` (the stored ones of the
    file's span are deleted in the same transaction). Samples keep their wall time, which
    is how they line up with beats, stored before or after them. Where beats are stored
    over the file's span, the span is marked ``analysis_pending`` in the same transaction.
    """
    path = Path(path)
    series: AccSeries = acc_file_read(path, format)
    epoch, xyz = series.epoch_ms, series.xyz_mg
    first_ms, last_ms = int(epoch[0]), int(epoch[-1])
    epoch_ms_check(first_ms, f"{path.name}: its first sample")
    epoch_ms_check(last_ms, f"{path.name}: its last sample")
    sha = acc_digest(epoch, xyz)
    row = conn.execute("SELECT path, imported_at FROM import_file WHERE sha256=?", (sha,)).fetchone()
    if row is not None:
        raise ImportRefused(
            f"{path.name}: these accelerometer samples were already imported (from {row['path']} on"
            f" {epoch_ms_to_iso(row['imported_at'])}); nothing imported")
    cuts = np.flatnonzero(np.diff(epoch) > SPAN_JOIN_MS) + 1
    spans = [(int(epoch[i]), int(epoch[j - 1])) for i, j in zip(np.r_[0, cuts], np.r_[cuts, epoch.size], strict=True)]
    if len(spans) > SPANS_MAX:
        spans = [(first_ms, last_ms)]
    span = f"{epoch_ms_to_iso(first_ms)} → {epoch_ms_to_iso(last_ms)}"
    notes = list(series.notes)
    with db_transaction(conn):
        stored = [src for lo, hi in spans for src in acc_sources(conn, lo, hi + 1)]
        replaced = 0
        if stored and not replace:
            n = sum(s[1] for s in stored)
            raise ImportRefused(
                f"{path.name}: its accelerometer samples {span} overlap {n} stored samples from "
                + ", ".join(f"{src} {epoch_ms_to_iso(lo)} → {epoch_ms_to_iso(hi)}" for src, _, lo, hi in stored)
                + "; nothing imported (use `attune import --replace` to replace the stored motion of that span)")
        if stored:
            replaced = sum(acc_span_clear(conn, lo, hi + 1) for lo, hi in spans)
            acc_imports_orphaned_delete(conn, ACC_FORMATS)
        cur = conn.execute(  # for an accelerometer file, import_file.beats counts its samples
            "INSERT INTO import_file(sha256, rr_sha256, path, format, beats, imported_at) VALUES (?,?,?,?,?,?)",
            (sha, None, str(path.resolve()), series.format, len(epoch), now_ms()))
        frames = acc_series_store(conn, epoch, xyz, series.rate_hz, device_id=None, import_id=int(cur.lastrowid))
        where, args = _spans_where(spans, "epoch_ms")
        beats = int(conn.execute(f"SELECT count(*) FROM beat WHERE {where}", args).fetchone()[0])
        pending_id = analysis_pending_add(conn, first_ms, last_ms + 1, f"import {path.name}") if beats else None
    if replaced:
        notes.append(f"replaced {replaced} stored accelerometer samples over {span} (--replace)")
    return AccImportResult(path, series.format, len(epoch), series.rate_hz, frames, first_ms, last_ms,
                           series.skipped_lines, tuple(notes), beats, pending_id, replaced)


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
    rows = beats_read(conn, from_ms, to_ms)
    if format == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        for epoch_ms, rr_ms, hr_bpm, segment_id, flags in rows:
            writer.writerow([epoch_ms, _ms(rr_ms), _blank(hr_bpm), segment_id, flags])
            n += 1
    elif format == "json":
        out.write("[")
        for r in rows:
            out.write(("," if n else "") + "\n" + json.dumps(dict(zip(EXPORT_COLUMNS, r, strict=True))))
            n += 1
        out.write("\n]\n")
    else:
        for _, rr_ms, *_ in rows:
            out.write(_ms(rr_ms) + "\n")
            n += 1
    return n


def _ms(value: float) -> str:
    # 1/1024 s ticks have at most 7 decimals in ms; print them exactly, integers plainly
    text = f"{value:.7f}".rstrip("0").rstrip(".")
    return text


def _blank(value: object) -> object:
    return "" if value is None else value

