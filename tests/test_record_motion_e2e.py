"""`attune record` with a strap's accelerometer, end to end: the real CLI in a subprocess,
Bleak's real BlueZ backend, and the emulated BlueZ playing a Polar H10 with its PMD
service (control point answering like an H10, real frame bytes of real chest motion from
fixtures/motion), and a strap with Running Speed and Cadence."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from bluez_emulator import PMD_DATA, RSC_MEASUREMENT, BlueZEmulator, EmulatedDevice, PmdSpec, StrapSpec
from test_record_e2e import DEVICE_INFO, STRAP, STRAP_NAME, beats_stored, fast_env, query, wait_for

from attune.ingest.hrm import hrm_encode
from attune.ingest.motion_store import acc_read
from attune.ingest.pmd import pmd_acc_encode, pmd_acc_encode_delta
from attune.ingest.rsc import rsc_encode

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "motion" / "hexoskin003_still_walk_25hz.csv"
H10_RESET_NS = 599_616_000_000_000_000  # 2019-01-01 in ns since 2000: an H10 after a reset
GET_ACC = bytes.fromhex("01 02")
STOP_ACC = bytes.fromhex("03 02")
START_ACC_25HZ = bytes.fromhex("02 02 00 01 19 00 01 01 10 00 02 01 08 00")  # 25 Hz, 16 bit, 8 g
N = 5  # samples a frame: 0.2 s at 25 Hz, sent in real time


@pytest.fixture
def record(tmp_path: Path, bluez: BlueZEmulator) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """`attune -v record ARGS` on tmp_path/attune.sqlite (log lines unwrapped: COLUMNS=300)."""
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        env = {**fast_env(tmp_path / "attune.sqlite"), "COLUMNS": "300"}
        proc = subprocess.Popen([sys.executable, "-m", "attune.cli", "-v", "record", *args], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def fixture_mg() -> np.ndarray:
    return np.loadtxt(FIXTURE, delimiter=",", skiprows=1, dtype=np.int64)[:, 1:]


class Streamer:
    """Plays the strap: ACC frames of the fixture in real time (every third delta-compressed),
    a heart beat with every fifth frame."""

    def __init__(self, strap: EmulatedDevice, acc: np.ndarray) -> None:
        self.strap, self.acc = strap, acc
        self.pos = 0
        self.sensor_ns = H10_RESET_NS + 10**12
        self.sent: list[np.ndarray] = []

    def play(self, n_frames: int, *, malformed_at: int | None = None) -> list[bytes]:
        delivered = []
        for k in range(n_frames):
            chunk = self.acc[self.pos:self.pos + N]
            self.sensor_ns += N * 40_000_000
            frame = pmd_acc_encode_delta(chunk, self.sensor_ns) if k % 3 == 2 else pmd_acc_encode(chunk, self.sensor_ns)
            if self.strap.pmd_notify(frame):
                delivered.append(frame)
                self.sent.append(chunk)
                self.pos += N
            if k == malformed_at:
                assert self.strap.pmd_notify(frame[:15])  # cut inside its samples
                delivered.append(frame[:15])
            if k % 5 == 0:
                self.strap.notify(hrm_encode(70, [880], contact=True))
            time.sleep(N / 25)
        return delivered


def motion_packets(db: Path) -> int:
    return query(db, "SELECT count(*) FROM motion_packet")[0][0]


def streaming_strap(bluez: BlueZEmulator, **pmd: object) -> EmulatedDevice:
    return bluez.add_device(StrapSpec(STRAP, STRAP_NAME, device_info=DEVICE_INFO, pmd=PmdSpec(**pmd)))  # type: ignore[arg-type]


def test_record_streams_acc_across_a_link_loss_and_stops_it_on_sigterm(
    bluez: BlueZEmulator, record: Callable[..., subprocess.Popen[str]], tmp_path: Path
) -> None:
    db = tmp_path / "attune.sqlite"
    strap = streaming_strap(bluez)
    proc = record()
    strap.wait_notifying(timeout=20, uuid=PMD_DATA)
    wait_for("streaming", lambda: strap.pmd_streaming)
    # features read, settings asked, stop first (answered "already in state"), then start at 25 Hz
    assert strap.pmd_requests() == [GET_ACC, STOP_ACC, START_ACC_25HZ]
    assert strap.read_count("fb005c81-02e7-f387-1cad-8acd2d8df0c8") == 1

    play = Streamer(strap, fixture_mg())
    phase1 = play.play(20, malformed_at=7)
    assert len(phase1) == 21
    wait_for("phase 1 frames", lambda: motion_packets(db) == len(phase1))
    rows = query(db, "SELECT payload, status FROM motion_packet ORDER BY id")
    assert [bytes(r[0]) for r in rows] == phase1  # byte for byte, the malformed one too
    assert [r[1] for r in rows].count(1) == 1

    # the link drops mid-stream; after the reconnect the stream is started again (the
    # strap still streams for the lost link: stop, then start)
    assert strap.drop_link()
    strap.wait_connected(timeout=20)
    wait_for("restarted", lambda: strap.pmd_requests().count(START_ACC_25HZ) == 2 and strap.pmd_streaming)
    assert strap.pmd_requests()[3:] == [GET_ACC, STOP_ACC, START_ACC_25HZ]
    phase2 = play.play(15)
    assert len(phase2) == 15
    wait_for("phase 2 frames", lambda: motion_packets(db) == len(phase1) + len(phase2))

    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert not strap.pmd_streaming  # the stop command reached the strap before the link went down
    assert strap.pmd_requests()[-1] == STOP_ACC
    # every sample sent is stored, in order, on wall time at 25 Hz, none after its arrival
    conn_acc = acc_read(__import__("sqlite3").connect(db))
    assert np.array_equal(conn_acc.xyz_mg, np.concatenate(play.sent))
    late = query(db, "SELECT count(*) FROM acc_frame f JOIN motion_packet p ON p.id=f.packet_id"
                     " WHERE f.last_ms > p.arrival_epoch_ms")[0][0]
    assert late == 0
    kinds = [r[0] for r in query(db, "SELECT kind FROM status_event ORDER BY id")]
    assert kinds.count("motion_started") == 2 and kinds.count("capabilities") == 2
    assert kinds.index("motion_stopped") < len(kinds) - 1 - kinds[::-1].index("disconnected")
    assert tuple(query(db, "SELECT has_acc, has_rsc FROM device")[0]) == (1, 0)
    assert "1 malformed motion notifications kept" in err
    assert beats_stored(db) > 0


@pytest.mark.parametrize("how", ["sigint", "duration"])
def test_the_stop_command_is_sent_on_ctrl_c_and_at_duration_end(
    bluez: BlueZEmulator, record: Callable[..., subprocess.Popen[str]], tmp_path: Path, how: str
) -> None:
    strap = streaming_strap(bluez)
    proc = record("--duration", "8") if how == "duration" else record()
    wait_for("streaming", lambda: strap.pmd_streaming, timeout=20)
    Streamer(strap, fixture_mg()).play(5)
    if how == "sigint":
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert not strap.pmd_streaming
    assert strap.pmd_requests()[-1] == STOP_ACC
    assert query(tmp_path / "attune.sqlite", "SELECT count(*) FROM acc_frame")[0][0] == 5


def test_a_refused_start_is_one_line_and_beats_go_on(
    bluez: BlueZEmulator, record: Callable[..., subprocess.Popen[str]], tmp_path: Path
) -> None:
    db = tmp_path / "attune.sqlite"
    strap = streaming_strap(bluez, start_error=13)  # "device in charger"
    proc = record()
    strap.wait_notifying(timeout=20)
    wait_for("start refused", lambda: query(db, "SELECT count(*) FROM status_event WHERE kind='motion_error'")[0][0] == 1)
    sent = [hrm_encode(66, [900 + i], contact=True) for i in range(10)]
    for p in sent:
        assert strap.notify(p)
        time.sleep(0.05)
    wait_for("beats", lambda: beats_stored(db) == 10)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    said = [line for line in err.splitlines() if "device in charger" in line]
    assert len(said) == 1, err
    assert "Traceback" not in err
    value = json.loads(query(db, "SELECT value FROM status_event WHERE kind='motion_error'")[0][0])
    assert value["code"] == 13 and "device in charger" in value["error"]
    assert strap.pmd_requests() == [GET_ACC, STOP_ACC, START_ACC_25HZ]  # no stop for a stream that never started
    assert [r[0] for r in query(db, "SELECT rr_1024 FROM beat ORDER BY id")] == [900 + i for i in range(10)]


def test_a_strap_without_pmd_records_beats_as_before(
    bluez: BlueZEmulator, record: Callable[..., subprocess.Popen[str]], tmp_path: Path
) -> None:
    db = tmp_path / "attune.sqlite"
    strap = bluez.add_device(StrapSpec(STRAP, STRAP_NAME, device_info=DEVICE_INFO))
    proc = record()
    strap.wait_notifying(timeout=20)
    for i in range(10):
        assert strap.notify(hrm_encode(66, [900 + i], contact=True))
        time.sleep(0.05)
    wait_for("beats", lambda: beats_stored(db) == 10)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert strap.stats.writes == []  # nothing written to a strap that has no PMD
    assert query(db, "SELECT count(*) FROM motion_packet")[0][0] == 0
    assert tuple(query(db, "SELECT has_acc, has_rsc FROM device")[0]) == (0, 0)
    assert json.loads(query(db, "SELECT value FROM status_event WHERE kind='capabilities'")[0][0]) == {
        "acc": False, "rsc": False}
    # no warning about motion for a plain strap, and the summary is the one it always was
    assert not [line for line in err.splitlines() if "WARNING" in line and "motion" in line.lower()], err
    assert "Motion:" not in err and "Stopped: " in err


def test_rsc_cadence_is_recorded(
    bluez: BlueZEmulator, record: Callable[..., subprocess.Popen[str]], tmp_path: Path
) -> None:
    db = tmp_path / "attune.sqlite"
    strap = bluez.add_device(StrapSpec(STRAP, STRAP_NAME, rsc=True))
    proc = record()
    strap.wait_notifying(timeout=20, uuid=RSC_MEASUREMENT)
    for spm in (110, 112, 114):
        assert strap.notify(rsc_encode(1.4, spm), uuid=RSC_MEASUREMENT)
        assert strap.notify(hrm_encode(66, [900], contact=True))
        time.sleep(0.05)
    wait_for("cadence", lambda: query(db, "SELECT count(*) FROM cadence_sample")[0][0] == 3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert [r[0] for r in query(db, "SELECT cadence_spm FROM cadence_sample ORDER BY epoch_ms")] == [110, 112, 114]
    assert tuple(query(db, "SELECT has_acc, has_rsc FROM device")[0]) == (0, 1)


def test_acc_rate_zero_leaves_the_accelerometer_alone(
    bluez: BlueZEmulator, record: Callable[..., subprocess.Popen[str]], tmp_path: Path
) -> None:
    db = tmp_path / "attune.sqlite"
    strap = streaming_strap(bluez)
    proc = record("--acc-rate", "0")
    strap.wait_notifying(timeout=20)
    wait_for("device row", lambda: len(query(db, "SELECT * FROM device")) == 1)
    for i in range(5):
        assert strap.notify(hrm_encode(66, [900 + i], contact=True))
        time.sleep(0.05)
    wait_for("beats", lambda: beats_stored(db) == 5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert strap.stats.writes == [] and strap.read_count("fb005c81-02e7-f387-1cad-8acd2d8df0c8") == 0
    assert not strap.notifying(PMD_DATA)
    assert tuple(query(db, "SELECT has_acc FROM device")[0]) == (1,)  # it has one; we did not use it


def test_run_streams_motion_shows_it_in_status_and_stops_it(bluez: BlueZEmulator, tmp_path: Path) -> None:
    """`attune run` (collector + live analysis + web app) does the same as `record`."""
    import httpx
    from test_web_run import _free_port, _wait

    strap = streaming_strap(bluez)
    port = _free_port()
    env = {**fast_env(tmp_path / "attune.sqlite"), "COLUMNS": "300"}
    proc = subprocess.Popen([sys.executable, "-m", "attune.cli", "run", "--port", str(port), "--acc-rate", "50"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for("streaming", lambda: strap.pmd_streaming, timeout=30)
        assert strap.pmd_requests()[-1] == bytes.fromhex("02 02 00 01 32 00 01 01 10 00 02 01 08 00")  # 50 Hz
        _wait("connected status", lambda: httpx.get(base + "/api/status").json()["connection"] == "connected")
        assert httpx.get(base + "/api/status").json()["motion"] is True
        Streamer(strap, fixture_mg()).play(5)
        wait_for("frames", lambda: query(tmp_path / "attune.sqlite", "SELECT count(*) FROM acc_frame")[0][0] == 5)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert not strap.pmd_streaming and strap.pmd_requests()[-1] == STOP_ACC


def test_a_strap_that_stops_streaming_by_itself_is_told(
    bluez: BlueZEmulator, record: Callable[..., subprocess.Popen[str]], tmp_path: Path
) -> None:
    db = tmp_path / "attune.sqlite"
    strap = streaming_strap(bluez)
    proc = record()
    wait_for("streaming", lambda: strap.pmd_streaming, timeout=20)
    assert strap.pmd_stop_by_itself()
    wait_for("told", lambda: query(db, "SELECT count(*) FROM status_event WHERE kind='motion_stopped'")[0][0] == 1)
    assert json.loads(query(db, "SELECT value FROM status_event WHERE kind='motion_stopped'")[0][0]) == {
        "reason": "strap"}
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert strap.pmd_requests() == [GET_ACC, STOP_ACC, START_ACC_25HZ]  # nothing left to stop
