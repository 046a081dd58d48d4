"""One wire: ``attune run`` and ``attune serve`` send the phone the same live events.

A writer process records and analyses like ``attune run`` (the real recorder fed real
0x2A37 bytes, the live pipeline attached) into a real SQLite file; the web app in stored
mode (``attune serve``) tails that file and must announce what the writer's own hub would:
an episode *start* with its id, link events with their values.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
from test_api_live import free_port, sse_events

from attune.api.app import app_create
from attune.api.live import LiveHub
from attune.api.runner import web_serve
from attune.api.sample import sample_span_store
from attune.api.tail import DbTail
from attune.db import db_connect
from attune.ingest.events import LinkEvent, Notification
from attune.ingest.hrm import hrm_encode
from attune.ingest.recorder import Recorder
from attune.ingest.strap_sim import SIM_DEVICE
from attune.signals.events import EpisodeAnnounced, Tick
from attune.signals.live import LivePipeline
from attune.signals.simulate import day_simulate

T0_MS = int(datetime(2026, 11, 20, 9, tzinfo=UTC).timestamp() * 1000)  # fixed: reproducible
LEAD_IN_MS = 150_000  # the strap starts this long before the simulated activation


def history_store(db_path: Path) -> None:
    """Yesterday around this time of day, analysed: the baseline is calibrated."""
    conn = db_connect(db_path)
    try:
        sample_span_store(conn, T0_MS - 25 * 3600_000, 4 * 3600, seed=31, tz=UTC, n_exertions=0, n_gaps=0,
                          n_activations=2)
    finally:
        conn.close()


def strap_rr_ms(seed: int = 3) -> np.ndarray:
    """RR intervals (ms) from just before a simulated activation (as the demo's strap)."""
    sim = day_simulate(T0_MS, 3600, seed=seed, tz=UTC, n_activations=1, n_exertions=0, n_gaps=0,
                       artifact_rate=0.001)
    first = int(np.searchsorted(sim.epoch_ms, sim.activations()[0].onset_ms - LEAD_IN_MS))
    return sim.rr_ms[first:]


def packets(rr_ms: np.ndarray) -> list[Notification]:
    """One 0x2A37 notification per beat, stamped when the beat ended (from ``T0_MS``)."""
    out = []
    t_ns = T0_MS * 1_000_000
    for rr in rr_ms.tolist():
        t_ns += int(rr * 1_000_000)
        ticks = max(1, round(rr * 1024 / 1000))
        out.append(Notification(t_ns - T0_MS * 1_000_000, t_ns, hrm_encode(round(60_000 / rr), [ticks], contact=True)))
    return out


async def writer_run(db_path: Path, seen: Path, hold_max_s: float = 60.0) -> None:
    """``attune run`` without the web app: recorder + live pipeline on one connection.
    Once an episode is announced, recording pauses (the episode stays open, committed)
    until the file ``seen`` exists (the reader saw the episode) or ``hold_max_s`` passed."""
    conn = db_connect(db_path)
    recorder = Recorder(conn, source="demo")
    pipeline = LivePipeline(conn, tz=UTC)
    recorder.add_listener(pipeline.push)
    announced: list[EpisodeAnnounced] = []
    pipeline.add_listener(lambda events: announced.extend(e for e in events if isinstance(e, EpisodeAnnounced)))
    queue: asyncio.Queue = asyncio.Queue()
    consumer = asyncio.create_task(recorder.run(queue))
    queue.put_nowait(LinkEvent("connected", {"battery": 87, "rssi": -55}, SIM_DEVICE, wall_ns=T0_MS * 1_000_000))
    held = False
    notifications = packets(strap_rr_ms())
    for i in range(0, len(notifications), 20):
        for n in notifications[i:i + 20]:
            queue.put_nowait(n)
        while not queue.empty():
            await asyncio.sleep(0.001)
        if announced and not held:
            held = True
            deadline = time.monotonic() + hold_max_s
            while not seen.exists() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)  # the recorder commits on its cadence meanwhile
    queue.put_nowait(LinkEvent("disconnected", {"reason": "stopped"}, wall_ns=notifications[-1].arrival_wall_ns))
    queue.put_nowait(None)
    await consumer
    pipeline.close()
    conn.commit()
    conn.close()
    assert held, "the simulated activation was never announced"


