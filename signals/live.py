"""The live pipeline: beats from the recorder in, ticks/states/episodes stored and
announced to listeners (the web app's Server-Sent Events).

Wire it as a recorder listener::

    live = LivePipeline(conn)
    recorder.add_listener(live.push)
    live.add_listener(lambda events: ...)   # typed events, see attune.signals.events
    ...
    live.push_motion(acc_samples)           # accelerometer samples as stored (optional)
    live.close()                            # at the end of the recording

:meth:`LivePipeline.push` runs synchronously in the recorder's asyncio loop, inside the
recorder's open transaction: it writes through the same connection and never commits
(the recorder commits every 0.5 s) unless it owns the connection.

Motion (a strap with an accelerometer): :meth:`LivePipeline.push_motion` with the samples
as they are stored, interleaved with the beats in any order; once motion has arrived, a
beat tick waits for its motion up to ``MotionModelConfig.max_motion_lag_s`` (see
:mod:`attune.signals.pipeline`).

Latency: an interval is final 16 beats after it (two cleaning passes; ~14 s at 70 bpm)
and a tick once every interval up to it is; a tick is therefore published ~15-20 s
after its time. Episodes are announced when confirmed (see attune.signals.episodes).

On start the baseline is rebuilt from the stored ticks counted into it, so a restart
continues where the last run left off; episodes a crashed run left open are closed.
The state machine itself starts afresh (as after any gap).
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from collections.abc import Callable, Sequence
from datetime import tzinfo

from attune.db import db_transaction
from attune.ingest.events import AccSamples, Beat
from attune.signals.events import BaselineUpdated, EpisodeAnnounced, EpisodeEnded, EpisodeUpdated, Event
from attune.signals.pipeline import DEFAULT_CONFIG, AnalysisConfig, Analyzer
from attune.signals.storage import (
    baseline_rebuild,
    episodes_close_dangling,
    events_write,
    motion_model_read,
    motion_model_write,
)
from attune.timeutil import local_tz

log = logging.getLogger(__name__)

EventListener = Callable[[list[Event]], None]

# Live, beats arrive within seconds of their motion (same strap, same link); motion more
# than this ahead of the beats is dropped, so memory stays bounded when beats stop while
# motion goes on (10 min: 120 motion ticks, ~25 kB). Live equals batch as long as motion
# is at most this far ahead of the beats (and max_motion_lag_s behind).
LIVE_MOTION_LEAD_S = 600.0


class LivePipeline:
    """Beat-by-beat analysis writing to SQLite and notifying listeners.

    Parameters
    ----------
    conn : sqlite3.Connection
        An attune database connection (schema migrated).
    config : AnalysisConfig
    tz : tzinfo, optional
        Local time zone for the time-of-day baseline (default: the machine's).
    owns_connection : bool
        True if nobody else manages transactions on ``conn``: then each push commits.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        config: AnalysisConfig = DEFAULT_CONFIG,
        *,
        tz: tzinfo | None = None,
        owns_connection: bool = False,
    ) -> None:
        self.conn = conn
        self.config = config
        self.tz = tz or local_tz()
        self.owns_connection = owns_connection
        self._listeners: list[EventListener] = []
        self._analyzer: Analyzer | None = None
        self._episode_ids: dict[int, int] = {}
        self.closed = False
        self._write(lambda: episodes_close_dangling(conn))

    def add_listener(self, listener: EventListener) -> None:
        """Call ``listener(events)`` after each push that produced events."""
        self._listeners.append(listener)

    @property
    def analyzer(self) -> Analyzer | None:
        return self._analyzer

    def push(self, beats: Sequence[Beat]) -> list[Event]:
        """Analyse newly stored beats (the recorder's listener signature)."""
        if self.closed or not beats:
            return []
        return self._publish(self._analyzer_for(beats[0].epoch_ms).push_beats(beats))

    def push_motion(self, samples: AccSamples) -> list[Event]:
        """Analyse newly stored accelerometer samples (time order)."""
        if self.closed or not len(samples):
            return []
        return self._publish(self._analyzer_for(int(samples.epoch_ms[0])).push_motion(samples))

    def _analyzer_for(self, first_ms: int) -> Analyzer:
        if self._analyzer is None:
            # the baseline as it stood before this data (a restart continues from it)
            baseline = baseline_rebuild(self.conn, first_ms, self.config.baseline, self.tz)
            # ... and so is the personal motion model (upright direction, activity -> HR curve)
            self._analyzer = Analyzer(self.config, baseline=baseline, motion_lead_s=LIVE_MOTION_LEAD_S,
                                      motion_state=motion_model_read(self.conn, first_ms))
        return self._analyzer

    def close(self) -> list[Event]:
        """End of the recording: deliver the last ticks and close an open episode."""
        if self.closed:
            return []
        self.closed = True
        if self._analyzer is None:
            return []
        out = self._publish(self._analyzer.finish())
        self._motion_model_store()
        return out

    def _motion_model_store(self) -> None:
        a = self._analyzer
        state = None if a is None or not a.last_tick_ms else a.motion_state()
        if state is not None:
            self._write(lambda: motion_model_write(self.conn, a.last_tick_ms, state))

    def _publish(self, events: list[Event]) -> list[Event]:
        if not events:
            return events
        ids = self._write(lambda: events_write(self.conn, events, "live"))
        if any(isinstance(e, BaselineUpdated) for e in events):
            self._motion_model_store()  # at every baseline update point (15 min): a kill loses little
        self._episode_ids.update(ids)
        out = [self._with_id(e) for e in events]
        for listener in self._listeners:
            try:
                listener(out)
            except Exception:  # a broken listener must not stop the analysis
                log.exception("signal event listener failed")
        return out

    def _with_id(self, e: Event) -> Event:
        if isinstance(e, EpisodeAnnounced | EpisodeUpdated | EpisodeEnded):
            return dataclasses.replace(e, episode=dataclasses.replace(e.episode, id=self._episode_ids.get(e.episode.onset_ms)))
        return e

    def _write(self, work: Callable):
        if not self.owns_connection:
            return work()
        with db_transaction(self.conn, "DEFERRED"):
            return work()
