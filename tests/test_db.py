"""The database file: migrations forward only, clear errors for files we cannot use."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from attune.db import DatabaseError, db_connect, db_transaction, migrations_list, schema_version_latest


def test_fresh_database_has_every_migration_and_wal(db_path: Path) -> None:
    conn = db_connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema_version_latest() == len(migrations_list())
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"beat", "packet", "segment", "status_event", "tick", "episode", "tag"} <= tables


def test_old_database_is_brought_forward_keeping_its_rows(db_path: Path) -> None:
    """A file at schema 1 (an older attune) gains the later tables; its beats stay."""
    conn = sqlite3.connect(db_path)
    conn.executescript(migrations_list()[0].sql)
    conn.execute("INSERT INTO segment(source, reason, started_epoch_ms) VALUES ('ble','connect',1)")
    conn.execute("INSERT INTO beat(segment_id, epoch_ms, rr_ms) VALUES (1, 1000, 800.0)")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    conn = db_connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema_version_latest()
    assert conn.execute("SELECT rr_ms FROM beat").fetchall()[0][0] == 800.0


def test_newer_database_is_refused(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {schema_version_latest() + 1}")
    conn.close()
    with pytest.raises(DatabaseError, match="newer than this attune"):
        db_connect(db_path)


def test_corrupt_file_is_a_clear_error_through_the_cli(tmp_path: Path) -> None:
    bad = tmp_path / "notes.sqlite"
    bad.write_bytes(b"this is not a database, just some notes\n" * 100)
    result = subprocess.run([sys.executable, "-m", "attune.cli", "export", "--db", str(bad), "--format", "csv"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "not a usable attune database" in result.stderr
    assert "Traceback" not in result.stderr
    assert bad.read_bytes().startswith(b"this is not a database")  # and we did not touch it


def test_transaction_rolls_back_on_error_and_joins_an_open_one(db_path: Path) -> None:
    conn = db_connect(db_path)
    with pytest.raises(RuntimeError), db_transaction(conn):
        conn.execute("INSERT INTO segment(source, reason, started_epoch_ms) VALUES ('ble','connect',1)")
        raise RuntimeError("boom")
    assert conn.execute("SELECT count(*) FROM segment").fetchone()[0] == 0
    conn.execute("BEGIN")
    with db_transaction(conn):  # joins: the owner decides
        conn.execute("INSERT INTO segment(source, reason, started_epoch_ms) VALUES ('ble','connect',1)")
    assert conn.in_transaction
    conn.execute("ROLLBACK")
    assert conn.execute("SELECT count(*) FROM segment").fetchone()[0] == 0
