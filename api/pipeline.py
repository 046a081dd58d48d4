"""The signals live pipeline inside ``attune run``/``demo``, announcing what it finds.

The recorder calls its listeners synchronously after storing each packet's beats; the
pipeline listener analyses them and stores ticks, states and episodes (signals/), and the
events it returns are published to the :class:`~attune.api.live.LiveHub` here.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from attune.api.analysis import state_words
from attune.api.live import LiveHub
from attune.ingest.recorder import Recorder
from attune.signals.events import (
    EpisodeAnnounced,
    EpisodeEnded,
    EpisodeUpdated,
    StateChanged,
    Tick,
)
from attune.signals.live import LivePipeline
from attune.timeutil import epoch_ms_to_iso as iso


def _r(x: float | None, nd: int) -> float | None:
    return None if x is None else round(x, nd)


def events_publish(live: LiveHub, events: list[Any]) -> None:
    """Signals events → SSE events (``tick``, ``state``, ``episode``); the rest stays inside."""
    for ev in events:
        if isinstance(ev, Tick):
            live.publish("tick", {
                "at": iso(ev.epoch_ms), "state": ev.state, "state_words": state_words(ev.state),
                "hr_bpm": _r(ev.hr_bpm, 1), "ln_rmssd": _r(ev.ln_rmssd, 3), "score": _r(ev.score, 2),
                "calibration": {"done": ev.calibration >= 1.0, "progress": round(min(1.0, ev.calibration), 3)},
            })
        elif isinstance(ev, StateChanged):
            live.publish("state", {"at": iso(ev.epoch_ms), "state": ev.state, "previous": ev.previous,
                                   "state_words": state_words(ev.state)})
        elif isinstance(ev, EpisodeAnnounced | EpisodeUpdated | EpisodeEnded):
            what = ("started" if isinstance(ev, EpisodeAnnounced) else "updated" if isinstance(ev, EpisodeUpdated)
                    else "ended" if ev.episode.status == "ended" else "discarded")
            live.publish("episode", {"event": what, "id": ev.episode.id, "at": iso(ev.epoch_ms),
                                     "start": iso(ev.episode.onset_ms)})


def live_attach(conn: sqlite3.Connection, recorder: Recorder, live: LiveHub) -> LivePipeline:
    """Analyse every stored packet's beats and announce the results; call ``close()`` on
    the returned pipeline once the recording has stopped."""
    pipeline = LivePipeline(conn)
    recorder.add_listener(pipeline.push)
    pipeline.add_listener(lambda events: events_publish(live, events))
    return pipeline
