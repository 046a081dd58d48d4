"""Motion costs: accelerometer file ingest speed, and the bytes a day of motion adds to the
database, live and imported.

The motion is real: the six Hexoskin chest sessions of the shared data (walking, stairs,
jogging, rests; 64 Hz, 1 g = 256 counts) in mg, band-limited and resampled to 25 Hz (an
H10's lowest rate) and looped to 24 h of wall time.

Printed, all measured in this run:
  * ingest of a day at 25 Hz (parse + store, ``attune.ingest.exchange.acc_import``) of a
    Polar Sensor Logger ACC file and of a generic ``epoch_ms,x_mg,y_mg,z_mg`` CSV: seconds,
    the ratio to real time (goal >= 2,000x), and the ratio to the baseline, pandas
    ``read_csv`` of the same file (the least any parser of it costs);
  * bytes a day adds to the database (goal <= 20 MB):
      - live: every PMD notification as an H10 sends it at 25 Hz, delta-compressed
        (``pmd_acc_encode_delta``), one frame per notification, frames filled up to the
        H10's 232-byte MTU (229 bytes of payload, as its 36-sample 200 Hz frames are),
        kept raw in ``motion_packet``, plus one ``acc_frame`` row per notification, plus
        the motion columns of the day's 17,280 ticks; and the same with one frame a second
        (a strap that sends small frames: the worst case);
      - import: the day's ``acc_frame`` rows of an import;
    each measured as the growth of a fresh database file (after a WAL checkpoint), with
    the size of the int16 samples alone (6 bytes a sample) as the baseline.

Run: ATTUNE_DATA_DIR=../shared/data python bench/bench_motion.py
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
import wave
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from attune.db import db_connect, db_transaction
from attune.ingest.events import MotionKind, MotionNotification
from attune.ingest.exchange import acc_import
from attune.ingest.motion_store import acc_frame_insert, acc_read, motion_packet_insert
from attune.ingest.pmd import pmd_acc_encode_delta

DATA = Path(os.environ.get("ATTUNE_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
SESSIONS = ("003", "004", "005", "006", "007", "008")
RATE_HZ = 25.0
DAY_S = 86_400
WALL0_MS = 1_763_700_000_000
H10_EPOCH_NS = 599_616_000_000_000_000  # 2019-01-01 on the 2000-based sensor clock
PAYLOAD_MAX = 229  # MTU 232 minus the 3-byte notification header
MB = 1e6


def _wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float)


def _resample(acc: np.ndarray, rate_hz: float, new_hz: float) -> np.ndarray:
    spec = np.fft.rfft(acc, axis=0)
    spec[np.fft.rfftfreq(acc.shape[0], d=1.0 / rate_hz) > 0.48 * new_hz] = 0.0
    smooth = np.fft.irfft(spec, n=acc.shape[0], axis=0)
    t = np.arange(acc.shape[0]) / rate_hz
    t_new = np.arange(0.0, t[-1], 1.0 / new_hz)
    return np.column_stack([np.interp(t_new, t, smooth[:, i]) for i in range(3)])


def day_of_motion() -> np.ndarray:
    """24 h of real chest motion at 25 Hz, int (n, 3) mg."""
    parts = []
    for s in SESSIONS:
        root = DATA / "hexoskin_chest_acc" / s
        with wave.open(str(root / "acceleration_X.wav")) as w:
            rate = float(w.getframerate())
        acc = np.column_stack([_wav(root / f"acceleration_{a}.wav") for a in "XYZ"]) * 1000.0 / 256.0
        parts.append(_resample(acc, rate, RATE_HZ))
    one = np.rint(np.concatenate(parts)).astype(np.int64)
    n = int(DAY_S * RATE_HZ)
    return np.resize(one, (n, 3))


def files_write(tmp: Path, xyz: np.ndarray) -> tuple[Path, Path]:
    """The day as a Polar Sensor Logger ACC file (36-sample notifications, phone time in
    UTC) and as a generic CSV."""
    n = len(xyz)
    t_ms = WALL0_MS + np.arange(n) * 40
    frame_last = np.minimum((np.arange(n) // 36) * 36 + 35, n - 1)
    phone_ms = WALL0_MS + frame_last * 40 + 45
    phone = pd.to_datetime(phone_ms, unit="ms").strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3]
    sensor = H10_EPOCH_NS + 3_600 * 10**9 + np.arange(n, dtype=np.int64) * 40_000_000
    psl = tmp / "day_ACC.txt"
    pd.DataFrame({"Phone timestamp": phone, "sensor timestamp [ns]": sensor, "X [mg]": xyz[:, 0],
                  "Y [mg]": xyz[:, 1], "Z [mg]": xyz[:, 2]}).to_csv(psl, sep=";", index=False)
    gen = tmp / "day_acc.csv"
    pd.DataFrame({"epoch_ms": t_ms, "x_mg": xyz[:, 0], "y_mg": xyz[:, 1], "z_mg": xyz[:, 2]}).to_csv(gen, index=False)
    return psl, gen


def db_bytes(conn: sqlite3.Connection) -> int:
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return int(conn.execute("PRAGMA page_count").fetchone()[0]) * int(conn.execute("PRAGMA page_size").fetchone()[0])


def ingest(path: Path, tmp: Path) -> tuple[float, int, float]:
    """(seconds for acc_import into a fresh database, samples stored, bytes added)."""
    conn = db_connect(tmp / f"import_{path.stem}.sqlite")
    before = db_bytes(conn)
    t0 = time.perf_counter()
    r = acc_import(conn, path)
    elapsed = time.perf_counter() - t0
    added = db_bytes(conn) - before
    t0 = time.perf_counter()
    back = acc_read(conn)
    print(f"    ({path.name}: acc_read of the whole day {time.perf_counter() - t0:.2f} s, {len(back):,} samples)")
    conn.close()
    return elapsed, r.samples, added


def h10_frames(xyz: np.ndarray, fixed: int | None = None) -> list[tuple[int, bytes]]:
    """(index of the frame's last sample, delta-compressed PMD frame) for the whole day:
    frames of ``fixed`` samples, or as many as fit ``PAYLOAD_MAX`` bytes."""
    out, i, n, guess = [], 0, len(xyz), 60
    sensor0 = H10_EPOCH_NS + 3_600 * 10**9
    while i < n:
        if fixed is not None:
            k = min(fixed, n - i)
            frame = pmd_acc_encode_delta(xyz[i:i + k], sensor0 + (i + k - 1) * 40_000_000)
        else:
            k = min(guess, n - i)
            frame = pmd_acc_encode_delta(xyz[i:i + k], sensor0 + (i + k - 1) * 40_000_000)
            while len(frame) > PAYLOAD_MAX and k > 1:  # shrink until it fits
                k -= max(1, k // 16)
                frame = pmd_acc_encode_delta(xyz[i:i + k], sensor0 + (i + k - 1) * 40_000_000)
            while i + k < n:  # grow while the next sample still fits
                bigger = pmd_acc_encode_delta(xyz[i:i + k + 1], sensor0 + (i + k) * 40_000_000)
                if len(bigger) > PAYLOAD_MAX:
                    break
                k, frame = k + 1, bigger
            guess = k
        out.append((i + k - 1, frame))
        i += k
    return out


def live_bytes(xyz: np.ndarray, frames: list[tuple[int, bytes]], tmp: Path, name: str) -> tuple[int, int, int]:
    """Bytes added by the raw notifications + acc_frame rows, and by the tick motion columns."""
    conn = db_connect(tmp / f"live_{name}.sqlite")
    before = db_bytes(conn)
    first = 0
    with db_transaction(conn):
        for last, payload in frames:
            arrival_ms = WALL0_MS + last * 40 + 45
            pid = motion_packet_insert(conn, None, MotionNotification(
                MotionKind.PMD, arrival_ms * 10**6, arrival_ms * 10**6, payload))
            acc_frame_insert(conn, WALL0_MS + first * 40, WALL0_MS + last * 40, xyz[first:last + 1], RATE_HZ,
                             device_id=None, packet_id=pid)
            first = last + 1
    motion = db_bytes(conn) - before
    t0 = time.perf_counter()
    back = acc_read(conn)
    read_s = time.perf_counter() - t0
    assert np.array_equal(back.xyz_mg, xyz), "acc_read gives back other samples than were stored"
    print(f"    (acc_read of the whole day: {read_s:.2f} s, every sample as stored)")
    conn.close()
    return motion, sum(len(f) for _, f in frames), ticks_motion_bytes(tmp, name)


def ticks_motion_bytes(tmp: Path, name: str) -> int:
    """What the motion columns add to a day of ticks (17,280 rows, 5 s apart): the same
    ticks stored without and with activity_mg, posture, cadence_spm, hr_expected_bpm."""
    rng = np.random.default_rng(5)
    sizes = []
    for with_motion in (False, True):
        conn = db_connect(tmp / f"ticks_{name}_{with_motion}.sqlite")
        before = db_bytes(conn)
        rows = []
        for k in range(DAY_S // 5):
            motion = (float(rng.gamma(2, 20)), "upright", float(rng.choice([0.0, 104.0])), float(rng.normal(75, 8))) \
                if with_motion else (None, None, None, None)
            rows.append((WALL0_MS + k * 5000, "settled", 70.0, 71.0, 40.0, 3.7, 50.0, 1.0, 0.0, 0.1, 0.1, 0.2, 1.0,
                         1, *motion))
        with db_transaction(conn):
            conn.executemany(
                "INSERT INTO tick(epoch_ms, state, hr_bpm, hr_fast_bpm, rmssd_ms, ln_rmssd, sdnn_ms, coverage,"
                " artifact_fraction, score, z_hr, z_ln_rmssd, calibration, baseline_used, activity_mg, posture,"
                " cadence_spm, hr_expected_bpm) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        sizes.append(db_bytes(conn) - before)
        conn.close()
    return sizes[1] - sizes[0]


def main() -> None:
    xyz = day_of_motion()
    n = len(xyz)
    raw_mb = n * 6 / MB
    print(f"motion: {n:,} samples at {RATE_HZ:g} Hz (24 h of real Hexoskin chest motion, looped); "
          f"int16 samples alone (baseline): {raw_mb:.1f} MB")
    print(f"started {datetime.now(UTC):%H:%M:%S} UTC")
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        os.environ.setdefault("TZ", "UTC")  # the PSL phone time is written in UTC
        time.tzset()
        psl, gen = files_write(tmp, xyz)
        print("\ningest of a day (parse + store into a fresh database):")
        for path in (psl, gen):
            t0 = time.perf_counter()
            pd.read_csv(path, sep=";" if path == psl else ",")
            base_s = time.perf_counter() - t0
            secs, stored, added = ingest(path, tmp)
            print(f"  {path.name:<14} {path.stat().st_size / MB:6.1f} MB file  {secs:6.2f} s  "
                  f"{DAY_S / secs:>8,.0f}x real time (goal >= 2,000x: {'met' if DAY_S / secs >= 2000 else 'NOT met'})"
                  f"  {secs / base_s:4.1f}x pandas read_csv alone ({base_s:.2f} s)  "
                  f"{stored:,} samples, {added / MB:.1f} MB added ({added / MB / raw_mb:.2f}x the int16 samples)")
        print("\nbytes a day of motion adds, live (PMD notifications kept raw + acc_frame rows + tick columns):")
        for label, frames in (("frames filled to the MTU", h10_frames(xyz)),
                              ("one frame a second (worst case)", h10_frames(xyz, fixed=25))):
            motion, payload, ticks = live_bytes(xyz, frames, tmp, label.split()[0])
            total = motion + ticks
            print(f"  {label:<32} {len(frames):>7,} notifications, {np.mean([k for k in np.diff([-1] + [f[0] for f in frames])]):5.1f}"
                  f" samples each, raw payload {payload / MB:5.1f} MB; database +{motion / MB:5.1f} MB packets+frames"
                  f" +{ticks / MB:4.2f} MB tick columns = {total / MB:5.1f} MB/day ({total / MB / raw_mb:.2f}x the int16"
                  f" samples; goal <= 20 MB: {'met' if total <= 20 * MB else 'NOT met'})")


if __name__ == "__main__":
    main()
