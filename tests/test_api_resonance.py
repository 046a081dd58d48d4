"""The resonance-frequency finder over the API (issue 10): runs, steps as breathing
sessions, figures from stored beats, the person's rate as the default pace — on a real
SQLite database through the real app."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from starlette.testclient import TestClient

from attune.api.app import app_create
from attune.api.breathing import (
    resonance_rate_get,
    resonance_run_get,
    resonance_run_next,
    resonance_run_start,
    session_start,
    sessions_between,
)
from attune.api.sample import sim_store
from attune.db import db_connect
from attune.signals.resonance import RESONANCE_PROTOCOL_PER_MIN
from attune.signals.simulate import BreathingProfile, rr_with_rsa
from attune.timeutil import iso_to_epoch_ms as to_epoch_ms
from attune.timeutil import now_ms

BASE = "http://127.0.0.1:8765"
T0 = 1_763_560_800_000  # 2025-11-19 14:00 UTC: a fixed afternoon in the past
STEP_MS = 120_000


@pytest.fixture(scope="module")
def finder_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Beats of a person whose resonance is 5/min breathing with the protocol's pacer, 2 min a step."""
    path = tmp_path_factory.mktemp("finder") / "attune.sqlite"

    def pacer(t_s: np.ndarray) -> np.ndarray:
        return np.asarray(RESONANCE_PROTOCOL_PER_MIN)[np.minimum((t_s // 120).astype(int), 4)]

    conn = db_connect(path)
    try:
        sim_store(conn, rr_with_rsa(T0, 600, pacer, seed=2, person=BreathingProfile(resonance_per_min=5.0)))
    finally:
        conn.close()
    return path


@pytest.fixture
def db(finder_db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy.sqlite"
    src, dst = sqlite3.connect(finder_db), sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.close()
    return copy


@pytest.fixture
def client(db: Path):
    with TestClient(app_create(db), base_url=BASE) as c:
        yield c


def test_a_run_over_stored_beats_finds_the_resonance_and_it_becomes_the_default(db: Path, client: TestClient) -> None:
    conn = db_connect(db)
    run = resonance_run_start(conn, step_s=120, start_ms=T0)
    assert run.status == "running" and run.current is not None and run.current.rate_per_min == 6.5
    for k in range(1, 6):
        run = resonance_run_next(conn, run.id, at_ms=T0 + k * STEP_MS)
        assert run is not None and len(run.steps) == min(k + 1, 5)
    assert run.status == "done" and run.chosen_per_min == 5.0 and run.end_ms == T0 + 5 * STEP_MS
    # each step was a breathing session at its rate, one after the other
    sessions = sessions_between(conn, None, None)
    assert [s.rate_per_min for s in sessions] == list(RESONANCE_PROTOCOL_PER_MIN)
    assert [(s.start_ms, s.end_ms) for s in sessions] == [(T0 + i * STEP_MS, T0 + (i + 1) * STEP_MS) for i in range(5)]
    assert [s.session_id for s in run.steps] == [s.id for s in sessions]
    conn.close()

    got = client.get(f"/api/breathing/resonance/runs/{run.id}")
    assert got.status_code == 200, got.text
    r = got.json()
    assert r["status"] == "done" and r["chosen_per_min"] == 5.0 and r["step"] is None
    assert "5/min" in r["reason"] and r["settle_s"] == 15
    for s in r["steps"]:
        assert s["usable"] is True and abs(s["breath_rate_per_min"] - s["rate_per_min"]) < 0.3
        assert s["rsa_bpm"] > 10 and s["peak_power_bpm2"] > 10 and 0.9 < s["coherence"] <= 1 and s["n_beats"] > 90
    best = max(r["steps"], key=lambda s: s["score"])
    assert best["rate_per_min"] == 5.0 and best["score"] == 1.0
    assert client.get("/api/breathing/resonance/runs").json()["runs"][0]["id"] == run.id

    # "Use this rate": the choice becomes the person's rate, the default pace of a session
    assert client.get("/api/breathing/resonance/rate").json() == {"rate_per_min": 6.0, "run_id": None, "set_at": None}
    wrong = client.put("/api/breathing/resonance/rate", json={"rate_per_min": 5.5, "run_id": run.id})
    assert wrong.status_code == 422 and "chose 5/min" in wrong.json()["detail"]
    kept = client.put("/api/breathing/resonance/rate", json={"rate_per_min": 5.0, "run_id": run.id})
    assert kept.status_code == 200 and kept.json()["rate_per_min"] == 5.0 and kept.json()["run_id"] == run.id
    s = client.post("/api/breathing/sessions", json={})
    assert s.status_code == 201 and s.json()["rate_per_min"] == 5.0
    assert client.post("/api/breathing/sessions", json={"rate_per_min": 7}).json()["rate_per_min"] == 7.0
    # reset to 6/min
    assert client.delete("/api/breathing/resonance/rate").json()["rate_per_min"] == 6.0
    assert client.post("/api/breathing/sessions", json={}).json()["rate_per_min"] == 6.0
    conn = db_connect(db)
    assert resonance_rate_get(conn).set_ms is None
    conn.close()


def test_too_early_stop_and_missing_over_the_api(client: TestClient) -> None:
    r = client.post("/api/breathing/resonance/runs", json={"step_s": 60})
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["status"] == "running" and run["step"] == 1 and run["settle_s"] == 15
    assert run["steps"][0]["rate_per_min"] == 6.5 and run["steps"][0]["usable"] is None
    # the step's session is a running breathing session at 6.5/min
    sessions = client.get("/api/breathing/sessions").json()["sessions"]
    assert [(x["id"], x["rate_per_min"], x["end"]) for x in sessions] == [(run["steps"][0]["session_id"], 6.5, None)]
    early = client.post(f"/api/breathing/resonance/runs/{run['id']}/next")
    assert early.status_code == 409 and "step 1 runs" in early.json()["detail"]
    stopped = client.post(f"/api/breathing/resonance/runs/{run['id']}/stop")
    assert stopped.status_code == 200
    assert stopped.json()["status"] == "stopped" and stopped.json()["chosen_per_min"] is None
    assert stopped.json()["steps"][0]["usable"] is False  # no beats today in this database
    assert client.get("/api/breathing/sessions").json()["sessions"][0]["end"] is not None
    for verb in ("next", "stop"):
        again = client.post(f"/api/breathing/resonance/runs/{run['id']}/{verb}")
        assert again.status_code == 409 and "stopped, not running" in again.json()["detail"]
        assert client.post(f"/api/breathing/resonance/runs/999/{verb}").status_code == 404
    assert client.get("/api/breathing/resonance/runs/999").status_code == 404
    # the rate a stopped run never chose cannot be kept from it
    kept = client.put("/api/breathing/resonance/rate", json={"rate_per_min": 6.0, "run_id": run["id"]})
    assert kept.status_code == 422 and "chose no rate" in kept.json()["detail"]


@pytest.mark.parametrize("path,body", [
    ("/api/breathing/resonance/runs", {"step_s": 5}),
    ("/api/breathing/resonance/runs", {"step_s": 19.9}),
    ("/api/breathing/resonance/runs", {"step_s": 3600}),
    ("/api/breathing/resonance/runs", {"step_s": 30, "settle_s": 20}),
    ("/api/breathing/resonance/runs", {"settle_s": -1}),
    ("/api/breathing/resonance/runs", {"inhale_ratio": 0}),
    ("/api/breathing/resonance/runs", {"steps": 5}),
    ("/api/breathing/resonance/runs", []),
])
def test_bad_run_input_is_one_line_422(client: TestClient, path: str, body: object) -> None:
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and detail and "\n" not in detail
    assert client.get("/api/breathing/resonance/runs").json()["runs"] == []  # nothing stored
    assert client.get("/api/breathing/sessions").json()["sessions"] == []


@pytest.mark.parametrize("body", [{"rate_per_min": 0}, {"rate_per_min": 40}, {"rate_per_min": "slow"}, {},
                                  {"rate_per_min": 5.5, "run_id": 0}, {"rate_per_min": 5.5, "run_id": 12345},
                                  {"rate_per_min": 5.5, "extra": 1}])
def test_bad_rate_input_is_one_line_422(client: TestClient, body: object) -> None:
    r = client.put("/api/breathing/resonance/rate", json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and detail and "\n" not in detail
    assert client.get("/api/breathing/resonance/rate").json()["set_at"] is None  # nothing stored


def test_a_run_whose_page_went_away_is_stopped_not_left_hanging(db: Path, client: TestClient) -> None:
    conn = db_connect(db)
    start = now_ms() - 10 * 60_000
    run = resonance_run_start(conn, step_s=120, start_ms=start)  # a page that opened it and closed
    conn.close()
    # the sessions a page reads first: the step's session has ended where the step would have
    session = client.get("/api/breathing/sessions").json()["sessions"][0]
    assert session["id"] == run.steps[0].session_id and to_epoch_ms(session["end"]) == start + STEP_MS
    got = client.get("/api/breathing/resonance/runs").json()["runs"][0]
    assert got["id"] == run.id and got["status"] == "stopped" and got["step"] is None
    assert to_epoch_ms(got["steps"][0]["end"]) == start + STEP_MS
    # a new run starts cleanly
    assert client.post("/api/breathing/resonance/runs", json={"step_s": 20}).status_code == 201


def test_a_session_started_meanwhile_stops_the_run(db: Path) -> None:
    conn = db_connect(db)
    run = resonance_run_start(conn, step_s=120, start_ms=T0)
    run = resonance_run_next(conn, run.id, at_ms=T0 + STEP_MS)
    other = session_start(conn, rate_per_min=6.0, start_ms=T0 + STEP_MS + 30_000)  # "Start" in the panel
    with pytest.raises(ValueError, match="stopped, not running"):
        resonance_run_next(conn, run.id, at_ms=T0 + 2 * STEP_MS)
    run = resonance_run_get(conn, run.id)
    assert run is not None and run.status == "stopped" and run.chosen_per_min is None
    assert run.steps[0].usable is True and run.steps[1].end_ms == T0 + STEP_MS + 30_000  # cut where the other began
    assert sessions_between(conn, None, None)[-1].id == other.id
    conn.close()
