"""A recording session: collector → queue → recorder, in one asyncio process.

``attune record`` runs it alone; ``attune run`` and ``attune demo`` add the live signal
pipeline (as a recorder listener) and the web app to the same event loop.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from attune.db import DatabaseError, db_error_explain
from attune.ingest.collector import BackoffPolicy, Collector
from attune.ingest.events import LinkEvent, LinkKind
from attune.ingest.recorder import Recorder

log = logging.getLogger(__name__)

Source = Callable[[asyncio.Queue[Any], asyncio.Event], Awaitable[None]]


async def session_run(
    conn: sqlite3.Connection,
    stop: asyncio.Event,
    *,
    source: Source | None = None,
    recorder: Recorder | None = None,
    device: str | None = None,
    watchdog_s: float = 10.0,
    backoff_cap_s: float = 60.0,
    scan_timeout_s: float = 10.0,
    acc_rate_hz: int = 25,
) -> Recorder:
    """Record until ``stop`` is set; return the recorder (for its stats).

    ``source`` defaults to a Bleak :class:`Collector`; the demo passes its simulated strap.
    ``acc_rate_hz``: the accelerometer rate asked of a strap that has one (0: motion off).
    Shutdown is graceful: the source disconnects, the recorder drains the queue, writes
    ``recording_stopped`` and commits.
    """
    queue: asyncio.Queue[Any] = asyncio.Queue()
    recorder = recorder or Recorder(conn)
    try:
        recorder.status_event(LinkKind.RECORDING_STARTED, {"device_spec": device})
    except (sqlite3.Error, OSError) as exc:
        recorder.conn.rollback()
        raise DatabaseError(f"cannot record: {db_error_explain(exc)}") from exc
    recorder.commit()
    if recorder.storage_error is not None:  # nothing recorded yet: say so now, not later
        raise DatabaseError(f"cannot record: {recorder.storage_error}")
    if source is None:
        collector = Collector(
            queue, device, watchdog_s=watchdog_s, backoff=BackoffPolicy(cap_s=backoff_cap_s),
            scan_timeout_s=scan_timeout_s, acc_rate_hz=acc_rate_hz,
        )
        produce = collector.run(stop)
    else:
        produce = source(queue, stop)
    consumer = asyncio.create_task(recorder.run(queue), name="recorder")
    try:
        await produce
    finally:
        queue.put_nowait(LinkEvent(LinkKind.RECORDING_STOPPED, {"packets": recorder.stats.packets}))
        queue.put_nowait(None)
        await consumer
    return recorder
