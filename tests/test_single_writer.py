"""One recorder per database: two real processes, the second refused in one line."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

ATTUNE = str(Path(sys.executable).with_name("attune"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _attune(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ATTUNE_DEMO_DURATION_S"}
    return subprocess.run([ATTUNE, *args], capture_output=True, text=True, timeout=timeout, env=env)


def _wait(predicate, timeout: float = 90.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def _beats(db: Path) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)  # never create it: the demo does
    try:
        return conn.execute("SELECT count(*) FROM beat").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def test_second_writer_is_refused_and_the_first_database_survives(tmp_path: Path) -> None:
    folder = tmp_path / "new"
    db = folder / "demo.sqlite"
    env = {k: v for k, v in os.environ.items() if k != "ATTUNE_DEMO_DURATION_S"}
    first = subprocess.Popen([ATTUNE, "demo", "--db", str(db), "--port", str(_free_port())], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait(lambda: _beats(db) > 10_000)  # the sample day is stored: the demo is recording
        # health data: folder 0700, database and its companions 0600
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        for name in ("demo.sqlite", "demo.sqlite-wal", "demo.sqlite-shm", "demo.sqlite.lock"):
            assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
        inode, before = db.stat().st_ino, _beats(db)

        for command in (["demo"], ["run", "--port", str(_free_port())], ["record", "--duration", "1"]):
            port = [] if "--port" in command else ["--port", str(_free_port())] if command[0] == "demo" else []
            r = _attune(*command, *port, "--db", str(db))
            assert r.returncode == 2, (command, r.stderr)
            lines = [line for line in r.stderr.splitlines() if line.strip()]
            assert lines == [f"error: {db} is being recorded by `attune demo` (pid {first.pid}); stop it "
                             "first, or use another --db"], (command, r.stderr)
        # the refused demo did not delete the database in use
        assert db.stat().st_ino == inode and _beats(db) >= before
        # readers do not need the lock
        r = _attune("export", "--db", str(db), "--format", "rr")
        assert r.returncode == 0, r.stderr
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    assert first.returncode == 0
    # once the first has stopped, the lock is free again
    r = subprocess.run([ATTUNE, "demo", "--keep", "--db", str(db), "--port", str(_free_port())],
                       env={**env, "ATTUNE_DEMO_DURATION_S": "1"}, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
