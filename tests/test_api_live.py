"""``GET /api/live`` over a real server: events arrive, and a reconnect gets what it missed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from attune.api.app import app_create
from attune.api.live import LiveHub
from attune.api.runner import web_serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def sse_events(response: httpx.Response) -> AsyncIterator[dict]:
    """Parse a text/event-stream into {'id', 'event', 'data'} dicts (comments skipped)."""
    block: dict = {}
    async for line in response.aiter_lines():
        if not line:
            if "data" in block:
                yield block
            block = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            block[field] = value.removeprefix(" ")


@contextlib.asynccontextmanager
async def running(db_path: Path, hub: LiveHub) -> AsyncIterator[str]:
    port = free_port()
    stop = asyncio.Event()
    app = app_create(db_path, mode="live", live=hub)
    task = asyncio.create_task(web_serve(app, "127.0.0.1", port, stop))
    for _ in range(100):
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def _take(events: AsyncIterator[dict], n: int) -> list[dict]:
    out = []
    async for e in events:
        if e.get("event") == "ping":
            continue
        out.append(e)
        if len(out) == n:
            break
    return out


async def test_events_stream_and_reconnect_replays_what_was_missed(db_path: Path) -> None:
    hub = LiveHub()
    async with running(db_path, hub) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        async with client.stream("GET", "/api/live") as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            events = sse_events(r)
            await asyncio.sleep(0.2)  # the subscription is registered once the stream is open
            hub.publish("tick", {"score": 12.5, "state": "settled"})
            hub.publish("state", {"state": "activated"})
            got = await asyncio.wait_for(_take(events, 2), 5)
        assert [e["event"] for e in got] == ["tick", "state"]
        assert json.loads(got[0]["data"]) == {"score": 12.5, "state": "settled"}
        last_id = got[-1]["id"]
        assert last_id.startswith(hub.run_id)

        # while the phone is away, three more things happen
        for i in range(3):
            hub.publish("beats", {"beats": [], "hr_bpm": 70 + i})
        async with client.stream("GET", "/api/live", headers={"Last-Event-ID": last_id}) as r:
            missed = await asyncio.wait_for(_take(sse_events(r), 3), 5)
        assert [json.loads(e["data"])["hr_bpm"] for e in missed] == [70, 71, 72]

        # an id from before a restart (or too old) cannot be replayed: the client is told to reload
        async with client.stream("GET", "/api/live", headers={"Last-Event-ID": "0000-5"}) as r:
            first = await asyncio.wait_for(_take(sse_events(r), 1), 5)
        assert first[0]["event"] == "reset"


async def test_a_client_that_cannot_keep_up_is_dropped_not_waited_for() -> None:
    hub = LiveHub(client_queue_size=4)
    stream = hub.subscribe()
    pending = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0)
    assert hub.clients == 1
    for i in range(10):  # never blocks, whatever the client does
        hub.publish("beats", {"i": i})
    assert hub.clients == 0
    got = []
    with pytest.raises(StopAsyncIteration):  # its stream ends; the browser reconnects and replays
        got.append(await pending)
        while True:
            got.append(await stream.__anext__())
    assert len(got) <= 4


def test_pipeline_events_become_live_events() -> None:
    """A real analysis of a simulated day, published: ticks, state changes and episodes."""
    from attune.api.wire import wire_publish
    from attune.signals.events import EpisodeAnnounced, EpisodeEnded, StateChanged, Tick
    from attune.signals.pipeline import Analyzer
    from attune.signals.simulate import day_simulate, morning_ms

    sim = day_simulate(morning_ms("2026-11-19"), 8 * 3600, seed=5, n_activations=6, n_exertions=1)
    analyzer = Analyzer()
    events = analyzer.push(sim.epoch_ms, sim.rr_ms, sim.segment_id, sim.flags) + analyzer.finish()
    hub = LiveHub(replay_size=100_000)
    wire_publish(hub, events)
    published = list(hub._replay)
    by_kind: dict[str, list[dict]] = {}
    for e in published:
        by_kind.setdefault(e.kind, []).append(json.loads(e.data_json))

    assert len(by_kind["tick"]) == sum(isinstance(e, Tick) for e in events)
    assert len(by_kind["state"]) == sum(isinstance(e, StateChanged) for e in events)
    started = [e for e in by_kind["episode"] if e["event"] == "started"]
    assert len(started) == sum(isinstance(e, EpisodeAnnounced) for e in events) > 0
    assert len([e for e in by_kind["episode"] if e["event"] in ("ended", "discarded")]) == sum(
        isinstance(e, EpisodeEnded) for e in events)
    assert {t["state"] for t in by_kind["tick"]} >= {"settled", "calibrating"}
    assert all(t["state_words"] and "_" not in t["state_words"] for t in by_kind["tick"])
    last = by_kind["tick"][-1]
    assert last["calibration"] == {"done": True, "progress": 1.0}
    assert set(last) == {"at", "state", "state_words", "hr_bpm", "ln_rmssd", "score", "calibration",
                         "activity_mg", "posture", "cadence_spm",  # motion: null when unknown (issue 8)
                         "breath_rate_per_min", "rsa_bpm", "coherence"}  # breathing (issue 10)


def test_serve_mode_tails_the_database_for_new_rows(tmp_path: Path) -> None:
    """``attune serve``: another process records and analyses; new rows become events."""
    import sqlite3
    from datetime import UTC, datetime

    from attune.api.sample import sample_span_store
    from attune.api.tail import DbTail
    from attune.db import db_connect

    now_ms = int(datetime(2026, 11, 20, 10, tzinfo=UTC).timestamp() * 1000)  # fixed: reproducible
    writer = db_connect(tmp_path / "attune.sqlite")
    sample_span_store(writer, now_ms - 26 * 3600_000, 4 * 3600, seed=31, tz=UTC, n_exertions=0, n_gaps=0,
                      n_activations=2)
    reader = sqlite3.connect(f"file:{tmp_path / 'attune.sqlite'}?mode=ro", uri=True, isolation_level=None)
    reader.row_factory = sqlite3.Row
    tail = DbTail(reader)
    assert tail.poll() == []  # what was there before is not news

    sim = sample_span_store(writer, now_ms - 3600_000, 3000, seed=32, tz=UTC, n_exertions=0, n_gaps=0,
                            n_activations=1)
    events = tail.poll()
    kinds = [k for k, _ in events]
    assert kinds.count("beats") == 1 and kinds.count("tick") == 1  # the newest only: the page shows now
    beats = next(d for k, d in events if k == "beats")
    assert beats["beats"][-1]["rr_ms"] == pytest.approx(float(sim.rr_ms[-1]))
    episodes = [d for k, d in events if k == "episode"]
    new_rows = writer.execute("SELECT count(*) FROM episode WHERE onset_ms >= ?", (now_ms - 3600_000,)).fetchone()[0]
    assert len(episodes) == new_rows >= 1
    # analysed as a whole (batch): every episode arrives ended, with the id the page tags by
    ids = {r[0] for r in writer.execute("SELECT id FROM episode WHERE onset_ms >= ?", (now_ms - 3600_000,))}
    assert all(d["event"] == "ended" for d in episodes) and {d["id"] for d in episodes} == ids
    assert "state" in kinds
    assert tail.poll() == []
    reader.close()
    writer.close()
