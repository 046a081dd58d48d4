"""Database errors at the API's edge, on a real SQLite file: a lock is "busy, retry"
(503 + Retry-After); anything else is a server error (500, one line of JSON, the
traceback in the log), never a "busy" that no retry can cure."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from attune.api import database
from attune.api.app import app_create

MOMENT = {"start": "2026-11-20T21:00:00+01:00", "end": "2026-11-20T21:20:00+01:00", "label": "waiting"}


@pytest.fixture
def client(db_path: Path):
    with TestClient(app_create(db_path), base_url="http://127.0.0.1:8765", raise_server_exceptions=False) as c:
        yield c


def test_a_missing_table_is_a_500_with_one_line_and_a_logged_traceback(
    client: TestClient, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert client.get("/api/episodes").status_code == 200
    with sqlite3.connect(db_path) as other:
        other.execute("DROP TABLE episode")
    with caplog.at_level(logging.ERROR, logger="attune.api.app"):
        r = client.get("/api/episodes")
    assert r.status_code == 500, r.text
    assert "retry-after" not in r.headers
    detail = r.json()["detail"]
    assert "no such table: episode" in detail and "\n" not in detail and "busy" not in detail
    logged = [rec for rec in caplog.records if rec.exc_info]
    assert logged and "/api/episodes" in logged[0].getMessage()


def test_a_locked_database_is_a_503_to_retry(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 100)  # wait 0.1 s, not 10, for the lock
    with TestClient(app_create(db_path), base_url="http://127.0.0.1:8765") as client:
        holder = sqlite3.connect(db_path, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")  # another writer (the recorder, say) holds the lock
            r = client.post("/api/moments", json=MOMENT)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert r.status_code == 503, r.text
        assert int(r.headers["retry-after"]) > 0 and "busy" in r.json()["detail"]
        assert client.post("/api/moments", json=MOMENT).status_code == 201  # and the retry works
