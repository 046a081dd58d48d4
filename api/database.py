"""Connections for the web app: one per worker thread, all to the same attune database.

FastAPI runs plain ``def`` routes in a thread pool. That matters for writes: in
``attune run`` the recorder keeps a write transaction open for up to half a second inside
the event loop, so a tag written *on* the loop would wait for a commit that can never
happen while it waits. Written from a worker thread, it simply waits its turn.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path

from attune.db import db_connect, db_open

BUSY_TIMEOUT_MS = 10_000


class Database:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        db_connect(self.path).close()  # create / migrate once, up front
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit; callers open transactions explicitly)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = db_open(self.path, busy_timeout_ms=BUSY_TIMEOUT_MS)
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    def reader(self) -> sqlite3.Connection:
        """A connection of its own (caller closes it), for long reads such as exports."""
        return db_open(self.path, busy_timeout_ms=BUSY_TIMEOUT_MS)

    def close(self) -> None:
        with self._lock:
            for conn in self._opened:
                with contextlib.suppress(sqlite3.ProgrammingError):  # already closed
                    conn.close()
            self._opened.clear()
        self._local = threading.local()
