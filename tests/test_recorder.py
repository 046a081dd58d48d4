"""Recorder on a real SQLite file: packets, beats, segments, status events, bad packets."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from attune.db import db_connect, schema_version_latest
from attune.ingest.events import DeviceInfo, LinkEvent, Notification
from attune.ingest.hrm import hrm_encode
from attune.ingest.plausibility import BeatFlag
from attune.ingest.recorder import Recorder

MS = 1_000_000
WALL0 = 1_763_700_000_000  # ms


def _n(t_ms: float, payload: bytes) -> Notification:
    return Notification(int(t_ms * MS), int((WALL0 + t_ms) * MS), payload)


def test_stream_is_stored_exactly(db_path: Path) -> None:
    conn = db_connect(db_path)
    rec = Recorder(conn)
    rec.handle(LinkEvent("connected", {"rssi": -60, "battery": 80}, DeviceInfo("AA:BB", "Polar H10 1234")))
    ticks = [1024, 1000, 980, 1010, 1030, 990]
    t = 0.0
    for i in range(0, len(ticks), 2):
        t += (ticks[i] + ticks[i + 1]) * 1000 / 1024
        rec.handle(_n(t + 30, hrm_encode(60, ticks[i:i + 2], contact=True)))
    rec.commit()
    rows = conn.execute("SELECT rr_1024, rr_ms, hr_bpm, flags, epoch_ms, segment_id FROM beat ORDER BY id").fetchall()
    assert [r["rr_1024"] for r in rows] == ticks
    assert [r["rr_ms"] for r in rows] == [v * 1000 / 1024 for v in ticks]
    assert all(r["flags"] == 0 for r in rows)
    assert len({r["segment_id"] for r in rows}) == 1
    # consecutive beat times are one RR apart (ms, rounded)
    epochs = [r["epoch_ms"] for r in rows]
    for k in range(1, len(rows)):
        assert abs(epochs[k] - epochs[k - 1] - rows[k]["rr_ms"]) <= 1
    assert epochs[-1] <= WALL0 + t + 30
    kinds = [r[0] for r in conn.execute("SELECT kind FROM status_event ORDER BY id")]
    assert kinds == ["connected", "contact"]
    dev = conn.execute("SELECT name FROM device").fetchone()
    assert dev["name"] == "Polar H10 1234"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema_version_latest()


def test_malformed_packet_is_counted_kept_and_skipped(db_path: Path) -> None:
    conn = db_connect(db_path)
    rec = Recorder(conn)
    rec.handle(_n(1000, hrm_encode(60, [1024])))
    rec.handle(_n(2000, b"\x10\x3c\x00"))  # odd RR byte count
    rec.handle(_n(3000, hrm_encode(60, [1024])))
    rec.commit()
    assert rec.stats.parse_errors["odd_rr_bytes"] == 1
    packets = conn.execute("SELECT status, payload FROM packet ORDER BY id").fetchall()
    assert [p["status"] for p in packets] == [0, 1, 0]
    assert packets[1]["payload"] == b"\x10\x3c\x00"  # raw bytes kept for re-parsing
    flags = [r[0] for r in conn.execute("SELECT flags FROM beat ORDER BY id")]
    assert flags == [0, int(BeatFlag.AFTER_GAP)]
    assert conn.execute("SELECT count(*) FROM status_event WHERE kind='parse_error'").fetchone()[0] == 1


def test_disconnect_and_contact_loss_start_segments(db_path: Path) -> None:
    conn = db_connect(db_path)
    rec = Recorder(conn)
    rec.handle(LinkEvent("connected", device=DeviceInfo("AA:BB")))
    rec.handle(_n(1000, hrm_encode(60, [1024], contact=True)))
    rec.handle(_n(2000, hrm_encode(60, [1024], contact=True)))
    rec.handle(_n(3000, hrm_encode(60, [1024], contact=False)))  # contact lost
    rec.handle(LinkEvent("disconnected", {"reason": "link_lost"}))
    rec.handle(LinkEvent("connected", device=DeviceInfo("AA:BB")))
    rec.handle(_n(9000, hrm_encode(61, [1000], contact=True)))
    rec.commit()
    segs = conn.execute("SELECT id, reason FROM segment ORDER BY id").fetchall()
    assert [s["reason"] for s in segs] == ["connect", "contact", "reconnect"]
    beats = conn.execute("SELECT segment_id, flags FROM beat ORDER BY id").fetchall()
    assert [b["segment_id"] for b in beats] == [segs[0]["id"]] * 2 + [segs[1]["id"], segs[2]["id"]]
    assert beats[2]["flags"] & BeatFlag.NO_CONTACT


def test_run_commits_on_cadence_while_streaming(db_path: Path) -> None:
    """Rows become visible to another connection within the commit interval."""

    async def scenario() -> int:
        conn = db_connect(db_path)
        rec = Recorder(conn, commit_interval_s=0.2)
        queue: asyncio.Queue = asyncio.Queue()
        task = asyncio.create_task(rec.run(queue))
        queue.put_nowait(_n(1000, hrm_encode(60, [1024])))
        await asyncio.sleep(0.5)  # no more data: the pending row must still be committed
        other = sqlite3.connect(db_path)
        seen = other.execute("SELECT count(*) FROM beat").fetchone()[0]
        other.close()
        queue.put_nowait(None)
        await task
        return seen

    assert asyncio.run(scenario()) == 1


def test_hr_zero_and_out_of_range_are_flagged_not_dropped(db_path: Path) -> None:
    conn = db_connect(db_path)
    rec = Recorder(conn)
    rec.handle(_n(1000, hrm_encode(0, [100])))  # warm-up frame with a bogus 98 ms RR
    rec.commit()
    (flags,) = conn.execute("SELECT flags FROM beat").fetchone()
    assert flags & BeatFlag.HR_ZERO and flags & BeatFlag.RR_OUT_OF_RANGE


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    import random

    from attune.ingest.collector import BackoffPolicy

    policy = BackoffPolicy(base_s=1.0, cap_s=60.0)
    rng = random.Random(7)
    for attempt in range(12):
        raw = min(60.0, 2.0**attempt)
        delays = [policy.delay_s(attempt, rng) for _ in range(200)]
        assert all(raw * 0.5 <= d <= raw for d in delays)
        assert max(delays) - min(delays) > raw * 0.3  # jitter spreads reconnect storms
    assert policy.delay_s(10_000, rng) <= 60.0  # no overflow on very long outages
