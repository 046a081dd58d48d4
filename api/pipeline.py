"""The signals live pipeline inside ``attune run``/``demo``, announcing what it finds.

The recorder calls its listeners synchronously after storing each packet's beats; the
pipeline listener analyses them and stores ticks, states and episodes (signals/), and the
events it returns go through :mod:`attune.api.wire` to the :class:`~attune.api.live.LiveHub`.
"""

from __future__ import annotations

import sqlite3

from attune.api.live import LiveHub
from attune.api.wire import wire_publish
from attune.ingest.recorder import Recorder
from attune.signals.live import LivePipeline


def live_attach(conn: sqlite3.Connection, recorder: Recorder, live: LiveHub) -> LivePipeline:
    """Analyse every stored packet's beats and announce the results; call ``close()`` on
    the returned pipeline once the recording has stopped."""
    pipeline = LivePipeline(conn)
    recorder.add_listener(pipeline.push)
    recorder.add_motion_listener(pipeline.push_motion)  # accelerometer samples, as stored
    pipeline.add_listener(lambda events: wire_publish(live, events))
    return pipeline
