"""`attune scan` and `attune record` end to end: real Bleak BlueZ backend, emulated BlueZ.

Each test starts the real CLI as a subprocess with ``DBUS_SYSTEM_BUS_ADDRESS`` pointing
at a private bus where :mod:`bluez_emulator` plays a chest strap; the recording lands in
a real SQLite file that the test reads with its own connection.
"""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bluez_emulator import BlueZEmulator, EmulatedDevice, StrapSpec

from attune.ingest.hrm import HeartRateMeasurement, hrm_encode, hrm_parse

STRAP = "C8:2E:11:0A:12:34"
STRAP_NAME = "Polar H10 0A123456"
DEVICE_INFO = {
    "manufacturer_name": "Polar Electro Oy",
    "model_number": "H10",
    "serial_number": "0A123456",
    "firmware_revision": "3.1.1",
}


def fast_env(db: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ATTUNE_DB=str(db),
        ATTUNE_WATCHDOG_S="3",
        ATTUNE_BACKOFF_CAP_S="1",
        ATTUNE_SCAN_TIMEOUT_S="2",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def record(tmp_path: Path, bluez: BlueZEmulator) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str, db: Path | None = None) -> subprocess.Popen[str]:
        db = db or tmp_path / "attune.sqlite"
        proc = subprocess.Popen(
            [sys.executable, "-m", "attune.cli", "-v", "record", *args],
            env=fast_env(db), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    return err


def query(db: Path, sql: str, *args: object) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def wait_for(what: str, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except sqlite3.OperationalError:
            pass  # database not created yet
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def beats_stored(db: Path) -> int:
    return query(db, "SELECT count(*) FROM beat")[0][0]


def send_paced(strap: EmulatedDevice, payloads: list[bytes], gap_s: float = 0.05) -> list[bytes]:
    delivered = []
    for p in payloads:
        if strap.notify(p):
            delivered.append(p)
        time.sleep(gap_s)
    return delivered


def ticks_of(payloads: list[bytes]) -> list[int]:
    out: list[int] = []
    for p in payloads:
        m = hrm_parse(p)
        if isinstance(m, HeartRateMeasurement):
            out.extend(m.rr_1024)
    return out


def test_scan_lists_straps(bluez: BlueZEmulator, tmp_path: Path) -> None:
    bluez.add_device(StrapSpec(STRAP, STRAP_NAME, rssi=-58, device_info=DEVICE_INFO))
    bluez.add_device(StrapSpec("F0:0D:00:00:00:01", "Kitchen scale", heart_rate=False, body_location=None, battery=None))
    result = subprocess.run(
        [sys.executable, "-m", "attune.cli", "scan", "--timeout", "1"],
        env=fast_env(tmp_path / "x.sqlite"), capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert STRAP in result.stdout and STRAP_NAME in result.stdout and "-58" in result.stdout
    assert "Kitchen scale" not in result.stdout  # only devices advertising 0x180D


def test_record_real_payloads_link_loss_and_reconnect(
    bluez: BlueZEmulator, record: Callable[..., subprocess.Popen[str]], tmp_path: Path, shared_data: Path
) -> None:
    db = tmp_path / "attune.sqlite"
    strap = bluez.add_device(StrapSpec(STRAP, STRAP_NAME, battery=77, device_info=DEVICE_INFO))
    proc = record()  # no --device: the first HR strap found
    strap.wait_notifying(timeout=20)

    # metadata read once on connect and stored with the device
    wait_for("device row", lambda: len(query(db, "SELECT * FROM device")) == 1)
    dev = query(db, "SELECT * FROM device")[0]
    assert (dev["address"], dev["name"], dev["manufacturer"], dev["model"], dev["serial"],
            dev["firmware"], dev["body_location"]) == (STRAP, STRAP_NAME, "Polar Electro Oy", "H10",
                                                       "0A123456", "3.1.1", "chest")
    connected = query(db, "SELECT value FROM status_event WHERE kind='connected'")
    assert '"battery": 77' in connected[0]["value"]

    # phase 1: every real notification in the shared capture, malformed ones included
    with open(shared_data / "ble_hrm_payloads" / "ble_2a37_real_payloads.csv", newline="") as f:
        real = [bytes.fromhex(r["payload_hex"]) for r in csv.DictReader(f)]
    delivered = send_paced(strap, real)
    assert len(delivered) == len(real)
    expected = ticks_of(delivered)
    wait_for("phase 1 packets", lambda: query(db, "SELECT count(*) FROM packet")[0][0] == len(real))
    wait_for("phase 1 beats", lambda: beats_stored(db) == len(expected))
    assert [r[0] for r in query(db, "SELECT rr_1024 FROM beat ORDER BY id")] == expected
    bad = query(db, "SELECT payload FROM packet WHERE status != 0")
    assert sorted(bytes(r[0]) for r in bad) == sorted(p for p in real if len(p) % 2 and p[0] & 0x10 and not p[0] & 0x09)
    assert len(bad) == 3
    assert query(db, "SELECT count(*) FROM status_event WHERE kind='parse_error'")[0][0] == 3

    # phase 2: the link drops; the collector rescans, reconnects, and a new segment starts
    segments_before = query(db, "SELECT count(*) FROM segment")[0][0]
    assert strap.drop_link()
    wait_for("disconnect recorded", lambda: query(db, "SELECT count(*) FROM status_event WHERE kind='disconnected'")[0][0] == 1)
    strap.wait_connected(timeout=20)
    strap.wait_notifying(timeout=20)
    phase2 = [hrm_encode(70, [850 + i % 7], contact=True) for i in range(40)]
    delivered2 = send_paced(strap, phase2)
    assert len(delivered2) == 40
    wait_for("phase 2 beats", lambda: beats_stored(db) == len(expected) + 40)
    rows = query(db, "SELECT b.rr_1024, s.reason FROM beat b JOIN segment s ON s.id = b.segment_id ORDER BY b.id")
    assert [r[0] for r in rows] == expected + ticks_of(delivered2)  # no beat lost, none doubled
    assert {r[1] for r in rows[len(expected):]} == {"reconnect"}
    assert query(db, "SELECT count(*) FROM segment")[0][0] == segments_before + 1
    assert strap.stats.connections == 2

    err = stop(proc)
    assert "3 malformed notifications skipped" in err
    kinds = [r[0] for r in query(db, "SELECT kind FROM status_event ORDER BY id")]
    assert kinds[0] == "recording_started" and kinds[-1] == "recording_stopped"
    assert kinds.count("connected") == 2
    assert query(db, "PRAGMA integrity_check")[0][0] == "ok"


def test_strap_absent_at_start_then_worn(
    bluez: BlueZEmulator, record: Callable[..., subprocess.Popen[str]], tmp_path: Path
) -> None:
    db = tmp_path / "attune.sqlite"
    strap = bluez.add_device(StrapSpec(STRAP, STRAP_NAME, present=False))
    proc = record("--device", STRAP_NAME)  # by name
    wait_for("two fruitless scans", lambda: query(db, "SELECT count(*) FROM status_event WHERE kind='scan_miss'")[0][0] >= 2)
    assert proc.poll() is None  # still trying
    strap.set_present(True)
    strap.wait_notifying(timeout=20)
    send_paced(strap, [hrm_encode(60, [1024], contact=True)] * 5)
    wait_for("beats", lambda: beats_stored(db) == 5)
    stop(proc)


def test_silent_link_is_treated_as_lost(
    bluez: BlueZEmulator, record: Callable[..., subprocess.Popen[str]], tmp_path: Path
) -> None:
    """Connected, but no notification for longer than the watchdog: reconnect."""
    db = tmp_path / "attune.sqlite"
    strap = bluez.add_device(StrapSpec(STRAP, STRAP_NAME))
    proc = record("--device", STRAP.lower())  # by address, any case
    strap.wait_notifying(timeout=20)
    send_paced(strap, [hrm_encode(60, [1024])] * 3)
    # say nothing for longer than ATTUNE_WATCHDOG_S=3
    wait_for("watchdog", lambda: query(db, "SELECT count(*) FROM status_event WHERE kind='link_silent'")[0][0] == 1, timeout=15)
    wait_for("reconnected", lambda: strap.stats.connections == 2, timeout=20)
    stop(proc)
    reasons = [r[0] for r in query(db, "SELECT value FROM status_event WHERE kind='disconnected'")]
    assert any("watchdog" in r for r in reasons)


def test_sigkill_loses_at_most_a_second_and_restart_appends(
    bluez: BlueZEmulator, record: Callable[..., subprocess.Popen[str]], tmp_path: Path
) -> None:
    db = tmp_path / "attune.sqlite"
    strap = bluez.add_device(StrapSpec(STRAP, STRAP_NAME))
    proc = record()
    strap.wait_notifying(timeout=20)
    rate_hz = 20
    sent = 0
    t_kill = time.monotonic() + 4.0
    while time.monotonic() < t_kill:
        sent += strap.notify(hrm_encode(66, [900 + sent % 11], contact=True))
        time.sleep(1 / rate_hz)
    # kill mid-stream (the next notification is due in 50 ms): no chance to flush
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    stored = beats_stored(db)
    lost = sent - stored
    print(f"\nSIGKILL: {sent} notifications delivered at {rate_hz} Hz, {stored} beats stored, "
          f"{lost} lost ({lost / rate_hz:.2f} s of stream)")
    assert 0 <= lost <= rate_hz * 1.0  # at most ~1 s of delivered beats
    assert query(db, "PRAGMA integrity_check")[0][0] == "ok"
    before = [r[0] for r in query(db, "SELECT rr_1024 FROM beat ORDER BY id")]
    assert before == [900 + i % 11 for i in range(stored)]  # what was stored is the stream's start, in order

    # the strap is still connected to the dead process's BlueZ session: drop it as BlueZ would
    strap.drop_link()
    proc2 = record()
    strap.wait_notifying(timeout=20)
    send_paced(strap, [hrm_encode(66, [1000], contact=True)] * 10)
    wait_for("appended beats", lambda: beats_stored(db) == stored + 10)
    stop(proc2)
    rows = query(db, "SELECT rr_1024, segment_id FROM beat ORDER BY id")
    assert [r[0] for r in rows[:stored]] == before
    assert rows[stored]["segment_id"] != rows[stored - 1]["segment_id"]
    assert query(db, "PRAGMA integrity_check")[0][0] == "ok"
