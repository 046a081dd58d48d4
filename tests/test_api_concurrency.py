"""Tagging while the live pipeline writes: one event loop runs the recorder, the live
pipeline and the web server (as ``attune run`` does); phones tag from other threads.
Nothing may be lost on either side."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from attune.api import pipeline
from attune.api.app import app_create
from attune.api.live import LiveHub
from attune.api.runner import recorder_live, web_serve
from attune.api.sample import live_rr_stream, sample_db
from attune.db import db_connect
from attune.ingest.events import LinkEvent, Notification
from attune.ingest.hrm import hrm_encode

PACKETS = 400


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_tags_and_beats_both_survive_concurrent_writes(tmp_path: Path) -> None:
    yesterday_end = datetime(2026, 11, 20, 18, tzinfo=UTC)  # a fixed past day: reproducible
    db_path = sample_db(tmp_path / "attune.sqlite", hours=8, end_ms=int(yesterday_end.timestamp() * 1000),
                        tz=UTC)
    span = {"from": (yesterday_end - timedelta(hours=8)).isoformat(), "to": yesterday_end.isoformat()}

    conn = db_connect(db_path)
    live = LiveHub()
    # commit every 0.5 s as in production: the recorder holds its write lock most of the time
    recorder = recorder_live(conn, live, source="demo", commit_interval_s=0.5)
    pipeline.live_attach(conn, recorder, live)
    port = _free_port()
    stop = asyncio.Event()
    web = asyncio.create_task(web_serve(app_create(db_path, mode="live", live=live), "127.0.0.1", port, stop))
    base = f"http://127.0.0.1:{port}"
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            await asyncio.sleep(0.05)

    queue: asyncio.Queue = asyncio.Queue()
    consumer = asyncio.create_task(recorder.run(queue))
    queue.put_nowait(LinkEvent("connected", {"battery": 80}))
    rr = live_rr_stream(seed=3)
    sent_beats = 0

    async def strap() -> None:  # packets as fast as the loop allows, real RR values
        nonlocal sent_beats
        for _ in range(PACKETS):
            ticks = [round(next(rr) * 1024 / 1000) for _ in range(2)]
            queue.put_nowait(Notification.now(hrm_encode(70, ticks, contact=True)))
            sent_beats += len(ticks)
            await asyncio.sleep(0.005)

    def tag_everything() -> dict[int, str]:
        with httpx.Client(base_url=base, timeout=30) as c:
            episodes = c.get("/api/episodes", params=span).json()["episodes"]
            wanted = {e["id"]: ("waiting" if i % 2 else "bracing") for i, e in enumerate(episodes)}

            def put(item: tuple[int, str]) -> int:
                episode_id, label = item
                return c.put(f"/api/episodes/{episode_id}/tag", json={"label": label, "note": f"n{episode_id}"}).status_code

            def moment(k: int) -> int:
                start = yesterday_end - timedelta(minutes=30 + 5 * k)
                return c.post("/api/moments", json={"start": start.isoformat(), "end": (start + timedelta(minutes=2)).isoformat(),
                                                    "label": f"moment {k}"}).status_code

            with ThreadPoolExecutor(4) as pool:
                codes = list(pool.map(put, wanted.items())) + list(pool.map(moment, range(8)))
            assert set(codes) <= {200, 201}, codes
            return wanted

    strap_task = asyncio.create_task(strap())
    wanted = await asyncio.to_thread(tag_everything)
    await strap_task
    queue.put_nowait(None)
    await consumer
    stop.set()
    await web
    conn.close()

    assert len(wanted) >= 2
    check = sqlite3.connect(db_path)
    # beats that came through the recorder carry their packet (the sample day's do not)
    stored_beats = check.execute("SELECT count(*) FROM beat WHERE packet_id IS NOT NULL").fetchone()[0]
    labels = dict(check.execute(
        "SELECT t.note, l.name FROM tag t JOIN label l ON l.id = t.label_id WHERE t.origin = 'episode'").fetchall())
    moments = check.execute("SELECT count(*) FROM tag WHERE origin = 'moment'").fetchone()[0]
    check.close()
    assert stored_beats == sent_beats == recorder.stats.beats
    assert labels == {f"n{i}": label for i, label in wanted.items()}
    assert moments == 8
