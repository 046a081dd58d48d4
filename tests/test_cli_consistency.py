"""One spelling per thing, one span convention, and a cheap parser (issue 7, section 6).

Real processes (`python -m attune.cli`), a real recording, real SQLite and the real app.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from attune.api.app import app_create
from attune.config import Settings
from attune.ingest.format_ids import FORMATS
from attune.signals.batch import analysis_file, analysis_to_dict

DAY_FILE = "selfloops_daily/original_selfloops_20170804001r.txt"  # a timed real recording (~10 h)
FILE_24H = "physionet_24h/nsr2db_nsr001_rr_secs.txt"


def attune(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250"}  # --help on one line per option
    return subprocess.run([sys.executable, "-m", "attune.cli", *args], capture_output=True, text=True,
                          check=check, timeout=300, env=env)


def _iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds")


# -- speed work must not change a single value ------------------------------------------------
def test_analyze_file_writes_exactly_the_library_result(shared_data: Path) -> None:
    """The whole `attune analyze FILE` process (file read once, JSON written in one go) gives
    byte for byte the document of the library path on a real 24 h recording."""
    path = shared_data / FILE_24H
    out = attune("analyze", str(path)).stdout
    result, beats = analysis_file(path)
    t0 = int(beats.epoch_ms[0])
    expected = json.dumps(analysis_to_dict(result, t0, beats.wall_time), separators=(",", ":")) + "\n"
    assert len(json.loads(out)["ticks"]) > 16_000  # 24 h of 5 s ticks
    assert out == expected


# -- one span convention: [from, to) ----------------------------------------------------------
@pytest.fixture(scope="module")
def day_db(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("span") / "attune.sqlite"
    attune("import", str(shared_data / DAY_FILE), "--db", str(db))
    return db


def _quiet_span(db: Path) -> tuple[int, int]:
    """A 30 min span whose ends are tick times and cut no stored episode (an episode at an
    edge would widen the re-analysed span, legitimately)."""
    conn = sqlite3.connect(db)
    ticks = [r[0] for r in conn.execute("SELECT epoch_ms FROM tick ORDER BY epoch_ms")]
    episodes = conn.execute("SELECT onset_ms, coalesce(end_ms, onset_ms) FROM episode").fetchall()
    conn.close()
    for i in range(len(ticks) // 2, len(ticks) - 360):
        lo, hi = ticks[i], ticks[i + 360]
        if not any(a <= lo <= b or a <= hi <= b for a, b in episodes):
            return lo, hi
    pytest.fail("no quiet 30 min span in the recording")


def test_to_is_exclusive_in_export_analyze_and_the_api(day_db: Path) -> None:
    lo, hi = _quiet_span(day_db)
    span = ["--from", _iso(lo), "--to", _iso(hi)]

    exported = attune("export", "--db", str(day_db), "--format", "csv", *span).stdout
    cli_beats = [int(r["epoch_ms"]) for r in csv.DictReader(io.StringIO(exported))]
    analyzed = attune("analyze", "--db", str(day_db), "--format", "csv", *span).stdout
    cli_ticks = [int(r["epoch_ms"]) for r in csv.DictReader(io.StringIO(analyzed))]

    with TestClient(app_create(day_db), base_url="http://127.0.0.1:8765") as client:
        params = {"from": _iso(lo), "to": _iso(hi), "format": "csv"}
        api_beats = [int(r["epoch_ms"]) for r in csv.DictReader(io.StringIO(
            client.get("/api/export", params={**params, "table": "beats"}).text))]
        api_ticks = [int(r["epoch_ms"]) for r in csv.DictReader(io.StringIO(
            client.get("/api/export", params={**params, "table": "ticks"}).text))]

    assert len(cli_beats) > 1000 and len(cli_ticks) == 360  # 30 min of 5 s ticks, `to` not included
    assert cli_beats == api_beats
    assert cli_ticks == api_ticks
    assert cli_ticks[0] == lo and hi not in cli_ticks
    assert all(lo <= t < hi for t in cli_beats)


def test_analyze_span_that_ends_before_it_starts_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "typo.sqlite"
    r = attune("analyze", "--db", str(db), "--from", "2017-08-04T12:00:00", "--to", "2017-08-04T11:00:00",
               check=False)
    assert r.returncode == 2
    assert "--to must be after --from" in r.stderr and "Traceback" not in r.stderr
    assert not db.exists()  # refused before any database is opened (or created)


# -- one spelling per thing ---------------------------------------------------------------------
def test_input_format_is_spelled_the_same_in_import_and_analyze(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / FILE_24H
    for command in ("import", "analyze"):
        help_text = attune(command, "--help").stdout
        assert "--input-format" in help_text and "--file-format" not in help_text
        for fmt in FORMATS:
            assert fmt in help_text
    assert "--format" not in attune("import", "--help").stdout  # --format means an output format
    # the file read as plain seconds (first value kept) instead of PhysioNet's offset convention
    kept = json.loads(attune("analyze", str(path), "--input-format", "rr-lines").stdout)
    detected = json.loads(attune("analyze", str(path)).stdout)
    assert kept != detected
    old = attune("analyze", str(path), "--file-format", "rr-lines")  # the old spelling still works
    assert json.loads(old.stdout) == kept

    db = tmp_path / "a.sqlite"
    r = attune("import", str(path), "--db", str(db), "--input-format", "rr-lines", "--start", "2026-11-20T08:00:00Z")
    assert "(rr-lines)" in r.stderr
    r = attune("import", str(path), "--db", str(tmp_path / "b.sqlite"), "--format", "rr-lines",
               "--start", "2026-11-20T08:00:00Z")
    assert "(rr-lines)" in r.stderr and "now spelled --input-format" in r.stderr
    r = attune("analyze", str(path), "--input-format", "kubios", check=False)
    assert r.returncode == 2 and "invalid choice" in r.stderr


def test_scan_timeout_default_is_the_settings_one() -> None:
    default = Settings.model_fields["scan_timeout_s"].default
    assert f"else {default:g})" in attune("scan", "--help").stdout
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert f"`ATTUNE_SCAN_TIMEOUT_S` (default {default:g})" in readme


def test_pair_help_names_the_address_the_phone_uses() -> None:
    text = attune("pair", "--help").stdout
    assert "listen on" not in text and "phone should use" in text


# -- a cheap parser -----------------------------------------------------------------------------
def test_help_loads_no_heavy_library() -> None:
    """`attune --help` builds every subcommand's parser: it must not import numpy, pandas,
    pydantic or asyncio (each costs 0.05-0.5 s; their users import them when they run)."""
    probe = ("import sys, contextlib, io\nfrom attune.cli import main\n"
             "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n    main(['--help'])\n"
             "print(' '.join(m for m in ('numpy', 'pandas', 'pydantic', 'asyncio', 'rich.progress') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == ""
