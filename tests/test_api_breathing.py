"""Paced-breathing sessions (issue 10): stored, listed, exported, linked to an episode;
their figures from real stored ticks of beats that breathe with the pacer."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from starlette.testclient import TestClient

from attune.api.app import app_create
from attune.api.breathing import (
    AROUND_MS,
    COLUMNS,
    DemoBreather,
    rr_breathing,
    session_end,
    session_start,
    sessions_between,
    sessions_settle,
)
from attune.api.sample import sim_store
from attune.db import db_connect
from attune.signals.batch import analysis_store_span
from attune.signals.simulate import Simulation, rr_with_rsa
from attune.timeutil import epoch_ms_to_iso

BASE = "http://127.0.0.1:8765"
T0 = 1_763_560_800_000  # 2025-11-19 14:00 UTC: a fixed afternoon in the past
MIN = 60_000
PACED = (12 * MIN, 22 * MIN)  # the session, from T0
TOTAL_S = 30 * 60


def _breathing_beats() -> Simulation:
    """30 min of beats breathing freely at 14/min, and at the pacer's 6/min from minute 12
    to 22: the demo's wiring (rr_breathing driven by a DemoBreather), on rr_with_rsa's beats."""
    free = rr_with_rsa(T0, TOTAL_S, 14.0, seed=3)
    breather = DemoBreather()
    elapsed = [0.0]

    def paced_by_clock():  # the routes pace the breather; here the beats' own clock does
        for rr in free.rr_ms:
            t = elapsed[0]
            breather.pace(6.0 if PACED[0] <= t < PACED[1] else None)
            yield float(rr)

    rr = []
    for x in rr_breathing(paced_by_clock(), breather):
        rr.append(x)
        elapsed[0] += x
    rr_ms = np.asarray(rr)
    epoch = T0 + np.round(np.cumsum(rr_ms)).astype(np.int64)
    return Simulation(epoch, rr_ms, np.ones(rr_ms.size, dtype=np.int64), np.zeros(rr_ms.size, dtype=np.int64))


@pytest.fixture(scope="module")
def breath_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("breath") / "attune.sqlite"
    conn = db_connect(path)
    try:
        sim_store(conn, _breathing_beats())
        analysis_store_span(conn)
    finally:
        conn.close()
    return path


@pytest.fixture
def db(breath_db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy.sqlite"
    src, dst = sqlite3.connect(breath_db), sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.close()
    return copy


@pytest.fixture
def client(db: Path):
    with TestClient(app_create(db), base_url=BASE) as c:
        c.db_path = db  # type: ignore[attr-defined]
        yield c


def _mean(conn: sqlite3.Connection, column: str, a: int, b: int) -> float:
    return conn.execute(f"SELECT avg({column}) FROM tick WHERE epoch_ms >= ? AND epoch_ms < ?", (a, b)).fetchone()[0]


def test_a_session_takes_its_figures_from_the_stored_ticks(db: Path) -> None:
    conn = db_connect(db)
    start, end = T0 + PACED[0], T0 + PACED[1]
    s = session_start(conn, rate_per_min=6.0, inhale_ratio=0.67, start_ms=start)
    assert s.end_ms is None and s.rsa_bpm is None
    s = session_end(conn, s.id, end_ms=end)
    assert s is not None and s.end_ms == end
    # the same means as the ticks give, straight from SQL
    assert s.hr_before_bpm == pytest.approx(_mean(conn, "hr_bpm", start - AROUND_MS, start), abs=0.05)
    assert s.ln_rmssd_during == pytest.approx(_mean(conn, "ln_rmssd", start, end), abs=5e-4)
    assert s.rsa_bpm == pytest.approx(_mean(conn, "rsa_bpm", start, end), abs=0.005)
    # the heart breathed with the pacer: its rate within ±0.5/min of 6 over the ticks whose
    # 64 s window lies inside the session, and the RSA larger than breathing freely before
    inside = conn.execute("SELECT avg(breath_rate_per_min), avg(rsa_bpm) FROM tick"
                          " WHERE epoch_ms >= ? AND epoch_ms < ?", (start + 70_000, end)).fetchone()
    before = _mean(conn, "rsa_bpm", start - AROUND_MS, start)
    assert abs(inside[0] - 6.0) <= 0.5
    # (coherence is not compared: the simulated free breathing is a pure sine, coherent already)
    assert inside[1] > 1.5 * before
    # after: computed once the 5 min after the end have passed (long ago here), not before
    assert s.hr_after_bpm == pytest.approx(_mean(conn, "hr_bpm", end, end + AROUND_MS), abs=0.05)
    assert s.ln_rmssd_after is not None
    assert sessions_settle(conn) == 0  # done once
    conn.close()


def test_after_figures_wait_until_the_five_minutes_have_passed(db: Path) -> None:
    conn = db_connect(db)
    start, end = T0 + PACED[0], T0 + PACED[1]
    s = session_start(conn, start_ms=start)
    conn.execute("UPDATE breathing_session SET end_ms=? WHERE id=?", (end, s.id))  # ended, not yet settled
    assert sessions_settle(conn, now=end + 2 * MIN) == 0
    assert sessions_between(conn, None, None)[0].hr_after_bpm is None
    assert sessions_settle(conn, now=end + AROUND_MS + MIN) == 1
    assert sessions_between(conn, None, None)[0].hr_after_bpm is not None
    conn.close()


def test_start_end_list_over_the_api(client: TestClient) -> None:
    r = client.post("/api/breathing/sessions", json={"rate_per_min": 5.5, "inhale_ratio": 0.8})
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["end"] is None and s["rate_per_min"] == 5.5 and s["inhale_ratio"] == 0.8 and s["episode_id"] is None
    listed = client.get("/api/breathing/sessions").json()["sessions"]  # today: the running one
    assert [x["id"] for x in listed] == [s["id"]]
    r = client.post(f"/api/breathing/sessions/{s['id']}/end")
    assert r.status_code == 200, r.text
    ended = r.json()
    assert ended["end"] is not None and ended["hr_after_bpm"] is None  # its 5 min after are to come
    again = client.post(f"/api/breathing/sessions/{s['id']}/end")
    assert again.status_code == 409 and "already ended" in again.json()["detail"]
    assert client.post("/api/breathing/sessions/999/end").status_code == 404
    # a span in the past holds none of today's
    old = client.get("/api/breathing/sessions", params={"from": epoch_ms_to_iso(T0), "to": epoch_ms_to_iso(T0 + 3600_000)})
    assert old.status_code == 200 and old.json()["sessions"] == []


def test_a_session_started_from_an_episode_is_linked_to_it(client: TestClient) -> None:
    conn = sqlite3.connect(client.db_path)  # type: ignore[attr-defined]
    conn.execute("INSERT INTO episode(onset_ms, peak_ms, end_ms, confirmed_ms, peak_score, delta_hr_bpm, delta_ln_rmssd,"
                 " duration_s, quality, status, source, updated_ms) VALUES (?,?,?,?,3.0,12.0,-0.4,300,0.8,'ended',"
                 "'live',?)", (T0 + 5 * MIN, T0 + 6 * MIN, T0 + 10 * MIN, T0 + 5 * MIN, T0 + 10 * MIN))
    conn.commit()
    eid = conn.execute("SELECT max(id) FROM episode").fetchone()[0]
    conn.close()
    r = client.post("/api/breathing/sessions", json={"episode_id": eid})
    assert r.status_code == 201, r.text
    assert r.json()["episode_id"] == eid and r.json()["rate_per_min"] == 6.0  # the default pacer
    onset = sqlite3.connect(client.db_path).execute(  # type: ignore[attr-defined]
        "SELECT episode_onset_ms FROM breathing_session WHERE id=?", (r.json()["id"],)).fetchone()[0]
    assert onset == T0 + 5 * MIN
    missing = client.post("/api/breathing/sessions", json={"episode_id": eid + 1000})
    assert missing.status_code == 404 and "no episode" in missing.json()["detail"]


@pytest.mark.parametrize("body", [
    {"rate_per_min": 0}, {"rate_per_min": 40}, {"rate_per_min": "fast"}, {"inhale_ratio": -1},
    {"inhale_ratio": 10}, {"episode_id": 0}, {"rate": 6}, [],
])
def test_bad_input_is_one_line_422(client: TestClient, body: object) -> None:
    r = client.post("/api/breathing/sessions", json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and detail and "\n" not in detail
    assert client.get("/api/breathing/sessions").json()["sessions"] == []  # nothing stored


def test_a_session_left_running_is_ended_by_the_next(db: Path) -> None:
    conn = db_connect(db)
    first = session_start(conn, start_ms=T0 + PACED[0])
    second = session_start(conn, start_ms=T0 + PACED[0] + 2 * 3600_000)
    rows = sessions_between(conn, None, None)
    assert [r.id for r in rows] == [first.id, second.id]
    assert rows[0].end_ms == T0 + PACED[0] + 3600_000 and rows[1].end_ms is None  # capped at an hour
    conn.close()


def test_export_includes_sessions_json_and_csv(client: TestClient, db: Path) -> None:
    conn = db_connect(db)
    s = session_start(conn, rate_per_min=6.0, start_ms=T0 + PACED[0])
    session_end(conn, s.id, end_ms=T0 + PACED[1])
    conn.close()
    span = {"from": epoch_ms_to_iso(T0), "to": epoch_ms_to_iso(T0 + TOTAL_S * 1000)}
    whole = client.get("/api/export", params={"format": "json", **span})
    assert whole.status_code == 200
    sessions = whole.json()["sessions"]
    assert len(sessions) == 1 and sessions[0]["id"] == s.id and sessions[0]["rsa_bpm"] is not None
    assert set(sessions[0]) == set(COLUMNS)
    table = client.get("/api/export", params={"format": "csv", "table": "sessions", **span})
    assert table.status_code == 200
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert len(rows) == 1 and float(rows[0]["rate_per_min"]) == 6.0 and rows[0]["end"] == sessions[0]["end"]


def test_attune_export_writes_sessions(db: Path, tmp_path: Path) -> None:
    conn = db_connect(db)
    s = session_start(conn, rate_per_min=5.0, start_ms=T0 + PACED[0])
    session_end(conn, s.id, end_ms=T0 + PACED[1])
    conn.close()
    cli = [sys.executable, "-m", "attune.cli", "export", "--db", str(db), "--table", "sessions"]
    out = tmp_path / "s.json"
    done = subprocess.run([*cli, "--format", "json", "-o", str(out)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "1 breathing sessions exported" in done.stderr  # the console is stderr: stdout is the data
    data = json.loads(out.read_text())
    assert len(data) == 1 and data[0]["rate_per_min"] == 5.0 and data[0]["hr_during_bpm"] is not None
    done = subprocess.run([*cli, "--format", "csv"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.splitlines()[0] == ",".join(COLUMNS)
    refused = tmp_path / "s.rr"
    done = subprocess.run([*cli, "--format", "rr", "-o", str(refused)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "csv or json" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr and not refused.exists()


def test_the_live_tick_carries_the_breathing_feedback() -> None:
    from attune.api.wire import wire_payload
    from attune.signals.events import Tick

    base = dict(epoch_ms=T0, state="settled", hr_bpm=62.0, hr_fast_bpm=61.0, rmssd_ms=40.0, ln_rmssd=3.69, sdnn_ms=50.0,
                coverage=1.0, artifact_fraction=0.0, score=0.1, z_hr=0.0, z_ln_rmssd=0.0, calibration=1.0)
    kind, data = wire_payload(Tick(**base, breath_rate_per_min=6.04, rsa_bpm=21.456, coherence=0.8123))
    assert kind == "tick"
    assert (data["breath_rate_per_min"], data["rsa_bpm"], data["coherence"]) == (6.04, 21.46, 0.812)
    _, early = wire_payload(Tick(**base))  # the first minute: no window yet
    assert early["breath_rate_per_min"] is None and early["rsa_bpm"] is None and early["coherence"] is None