async def test_serve_announces_an_episode_start_with_its_id_and_link_values(tmp_path: Path) -> None:
    db_path = tmp_path / "attune.sqlite"
    history_store(db_path)
    port = free_port()
    stop = asyncio.Event()
    app = app_create(db_path, mode="stored", tail_interval_s=0.1)
    web = asyncio.create_task(web_serve(app, "127.0.0.1", port, stop))
    for _ in range(200):
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        await asyncio.sleep(0.05)
    got: list[tuple[str, dict]] = []
    writer = None
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client, \
                client.stream("GET", "/api/live") as response:
            assert response.status_code == 200
            await asyncio.sleep(0.5)  # the tail has taken its starting point: what follows is news
            seen = tmp_path / "seen"
            writer = await asyncio.create_subprocess_exec(sys.executable, __file__, str(db_path), str(seen))
            deadline = time.monotonic() + 120
            events = sse_events(response)
            exited = asyncio.ensure_future(writer.wait())
            step = None
            while time.monotonic() < deadline:
                step = step or asyncio.ensure_future(events.__anext__())
                waiting = [step] if exited.done() else [step, exited]
                await asyncio.wait(waiting, timeout=deadline - time.monotonic(), return_when=asyncio.FIRST_COMPLETED)
                if exited.done():
                    assert exited.result() == 0, "the writer failed"
                if not step.done():
                    continue  # the writer is done: its last events are still on their way
                e, step = step.result(), None
                if e["event"] in ("episode", "link"):
                    got.append((e["event"], json.loads(e["data"])))
                if e["event"] == "episode":
                    seen.touch()  # the writer may go on: end the episode
                if any(k == "episode" and d["event"] == "ended" for k, d in got) and \
                        any(k == "link" and d["kind"] == "disconnected" for k, d in got):
                    break
        assert await asyncio.wait_for(writer.wait(), 60) == 0
    finally:
        if writer is not None and writer.returncode is None:
            writer.kill()
            await writer.wait()
        stop.set()
        await asyncio.wait_for(web, 10)

    conn = sqlite3.connect(db_path)
    stored = conn.execute("SELECT id, onset_ms FROM episode WHERE onset_ms >= ?", (T0_MS,)).fetchall()
    conn.close()
    assert len(stored) == 1
    episode_id = stored[0][0]
    episodes = [d for k, d in got if k == "episode"]
    assert episodes[0]["event"] == "started"  # the phone's "new episode" toast
    assert {d["id"] for d in episodes} == {episode_id}
    assert episodes[-1]["event"] == "ended"
    links = {d["kind"]: d["value"] for k, d in got if k == "link"}
    assert links["connected"] == {"battery": 87, "rssi": -55}
    assert links["contact"] == {"contact": True}
    assert links["disconnected"] == {"reason": "stopped"}


def test_live_and_serve_send_identical_payloads(tmp_path: Path) -> None:
    """The same recording published by the writer's hub (``run``) and by a tail of its
    database polled after every packet (``serve``): the same ticks, states and episodes."""
    from attune.api.pipeline import live_attach
    from attune.api.runner import recorder_live

    db_path = tmp_path / "attune.sqlite"
    history_store(db_path)
    conn = db_connect(db_path)
    hub = LiveHub(replay_size=1_000_000)
    recorder = recorder_live(conn, hub, source="demo")
    pipeline = live_attach(conn, recorder, hub)
    pipeline.tz = UTC  # as the history was analysed
    reader = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None)
    reader.row_factory = sqlite3.Row
    tail = DbTail(reader)

    live: list[list[tuple[str, dict]]] = []
    serve: list[list[tuple[str, dict]]] = []
    events = [LinkEvent("connected", {"battery": 87}, SIM_DEVICE, wall_ns=T0_MS * 1_000_000)]
    events += packets(strap_rr_ms())
    for event in events:
        seq = hub._seq
        recorder.handle(event)
        recorder.commit()
        live.append(sorted(((e.kind, json.loads(e.data_json)) for e in hub._replay if e.seq > seq), key=repr))
        serve.append(sorted(tail.poll(), key=repr))
    reader.close()
    conn.close()

    kinds = {k for step in live for k, _ in step}
    assert kinds == {"beats", "link", "tick", "state", "episode"}
    assert any(d["event"] == "started" for step in live for k, d in step if k == "episode")
    assert sum(len(step) for step in live) > 500
    assert serve == live


def test_status_heart_rate_is_the_stored_tick_else_the_straps(tmp_path: Path) -> None:
    """The live card's HR is the analysis' (the newest tick's 60 s HR), not a second
    estimate from raw beats; before any tick, the strap's own reading."""
    from starlette.testclient import TestClient

    from attune.signals.storage import events_write

    db_path = tmp_path / "attune.sqlite"
    conn = db_connect(db_path)
    recorder = Recorder(conn, source="demo")
    now_ns = time.time_ns()
    recorder.handle(LinkEvent("connected", {}, SIM_DEVICE, wall_ns=now_ns - 30_000_000_000))
    for k in range(20):  # RR 600 ms (100 bpm) while the strap reports 70 bpm
        recorder.handle(Notification(k, now_ns - (20 - k) * 600_000_000, hrm_encode(70, [614], contact=True)))
    recorder.commit()

    def hr() -> float | None:
        with TestClient(app_create(db_path), base_url="http://127.0.0.1:8765") as client:
            return client.get("/api/status").json()["hr_bpm"]

    assert hr() == 70  # no tick yet: the strap's reading
    tick = dict(state="settled", hr_fast_bpm=None, rmssd_ms=None, ln_rmssd=None, sdnn_ms=None, coverage=1.0,
                artifact_fraction=0.0, score=None, z_hr=None, z_ln_rmssd=None, calibration=0.2)
    events_write(conn, [Tick(epoch_ms=now_ns // 1_000_000 - 3600_000, hr_bpm=55.0, **tick)])
    conn.commit()
    assert hr() == 70  # a tick of an earlier recording is not the present
    events_write(conn, [Tick(epoch_ms=now_ns // 1_000_000 - 25_000, hr_bpm=82.34, **tick)])
    conn.commit()
    assert hr() == 82.3  # the analysis keeps up: its heart rate
    conn.close()


if __name__ == "__main__":  # the writer process of the serve test
    asyncio.run(writer_run(Path(sys.argv[1]), Path(sys.argv[2])))
