"""SQLite storage: one file per user, WAL mode, forward-only schema migrations.

The schema lives in ``attune/migrations/NNNN_name.sql``; ``PRAGMA user_version`` holds the
number of the last migration applied. Opening a database applies whatever is missing, in
order, each in its own transaction, so an old file is brought forward and never backward.
"""

from __future__ import annotations

import functools
import logging
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from attune.errors import AttuneError

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class DatabaseError(AttuneError):
    """The database file cannot be used (corrupt, newer schema, not SQLite)."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


@functools.cache
def migrations_list() -> list[Migration]:
    """All migrations shipped with this version of attune, in order."""
    found = []
    for entry in resources.files("attune").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found


def schema_version_latest() -> int:
    return len(migrations_list())


def db_open(path: str | Path, *, busy_timeout_ms: int = 5000) -> sqlite3.Connection:
    """A connection to a database :func:`db_connect` has already created and migrated.

    Autocommit mode (``isolation_level=None``): writers open their transactions
    explicitly (:func:`db_transaction`); rows come back as :class:`sqlite3.Row`.
    """
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def db_connect(path: str | Path) -> sqlite3.Connection:
    """Open (creating if needed) an attune database and bring its schema up to date.

    WAL mode lets the web app read while the recorder writes; ``synchronous=NORMAL`` in WAL
    keeps every committed transaction across a process crash (only an OS crash or power loss
    can drop the last ones), which is the guarantee the recorder's 1 s commit cadence needs.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = db_open(path)
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"{path}: cannot open ({exc})") from exc
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        db_migrate(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise DatabaseError(f"{path}: not a usable attune database ({exc})") from exc
    return conn


@contextmanager
def db_transaction(conn: sqlite3.Connection, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
    """Run a block in one transaction: ``BEGIN <mode>`` … ``COMMIT``, ``ROLLBACK`` on any
    exception. Inside a transaction that is already open (the recorder's, say), the block
    simply joins it and the owner commits."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute(f"BEGIN {mode}")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def sql_span(
    column: str, from_ms: int | None, to_ms: int | None, *, to_inclusive: bool = False
) -> tuple[str, list[int]]:
    """A WHERE condition selecting ``from_ms <= column < to_ms`` (``<= to_ms`` with
    ``to_inclusive``; a missing bound is open), and its arguments."""
    parts, args = ["1=1"], []
    if from_ms is not None:
        parts.append(f"{column} >= ?")
        args.append(int(from_ms))
    if to_ms is not None:
        parts.append(f"{column} {'<=' if to_inclusive else '<'} ?")
        args.append(int(to_ms))
    return " AND ".join(parts), args


def db_migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations; return the schema version now in force."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    migrations = migrations_list()
    if current > len(migrations):
        raise DatabaseError(
            f"database schema version {current} is newer than this attune understands "
            f"({len(migrations)}); upgrade attune"
        )
    for migration in migrations[current:]:
        log.info("applying migration %s", migration.name)
        with db_transaction(conn):
            # executescript would COMMIT the open transaction first; split statements instead
            for statement in _sql_statements(migration.sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {migration.version}")
    return len(migrations)


def _sql_statements(script: str) -> list[str]:
    """Split a migration script into complete statements (sqlite3.complete_statement)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        if not buffer and line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise RuntimeError(f"incomplete SQL statement in migration: {buffer[:80]!r}")
    return statements
