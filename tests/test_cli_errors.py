"""Every failure a user can meet is one clear line (exit 2), never a traceback, through the
real `attune` command: no Bluetooth, busy port, foreign address, bad settings, damaged,
read-only or uncreatable database, mistyped paths for commands that only read."""

from __future__ import annotations

import os
import resource
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import missing
from dbus_bus import PrivateDBus, dbus_daemon_path

from attune.db import db_connect

ATTUNE = str(Path(sys.executable).with_name("attune"))
NO_BUS = {"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent/attune-test-bus"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _attune(*args: str, env: dict[str, str] | None = None, prefix: tuple[str, ...] = (),
            timeout: float = 120, **kw) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    base = {k: v for k, v in os.environ.items() if k not in ("ATTUNE_DB", "ATTUNE_DEMO_DURATION_S")}
    return subprocess.run([*prefix, ATTUNE, *args], capture_output=True, text=True, timeout=timeout,
                          env={**base, **(env or {})}, **kw)


def _one_error(r: subprocess.CompletedProcess[str], *words: str) -> str:
    """Exit 2, exactly one `error:` line containing ``words``, no traceback."""
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and "unexpected" not in r.stderr, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, r.stderr  # (and unwrapped: the words below are on that line)
    for w in words:
        assert w in errors[0], r.stderr
    return errors[0]


# -- Bluetooth ---------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["scan", "--timeout", "2"],
    ["record", "--device", "AA:BB:CC:DD:EE:FF"],
    ["run", "--device", "nonexistent"],
])
def test_no_bluetooth_service_is_one_line(args: list[str], tmp_path: Path) -> None:
    extra = [] if args[0] == "scan" else ["--db", str(tmp_path / "a.sqlite")]
    extra += ["--port", str(_free_port())] if args[0] == "run" else []
    r = _attune(*args, *extra, env=NO_BUS)
    _one_error(r, "Bluetooth is not available (no D-Bus system bus)", "is bluetoothd running")


def test_bus_without_bluez_is_one_line() -> None:
    if dbus_daemon_path() is None:
        missing("dbus-daemon not installed")
    with PrivateDBus() as bus:
        r = _attune("scan", "--timeout", "2", env={"DBUS_SYSTEM_BUS_ADDRESS": bus.address})
    _one_error(r, "the BlueZ service does not answer", "is bluetoothd running")


# -- the web port, checked before anything else ------------------------------------------------
@pytest.mark.parametrize("command", ["serve", "demo", "run"])
def test_busy_port_is_one_line_and_touches_nothing(command: str, tmp_path: Path) -> None:
    db = tmp_path / "x" / "attune.sqlite"
    if command == "serve":
        db_connect(db).close()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = _attune(command, "--db", str(db), "--port", str(port), env=NO_BUS)
    _one_error(r, f"port {port} on 127.0.0.1 is in use")
    if command != "serve":
        assert not db.parent.exists()  # checked before any folder, lock or database


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_address_not_of_this_machine_is_one_line(command: str, tmp_path: Path) -> None:
    db = tmp_path / "attune.sqlite"
    if command == "serve":
        db_connect(db).close()
    r = _attune(command, "--db", str(db), "--host", "192.0.2.1", "--port", str(_free_port()))
    _one_error(r, "cannot listen on 192.0.2.1: not an address of this computer")
    if command == "demo":
        assert not db.exists()


def test_port_out_of_range_is_one_line(tmp_path: Path) -> None:
    r = _attune("demo", "--db", str(tmp_path / "d.sqlite"), "--port", "99999")
    assert _one_error(r) == "error: --port 99999: input should be less than or equal to 65535"
    r = _attune("serve", env={"ATTUNE_PORT": "0", "ATTUNE_DB": str(tmp_path / "d.sqlite")})
    _one_error(r, "ATTUNE_PORT 0:")


