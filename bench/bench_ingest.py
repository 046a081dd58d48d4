"""Ingest throughput: a full 24 h RR series replayed as BLE notifications.

parser → timestamping → SQLite, exactly the recorder the live collector feeds. The series
(PhysioNet NSR2DB nsr001 by default) is cut into 1 Hz Heart Rate Measurement packets the
way a strap sends them (every beat that ended in the last second; HR-only packets when
none did), with a small random delivery latency.

Printed, all measured in this run:
  * parse only (baseline): what the byte decoding alone costs;
  * replay, bulk commits: beats/s and the ratio to real time (goal >= 5,000x);
  * replay at the live commit cadence (a commit every 0.5 s of stream time);
  * peak Python memory (tracemalloc) and process max RSS.

Run: python bench/bench_ingest.py [RR_FILE]
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from attune.db import db_connect
from attune.ingest.events import LinkEvent, Notification
from attune.ingest.formats import rr_file_read
from attune.ingest.hrm import hrm_encode, hrm_parse
from attune.ingest.recorder import Recorder

DATA = Path(os.environ.get("ATTUNE_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
WALL0_MS = 1_763_700_000_000


def packets_from_rr(rr_ms: np.ndarray, seed: int = 1) -> list[Notification]:
    """1 Hz notifications carrying the RR of every beat that ended in the last second."""
    rng = np.random.default_rng(seed)
    rr_1024 = np.round(rr_ms * 1024 / 1000).astype(int)
    beat_t = np.cumsum(rr_1024 * 1000 / 1024)
    send_t = np.arange(1000.0, beat_t[-1] + 1000.0, 1000.0)
    cut = np.searchsorted(beat_t, send_t, side="right")
    latency = 20 + rng.gamma(2.0, 15.0, len(send_t))  # ms, a BlueZ-like delivery delay
    out, start = [], 0
    for k, end in enumerate(cut):
        ticks = rr_1024[start:end].tolist()[:9]  # a packet holds at most 9 RR at 23-byte MTU
        hr = int(round(60000 / (np.mean(rr_1024[start:end]) * 1000 / 1024))) if end > start else 60
        t = send_t[k] + latency[k]
        out.append(Notification(int(t * 1e6), int((WALL0_MS + t) * 1e6), hrm_encode(min(hr, 255), ticks, contact=True)))
        start = end
    return out


def replay(packets: list[Notification], commit_every_stream_s: float | None) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        conn = db_connect(Path(tmp) / "bench.sqlite")
        rec = Recorder(conn, commit_interval_s=0.5 if commit_every_stream_s is None else 1e9)
        rec.handle(LinkEvent("connected"))
        t0 = time.perf_counter()
        next_commit = None
        for n in packets:
            rec.handle(n)
            if commit_every_stream_s is None:
                rec.commit_if_due()
            else:
                if next_commit is None or n.arrival_mono_ns >= next_commit:
                    rec.commit()
                    next_commit = n.arrival_mono_ns + int(commit_every_stream_s * 1e9)
        rec.commit()
        elapsed = time.perf_counter() - t0
        beats = conn.execute("SELECT count(*) FROM beat").fetchone()[0]
        conn.close()
    return elapsed, beats


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA / "physionet_24h" / "nsr2db_nsr001_rr_secs.txt"
    series = rr_file_read(path)
    packets = packets_from_rr(series.rr_ms)
    duration_s = (packets[-1].arrival_mono_ns - packets[0].arrival_mono_ns) / 1e9
    n_beats = len(series.rr_ms)
    print(f"input: {path.name} ({series.format}), {n_beats} beats, {duration_s / 3600:.2f} h, {len(packets)} notifications")

    t0 = time.perf_counter()
    for n in packets:
        hrm_parse(n.payload)
    parse_s = time.perf_counter() - t0

    bulk_s, stored = replay(packets, None)
    live_s, stored_live = replay(packets, 0.5)
    assert stored == stored_live, (stored, stored_live)
    # memory in a separate pass: tracemalloc slows Python down several-fold
    tracemalloc.start()
    replay(packets[: len(packets) // 4], None)
    _, peak_quarter = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    replay(packets, None)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    def line(name: str, seconds: float) -> str:
        return (f"{name:<38} {seconds:7.2f} s  {stored / seconds:>10,.0f} beats/s  "
                f"{duration_s / seconds:>9,.0f}x real time  {seconds / parse_s:5.1f}x parse-only")

    print(f"beats stored: {stored} of {n_beats} (every beat; packets capped at 9 RR)")
    print(line("parse only (baseline)", parse_s))
    print(line("parse+timestamp+SQLite, bulk commits", bulk_s))
    print(line("same, commit every 0.5 s of stream", live_s))
    goal = duration_s / bulk_s >= 5000
    print(f"goal >= 5,000x real time: {'met' if goal else 'NOT met'}")
    print(f"peak traced Python memory during replay: {peak_quarter / 2**20:.2f} MiB for a quarter "
          f"of the day, {peak / 2**20:.2f} MiB for all of it (flat = no growth with length); "
          f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB "
          f"(includes the {len(packets)} prepared notifications)")


if __name__ == "__main__":
    main()
