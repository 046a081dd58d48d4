"""SQLite storage: one file per user, WAL mode, forward-only schema migrations.

The schema lives in ``attune/migrations/NNNN_name.sql``; ``PRAGMA user_version`` holds the
number of the last migration applied. Opening a database applies whatever is missing, in
order, each in its own transaction, so an old file is brought forward and never backward.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import logging
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from attune.errors import AttuneError

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class DatabaseError(AttuneError):
    """The database file cannot be used (corrupt, newer schema, not SQLite)."""


class DatabaseMissing(DatabaseError):
    """A command that only reads was pointed at a database that does not exist."""


class DatabaseBusy(DatabaseError):
    """Another process is recording into this database (it holds the writer lock)."""


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


def db_connect(path: str | Path, *, create: bool = True) -> sqlite3.Connection:
    """Open (creating if needed) an attune database and bring its schema up to date.

    WAL mode lets the web app read while the recorder writes; ``synchronous=NORMAL`` in WAL
    keeps every committed transaction across a process crash (only an OS crash or power loss
    can drop the last ones), which is the guarantee the recorder's 1 s commit cadence needs.
    Health data: a new database file is created 0600 (SQLite gives its -wal/-shm files the
    same mode) and a folder attune creates for it 0700. With ``create=False`` (commands that
    only read) a missing file is an error, and nothing is created.
    """
    path = Path(path)
    if not create and not path.is_file():
        raise DatabaseMissing(f"no database at {path} (record with `attune run`, or try `attune demo`)")
    if create:
        db_file_create(path)
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
        raise DatabaseError(f"{path}: {db_error_explain(exc)}") from exc
    return conn


def db_error_explain(exc: BaseException) -> str:
    """SQLite's and the OS's words for a failed write or read, as a user can act on them."""
    text = str(exc)
    lowered = text.lower()
    if "readonly" in lowered or "read-only" in lowered or isinstance(exc, PermissionError):
        return f"cannot write ({text}): check the file's and its folder's permissions"
    if "full" in lowered or getattr(exc, "errno", None) in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return f"cannot write ({text}): free some disk space"
    if "i/o error" in lowered:
        return f"cannot write ({text}): the disk is full or failing"
    if "malformed" in lowered or "corrupt" in lowered:
        return (f"the database is damaged ({text}); keep a copy, then try "
                "`sqlite3 <file> .recover` or start a new file with --db")
    if "unable to open" in lowered:
        return f"cannot open ({text}): check that its folder exists and is writable"
    return f"not a usable attune database ({text})"


def db_folder_create(folder: Path) -> None:
    """Create ``folder`` (0700: health data) and its parents if missing; one clear error."""
    if folder.is_dir():
        return
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(f"cannot create the folder {folder} ({exc.strerror or exc})") from exc


def db_file_create(path: Path) -> None:
    """Create ``path``'s folder (0700) and an empty database file (0600) if missing; an
    empty file is a valid SQLite database, and creating it first fixes its mode. An
    existing file must be writable: a read-only one is refused here, in one line."""
    db_folder_create(path.parent)
    if path.exists():
        if not os.access(path, os.W_OK):
            raise DatabaseError(f"cannot write {path}: the file is read-only (check its permissions)")
        return
    try:
        os.close(os.open(path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600))
    except OSError as exc:
        raise DatabaseError(f"cannot create the database {path} ({exc.strerror or exc})") from exc


class WriterLock:
    """An exclusive ``flock`` on ``<db>.lock``, held for the life of the process (the file
    descriptor stays open): one recorder per database, so two streams never interleave.
    The file (0600) names the holder's pid and command, for the one who is refused."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path

    def release(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, 0)
            os.close(self.fd)  # closing the descriptor drops the lock
            self.fd = -1


def db_writer_lock(path: str | Path, command: str) -> WriterLock:
    """Take the single-writer lock of the database at ``path`` (creating its folder); raise
    :class:`DatabaseBusy` naming the holder when another process has it. Readers (serve,
    export, analyze, pair) never take it."""
    path = Path(path)
    lock_path = Path(f"{path}.lock")
    db_folder_create(path.parent)
    try:
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise DatabaseError(f"cannot create the lock file {lock_path} ({exc.strerror or exc}): "
                            "is its folder writable?") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = ""
        with contextlib.suppress(OSError):
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip()
        os.close(fd)
        pid, _, cmd = holder.partition(" ")
        who = f"`{cmd}` (pid {pid})" if pid.isdigit() and cmd else "another process"
        raise DatabaseBusy(f"{path} is being recorded by {who}; stop it first, or use another --db") from None
    with contextlib.suppress(OSError):  # a full disk: the lock holds, only its note is missing
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {command}\n".encode(), 0)
    return WriterLock(fd, lock_path)


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


# -- rows derived from ticks, kept in step when a re-analysis rewrites them -----------------
TicksReplaced = Callable[[sqlite3.Connection, int, int], None]
_TICKS_REPLACED: dict[str, TicksReplaced] = {}


def ticks_replaced_listen(name: str, listener: TicksReplaced) -> None:
    """Call ``listener(conn, from_ms, to_ms)`` whenever a re-analysis has rewritten the
    ticks of ``[from_ms, to_ms)``, inside its transaction (so what the listener derives from
    the ticks changes with them, or not at all). ``name`` keys it: listening again under the
    same name replaces the listener (the CLI's lazy one by the module's own, say). A layer
    below (``signals.storage``) thus keeps rows of a layer above (``api.breathing``) in step
    without importing it."""
    _TICKS_REPLACED[name] = listener


def ticks_replaced_notify(conn: sqlite3.Connection, from_ms: int, to_ms: int) -> None:
    """Tell every listener that the ticks of ``[from_ms, to_ms)`` were rewritten."""
    for listener in list(_TICKS_REPLACED.values()):
        listener(conn, from_ms, to_ms)


def sql_span(column: str, from_ms: int | None, to_ms: int | None) -> tuple[str, list[int]]:
    """A WHERE condition selecting ``from_ms <= column < to_ms`` (the one span rule: half-open;
    a missing bound is open), and its arguments."""
    parts, args = ["1=1"], []
    if from_ms is not None:
        parts.append(f"{column} >= ?")
        args.append(int(from_ms))
    if to_ms is not None:
        parts.append(f"{column} < ?")
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
