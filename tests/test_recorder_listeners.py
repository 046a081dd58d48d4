"""A failing listener never stops recording (issue 11): a real Recorder consuming its queue
into a real SQLite file, with listeners that raise."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from attune.db import db_connect
from attune.ingest.events import Beat, DeviceInfo, LinkEvent, Notification
from attune.ingest.hrm import hrm_encode
from attune.ingest.recorder import Recorder

MS = 1_000_000
WALL0 = 1_763_700_000_000  # ms
PACKETS = 40


def _stream() -> list[Notification | LinkEvent | None]:
    events: list[Notification | LinkEvent | None] = [
        LinkEvent("connected", {}, DeviceInfo("AA:BB", "Polar H10"), wall_ns=WALL0 * MS)]
    t_ms = 0.0
    for k in range(PACKETS):
        ticks = [1000 + k % 7, 990 + k % 5]
        t_ms += sum(ticks) * 1000 / 1024
        events.append(Notification(int(t_ms * MS), int((WALL0 + t_ms) * MS), hrm_encode(60, ticks, contact=True)))
    return [*events, None]


async def _record(rec: Recorder) -> None:
    queue: asyncio.Queue[Notification | LinkEvent | None] = asyncio.Queue()
    for event in _stream():
        queue.put_nowait(event)
    await asyncio.wait_for(rec.run(queue), timeout=30)


def test_a_failing_listener_does_not_stop_recording(db_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    conn = db_connect(db_path)
    rec = Recorder(conn)
    seen_after: list[Beat] = []
    statuses: list[str] = []

    def broken(beats: list[Beat]) -> None:
        # writes in the recorder's transaction, then fails: its row must not stay
        conn.execute("INSERT INTO status_event(epoch_ms, kind, value) VALUES (?, 'broken', '{}')", (beats[0].epoch_ms,))
        raise RuntimeError("listener bug")

    def broken_status(kind: str, value: dict, epoch_ms: int) -> None:
        raise KeyError(kind)

    rec.add_listener(broken)
    rec.add_listener(seen_after.extend)
    rec.add_status_listener(broken_status)
    rec.add_status_listener(lambda kind, value, epoch_ms: statuses.append(kind))
    with caplog.at_level(logging.DEBUG, logger="attune.ingest.recorder"):
        asyncio.run(_record(rec))  # before: RuntimeError out of Recorder.run, recording stopped
    conn.close()

    check = sqlite3.connect(db_path)
    stored = [r[0] for r in check.execute("SELECT id FROM beat ORDER BY id")]
    kinds = [r[0] for r in check.execute("SELECT kind FROM status_event ORDER BY id")]
    check.close()
    assert len(stored) == 2 * PACKETS  # every beat stored
    assert [b.id for b in seen_after] == stored  # the next listener got them all
    assert kinds == ["connected", "contact"] and statuses == kinds  # the broken listener's rows are undone
    assert rec.stats.listener_failures == PACKETS + 2
    assert rec.stats.beats == 2 * PACKETS
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # rate-limited: one line, not one per packet
    assert "recording goes on" in warnings[0].getMessage()
    tracebacks = [r for r in caplog.records if r.levelno == logging.DEBUG and r.exc_info]
    assert tracebacks and tracebacks[0].exc_info[0] in (RuntimeError, KeyError)


def test_a_failing_listener_leaves_nothing_a_storage_retry_would_replay(db_path: Path) -> None:
    """A listener's failed statement is dropped from what a retry replays: a later storage
    failure in the same transaction still recovers, with every beat."""
    conn = db_connect(db_path)
    rec = Recorder(conn, retry_base_s=0.0)
    calls = 0

    def duplicate_key(beats: list[Beat]) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:  # a constraint error: the statement is traced, then fails
            conn.execute("INSERT INTO device(id, address) VALUES (1, 'again')")

    rec.add_listener(duplicate_key)
    events = _stream()
    for event in events[:10]:
        rec.consume(event)  # type: ignore[arg-type]
    assert rec.stats.listener_failures == 1 and conn.in_transaction
    # storage fails now (the transaction is rolled back and kept for replay) ...
    rec._storage_failed(sqlite3.OperationalError("disk I/O error"))
    assert rec.storage_retry()  # ... and the replay holds no failing statement
    for event in events[10:-1]:
        rec.consume(event)  # type: ignore[arg-type]
    rec.close_out()
    conn.close()
    check = sqlite3.connect(db_path)
    assert check.execute("SELECT count(*) FROM beat").fetchone()[0] == 2 * PACKETS
    check.close()