# -- databases ----------------------------------------------------------------------------------
def _damaged_db(path: Path) -> None:
    conn = db_connect(path)
    conn.execute("INSERT INTO segment(source, reason, started_epoch_ms) VALUES ('ble','connect',1)")
    with conn:
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO beat(segment_id, epoch_ms, rr_1024, rr_ms, hr_bpm, flags)"
                         " VALUES (1,?,1024,1000.0,60,0)", [(1000 * i,) for i in range(20_000)])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = path.stat().st_size
    with open(path, "r+b") as f:  # scribble over the middle third: pages of the beat table
        f.seek(size // 3)
        f.write(b"\xde\xad" * (size // 6))


@pytest.mark.parametrize("args", [["export", "--format", "csv", "-o", os.devnull], ["analyze", "--quiet"]])
def test_damaged_database_is_one_line(args: list[str], tmp_path: Path) -> None:
    db = tmp_path / "damaged.sqlite"
    _damaged_db(db)
    r = _attune(*args, "--db", str(db))
    _one_error(r, str(db), "the database is damaged (database disk image is malformed)")


@pytest.mark.parametrize("args", [["export", "--format", "csv"], ["analyze"], ["serve"], ["pair"]])
def test_readers_create_nothing_at_a_mistyped_path(args: list[str], tmp_path: Path) -> None:
    db = tmp_path / "typo" / "attune.sqlite"
    extra = ["--port", str(_free_port())] if args[0] == "serve" else []
    r = _attune(*args, *extra, "--db", str(db))
    _one_error(r, f"no database at {db}")
    assert not db.parent.exists()


def test_folder_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for args in (["demo", "--port", str(_free_port())], ["record"], ["import", str(blocker)]):
        r = _attune(*args, "--db", str(blocker / "sub" / "attune.sqlite"), env=NO_BUS)
        _one_error(r, f"cannot create the folder {blocker / 'sub'}", "Not a directory")


def _without_dac_override() -> tuple[str, ...]:
    """Run as ourselves but bound by file permissions (root would otherwise ignore them)."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        missing("setpriv (util-linux) is needed to test read-only files as root")
    return (setpriv, "--bounding-set=-dac_override,-dac_read_search", "--")


def test_read_only_database_is_one_line(tmp_path: Path) -> None:
    prefix = _without_dac_override()
    db = tmp_path / "attune.sqlite"
    db_connect(db).close()
    before = db.read_bytes()
    db.chmod(0o400)
    try:
        r = _attune("demo", "--keep", "--db", str(db), "--port", str(_free_port()), prefix=prefix)
        _one_error(r, f"cannot write {db}: the file is read-only")
        r = _attune("record", "--db", str(db), prefix=prefix, env=NO_BUS)
        _one_error(r, f"cannot write {db}: the file is read-only")
    finally:
        db.chmod(0o600)
    assert db.read_bytes() == before


def test_read_only_folder_is_one_line(tmp_path: Path) -> None:
    prefix = _without_dac_override()
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        r = _attune("demo", "--db", str(folder / "attune.sqlite"), "--port", str(_free_port()), prefix=prefix)
        _one_error(r, f"cannot create the lock file {folder / 'attune.sqlite.lock'} (Permission denied)",
                   "is its folder writable?")
        r = _attune("import", str(tmp_path / "none.txt"), "--db", str(folder / "attune.sqlite"), prefix=prefix)
        _one_error(r, f"cannot create the database {folder / 'attune.sqlite'} (Permission denied)")
    finally:
        folder.chmod(0o700)
    assert list(folder.iterdir()) == []


def test_full_disk_before_recording_starts_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "attune.sqlite"
    db_connect(db).close()

    def no_writes() -> None:  # like a disk with no byte left
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    r = _attune("record", "--db", str(db), env=NO_BUS, preexec_fn=no_writes)
    _one_error(r, "cannot write", "the disk is full or failing")
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


# -- quiet by default, private by default --------------------------------------------------------
def test_new_database_is_private_and_migrations_are_quiet(tmp_path: Path) -> None:
    rr = tmp_path / "rr.txt"
    rr.write_text("\n".join(["800", "810", "790", "805"] * 50) + "\n")
    folder = tmp_path / "new"
    r = _attune("import", str(rr), "--db", str(folder / "a.sqlite"), "--start", "2026-01-01T08:00")
    assert r.returncode == 0, r.stderr
    assert "applying migration" not in r.stderr
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "a.sqlite").stat().st_mode) == 0o600
    r = _attune("-v", "import", str(rr), "--db", str(tmp_path / "b.sqlite"), "--start", "2026-01-01T08:00")
    assert "applying migration" in r.stderr


def test_demo_shows_no_qr_code_for_a_loopback_address(tmp_path: Path) -> None:
    r = _attune("demo", "--db", str(tmp_path / "d.sqlite"), "--port", str(_free_port()),
                env={"ATTUNE_DEMO_DURATION_S": "1"})
    assert r.returncode == 0, r.stderr
    assert "http://127.0.0.1:" in r.stderr
    assert not any(block in r.stderr for block in "█▀▄"), r.stderr


def test_pair_link_uses_the_address_a_phone_can_reach(tmp_path: Path) -> None:
    """`attune pair` for a server bound to every address prints this machine's LAN address,
    never 127.0.0.1 (a phone opening 127.0.0.1 reaches itself)."""
    from attune.api.runner import lan_address

    lan = lan_address()
    if lan is None:
        pytest.skip("this machine has no route to a local network")
    db = tmp_path / "a.sqlite"
    db_connect(db).close()
    r = _attune("pair", "--db", str(db), "--host", "0.0.0.0", "--port", "8799")
    assert r.returncode == 0, r.stderr
    assert f"http://{lan}:8799/pair#" in r.stderr
    assert "127.0.0.1:8799/pair" not in r.stderr
