"""`attune demo --keep` with a real file-size limit (as `ulimit -f 300`): the full disk is
logged at once, /api/status says "not recording" and why, and nothing committed is lost."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import missing

CHROMIUM = Path("/usr/bin/chromium")

ATTUNE = str(Path(sys.executable).with_name("attune"))
LIMIT_BYTES = 300 * 1024  # `ulimit -f 300`


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5) as r:
        return json.load(r)


def _count(db: Path) -> tuple[int, int]:
    conn = sqlite3.connect(db)
    try:
        return (conn.execute("SELECT count(*) FROM beat").fetchone()[0],
                conn.execute("SELECT max(id) FROM beat").fetchone()[0] or 0)
    finally:
        conn.close()


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT_BYTES, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def _page_shows_it(url: str, tmp_path: Path) -> None:
    """The phone page, in real headless Chromium, shows the failure above the day."""
    if not CHROMIUM.exists():
        missing(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(url)
            alert = page.locator("#storage-alert")
            expect(alert).to_be_visible(timeout=15_000)
            expect(alert).to_contain_text("Not recording: cannot write")
            page.screenshot(path=str(tmp_path / "storage-alert.png"))
        finally:
            browser.close()


def test_demo_on_a_full_disk_says_so_and_keeps_what_is_stored(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite"
    env = {**os.environ, "ATTUNE_DEMO_DURATION_S": "3"}
    first = subprocess.run([ATTUNE, "demo", "--db", str(db), "--port", str(_free_port())],
                           env=env, capture_output=True, text=True, timeout=180)
    assert first.returncode == 0, first.stderr
    beats_before, max_id_before = _count(db)
    assert beats_before > 10_000  # the sample day

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "ATTUNE_DEMO_DURATION_S"}
    proc = subprocess.Popen([ATTUNE, "demo", "--keep", "--db", str(db), "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_limit_file_size)
    try:
        deadline, status, seen_recording = time.monotonic() + 120, None, False
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                status = _status(port)
            except OSError:
                status = None
            if status is not None:
                seen_recording |= status.get("recording") is True
                if status.get("recording") is False:
                    break
            time.sleep(0.5)
        assert status is not None and status["recording"] is False, status
        assert seen_recording  # it was recording before the disk filled
        assert "cannot write" in status["recording_error"]
        _page_shows_it(f"http://127.0.0.1:{port}/", tmp_path)
        assert proc.poll() is None  # the process keeps running, still saying so
        assert _status(port)["recording"] is False
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    # logged at once, in one line, and said again at the end with what could not be written
    failures = [line for line in stderr.splitlines() if "not recording:" in line]
    assert "Stopped:" in stderr  # the summary still comes, whatever failed at the end
    assert len(failures) == 1, stderr
    assert "Traceback" not in stderr
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    beats_after, _ = _count(db)
    assert beats_after >= beats_before  # nothing committed is lost
    # and the rows that were there before are untouched
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM beat WHERE id <= ?", (max_id_before,)).fetchone()[0] == beats_before
    conn.close()
