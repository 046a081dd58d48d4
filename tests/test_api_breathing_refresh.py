"""A breathing session's figures follow the ticks (issue 10): when a re-analysis rewrites the
ticks of its span (`attune analyze --db`, `attune import --replace`), the stored means are
recomputed from the new ticks. Real SQLite, the real `attune` console script in a subprocess."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from attune.api.breathing import AROUND_MS, session_end, session_get, session_start
from attune.api.sample import sim_store
from attune.db import db_connect
from attune.signals.simulate import rr_with_rsa

ATTUNE = str(Path(sys.executable).with_name("attune"))
T0 = 1_763_560_800_000  # 2025-11-19 14:00 UTC
MIN = 60_000
START, END = T0 + 12 * MIN, T0 + 22 * MIN
TOTAL_S = 30 * 60


def _attune(*args: str, db: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ATTUNE_DB": str(db)}
    r = subprocess.run([ATTUNE, *args], capture_output=True, text=True, env=env, timeout=240)
    assert r.returncode == 0, r.stderr
    return r


def _means(conn: sqlite3.Connection, a: int, b: int) -> tuple:
    return conn.execute("SELECT avg(hr_bpm), avg(ln_rmssd), avg(rsa_bpm), avg(coherence), avg(breath_rate_per_min)"
                        " FROM tick WHERE epoch_ms >= ? AND epoch_ms < ?", (a, b)).fetchone()


def _check_figures_follow_ticks(db: Path, sid: int) -> tuple:
    conn = db_connect(db)
    try:
        s = session_get(conn, sid)
        during = _means(conn, START, END)
        before = _means(conn, START - AROUND_MS, START)
        after = _means(conn, END, END + AROUND_MS)
        assert during[0] is not None  # the span is analysed
        assert s.hr_during_bpm == pytest.approx(during[0], abs=0.05)
        assert s.ln_rmssd_during == pytest.approx(during[1], abs=5e-4)
        assert s.rsa_bpm == pytest.approx(during[2], abs=0.005)
        assert s.coherence == pytest.approx(during[3], abs=5e-4)
        assert s.breath_rate_per_min == pytest.approx(during[4], abs=0.005)
        assert s.hr_before_bpm == pytest.approx(before[0], abs=0.05)
        assert s.hr_after_bpm == pytest.approx(after[0], abs=0.05)
        assert s.ln_rmssd_after == pytest.approx(after[1], abs=5e-4)
        return s
    finally:
        conn.close()


def test_analyze_db_and_import_replace_refresh_a_sessions_figures(tmp_path: Path) -> None:
    db = tmp_path / "attune.sqlite"
    free = rr_with_rsa(T0, TOTAL_S, 14.0, seed=3)  # breathing freely at 14/min
    conn = db_connect(db)
    try:
        sim_store(conn, free)  # stored, not analysed yet: no ticks
        s = session_start(conn, rate_per_min=6.0, start_ms=START)
        s = session_end(conn, s.id, END)
        assert s.rsa_bpm is None and s.hr_during_bpm is None and s.hr_after_bpm is None  # nothing to take them from
        sid = s.id
    finally:
        conn.close()

    _attune("analyze", "--db", str(db), "--quiet", "--format", "json", "-o", str(tmp_path / "a.json"), db=db)
    first = _check_figures_follow_ticks(db, sid)  # filled in by the re-analysis
    assert first.breath_rate_per_min == pytest.approx(14.0, abs=1.0)

    # the same half hour again, but now the heart breathes with a 6/min pacer during the session
    paced = rr_with_rsa(T0, TOTAL_S, 6.0, seed=3)
    csv = tmp_path / "paced.csv"
    keep = (paced.epoch_ms >= free.epoch_ms[0]) & (paced.epoch_ms <= free.epoch_ms[-1])
    np.savetxt(csv, np.column_stack([paced.epoch_ms[keep], np.round(paced.rr_ms[keep], 1)]), fmt=["%d", "%.1f"],
               delimiter=",", header="epoch_ms,rr_ms", comments="")
    _attune("import", str(csv), "--replace", "--db", str(db), db=db)
    second = _check_figures_follow_ticks(db, sid)
    assert second.breath_rate_per_min == pytest.approx(6.0, abs=0.5)
    assert second.rsa_bpm > first.rsa_bpm

    # and analyze --db again over the span: figures still those of the ticks stored now
    _attune("analyze", "--db", str(db), "--from", "2025-11-19T14:00:00Z", "--to", "2025-11-19T14:40:00Z",
            "--quiet", "-o", str(tmp_path / "b.csv"), db=db)
    third = _check_figures_follow_ticks(db, sid)
    assert third.rsa_bpm == pytest.approx(second.rsa_bpm, abs=0.01)
