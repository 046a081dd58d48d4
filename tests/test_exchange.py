"""`attune import` / `attune export` through the real CLI and a real SQLite file."""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
from datetime import UTC
from pathlib import Path

import numpy as np
import pytest

from attune.db import db_connect
from attune.ingest.exchange import ImportRefused, rr_import
from attune.ingest.formats import rr_file_read


def attune(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "attune.cli", *args], capture_output=True, text=True, check=check, timeout=120
    )


REAL_FILES = [
    ("polar_h10_exercise/FatMaxOptimiser.20210606_161059.rr.csv", "hrv-logger"),
    ("selfloops_daily/original_selfloops_20170804001r.txt", "selfloops"),
    ("labeled_conditions_p37/vu_ams_ecg_rr_labeled.csv", "csv-rr_ms"),
    ("physionet_24h/nsr2db_nsr003_rr_secs.txt", "physionet-rr-secs"),
    ("physionet_24h/rr_healthy_subjects_000_ms.txt", "rr-lines"),
    ("polar_h10_ectopic/polar_h10_rr_only.csv", "csv-rr_ms"),
]


@pytest.mark.parametrize(("relpath", "fmt"), REAL_FILES)
def test_import_real_file_keeps_every_interval(shared_data: Path, db_path: Path, relpath: str, fmt: str) -> None:
    path = shared_data / relpath
    series = rr_file_read(path)
    result = attune("import", str(path), "--db", str(db_path), "--start", "2026-11-20T08:00:00+01:00")
    assert "✓" in result.stderr
    conn = sqlite3.connect(db_path)
    rows = np.array(conn.execute("SELECT rr_ms, epoch_ms, segment_id FROM beat ORDER BY id").fetchall())
    assert rows.shape[0] == len(series.rr_ms)
    np.testing.assert_array_equal(rows[:, 0], series.rr_ms)  # RR values exactly as in the file
    # within each segment, times increase and never exceed the RR sum
    for seg in np.unique(rows[:, 2]):
        t = rows[rows[:, 2] == seg, 1]
        assert np.all(np.diff(t) >= 0)
    (fmt_stored,) = conn.execute("SELECT format FROM import_file").fetchone()
    assert fmt_stored == fmt


def test_file_with_wall_times_keeps_them(shared_data: Path, db_path: Path) -> None:
    """VU-AMS ECG beats carry exact epoch times: the import keeps them (to the ms)."""
    path = shared_data / "labeled_conditions_p37" / "vu_ams_ecg_rr_labeled.csv"
    series = rr_file_read(path)
    conn = db_connect(db_path)
    rr_import(conn, path)
    stored = np.array([r[0] for r in conn.execute("SELECT epoch_ms FROM beat ORDER BY id")])
    assert series.epoch_ms is not None
    assert np.max(np.abs(stored - series.epoch_ms)) <= 1.0


def test_same_file_twice_is_refused(db_path: Path) -> None:
    fixture = Path(__file__).parent.parent / "fixtures" / "formats"
    path = next(p for p in sorted(fixture.iterdir()) if "kubios" in p.name)
    conn = db_connect(db_path)
    rr_import(conn, path, start_epoch_ms=1.7e12)
    with pytest.raises(ImportRefused, match="already imported"):
        rr_import(conn, path, start_epoch_ms=1.7e12)


def test_unrecognised_file_names_the_formats(tmp_path: Path, db_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("dear diary\ntoday was long\n")
    result = attune("import", str(bad), "--db", str(db_path), check=False)
    assert result.returncode == 1
    for name in ("rr-lines", "hrv-logger", "polar-sensor-logger", "selfloops", "csv-rr_ms"):
        assert name in result.stderr


def test_export_formats_round_trip(shared_data: Path, db_path: Path, tmp_path: Path) -> None:
    src = shared_data / "polar_h10_exercise" / "FatMaxOptimiser.20210606_161059.rr.csv"
    attune("import", str(src), "--db", str(db_path))
    out_csv, out_json, out_rr = (tmp_path / f"beats.{x}" for x in ("csv", "json", "rr.txt"))
    attune("export", "--db", str(db_path), "--format", "csv", "-o", str(out_csv))
    attune("export", "--db", str(db_path), "--format", "json", "-o", str(out_json))
    attune("export", "--db", str(db_path), "--format", "rr", "-o", str(out_rr))
    with open(out_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch_ms", "rr_ms", "hr_bpm", "segment", "flags"]
    beats = json.loads(out_json.read_text())
    assert len(rows) == len(beats) == 11463
    assert [float(r["rr_ms"]) for r in rows] == [b["rr_ms"] for b in beats]
    # the rr export is what Kubios reads, and what our own importer reads back
    back = rr_file_read(out_rr)
    assert back.format == "rr-lines"
    np.testing.assert_array_equal(back.rr_ms, [b["rr_ms"] for b in beats])
    # --from/--to select by beat time
    mid = beats[len(beats) // 2]["epoch_ms"]
    from datetime import datetime

    iso = datetime.fromtimestamp(mid / 1000, tz=UTC).isoformat()
    part = attune("export", "--db", str(db_path), "--format", "json", "--to", iso).stdout
    assert all(b["epoch_ms"] < mid for b in json.loads(part))
    assert len(json.loads(part)) == len(beats) // 2


def test_export_bad_time_is_a_clear_error(db_path: Path) -> None:
    db_connect(db_path).close()  # export reads an existing database; it creates none
    result = attune("export", "--db", str(db_path), "--format", "csv", "--from", "yesterday", check=False)
    assert result.returncode == 2 and "ISO 8601" in result.stderr
