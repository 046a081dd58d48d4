"""The recorder: parse, timestamp and store every notification; publish the beats.

It is the single consumer of the collector's queue and, while it runs, the only writer of
ingest tables (one process per database: ``db_writer_lock``); its rows go through
:mod:`attune.ingest.store`, as those of imports and the demo do. Rows are written inside
an open transaction that is committed at least every ``commit_interval_s`` (default
0.5 s) while data flows, so a crash loses at most that much, and WAL keeps the database
consistent whatever happens.

A write that fails (disk full, file size limit, I/O error, read-only file) never takes the
recorder down and never touches what is committed: the open transaction is rolled back but
kept as the list of statements it ran (SQLite's trace callback gives them with their values
bound), the failure is logged at once and published (:attr:`Recorder.storage_error`), new
events wait in memory (bounded) and the write is retried with exponential backoff. When it
succeeds the kept statements are replayed — they get the same row ids, this being the only
writer of its tables — and the waiting events are stored as if they had just arrived.

Motion (issue 8): every PMD data / RSC notification is kept byte for byte
(``motion_packet``); PMD accelerometer frames are decoded (:class:`PmdAccStream`), their
sensor times mapped to wall time (:class:`SensorClock`, re-anchored at every connect,
disconnect and stream start, as :class:`BeatClock` is for beats) and stored as
``acc_frame`` rows; RSC cadence as ``cadence_sample`` rows. A frame that cannot be decoded is
kept with status 1, counted and logged once; it never stops recording. All of it goes
through the same transaction, journal and retry as beats.

Listeners (the live pipeline, the web app's hub) are called synchronously after each
packet's beats, each frame's accelerometer samples and each status event are stored. One that raises is logged (rate-limited,
traceback at debug), counted (:attr:`RecorderStats.listener_failures`) and its writes
undone; recording and the other listeners go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from attune.ingest.events import AccSamples, Beat, LinkEvent, LinkKind, MotionKind, MotionNotification, Notification
from attune.ingest.hrm import HeartRateMeasurement, HrmError, hrm_parse
from attune.ingest.motion_store import acc_frame_insert, cadence_insert, motion_packet_insert
from attune.ingest.plausibility import BeatFlag, beat_flags_for
from attune.ingest.pmd import PmdAccStream, PmdMalformed, SensorClock
from attune.ingest.rsc import RscMalformed, rsc_parse
from attune.ingest.store import beats_insert, device_upsert, packet_insert, segment_insert
from attune.ingest.timestamps import BeatClock, ClockConfig
from attune.timeutil import now_ms

log = logging.getLogger(__name__)

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
JOURNAL_MAX_STATEMENTS = 2_000  # commit early past this: bounds what a failed write keeps

BeatListener = Callable[[list[Beat]], None]
StatusListener = Callable[[LinkKind, dict, int], None]  # kind, value, epoch_ms
MotionListener = Callable[[AccSamples], None]
Event = Notification | MotionNotification | LinkEvent


@dataclass
class RecorderStats:
    packets: int = 0
    beats: int = 0
    segments: int = 0
    parse_errors: Counter[str] = field(default_factory=Counter)
    flagged: Counter[str] = field(default_factory=Counter)
    storage_failures: int = 0  # writes that failed (each retried)
    listener_failures: int = 0  # listener calls that raised (recording went on)
    dropped: int = 0  # events lost: the in-memory buffer overflowed, or the disk never came back
    motion_packets: int = 0  # PMD data and RSC notifications stored
    acc_samples: int = 0
    cadence_samples: int = 0
    motion_errors: Counter[str] = field(default_factory=Counter)  # malformed motion notifications (kept)


class Recorder:
    """Turns the collector's events into stored packets, beats, segments and status events."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        source: str = "ble",
        commit_interval_s: float = 0.5,
        clock: ClockConfig | None = None,
        retry_base_s: float = 1.0,
        retry_cap_s: float = 30.0,
        buffer_max_events: int = 200_000,
    ) -> None:
        self.conn = conn
        self.source = source
        self.commit_interval_s = commit_interval_s
        self.clock = BeatClock(clock or ClockConfig())
        self.stats = RecorderStats()
        self._listeners: list[BeatListener] = []
        self._status_listeners: list[StatusListener] = []
        self._motion_listeners: list[MotionListener] = []
        self._acc_stream: PmdAccStream | None = None  # set by motion_started (rate, factor)
        self._sensor_clock = SensorClock()
        self._device_id: int | None = None
        self._segment_id: int | None = None
        self._contact: bool | None = None
        self._prev_rr_1024: int | None = None
        self._after_gap = False
        self._last_commit = time.monotonic()
        self._last_error_log = 0.0
        self._last_listener_log = float("-inf")
        # storage failures: see the module docstring
        self.storage_error: str | None = None
        self.storage_failed_ms: int | None = None
        self.retry_base_s = retry_base_s
        self.retry_cap_s = retry_cap_s
        self._retry_attempt = 0
        self._retry_at = 0.0
        self._pending: deque[Event] = deque()
        self._buffer_max = buffer_max_events
        self._journal: list[str] = []
        self._tx_open = False
        # keep dirty pages in memory until COMMIT: a full disk then fails the COMMIT, not an
        # INSERT halfway through a packet
        conn.execute("PRAGMA cache_spill = OFF")
        conn.set_trace_callback(self._trace)

    # -- downstream -------------------------------------------------------------------
    def add_listener(self, listener: BeatListener) -> None:
        """Call ``listener(beats)`` synchronously after each packet's beats are stored."""
        self._listeners.append(listener)

    def add_status_listener(self, listener: StatusListener) -> None:
        """Call ``listener(kind, value, epoch_ms)`` after each status event is stored."""
        self._status_listeners.append(listener)

    def add_motion_listener(self, listener: MotionListener) -> None:
        """Call ``listener(samples)`` synchronously after each accelerometer frame is stored."""
        self._motion_listeners.append(listener)

    # -- the consumer loop --------------------------------------------------------------
    async def run(self, queue: asyncio.Queue[Event | None]) -> None:
        """Consume until a ``None`` sentinel arrives; commit on the cadence and at the end."""
        try:
            while True:
                if self._pending and self.storage_error is None:
                    # storage is back: write what waited, in slices, so the web app stays responsive
                    self.pending_store(500)
                    await asyncio.sleep(0)
                    continue
                due = self._retry_at if self.storage_error else self._last_commit + self.commit_interval_s
                timeout = max(0.0, due - time.monotonic())
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=timeout or 0.05)
                except TimeoutError:
                    self.storage_retry() if self.storage_error else self.commit()
                    continue
                if event is None:
                    break
                self.consume(event)
        finally:
            self.close_out()

    def consume(self, event: Event) -> None:
        """Store one event now or, while storage fails or older events still wait, hold it
        in memory (in arrival order)."""
        if self.storage_error is not None or self._pending:
            self._hold(event)
            if self.storage_error is not None and time.monotonic() >= self._retry_at:
                self.storage_retry()
            return
        self._store(event)

    def _store(self, event: Event) -> None:
        try:
            self.handle(event)
        except (sqlite3.Error, OSError) as exc:
            self._storage_failed(exc)  # the rest of this one event is lost; see cache_spill
            return
        self.commit_if_due()

    def pending_store(self, limit: int | None = None) -> int:
        """Store up to ``limit`` held events (all by default) while storage works."""
        n = 0
        while self._pending and self.storage_error is None and (limit is None or n < limit):
            self._store(self._pending.popleft())
            n += 1
        return n

    def close_out(self) -> None:
        """Last commit at shutdown; if storage is still failing, one last try, then say
        exactly what could not be stored."""
        self.pending_store()
        self.commit()
        if self.storage_error is not None and self.storage_retry():
            self.pending_store()
            self.commit()
        if self.storage_error is not None:
            lost = len(self._pending) + sum(1 for sql in self._journal
                                            if "INTO packet" in sql[:40] or "INTO motion_packet" in sql[:40])
            self.stats.dropped += lost
            log.error("stopping with storage still failing (%s): the last %d notifications held in "
                      "memory could not be written", self.storage_error, lost)
            self._pending.clear()
            self._journal.clear()

    def handle(self, event: Event) -> list[Beat]:
        if isinstance(event, Notification):
            return self.handle_notification(event)
        if isinstance(event, MotionNotification):
            self.handle_motion(event)
            return []
        self.handle_link_event(event)
        return []

    # -- link events ----------------------------------------------------------------------
    def handle_link_event(self, event: LinkEvent) -> None:
        self._begin()
        if event.device is not None:
            self._device_id = device_upsert(self.conn, event.device)
        if event.kind in (LinkKind.CONNECTED, LinkKind.DISCONNECTED, LinkKind.LINK_SILENT, LinkKind.RECORDING_STOPPED):
            # whatever comes next is not continuous with what came before
            self.clock.break_chain("reconnect" if self.stats.segments else "connect")
            self._prev_rr_1024 = None
            self._contact = None
        if event.kind in (LinkKind.CONNECTED, LinkKind.DISCONNECTED, LinkKind.LINK_SILENT, LinkKind.RECORDING_STOPPED,
                          LinkKind.MOTION_STARTED, LinkKind.MOTION_STOPPED):
            self._motion_chain_break(event)
        self.status_event(event.kind, event.value, wall_ns=event.wall_ns)
        if event.kind in (LinkKind.CONNECTED, LinkKind.DISCONNECTED, LinkKind.RECORDING_STOPPED):
            self.commit()

    def status_event(self, kind: LinkKind, value: dict | None = None, *, wall_ns: int | None = None) -> None:
        self._begin()
        epoch_ms = (wall_ns if wall_ns is not None else time.time_ns()) // 1_000_000
        value = value or {}
        self.conn.execute(
            "INSERT INTO status_event(epoch_ms, device_id, kind, value) VALUES (?,?,?,?)",
            (epoch_ms, self._device_id, kind, json.dumps(value, sort_keys=True)),
        )
        self._listeners_call(self._status_listeners, kind, value, epoch_ms)

    def _motion_chain_break(self, event: LinkEvent) -> None:
        """A new stream (or none): sample times re-anchor and frame spacing starts afresh."""
        if event.kind == LinkKind.MOTION_STARTED:
            rate = event.value.get("sample_rate_hz")
            factor = event.value.get("factor")
            self._acc_stream = PmdAccStream(float(rate) if rate else None,
                                            float(factor) if factor else 1.0)
            self._sensor_clock.break_chain("start")
        else:
            self._sensor_clock.break_chain("reconnect")
        if self._acc_stream is not None:
            self._acc_stream.reset()

    # -- motion --------------------------------------------------------------------------------
    def handle_motion(self, n: MotionNotification) -> AccSamples | None:
        """Keep a PMD data / RSC notification; store the accelerometer samples or cadence it
        carries and return the samples (None for RSC or a malformed frame)."""
        self._begin()
        self.stats.motion_packets += 1
        if n.kind == MotionKind.RSC:
            m = rsc_parse(n.payload)
            if isinstance(m, RscMalformed):
                self._record_bad_motion(n, "rsc", str(m))
                return None
            packet_id = motion_packet_insert(self.conn, self._device_id, n)
            cadence_insert(self.conn, n.arrival_wall_ns // 1_000_000, m.cadence_spm, device_id=self._device_id,
                           packet_id=packet_id)
            self.stats.cadence_samples += 1
            return None
        stream = self._acc_stream or PmdAccStream(None)  # no start seen: only frames that time themselves
        error = ""
        try:
            frame = stream.feed(n.payload)
        except Exception as exc:  # a decoder bug on strange bytes must not stop the recording
            log.debug("PMD frame decoding failed", exc_info=exc)
            frame = None
            error = f"decoder_error: {type(exc).__name__}: {exc}"
        if frame is None or isinstance(frame, PmdMalformed):
            self._record_bad_motion(n, frame.code if frame is not None else "decoder_error",
                                    str(frame) if frame is not None else error)
            return None
        packet_id = motion_packet_insert(self.conn, self._device_id, n)
        stamped = self._sensor_clock.stamp(n.arrival_mono_ns, n.arrival_wall_ns, frame.t_ns)
        xyz = np.clip(frame.acc_mg, -32768, 32767).astype(np.int16)
        rate_hz = stream.sample_rate_hz or 0.0
        acc_frame_insert(self.conn, int(stamped.epoch_ms[0]), int(stamped.epoch_ms[-1]), xyz, rate_hz,
                         device_id=self._device_id, packet_id=packet_id)
        self.stats.acc_samples += len(xyz)
        samples = AccSamples(stamped.epoch_ms, xyz, rate_hz)
        self._listeners_call(self._motion_listeners, samples)
        return samples

    def _record_bad_motion(self, n: MotionNotification, code: str, error: str) -> None:
        self.stats.motion_errors[str(code)] += 1
        motion_packet_insert(self.conn, self._device_id, n, error)
        if sum(self.stats.motion_errors.values()) == 1:  # once: a broken stream would flood the log
            log.warning("kept a malformed %s notification as received (%s); further ones are counted, "
                        "not logged", n.kind, error)

    # -- notifications ------------------------------------------------------------------------
    def handle_notification(self, n: Notification) -> list[Beat]:
        self._begin()
        self.stats.packets += 1
        parsed = hrm_parse(n.payload)
        if isinstance(parsed, HrmError):
            self._record_bad_packet(n, parsed)
            return []
        if parsed.contact != self._contact:
            if self._contact is not None:
                self.clock.break_chain("contact")
                self._prev_rr_1024 = None
            self.status_event(LinkKind.CONTACT, {"contact": parsed.contact}, wall_ns=n.arrival_wall_ns)
            self._contact = parsed.contact
        rr_ms = parsed.rr_ms
        stamped = self.clock.stamp(n.arrival_mono_ns, n.arrival_wall_ns, rr_ms)
        if stamped.new_segment:
            self._open_segment(stamped.new_segment, n, stamped.wall_minus_mono_ms)
            self._prev_rr_1024 = None
        packet_id = packet_insert(self.conn, self._segment_id, n)
        if not rr_ms:
            return []
        return self._store_beats(parsed, stamped.beat_epoch_ms, packet_id)

    def _store_beats(
        self, parsed: HeartRateMeasurement, epoch_ms: tuple[int, ...], packet_id: int
    ) -> list[Beat]:
        flags = beat_flags_for(parsed, self._prev_rr_1024)
        if self._after_gap:
            flags[0] |= BeatFlag.AFTER_GAP
            self._after_gap = False
        assert self._segment_id is not None
        rr_ms = parsed.rr_ms
        ids = beats_insert(self.conn, self._segment_id, epoch_ms, rr_ms, parsed.hr_bpm, flags,
                           rr_1024=parsed.rr_1024, packet_id=packet_id)
        segment_id, hr_bpm = self._segment_id, parsed.hr_bpm
        beats = [Beat(i, segment_id, t_ms, v_ms, ticks, hr_bpm, f)
                 for i, t_ms, v_ms, ticks, f in zip(ids, epoch_ms, rr_ms, parsed.rr_1024, flags, strict=True)]
        for f in flags:
            if f:
                self.stats.flagged.update(BeatFlag.describe(f))
        self._prev_rr_1024 = parsed.rr_1024[-1]
        self.stats.beats += len(beats)
        self._listeners_call(self._listeners, beats)
        return beats

    def _record_bad_packet(self, n: Notification, error: HrmError) -> None:
        self.stats.parse_errors[error.code] += 1
        packet_insert(self.conn, self._segment_id, n, str(error))
        self.status_event(LinkKind.PARSE_ERROR, {"code": str(error.code), "payload": n.payload.hex()},
                          wall_ns=n.arrival_wall_ns)
        # whatever beats it carried are missing from the chain: say so on the next beat
        self.clock.mark_gap()
        self._after_gap = True
        self._prev_rr_1024 = None
        now = time.monotonic()
        if now - self._last_error_log > 10.0:  # log, but never flood the log
            log.warning("skipped malformed notification (%s); %d so far", error,
                        sum(self.stats.parse_errors.values()))
            self._last_error_log = now

    def _open_segment(self, reason: str, n: Notification, offset_ms: float) -> None:
        self._segment_id = segment_insert(self.conn, self.source, reason, n.arrival_wall_ns // 1_000_000,
                                          device_id=self._device_id, wall_minus_mono_ms=offset_ms)
        self.stats.segments += 1
        if reason == "clock":
            self.status_event(LinkKind.CLOCK_STEP, {"wall_minus_mono_ms": offset_ms},
                              wall_ns=n.arrival_wall_ns)

    # -- transactions ---------------------------------------------------------------------------
    def _trace(self, sql: str) -> None:
        # every write of the recorder's open transaction, values bound: what a retry replays
        if self._tx_open and sql.lstrip()[:7].upper().startswith(_WRITES):
            self._journal.append(sql)

    def _begin(self) -> None:
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN")
            self._tx_open = True
            self._journal.clear()

    def commit_if_due(self) -> None:
        if (time.monotonic() - self._last_commit >= self.commit_interval_s
                or len(self._journal) >= JOURNAL_MAX_STATEMENTS):
            self.commit()

    def commit(self) -> None:
        """Commit the open transaction; a failure is recorded, never raised."""
        if self.storage_error is not None:
            return
        if self.conn.in_transaction:
            try:
                self.conn.execute("COMMIT")
            except (sqlite3.Error, OSError) as exc:
                self._storage_failed(exc)
                return
        self._tx_open = False
        self._journal.clear()
        self._last_commit = time.monotonic()

    # -- storage failures -----------------------------------------------------------------------
    def _storage_failed(self, exc: BaseException) -> None:
        from attune.db import db_error_explain

        with contextlib.suppress(sqlite3.Error):
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        self._tx_open = False
        self.stats.storage_failures += 1
        delay_s = min(self.retry_cap_s, self.retry_base_s * 2 ** min(self._retry_attempt, 20))
        self._retry_attempt += 1
        self._retry_at = time.monotonic() + delay_s
        if self.storage_error is None:
            self.storage_error = db_error_explain(exc)
            self.storage_failed_ms = now_ms()
            log.error("not recording: %s; keeping new beats in memory and retrying", self.storage_error)
            self._status_publish(LinkKind.STORAGE_FAILED, {"error": self.storage_error})
        else:
            log.debug("storage retry %d failed (%s); next in %.0f s", self._retry_attempt, exc, delay_s)

    def _hold(self, event: Event) -> None:
        if len(self._pending) >= self._buffer_max:
            self._pending.popleft()
            self.stats.dropped += 1
            if self.stats.dropped == 1:
                log.error("memory buffer full (%d events): the oldest unsaved beats are being dropped",
                          self._buffer_max)
        self._pending.append(event)

    def storage_retry(self) -> bool:
        """Try the failed transaction again; True once it is stored (then the events held
        in memory are stored by :meth:`pending_store`)."""
        if self.storage_error is None:
            return True
        kept, self._journal = self._journal, []
        try:
            self.conn.execute("BEGIN")
            self._tx_open = True
            for sql in kept:
                self.conn.execute(sql)
            self.conn.execute("COMMIT")
        except (sqlite3.Error, OSError) as exc:
            self._journal = kept
            self._storage_failed(exc)
            return False
        self._tx_open = False
        failed_s = (now_ms() - (self.storage_failed_ms or 0)) / 1000
        log.warning("recording again after %.0f s without storage; writing %d events held in memory",
                    failed_s, len(self._pending))
        self.storage_error = None
        self._retry_attempt = 0
        self._last_commit = time.monotonic()
        self.status_event(LinkKind.STORAGE_RESUMED, {"failed_s": round(failed_s, 1), "held": len(self._pending),
                                              "dropped": self.stats.dropped})
        self.commit()  # what waited in memory follows: pending_store()
        return self.storage_error is None

    def _status_publish(self, kind: LinkKind, value: dict) -> None:
        # tells listeners (the live page) without storing: storing is what fails
        self._listeners_call(self._status_listeners, kind, value, now_ms())

    # -- listeners --------------------------------------------------------------------------------
    def _listeners_call(self, listeners: list[Callable[..., None]], *args: object) -> None:
        """Call each listener; one that raises is logged and counted, never stops recording
        or the listeners after it. Its writes (listeners write in the recorder's open
        transaction) are undone, and dropped from the kept statements a retry would replay."""
        for listener in listeners:
            savepoint = self.conn.in_transaction
            kept = len(self._journal)
            if savepoint:
                self.conn.execute("SAVEPOINT listener")
            try:
                listener(*args)
            except Exception as exc:  # whatever a listener does wrong, recording goes on
                if savepoint:  # a storage failure that ended the transaction raises here, as any
                    self.conn.execute("ROLLBACK TO listener")
                    self.conn.execute("RELEASE listener")
                    del self._journal[kept:]
                self._listener_failed(listener, exc)
            else:
                if savepoint:
                    self.conn.execute("RELEASE listener")

    def _listener_failed(self, listener: Callable[..., None], exc: Exception) -> None:
        self.stats.listener_failures += 1
        now = time.monotonic()
        if now - self._last_listener_log > 10.0:  # log, but never flood the log
            name = getattr(listener, "__qualname__", None) or repr(listener)
            log.warning("a listener failed (%s: %s: %s); recording goes on; %d failures so far", name,
                        type(exc).__name__, exc, self.stats.listener_failures)
            log.debug("listener %s failed", name, exc_info=exc)
            self._last_listener_log = now
