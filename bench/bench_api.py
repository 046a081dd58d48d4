"""API performance: the day's timeline, and live latency to an SSE client.

Printed, all measured in this run:
  * timeline for a full simulated day (~100k beats stored and analysed by signals/):
    server time (the query and JSON, in process) and full HTTP round trip, p50/p99, and
    the payload size — goals < 50 ms and < 200 KB; then the same with every tick's motion
    known (the motion band: activity and posture per bucket), against the run without;
  * live latency: Heart Rate Measurement notifications go through the real recorder (parse,
    timestamp, store) and the live pipeline into the hub, out of a real uvicorn server to a
    streaming HTTP client in another thread; latency = client receipt − notification
    arrival, p50/p99/max — goal p99 < 250 ms (the pipeline's own window latency is not in
    this number: the ``beats`` event is published when the packet is stored).

  * the week (``/api/week``): server time over seven simulated days, against seven day summaries.
  * did it help? (issue 10): the day summary (``/api/summary``, whose settling comparison
    reads four weeks of episodes and breathing sessions) and the week on 28 simulated days
    with a session after every other episode, against the day's timeline of the same run
    (goal for the day view: < 50 ms server time).

Run: python bench/bench_api.py (or ``python bench/bench_api.py week`` / ``settling`` for that one only)
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from starlette.testclient import TestClient

from attune.api import pipeline, queries
from attune.api.app import app_create
from attune.api.database import Database
from attune.api.live import LiveHub
from attune.api.runner import recorder_live, web_serve
from attune.api.sample import live_rr_stream, sample_db
from attune.db import db_connect
from attune.ingest.events import LinkEvent, Notification
from attune.ingest.hrm import hrm_encode
from attune.timeutil import datetime_to_epoch_ms, now_ms

TIMELINE_RUNS = 60
LIVE_PACKETS = 600  # 10 min of strap
LIVE_RATE_HZ = 5  # packets per real second (a strap sends 1): the run takes 2 min


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def bench_timeline(tmp: Path) -> None:
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=1)
    t0 = time.perf_counter()
    db_path = sample_db(tmp / "day.sqlite", hours=24, end_ms=datetime_to_epoch_ms(end), motion=True)
    build_s = time.perf_counter() - t0
    conn = db_connect(db_path)
    beats = conn.execute("SELECT count(*) FROM beat").fetchone()[0]
    ticks = conn.execute("SELECT count(*) FROM tick").fetchone()[0]
    conn.close()
    print(f"full day: {beats} beats, {ticks} ticks (simulated, stored and analysed in {build_s:.1f} s)")

    db = Database(db_path)
    a, b = datetime_to_epoch_ms(start), datetime_to_epoch_ms(end)
    server_ms = []
    for _ in range(TIMELINE_RUNS):
        t = time.perf_counter()
        queries.timeline_get(db.conn(), a, b, 720).model_dump_json(by_alias=True)
        server_ms.append((time.perf_counter() - t) * 1000)
    app = app_create(db_path)
    http_ms, size = [], 0
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        params = {"from": start.isoformat(), "to": end.isoformat(), "max_points": 720}
        for _ in range(TIMELINE_RUNS):
            t = time.perf_counter()
            r = client.get("/api/timeline", params=params)
            http_ms.append((time.perf_counter() - t) * 1000)
            size = len(r.content)
    print(f"timeline, server (query + JSON): p50 {pct(server_ms, 50):.1f} ms, p99 {pct(server_ms, 99):.1f} ms "
          f"(goal < 50 ms: {pct(server_ms, 99) / 50:.2f} of it at p99)")
    print(f"timeline, HTTP round trip in process: p50 {pct(http_ms, 50):.1f} ms, p99 {pct(http_ms, 99):.1f} ms")
    print(f"timeline payload: {size / 1000:.1f} KB for 720 points ({size / 200_000:.2f} of the 200 KB goal),"
          f" uncompressed")
    known = tick_motion_fill(db_path)
    motion_ms = []
    for _ in range(TIMELINE_RUNS):
        t = time.perf_counter()
        motion_json = queries.timeline_get(db.conn(), a, b, 720).model_dump_json(by_alias=True)
        motion_ms.append((time.perf_counter() - t) * 1000)
    print(f"timeline with motion known on {known} ticks, server: p50 {pct(motion_ms, 50):.1f} ms, "
          f"p99 {pct(motion_ms, 99):.1f} ms ({pct(motion_ms, 50) / pct(server_ms, 50):.2f}x the run without; "
          f"goal < 50 ms: {pct(motion_ms, 99) / 50:.2f} of it at p99), {len(motion_json) / 1000:.1f} KB "
          f"({len(motion_json) / 200_000:.2f} of the 200 KB goal)")
    # baseline, same run: the naive endpoint — every tick of the day as JSON, no downsampling
    naive_ms, naive_size = [], 0
    for _ in range(TIMELINE_RUNS // 4):
        t = time.perf_counter()
        rows = db.conn().execute(
            "SELECT epoch_ms, state, hr_bpm, ln_rmssd, score FROM tick WHERE epoch_ms >= ? AND epoch_ms < ?"
            " ORDER BY epoch_ms", (a, b)).fetchall()
        naive_size = len(json.dumps([dict(r) for r in rows]))
        naive_ms.append((time.perf_counter() - t) * 1000)
    print(f"baseline, every tick as JSON (no downsampling): p50 {pct(naive_ms, 50):.1f} ms, "
          f"{naive_size / 1000:.0f} KB -> the timeline is {pct(naive_ms, 50) / pct(server_ms, 50):.1f}x faster "
          f"and {naive_size / size:.0f}x smaller")
    db.close()


def bench_week(tmp: Path) -> None:
    """``/api/week`` over seven simulated days, against the baseline of this run: the seven
    per-day summaries the page would otherwise ask for (goal < 50 ms server time)."""
    from datetime import date

    from attune.api.queries import summary_get, week_get

    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    t0 = time.perf_counter()
    db_path = sample_db(tmp / "week.sqlite", hours=7 * 24, end_ms=datetime_to_epoch_ms(end), tz=UTC)
    build_s = time.perf_counter() - t0
    db = Database(db_path)
    last = date.fromtimestamp(end.timestamp() - 1)
    week_ms, days_ms = [], []
    for _ in range(TIMELINE_RUNS):
        t = time.perf_counter()
        w = week_get(db.conn(), last, UTC)
        w.model_dump_json(by_alias=True)
        week_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        for d in w.days:
            summary_get(db.conn(), datetime_to_epoch_ms(d.from_), datetime_to_epoch_ms(d.to), UTC).model_dump_json()
        days_ms.append((time.perf_counter() - t) * 1000)
    n = sum(d.waiting + d.bracing + d.own + d.unnamed for d in w.days)
    print(f"week: 7 simulated days ({n} episodes, built in {build_s:.1f} s); server (query + JSON): "
          f"p50 {pct(week_ms, 50):.1f} ms, p99 {pct(week_ms, 99):.1f} ms (goal < 50 ms: {pct(week_ms, 99) / 50:.2f} of it)")
    print(f"baseline, seven day summaries: p50 {pct(days_ms, 50):.1f} ms -> the week is "
          f"{pct(days_ms, 50) / pct(week_ms, 50):.1f}x that")
    db.close()


def tick_motion_fill(db_path: Path) -> int:
    """Write every tick's activity and posture from the stored accelerometer with
    signals.motion (the numbers the analysis stores with motion), where the analysis left
    them empty; returns the ticks with motion."""
    import numpy as np

    from attune.ingest.motion_store import acc_read
    from attune.signals.motion import motion_ticks

    conn = db_connect(db_path)
    try:
        acc = acc_read(conn)
        m = motion_ticks(acc.epoch_ms, acc.xyz_mg, rate_hz=acc.rate_hz)
        ok = np.isfinite(m.activity_mg)
        with conn:
            conn.executemany(
                "UPDATE tick SET activity_mg=?, posture=?, cadence_spm=? WHERE epoch_ms=? AND activity_mg IS NULL",
                zip(m.activity_mg[ok].tolist(), [str(p) for p in m.posture[ok]],
                    np.nan_to_num(m.cadence_spm[ok]).tolist(), m.epoch_ms[ok].tolist(), strict=True))
        return conn.execute("SELECT count(*) FROM tick WHERE activity_mg IS NOT NULL").fetchone()[0]
    finally:
        conn.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_live(tmp: Path) -> None:
    db_path = tmp / "live.sqlite"
    # yesterday analysed: the live pipeline starts calibrated, as on an ordinary day
    sample_db(db_path, hours=16, end_ms=now_ms() - LIVE_PACKETS * 1000 - 3_600_000)
    port = _free_port()
    received: list[int] = []  # receipt time (monotonic ns) of each `beats` event, in order
    ready = threading.Event()

    def client() -> None:  # until the server ends the stream
        with httpx.Client(timeout=30) as c, c.stream("GET", f"http://127.0.0.1:{port}/api/live") as r:
            ready.set()
            for line in r.iter_lines():
                if line == "event: beats":
                    received.append(time.monotonic_ns())

    async def main() -> tuple[list[float], dict[str, int]]:
        conn = db_connect(db_path)
        live = LiveHub(client_queue_size=LIVE_PACKETS * 40)
        recorder = recorder_live(conn, live, source="demo")
        analysis = pipeline.live_attach(conn, recorder, live)
        counts: dict[str, int] = {}
        analysis.add_listener(lambda events: [counts.__setitem__(type(e).__name__, counts.get(type(e).__name__, 0) + 1)
                                              for e in events])
        app = app_create(db_path, mode="live", live=live)
        stop = asyncio.Event()
        web = asyncio.create_task(web_serve(app, "127.0.0.1", port, stop))
        while not _port_open(port):
            await asyncio.sleep(0.05)
        thread = threading.Thread(target=client, daemon=True)
        thread.start()
        await asyncio.to_thread(ready.wait, 10)
        await asyncio.sleep(0.3)
        queue: asyncio.Queue = asyncio.Queue()
        consumer = asyncio.create_task(recorder.run(queue))
        queue.put_nowait(LinkEvent("connected", {"battery": 90}))
        sent: list[int] = []
        # Realistic beats (the demo's simulated strap) in 1 s packets of *stream* time, sent
        # LIVE_RATE_HZ times faster than real time: the packets carry their stream-time
        # stamps, so the recorder and the pipeline do a real strap's work per packet, while
        # latency is taken against the real moment each packet was handed over.
        rr = live_rr_stream(seed=5)
        wall0_ns = time.time_ns() - LIVE_PACKETS * 1_000_000_000
        mono0_ns = time.monotonic_ns() - LIVE_PACKETS * 1_000_000_000
        pending, beat_ns = next(rr), 0.0
        for k in range(1, LIVE_PACKETS + 1):
            ticks = []
            while beat_ns + pending * 1e6 <= k * 1e9 and len(ticks) < 9:
                beat_ns += pending * 1e6
                ticks.append(round(pending * 1024 / 1000))
                pending = next(rr)
            hr = round(60 * 1024 * len(ticks) / sum(ticks)) if ticks else 0
            if ticks:  # a packet without RR stores no beat and sends no event
                sent.append(time.monotonic_ns())
            queue.put_nowait(Notification(mono0_ns + k * 1_000_000_000, wall0_ns + k * 1_000_000_000,
                                          hrm_encode(hr, ticks, contact=True)))
            await asyncio.sleep(1 / LIVE_RATE_HZ)
        await asyncio.sleep(0.5)
        queue.put_nowait(None)
        await consumer
        stop.set()
        await web
        await asyncio.to_thread(thread.join, 10)
        analysis.close()
        conn.close()
        assert len(received) == len(sent), (len(received), len(sent))
        return [(r - s) / 1e6 for r, s in zip(received, sent, strict=True)], counts

    latencies, counts = asyncio.run(main())
    print(f"live latency, notification → SSE `beats` event ({len(latencies)} packets of real-looking beats, "
          f"{LIVE_RATE_HZ}x real time; recorder + live pipeline + uvicorn + HTTP client in another thread): "
          f"p50 {statistics.median(latencies):.1f} ms, p99 {pct(latencies, 99):.1f} ms, max {max(latencies):.1f} ms "
          f"(goal p99 < 250 ms: {pct(latencies, 99) / 250:.2f} of it)")
    print(f"  the pipeline meanwhile produced {counts.get('Tick', 0)} ticks, {counts.get('StateChanged', 0)} state "
          f"changes, {counts.get('EpisodeAnnounced', 0)} episodes announced")


def bench_settling(tmp: Path, days: int = 28) -> None:
    """The day summary with the settling comparison over four weeks, and the week, on ``days``
    simulated days with a 5-min breathing session 2 min after every other episode."""
    from datetime import date

    from attune.api.breathing import session_end, session_start
    from attune.api.queries import summary_get, timeline_get, week_get
    from attune.api.settling import settling_compare

    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    t0 = time.perf_counter()
    db_path = sample_db(tmp / "month.sqlite", hours=days * 24, end_ms=datetime_to_epoch_ms(end), tz=UTC)
    conn = db_connect(db_path)
    onsets = [r[0] for r in conn.execute("SELECT onset_ms FROM episode WHERE status != 'discarded' ORDER BY onset_ms")]
    for onset in onsets[::2]:
        s = session_start(conn, start_ms=onset + 2 * 60_000)
        session_end(conn, s.id, s.start_ms + 5 * 60_000)
    conn.close()
    print(f"{days} simulated days: {len(onsets)} episodes, {len(onsets[::2])} breathing sessions "
          f"(built in {time.perf_counter() - t0:.1f} s)")
    db = Database(db_path)
    a, b = datetime_to_epoch_ms(end - timedelta(days=1)), datetime_to_epoch_ms(end)
    summary_ms, timeline_ms, compare_ms, week_ms = [], [], [], []
    for _ in range(TIMELINE_RUNS):
        t = time.perf_counter()
        js = summary_get(db.conn(), a, b, UTC).model_dump_json(by_alias=True)
        summary_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        timeline_get(db.conn(), a, b, 720).model_dump_json(by_alias=True)
        timeline_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        eps, _ = queries.episodes_and_moments(db.conn(), b - 28 * 86_400_000, b)
        st = settling_compare(db.conn(), b - 28 * 86_400_000, b, eps)
        compare_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        week_get(db.conn(), date.fromtimestamp(b / 1000 - 1), UTC).model_dump_json(by_alias=True)
        week_ms.append((time.perf_counter() - t) * 1000)
    print(f"  comparison over 4 weeks: {st.with_session.episodes} episodes with a session, "
          f"{st.without_session.episodes} without, medians {st.with_session.median_s} / {st.without_session.median_s} s")
    print(f"day summary with the comparison, server (query + JSON): p50 {pct(summary_ms, 50):.1f} ms, "
          f"p99 {pct(summary_ms, 99):.1f} ms (goal < 50 ms: {pct(summary_ms, 99) / 50:.2f} of it), {len(js)} bytes; "
          f"of which the comparison alone p50 {pct(compare_ms, 50):.1f} ms")
    print(f"baseline, the day's timeline in the same run: p50 {pct(timeline_ms, 50):.1f} ms, p99 {pct(timeline_ms, 99):.1f} ms"
          f" -> the summary costs {pct(summary_ms, 50) / pct(timeline_ms, 50):.2f}x the timeline")
    print(f"week with sessions and comparison, server: p50 {pct(week_ms, 50):.1f} ms, p99 {pct(week_ms, 99):.1f} ms "
          f"(goal < 50 ms: {pct(week_ms, 99) / 50:.2f} of it)")
    db.close()


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    import sys

    with tempfile.TemporaryDirectory() as d:
        if sys.argv[1:] == ["week"]:  # python bench/bench_api.py week: that one only
            bench_week(Path(d))
        elif sys.argv[1:] == ["settling"]:
            bench_settling(Path(d))
        else:
            bench_timeline(Path(d))
            bench_week(Path(d))
            bench_settling(Path(d))
            bench_live(Path(d))
