"""Live events without a live pipeline (``attune serve``): poll the database for new rows.

Another process (``attune record``/``run``) writes; this one notices new beats, ticks,
state changes and episodes about once a second, reads them back into the typed events
the writer's recorder and pipeline emitted, and publishes them through the same wire
(:mod:`attune.api.wire`), so the phone page behaves the same (only later by the poll
interval and the writer's commit cadence).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

from attune.api.live import LiveHub
from attune.api.wire import WireEvent, wire_payloads
from attune.ingest.readers import beat_id_last, beats_read_after_id, status_event_id_last, status_events_read_after_id
from attune.signals.events import EpisodeAnnounced, EpisodeEnded, EpisodeUpdated, Event
from attune.signals.storage import (
    episode_ids_open,
    episode_updated_last_ms,
    episodes_read_changed_since,
    state_change_last_ms,
    state_changes_read_since,
    tick_last_ms,
    ticks_read_since,
)

log = logging.getLogger(__name__)


class AnalysisCursor:
    """The ticks, state changes and episode changes written since the last poll, read
    back as the typed events the live pipeline emitted for them."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.tick_ms = tick_last_ms(conn)
        self.state_ms = state_change_last_ms(conn)
        self.episode_ms = episode_updated_last_ms(conn)
        # episodes already announced when we started: their changes are updates, not news
        self.open_ids = episode_ids_open(conn)

    def poll(self) -> list[Event]:
        """State changes, the newest tick and episode changes since the last poll."""
        events: list[Event] = []
        states = state_changes_read_since(self.conn, self.state_ms)
        if states:
            self.state_ms = states[-1].epoch_ms
            events += states
        ticks = ticks_read_since(self.conn, self.tick_ms, limit=1)  # only the newest: the page shows now
        if ticks:
            self.tick_ms = ticks[-1].epoch_ms
            events += ticks
        changed = episodes_read_changed_since(self.conn, self.episode_ms)
        if changed:
            self.episode_ms = max(self.episode_ms, changed[-1][0])
        # a change belongs to the tick the analysis had reached (the live pipeline's event
        # time, which is not stored): the newest tick
        last_tick_ms = tick_last_ms(self.conn) if changed else 0
        for _, episode in changed:
            assert episode.id is not None
            if episode.status != "open":
                self.open_ids.discard(episode.id)
                events.append(EpisodeEnded(last_tick_ms, episode))
            elif episode.id in self.open_ids:
                events.append(EpisodeUpdated(last_tick_ms, episode))
            else:  # seen for the first time while open: it has just been announced
                self.open_ids.add(episode.id)
                events.append(EpisodeAnnounced(episode.confirmed_ms, episode))
        return events


class DbTail:
    """Remembers what it has seen; :meth:`poll` returns the events for what is new."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.beat_id = beat_id_last(conn)
        self.link_id = status_event_id_last(conn)
        self.analysis = AnalysisCursor(conn)

    def poll_events(self) -> list[WireEvent]:
        """What is new, as typed events: one batch of beats, status events, state
        changes, the newest tick, episode changes."""
        events: list[WireEvent] = []
        conn = self.conn
        conn.execute("BEGIN")  # one snapshot for all tables
        try:
            beats = beats_read_after_id(conn, self.beat_id)
            if beats:
                self.beat_id = beats[-1].id
                events.append(beats)
            statuses = status_events_read_after_id(conn, self.link_id)
            if statuses:
                self.link_id = statuses[-1][0]
                events += [status for _, status in statuses]
            events += self.analysis.poll()
        finally:
            conn.execute("ROLLBACK")
        return events

    def poll(self) -> list[tuple[str, dict]]:
        """What is new, as SSE ``(kind, data)`` payloads (:mod:`attune.api.wire`)."""
        return wire_payloads(self.poll_events())


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
