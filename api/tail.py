"""Live events without a live pipeline (``attune serve``): poll the database for new rows.

Another process (``attune record``/``run``) writes; this one notices new beats, ticks,
state changes and episodes about once a second and publishes them like the in-process
pipeline does, so the phone page behaves the same (only later by the poll interval and
the writer's commit cadence).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

from attune.api import analysis
from attune.api.live import LiveHub
from attune.timeutil import epoch_ms_to_iso as iso

log = logging.getLogger(__name__)


class DbTail:
    """Remembers what it has seen; :meth:`poll` returns the events for what is new."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.beat_id = conn.execute("SELECT coalesce(max(id), 0) FROM beat").fetchone()[0]
        self.link_id = conn.execute("SELECT coalesce(max(id), 0) FROM status_event").fetchone()[0]
        self.analysis = analysis.AnalysisCursor(conn)

    def poll(self) -> list[tuple[str, dict]]:
        events: list[tuple[str, dict]] = []
        conn = self.conn
        conn.execute("BEGIN")  # one snapshot for all tables
        try:
            beats = conn.execute(
                "SELECT id, epoch_ms, rr_ms, hr_bpm, flags FROM beat WHERE id > ? ORDER BY id LIMIT 5000",
                (self.beat_id,),
            ).fetchall()
            if beats:
                self.beat_id = beats[-1]["id"]
                events.append(("beats", {
                    "beats": [{"at": iso(b["epoch_ms"]), "rr_ms": b["rr_ms"], "flags": b["flags"]} for b in beats[-300:]],
                    "hr_bpm": beats[-1]["hr_bpm"],
                }))
            for row in conn.execute(
                "SELECT id, epoch_ms, kind, value FROM status_event WHERE id > ? AND kind != 'parse_error'"
                " ORDER BY id LIMIT 1000", (self.link_id,),
            ):
                self.link_id = row["id"]
                events.append(("link", {"kind": row["kind"], "at": iso(row["epoch_ms"])}))
            events.extend(self.analysis.poll())
        finally:
            conn.execute("ROLLBACK")
        return events


async def _in_thread(fn, *args):  # type: ignore[no-untyped-def]
    """Run ``fn`` in a worker thread; if cancelled meanwhile, let it finish first, so the
    connection it uses is never closed under it."""
    future = asyncio.get_running_loop().run_in_executor(None, fn, *args)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise


async def db_tail(path: Path, live: LiveHub, interval_s: float = 1.0) -> None:
    """Publish new rows of the database at ``path`` until cancelled."""
    # a proper file URI: a '#', '?' or '%' in the path is percent-encoded, not read as the
    # URI's fragment or query (which would open, and create, another file read-write)
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 2000")
    try:
        tail = await _in_thread(DbTail, conn)
        while True:
            await asyncio.sleep(interval_s)
            try:
                events = await _in_thread(tail.poll)
            except sqlite3.OperationalError as exc:  # busy for longer than the timeout: next round
                log.debug("tail poll skipped: %s", exc)
                continue
            for kind, data in events:
                live.publish(kind, data)
    finally:
        conn.close()
