"""``GET /api/export``: beats, ticks, episodes, tags and breathing sessions, as CSV, JSON or a plain RR list."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Callable, Iterator
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import StreamingResponse

from attune.api import analysis, queries
from attune.api.breathing import COLUMNS as SESSION_COLUMNS
from attune.api.breathing import session_export_rows
from attune.api.database import Database
from attune.api.deps import AppContext, context
from attune.api.models import Problem, ZonedTime
from attune.api.tags import tags_overlapping
from attune.ingest.store import beats_read
from attune.timeutil import datetime_to_epoch_ms, epoch_ms_to_iso

router = APIRouter(tags=["export"])

BEAT_COLUMNS = ("at", "epoch_ms", "rr_ms", "hr_bpm", "segment", "flags")
TAG_COLUMNS = ("id", "origin", "start", "end", "label", "note")
EPISODE_COLUMNS = ("id", "start", "end", "peak_at", "duration_s", "peak_score", "delta_hr_bpm", "delta_ln_rmssd",
                   "recovery_s", "half_recovery_s", "quality", "label", "note", "motion")
_CHUNK_ROWS = 2000


def _rr_text(value: float) -> str:
    # 1/1024 s ticks have at most 7 decimals in ms: exact, integers plainly
    return f"{value:.7f}".rstrip("0").rstrip(".")


def _beat_rows(conn: sqlite3.Connection, a: int | None, b: int | None) -> Iterator[tuple]:
    for epoch_ms, rr_ms, hr_bpm, segment_id, flags in beats_read(conn, a, b):
        yield (epoch_ms_to_iso(epoch_ms), epoch_ms, _rr_text(rr_ms), hr_bpm, segment_id, flags)


def _episode_rows(conn: sqlite3.Connection, a: int | None, b: int | None) -> Iterator[tuple]:
    episodes, _ = queries.episodes_and_moments(conn, a, b)
    for e in episodes:
        yield (e.id, e.start.isoformat(), e.end.isoformat() if e.end else None, e.peak_at.isoformat(),
               e.duration_s, e.peak_score, e.delta_hr_bpm, e.delta_ln_rmssd, e.recovery_s, e.half_recovery_s,
               e.quality, e.tag.label if e.tag else None, e.tag.note if e.tag else None, e.motion)


def _tag_rows(conn: sqlite3.Connection, a: int | None, b: int | None) -> Iterator[tuple]:
    for t in tags_overlapping(conn, a, b):
        yield (t.id, t.origin, epoch_ms_to_iso(t.start_epoch_ms), epoch_ms_to_iso(t.end_epoch_ms), t.label, t.note)


TABLES: dict[str, tuple[tuple[str, ...], Callable[[sqlite3.Connection, int | None, int | None], Iterator[tuple]]]] = {
    "beats": (BEAT_COLUMNS, _beat_rows),
    "ticks": (analysis.TICK_EXPORT_COLUMNS, analysis.tick_export_rows),
    "episodes": (EPISODE_COLUMNS, _episode_rows),
    "tags": (TAG_COLUMNS, _tag_rows),
    "sessions": (SESSION_COLUMNS, session_export_rows),  # paced-breathing sessions (issue 10)
}


def _csv(columns: tuple[str, ...], rows: Iterator[tuple]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for i, row in enumerate(rows, 1):
        writer.writerow(["" if v is None else v for v in row])
        if i % _CHUNK_ROWS == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _json(conn: sqlite3.Connection, a: int | None, b: int | None) -> Iterator[str]:
    yield json.dumps({"from": epoch_ms_to_iso(a) if a is not None else None, "to": epoch_ms_to_iso(b) if b is not None else None})[:-1]
    for name, (columns, rows_of) in TABLES.items():
        yield f', "{name}": ['
        for i, row in enumerate(rows_of(conn, a, b)):
            yield ("," if i else "") + "\n" + json.dumps(dict(zip(columns, row, strict=True)))
        yield "\n]"
    yield "}\n"


def _chunked(pieces: Iterator[str], size: int = 1 << 16) -> Iterator[str]:
    """Join small pieces into ~64 KiB chunks: each chunk is one hop to a worker thread."""
    buf: list[str] = []
    n = 0
    for piece in pieces:
        buf.append(piece)
        n += len(piece)
        if n >= size:
            yield "".join(buf)
            buf, n = [], 0
    if buf:
        yield "".join(buf)


def _stream(db: Database, format: str, table: str, a: int | None, b: int | None) -> Iterator[str]:
    """The export on its own connection, in one read transaction: a consistent snapshot
    however long the download takes (and pieces may be produced on different threads)."""
    conn = db.reader()
    try:
        conn.execute("BEGIN")
        if format == "rr":
            yield from _chunked(r[2] + "\n" for r in _beat_rows(conn, a, b))
        elif format == "csv":
            columns, rows_of = TABLES[table]
            yield from _chunked(_csv(columns, rows_of(conn, a, b)))
        else:
            yield from _chunked(_json(conn, a, b))
    finally:
        conn.close()


@router.get(
    "/api/export",
    summary="Export beats, ticks, episodes, tags and breathing sessions",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/json": {}, "text/plain": {}},
                     "description": "json: one object with all five tables; csv: the table named by "
                                    "`table`; rr: one RR interval in ms per line (Kubios and most HRV tools)"},
               422: {"model": Problem}},
)
def export(
    format: Literal["csv", "json", "rr"] = Query("json"),
    table: Literal["beats", "ticks", "episodes", "tags", "sessions"] = Query("beats", description="for csv: which table"),
    from_: ZonedTime | None = Query(None, alias="from", description="start (default: the beginning)"),
    to: ZonedTime | None = Query(None, description="end, exclusive (default: now)"),
    ctx: AppContext = Depends(context),
) -> StreamingResponse:
    a = datetime_to_epoch_ms(from_) if from_ is not None else None
    b = datetime_to_epoch_ms(to) if to is not None else None
    if a is not None and b is not None and b <= a:
        raise HTTPException(422, "`to` must be after `from`")
    if format == "rr":
        media, name = "text/plain; charset=utf-8", "attune-rr.txt"
    elif format == "csv":
        media, name = "text/csv; charset=utf-8", f"attune-{table}.csv"
    else:
        media, name = "application/json", "attune-export.json"
    return StreamingResponse(_stream(ctx.db, format, table, a, b), media_type=media,
                             headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
