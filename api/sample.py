"""Simulated data through the real pipeline: the demo's previous day, its live strap, and
the analysed databases the API tests and benchmark use.

Beats come from :mod:`attune.signals.simulate` (a realistic day with activation episodes,
exertion bouts, short walks, artifacts and strap-off gaps), are stored like imported beats
(one ``segment`` row per simulated segment, ``source='demo'``) with the chest accelerometer
of the same day (:func:`~attune.signals.simulate.acc_simulate`, stored by
:func:`~attune.ingest.motion_store.acc_series_store`: moving during walks and exercise,
still elsewhere) and analysed by the signals batch analysis, exactly as ``attune analyze``
would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

import numpy as np

from attune import timeutil
from attune.db import db_connect, db_transaction
from attune.ingest.events import DeviceInfo
from attune.ingest.exchange import analysis_pending_add
from attune.ingest.motion_store import acc_series_store
from attune.ingest.store import device_upsert, series_store
from attune.signals.batch import analysis_store_span
from attune.signals.simulate import ACC_RATE_HZ, Simulation, acc_simulate, day_simulate
from attune.timeutil import datetime_to_epoch_ms, epoch_ms_to_datetime, local_tz

SAMPLE_DEVICE = DeviceInfo("SIM:sample-day", "attune sample day", "attune", "simulator", body_location="chest")
WAKE_HOUR = 7.0
WAKE_HOURS = 16.0


def sim_store(conn: sqlite3.Connection, sim: Simulation) -> int:
    """Store simulated beats (one segment row per simulated segment); returns the count."""
    if not len(sim):
        return 0
    first = np.unique(sim.segment_id, return_index=True)[1]  # each segment's first beat
    with db_transaction(conn):
        series_store(conn, SAMPLE_DEVICE, "demo", sim.segment_id, sim.epoch_ms, sim.rr_ms,
                     np.round(60_000.0 / sim.rr_ms).astype(np.int64), sim.flags,
                     reasons=["connect"] + ["reconnect"] * (len(first) - 1),
                     started_epoch_ms=(sim.epoch_ms[first] - sim.rr_ms[first]).astype(np.int64).tolist(),
                     note="simulated")
    return len(sim)


def sim_acc_store(
    conn: sqlite3.Connection, sim: Simulation, start_ms: int, duration_s: float, *, seed: int, tz: tzinfo,
    rate_hz: float = ACC_RATE_HZ,
) -> int:
    """Store the simulated chest accelerometer of ``sim``'s span (the sample device's, as
    evenly spaced frames; no commit); returns the number of samples."""
    epoch_ms, xyz_mg = acc_simulate(sim, start_ms, duration_s, seed=seed, rate_hz=rate_hz, tz=tz)
    if len(epoch_ms):
        acc_series_store(conn, epoch_ms, xyz_mg, rate_hz, device_id=device_upsert(conn, SAMPLE_DEVICE))
    return len(epoch_ms)


def sample_span_store(
    conn: sqlite3.Connection, start_ms: int, duration_s: float, *, seed: int, tz: tzinfo | None = None,
    motion: bool = False, **options: object,
) -> Simulation:
    """Simulate ``duration_s`` of beats from ``start_ms``, store them (with the chest
    accelerometer when ``motion``), and analyse the span with the signals batch analysis
    (replacing its results, as ``attune analyze`` does). ``tz`` (default: this machine's)
    places the day's rhythm and the baseline's hours."""
    zone = tz or local_tz()
    sim, pending_id = _sample_span_simulate_store(conn, start_ms, duration_s, seed=seed, tz=zone, motion=motion,
                                                  **options)
    analysis_store_span(conn, start_ms, start_ms + int(duration_s * 1000) + 60_000, tz=zone,
                        pending_done=(pending_id,))
    return sim


def _sample_span_simulate_store(
    conn: sqlite3.Connection, start_ms: int, duration_s: float, *, seed: int, tz: tzinfo | None,
    motion: bool = False, **options: object,
) -> tuple[Simulation, int]:
    """Store simulated beats (and the accelerometer, when ``motion``) and mark their span
    ``analysis_pending``, in one transaction."""
    sim = day_simulate(start_ms, duration_s, seed=seed, tz=tz, **options)  # type: ignore[arg-type]
    with db_transaction(conn):
        sim_store(conn, sim)
        if motion:
            sim_acc_store(conn, sim, start_ms, duration_s, seed=seed, tz=tz or local_tz())
        pending_id = analysis_pending_add(conn, start_ms, start_ms + int(duration_s * 1000) + 60_000,
                                          "demo sample day")
    return sim, pending_id


TODAY_MAX_S = 4 * 3600.0  # today's simulated history reaches back at most this far
TODAY_MIN_S = 30 * 60.0  # ... and is left out when it would be shorter than this


def sample_day_store(conn: sqlite3.Connection, *, seed: int = 2, now_ms: int | None = None) -> int:
    """The demo's history, so the timeline is populated on first open: yesterday's waking
    day (07:00–23:00 local) and the last hours up to now (at most 4 h, never overlapping
    yesterday). Returns beats stored.

    Both spans' beats are stored in one transaction, marked ``analysis_pending``, and then
    analysed: a demo killed meanwhile leaves either nothing or the whole day, whose
    analysis the next start finishes. ``now_ms`` (default: the clock) is when the demo starts.

    Local times are placed in the machine's zone with its DST rules: yesterday's 07:00
    and the time of day of every beat keep their own offset across a DST change."""
    zone = local_tz()
    now = timeutil.now_ms() if now_ms is None else now_ms
    yesterday = epoch_ms_to_datetime(now, zone).date() - timedelta(days=1)
    wake = datetime(yesterday.year, yesterday.month, yesterday.day, tzinfo=zone) + timedelta(hours=WAKE_HOUR)
    yesterday_ms = datetime_to_epoch_ms(wake)  # wall-clock arithmetic: 07:00 local, whatever the offset
    # yesterday: walks to the kitchen and exercise the heart alone would call activation,
    # with the accelerometer that shows them as movement (issue 8)
    spans: list[tuple[int, float, int, dict[str, object]]] = [
        (yesterday_ms, WAKE_HOURS * 3600, seed, {"n_walks": 3, "motion": True})]
    yesterday_end_ms = yesterday_ms + int(WAKE_HOURS * 3600 * 1000)
    live_ms = now - 5_000  # the live strap takes over from here
    start_ms = max(yesterday_end_ms, live_ms - int(TODAY_MAX_S * 1000))
    if live_ms - start_ms >= TODAY_MIN_S * 1000:
        spans.append((start_ms, (live_ms - start_ms) / 1000, seed + 1,
                      {"n_activations": 2, "n_exertions": 0, "n_gaps": 0, "n_walks": 1, "motion": True}))
    stored = []
    with db_transaction(conn):
        for start, duration_s, span_seed, options in spans:
            sim, pending_id = _sample_span_simulate_store(conn, start, duration_s, seed=span_seed, tz=zone, **options)
            stored.append((start, duration_s, len(sim), pending_id))
    for start, duration_s, _, pending_id in stored:
        analysis_store_span(conn, start, start + int(duration_s * 1000) + 60_000, tz=zone,
                            pending_done=(pending_id,))
    return sum(n for _, _, n, _ in stored)


def sample_db(
    path: Path, hours: float = 24, end_ms: int | None = None, seed: int = 1, tz: tzinfo | None = None,
    motion: bool = False,
) -> Path:
    """A database holding ``hours`` of simulated, analysed beats ending at ``end_ms`` (now),
    with the simulated chest accelerometer when ``motion``."""
    end_ms = end_ms if end_ms is not None else timeutil.now_ms()
    conn = db_connect(path)
    try:
        n_act = max(1, int(hours * 0.6))  # about one activation every 100 min of day
        sample_span_store(conn, end_ms - int(hours * 3600 * 1000), hours * 3600, seed=seed, tz=tz,
                          n_activations=n_act, n_exertions=max(0, int(hours // 8)), n_gaps=max(0, int(hours // 12)),
                          motion=motion)
    finally:
        conn.close()
    return path


LIVE_CHUNK_S = 2 * 3600.0
LEAD_IN_S = 150.0  # the live stream starts this long before its first activation


def live_rr_stream(seed: int = 11) -> Iterator[float]:
    """Endless RR intervals (ms) for the demo's simulated strap, with an activation episode
    within the first few minutes and then every half hour or so."""
    k = 0
    while True:
        start_ms = timeutil.now_ms()
        sim = day_simulate(start_ms, LIVE_CHUNK_S, seed=seed * 1000 + k, tz=local_tz(),
                           n_activations=4, n_exertions=0, n_gaps=0, artifact_rate=0.001)
        first = 0
        if k == 0 and sim.activations():
            # skip ahead so that something happens soon after the demo starts
            lead_ms = sim.activations()[0].onset_ms - int(LEAD_IN_S * 1000)
            first = int(np.searchsorted(sim.epoch_ms, lead_ms))
        yield from sim.rr_ms[first:].tolist()
        k += 1
