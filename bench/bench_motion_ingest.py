"""Motion ingest: an hour of a Polar H10's 25 Hz accelerometer, as PMD frames, through the
recorder (keep the bytes, decode, map the sensor clock, store) into SQLite.

The frames carry real chest motion (fixtures/motion, looped), 36 samples each: what an H10
puts in one notification at the ATT MTU of 232 it negotiates ((232 - 3 - 10) / 6 samples),
so one frame every 1.44 s. Printed, all measured in this run:

  * baseline: the same hour of 1 Hz heart-rate notifications through the same recorder;
  * motion: frames/s, samples/s and the ratio to real time (goal >= 2,000x), and its cost
    against the baseline;
  * database growth for the hour of motion and what that makes a day (goal <= 20 MB),
    split into the raw packets (motion_packet) and the decoded samples (acc_frame).

Run: python bench/bench_motion_ingest.py [HOURS]
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from attune.db import db_connect
from attune.ingest.events import LinkEvent, LinkKind, MotionKind, MotionNotification, Notification
from attune.ingest.hrm import hrm_encode
from attune.ingest.pmd import pmd_acc_encode
from attune.ingest.recorder import Recorder

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "motion" / "hexoskin003_still_walk_25hz.csv"
WALL0_MS = 1_763_700_000_000
RATE_HZ = 25
FRAME = 36
H10_RESET_NS = 599_616_000_000_000_000
NS = 1_000_000


def motion_stream(hours: float) -> list[MotionNotification]:
    acc = np.loadtxt(FIXTURE, delimiter=",", skiprows=1, dtype=np.int64)[:, 1:]
    n_frames = int(hours * 3600 * RATE_HZ / FRAME)
    out = []
    for k in range(n_frames):
        idx = (k * FRAME + np.arange(FRAME)) % len(acc)
        t_ms = (k + 1) * FRAME * 1000 // RATE_HZ
        payload = pmd_acc_encode(acc[idx], H10_RESET_NS + t_ms * NS)
        out.append(MotionNotification(MotionKind.PMD, (t_ms + 30) * NS, (WALL0_MS + t_ms + 30) * NS, payload))
    return out


def hr_stream(hours: float) -> list[Notification]:
    return [Notification(k * 1000 * NS, (WALL0_MS + k * 1000) * NS, hrm_encode(62, [990], contact=True))
            for k in range(1, int(hours * 3600) + 1)]


def db_bytes(conn: sqlite3.Connection, table: str | None = None) -> int:
    if table is None:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return conn.execute("PRAGMA page_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]
    try:  # dbstat: SQLite's own per-table byte count, when compiled in
        return conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name=?", (table,)).fetchone()[0] or 0
    except sqlite3.OperationalError:
        return -1


def replay(events: list, *, motion: bool) -> tuple[float, sqlite3.Connection]:
    path = Path(tempfile.mkdtemp()) / "bench.sqlite"
    conn = db_connect(path)
    rec = Recorder(conn, commit_interval_s=0.5)
    rec.handle(LinkEvent(LinkKind.CONNECTED, {}))
    if motion:
        rec.handle(LinkEvent(LinkKind.MOTION_STARTED, {"sample_rate_hz": RATE_HZ}))
    rec.commit()
    t0 = time.perf_counter()
    for e in events:
        rec.handle(e)
        rec.commit_if_due()
    rec.commit()
    return time.perf_counter() - t0, conn


def main() -> None:
    hours = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    real_s = hours * 3600
    hr = hr_stream(hours)
    base_s, conn = replay(hr, motion=False)
    conn.close()
    frames = motion_stream(hours)
    empty_s, conn = replay([], motion=True)
    empty_bytes = db_bytes(conn)
    conn.close()
    motion_s, conn = replay(frames, motion=True)
    grown = db_bytes(conn) - empty_bytes
    raw, decoded = db_bytes(conn, "motion_packet"), db_bytes(conn, "acc_frame")
    samples = conn.execute("SELECT sum(n) FROM acc_frame").fetchone()[0]
    assert samples == len(frames) * FRAME
    print(f"{hours:g} h of stream, measured in this run")
    print(f"  baseline, 1 Hz HR notifications: {len(hr)} in {base_s:.2f} s ({real_s / base_s:,.0f}x real time)")
    print(f"  motion, 25 Hz ACC in {FRAME}-sample PMD frames: {len(frames)} frames, {samples} samples in "
          f"{motion_s:.2f} s ({len(frames) / motion_s:,.0f} frames/s, {samples / motion_s:,.0f} samples/s, "
          f"{real_s / motion_s:,.0f}x real time; {motion_s / base_s:.2f}x the HR baseline's time)")
    per_day = 24 / hours
    print(f"  database growth: {grown / 1e6:.2f} MB for {hours:g} h -> {grown * per_day / 1e6:.1f} MB a day"
          + (f" (raw packets {raw * per_day / 1e6:.1f} MB, decoded frames {decoded * per_day / 1e6:.1f} MB)"
             if raw >= 0 else ""))


if __name__ == "__main__":
    main()
