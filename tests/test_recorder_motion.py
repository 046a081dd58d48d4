"""The recorder with motion (issue 8): real PMD frame bytes of real chest motion
(fixtures/motion) and RSC measurements through a real Recorder into real SQLite files."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from attune.db import db_connect
from attune.ingest.events import AccSamples, DeviceInfo, LinkEvent, LinkKind, MotionKind, MotionNotification
from attune.ingest.motion_store import acc_read, cadence_read
from attune.ingest.pmd import pmd_acc_encode, pmd_acc_encode_delta
from attune.ingest.recorder import Recorder
from attune.ingest.rsc import rsc_encode

MS = 1_000_000
WALL0_MS = 1_763_700_000_000
H10_RESET_NS = 599_616_000_000_000_000  # an H10's clock after a reset: 2019-01-01 in ns since 2000
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "motion" / "hexoskin003_still_walk_25hz.csv"
FRAME = 25  # samples a frame: one second at 25 Hz


def fixture_mg() -> np.ndarray:
    return np.loadtxt(FIXTURE, delimiter=",", skiprows=1, dtype=np.int64)[:, 1:]


def started(rate_hz: int = 25) -> LinkEvent:
    return LinkEvent(LinkKind.MOTION_STARTED, {"sample_rate_hz": rate_hz, "range_g": 8, "resolution_bits": 16,
                                               "factor": None}, wall_ns=WALL0_MS * MS)


def frames(acc: np.ndarray, *, t0_s: float = 0.0, sensor0_ns: int = H10_RESET_NS, delta_every: int = 3
           ) -> list[MotionNotification]:
    """One-second frames of ``acc`` arriving 60 ms after their last sample; every
    ``delta_every``-th frame delta-compressed (other Polar devices), the rest H10 type 1."""
    out = []
    for k in range(len(acc) // FRAME):
        chunk = acc[k * FRAME:(k + 1) * FRAME]
        sensor_ns = sensor0_ns + (k + 1) * 1_000_000_000
        payload = pmd_acc_encode_delta(chunk, sensor_ns) if k % delta_every == 2 else pmd_acc_encode(chunk, sensor_ns)
        arrival_ms = (t0_s + k + 1) * 1000 + 60
        out.append(MotionNotification(MotionKind.PMD, int(arrival_ms * MS), int((WALL0_MS + arrival_ms) * MS), payload))
    return out


def test_frames_are_kept_decoded_stored_and_published(db_path: Path) -> None:
    conn = db_connect(db_path)
    rec = Recorder(conn)
    published: list[AccSamples] = []
    rec.add_motion_listener(published.append)
    acc = fixture_mg()[:20 * FRAME]
    rec.handle(LinkEvent(LinkKind.CONNECTED, {}, DeviceInfo("AA:BB", "Polar H10", has_acc=True, has_rsc=False)))
    rec.handle(started())
    sent = frames(acc)
    for n in sent:
        rec.handle(n)
    rec.commit()
    # every notification byte for byte, with its arrival stamps
    rows = conn.execute("SELECT kind, payload, status, arrival_mono_ns, device_id FROM motion_packet ORDER BY id").fetchall()
    assert [bytes(r["payload"]) for r in rows] == [n.payload for n in sent]
    assert {(r["kind"], r["status"], r["device_id"]) for r in rows} == {("pmd", 0, 1)}
    # samples as sent, in mg, at wall times one 40 ms step apart, none after its arrival
    stored = acc_read(conn)
    assert np.array_equal(stored.xyz_mg, acc) and stored.rate_hz == 25.0
    assert set(np.diff(stored.epoch_ms).tolist()) <= {39, 40, 41}
    frames_ = conn.execute("SELECT f.last_ms, p.arrival_epoch_ms, f.packet_id FROM acc_frame f"
                           " JOIN motion_packet p ON p.id = f.packet_id ORDER BY f.id").fetchall()
    assert len(frames_) == len(sent) and all(r[0] <= r[1] for r in frames_)
    # the listener got exactly what was stored, frame by frame, after it was stored
    assert np.array_equal(np.concatenate([p.epoch_ms for p in published]), stored.epoch_ms)
    assert np.array_equal(np.concatenate([p.xyz_mg for p in published]), stored.xyz_mg)
    assert rec.stats.acc_samples == len(acc) and rec.stats.motion_packets == len(sent)
    assert tuple(conn.execute("SELECT has_acc, has_rsc FROM device").fetchone()) == (1, 0)


def test_malformed_frames_are_kept_counted_logged_once(db_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    conn = db_connect(db_path)
    rec = Recorder(conn)
    rec.handle(LinkEvent(LinkKind.CONNECTED, {}, DeviceInfo("AA:BB")))
    rec.handle(started())
    good = frames(fixture_mg()[:4 * FRAME])
    bad = [good[1].payload[:13],  # cut inside the samples: not whole 6-byte samples
           bytes.fromhex("02 00 00"),  # cut inside the header
           good[2].payload[:9] + b"\x03" + good[2].payload[10:]]  # an ACC frame type that does not exist
    stream = [good[0], MotionNotification(MotionKind.PMD, good[0].arrival_mono_ns + 1, good[0].arrival_wall_ns + 1, bad[0]),
              good[1], MotionNotification(MotionKind.PMD, good[1].arrival_mono_ns + 1, good[1].arrival_wall_ns + 1, bad[1]),
              MotionNotification(MotionKind.PMD, good[1].arrival_mono_ns + 2, good[1].arrival_wall_ns + 2, bad[2]),
              good[2], good[3]]
    with caplog.at_level(logging.INFO, logger="attune.ingest.recorder"):
        for n in stream:
            rec.handle(n)  # never raises
    rec.commit()
    rows = conn.execute("SELECT payload, status, error FROM motion_packet ORDER BY id").fetchall()
    assert [bytes(r[0]) for r in rows] == [n.payload for n in stream]
    assert [r[1] for r in rows] == [0, 1, 0, 1, 1, 0, 0]
    assert all(r[2] for r in rows if r[1]) and not any(r[2] for r in rows if not r[1])
    assert sum(rec.stats.motion_errors.values()) == 3
    assert len([r for r in caplog.records if "malformed" in r.getMessage()]) == 1
    assert len(acc_read(conn)) == 4 * FRAME  # the good frames around them are all there


def test_reconnect_breaks_the_chain_and_a_reset_sensor_clock_is_fine(db_path: Path) -> None:
    """After a link loss the strap's frames re-anchor on arrival (its clock may even have
    gone back: an H10 that reset); nothing is lost and no sample lands after its arrival."""
    conn = db_connect(db_path)
    rec = Recorder(conn)
    acc = fixture_mg()
    rec.handle(LinkEvent(LinkKind.CONNECTED, {}, DeviceInfo("AA:BB")))
    rec.handle(started())
    first = frames(acc[:10 * FRAME], sensor0_ns=H10_RESET_NS + 3600 * 10**9)
    for n in first:
        rec.handle(n)
    rec.handle(LinkEvent(LinkKind.DISCONNECTED, {"reason": "link_lost"}))
    rec.handle(LinkEvent(LinkKind.CONNECTED, {}, DeviceInfo("AA:BB")))
    rec.handle(started())
    second = frames(acc[10 * FRAME:20 * FRAME], t0_s=30.0)  # sensor clock back to its reset value
    for n in second:
        rec.handle(n)
    rec.commit()
    stored = acc_read(conn)
    assert np.array_equal(stored.xyz_mg, acc[:20 * FRAME])
    gap_ms = stored.epoch_ms[10 * FRAME] - stored.epoch_ms[10 * FRAME - 1]
    assert 19_000 < gap_ms < 21_000  # the 20 s the link was down, on wall time
    rows = conn.execute("SELECT f.last_ms <= p.arrival_epoch_ms FROM acc_frame f JOIN motion_packet p"
                        " ON p.id = f.packet_id").fetchall()
    assert all(r[0] for r in rows)


def test_rsc_cadence_is_stored(db_path: Path) -> None:
    conn = db_connect(db_path)
    rec = Recorder(conn)
    rec.handle(LinkEvent(LinkKind.CONNECTED, {}, DeviceInfo("AA:BB", has_acc=False, has_rsc=True)))
    payloads = [rsc_encode(1.4, 112), rsc_encode(3.1, 168, running=True, stride_m=1.1), b"\x01\x00"]
    for k, p in enumerate(payloads):
        rec.handle(MotionNotification(MotionKind.RSC, k * 10**9, (WALL0_MS + k * 1000) * MS, p))
    rec.commit()
    t, spm = cadence_read(conn)
    assert t.tolist() == [WALL0_MS, WALL0_MS + 1000] and spm.tolist() == [112.0, 168.0]
    assert [r[0] for r in conn.execute("SELECT status FROM motion_packet ORDER BY id")] == [0, 0, 1]
    assert rec.stats.cadence_samples == 2 and sum(rec.stats.motion_errors.values()) == 1


def test_a_failing_motion_listener_does_not_stop_recording(db_path: Path) -> None:
    conn = db_connect(db_path)
    rec = Recorder(conn)
    after: list[AccSamples] = []

    def broken(samples: AccSamples) -> None:
        conn.execute("INSERT INTO status_event(epoch_ms, kind, value) VALUES (0, 'broken', '{}')")
        raise RuntimeError("analysis bug")

    rec.add_motion_listener(broken)
    rec.add_motion_listener(after.append)
    rec.handle(LinkEvent(LinkKind.CONNECTED, {}, DeviceInfo("AA:BB")))
    rec.handle(started())
    for n in frames(fixture_mg()[:5 * FRAME]):
        rec.handle(n)
    rec.commit()
    assert rec.stats.listener_failures == 5 and len(after) == 5
    assert len(acc_read(conn)) == 5 * FRAME
    assert conn.execute("SELECT count(*) FROM status_event WHERE kind='broken'").fetchone()[0] == 0


DISKFULL = r'''
import json, os, resource, sqlite3, sys, time
import numpy as np
from attune.db import db_connect
from attune.ingest.events import LinkEvent, LinkKind, MotionKind, MotionNotification, Notification
from attune.ingest.hrm import hrm_encode
from attune.ingest.pmd import pmd_acc_encode
from attune.ingest.recorder import Recorder

path, fixture = sys.argv[1], sys.argv[2]
acc = np.loadtxt(fixture, delimiter=",", skiprows=1, dtype=np.int64)[:, 1:]
conn = db_connect(path)
conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
rec = Recorder(conn, commit_interval_s=0.0, retry_base_s=0.01, retry_cap_s=0.02)
rec.consume(LinkEvent(LinkKind.CONNECTED, {}))
rec.consume(LinkEvent(LinkKind.MOTION_STARTED, {"sample_rate_hz": 25}))
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(path), hard))
wall0, k, sent = 1_763_700_000_000, 0, []
def feed():
    global k
    k += 1
    t_ms = k * 1000
    rec.consume(Notification(t_ms * 10**6, (wall0 + t_ms) * 10**6, hrm_encode(60, [1024], contact=True)))
    chunk = acc[(k * 25) % 4500:(k * 25) % 4500 + 25]
    sent.append(chunk)
    rec.consume(MotionNotification(MotionKind.PMD, (t_ms + 50) * 10**6, (wall0 + t_ms + 50) * 10**6,
                                   pmd_acc_encode(chunk, 599616000000000000 + k * 10**9)))
while rec.storage_error is None and k < 50_000:
    feed()
for _ in range(40):
    feed()
resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
time.sleep(0.05)
feed()
rec.close_out()
reader = sqlite3.connect(path)
# through the store's reader: a live frame's samples may be kept only in its raw packet
from attune.ingest.motion_store import acc_read
blob = acc_read(reader).xyz_mg.astype("<i2").tobytes()
ids = [r[0] for r in reader.execute("SELECT id FROM motion_packet ORDER BY id")]
print(json.dumps({"sent": len(sent), "frames": reader.execute("SELECT count(*) FROM acc_frame").fetchone()[0],
                  "same": blob == np.concatenate(sent).astype("<i2").tobytes(), "failed": rec.stats.storage_failures,
                  "ids_contiguous": ids == list(range(ids[0], ids[0] + len(ids))), "packets": len(ids),
                  "beats": reader.execute("SELECT count(*) FROM beat").fetchone()[0]}))
'''


def test_disk_full_keeps_motion_with_the_beats(tmp_path: Path) -> None:
    """Motion rows go through the same transaction, journal and retry as beats: a full disk
    loses none of them and duplicates none (real file-size limit, in a subprocess)."""
    db = tmp_path / "rec.sqlite"
    db_connect(db).close()
    proc = subprocess.run([sys.executable, "-c", DISKFULL, str(db), str(FIXTURE)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["failed"] >= 1
    assert out["frames"] == out["packets"] == out["sent"] == out["beats"], out
    assert out["same"] and out["ids_contiguous"]
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
