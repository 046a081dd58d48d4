"""``attune run`` end to end: the real CLI records an emulated strap (real Bleak BlueZ
backend on a private D-Bus) and serves the API from the same process; it shows the strap,
streams its beats live, survives a dropout and stops cleanly on SIGINT."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from bluez_emulator import BlueZEmulator, StrapSpec

from attune.ingest.hrm import hrm_encode

STRAP = "C8:2E:11:0A:99:01"
STRAP_NAME = "Polar H10 0A990001"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what: str, predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_run_records_serves_and_survives_a_dropout(bluez: BlueZEmulator, tmp_path: Path) -> None:
    strap = bluez.add_device(StrapSpec(STRAP, STRAP_NAME, battery=64))
    port = _free_port()
    env = {**os.environ, "ATTUNE_WATCHDOG_S": "3", "ATTUNE_BACKOFF_CAP_S": "1", "ATTUNE_SCAN_TIMEOUT_S": "2",
           "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "attune.cli", "run", "--db", str(tmp_path / "attune.sqlite"), "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        strap.wait_notifying(timeout=30)
        _wait("connected status", lambda: httpx.get(base + "/api/status").json()["connection"] == "connected")
        status = httpx.get(base + "/api/status").json()
        assert status["mode"] == "live" and status["battery_pct"] == 64
        assert status["device"]["address"] == STRAP and status["device"]["name"] == STRAP_NAME

        # live: what the strap sends reaches an SSE client
        got: list[dict] = []
        opened = threading.Event()

        def listen() -> None:
            with httpx.Client(timeout=30) as c, c.stream("GET", base + "/api/live") as r:
                opened.set()
                event = None
                for line in r.iter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:") and event == "beats":
                        got.extend(json.loads(line[5:])["beats"])
                        if len(got) >= 20:
                            return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert opened.wait(10)
        time.sleep(0.3)
        for i in range(20):
            assert strap.notify(hrm_encode(70, [860 + i], contact=True))
            time.sleep(0.05)
        listener.join(15)
        assert [round(b["rr_ms"] * 1024 / 1000) for b in got[:20]] == [860 + i for i in range(20)]

        # the strap drops out; the app keeps answering and the recording resumes
        assert strap.drop_link()
        _wait("reconnecting", lambda: httpx.get(base + "/api/status").json()["connection"] != "connected", 15)
        strap.wait_connected(timeout=30)
        strap.wait_notifying(timeout=30)
        for _ in range(5):
            strap.notify(hrm_encode(72, [830], contact=True))
            time.sleep(0.05)
        _wait("connected again", lambda: httpx.get(base + "/api/status").json()["connection"] == "connected")
        _wait("beats after the dropout", lambda: httpx.get(base + "/api/export", params={"format": "rr"}).text.count("\n") == 25)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "attune is at" in err and "Stopped: 25 beats" in err
