"""Reading the ingest tables back as the recorder's typed events, for a process that did
not write them (``attune serve`` tails a database another process records into)."""

from __future__ import annotations

import json
import sqlite3

from attune.ingest.events import Beat, StatusEvent


def beat_id_last(conn: sqlite3.Connection) -> int:
    """The highest stored beat id (0 without beats): where a reader starts."""
    return int(conn.execute("SELECT coalesce(max(id), 0) FROM beat").fetchone()[0])


def beats_read_after_id(conn: sqlite3.Connection, after_id: int, limit: int = 5000) -> list[Beat]:
    """Up to ``limit`` beats stored after the beat with id ``after_id``, in storage order."""
    rows = conn.execute(
        "SELECT id, segment_id, epoch_ms, rr_ms, rr_1024, hr_bpm, flags FROM beat WHERE id > ? ORDER BY id LIMIT ?",
        (after_id, limit),
    ).fetchall()
    return [Beat(*tuple(r)) for r in rows]


def status_event_id_last(conn: sqlite3.Connection) -> int:
    """The highest stored status event id (0 without any)."""
    return int(conn.execute("SELECT coalesce(max(id), 0) FROM status_event").fetchone()[0])


def status_events_read_after_id(
    conn: sqlite3.Connection, after_id: int, limit: int = 1000
) -> list[tuple[int, StatusEvent]]:
    """Up to ``limit`` status events stored after id ``after_id``: ``(id, event)`` in storage order."""
    rows = conn.execute(
        "SELECT id, epoch_ms, kind, value FROM status_event WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
    ).fetchall()
    return [(int(r[0]), StatusEvent(int(r[1]), r[2], status_value_parse(r[3]))) for r in rows]


def status_value_parse(text: str | None) -> dict:
    """A stored status event's ``value``: the JSON object the recorder wrote; anything
    else (a hand-edited or damaged row) reads as empty."""
    try:
        out = json.loads(text or "{}")
    except ValueError:
        return {}
    return out if isinstance(out, dict) else {}
