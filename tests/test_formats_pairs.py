"""Two numbers per line without a header (ingest.formats.pairs): PhysioNet's meditation
``time_s  HR_bpm`` files and a host log of a Polar H10 (``arrival_s,rr_ms``) read by
``rr_file_read``, ``attune analyze`` and ``attune import`` as a user runs them; unrelated
pairs of numbers refused in one line."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from attune.ingest.formats import RRFormatError, rr_file_read
from attune.timeutil import iso_to_epoch_ms

ATTUNE = str(Path(sys.executable).with_name("attune"))
MEDITATION = "meditation_chi/C1.med"
SLOW = "polar_h10_slow_breathing/sample_data_ibi.csv"


def attune(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ATTUNE, *args], capture_output=True, text=True, timeout=300)


def test_physionet_meditation_time_and_heart_rate(shared_data: Path) -> None:
    path = shared_data / MEDITATION
    t_s, hr = np.loadtxt(path, unpack=True)
    s = rr_file_read(path)
    assert s.format == "time-hr" and len(s) == t_s.size and s.skipped_lines == 0
    # RR is the interval each heart rate was computed from: the time steps of the file
    np.testing.assert_allclose(s.rr_ms, 60_000.0 / hr)
    np.testing.assert_allclose(s.rr_ms[1:], np.diff(t_s) * 1000.0, rtol=2e-3)
    assert s.epoch_ms is None  # seconds from the recording's start: no wall time
    np.testing.assert_allclose(s.hr_bpm, hr)


def test_host_log_of_a_polar_strap_time_and_rr(shared_data: Path) -> None:
    path = shared_data / SLOW
    table = np.loadtxt(path, delimiter=",")
    s = rr_file_read(path)
    assert s.format == "time-rr" and len(s) == 620 == table.shape[0]
    np.testing.assert_array_equal(s.rr_ms, table[:, 1])
    assert s.epoch_ms is None and s.hr_bpm is None


def test_unix_times_are_wall_time(tmp_path: Path) -> None:
    rr = np.full(40, 800.0) + np.arange(40)
    t_ms = 1_764_000_000_000 + np.cumsum(rr)
    path = tmp_path / "unix.csv"
    path.write_text("".join(f"{t:.0f},{r:.0f}\n" for t, r in zip(t_ms, rr, strict=True)))
    s = rr_file_read(path)
    assert s.format == "time-rr"
    np.testing.assert_allclose(s.epoch_ms, t_ms)
    path.write_text("".join(f"{t / 1000:.3f}\t{60_000 / r:.4f}\n" for t, r in zip(t_ms, rr, strict=True)))
    s = rr_file_read(path)
    assert s.format == "time-hr"
    np.testing.assert_allclose(s.epoch_ms, t_ms, atol=1)


@pytest.mark.parametrize("rows, why", [
    # a heart rate whose intervals do not match the time steps (one row a minute)
    ([(60.0 * i, 70 + i % 5) for i in range(40)], "no header row"),
    # RR-sized values that do not add up to the time spanned (a row every 5 s)
    ([(5 * i, 800 + i) for i in range(40)], "no header row"),
    # time going backwards
    ([(100 - i, 800) for i in range(40)], "no header row"),
    # too few rows to tell
    ([(0.8 * i, 800) for i in range(10)], "no header row"),
])
def test_pairs_that_do_not_agree_are_refused(tmp_path: Path, rows: list[tuple[float, float]], why: str) -> None:
    path = tmp_path / "pairs.txt"
    path.write_text("".join(f"{a} {b}\n" for a, b in rows))
    with pytest.raises(RRFormatError, match=why):
        rr_file_read(path)


def test_a_few_odd_lines_are_counted_skips(tmp_path: Path) -> None:
    t = np.cumsum(np.full(50, 0.9))
    lines = [f"{x:.3f},900\n" for x in t]
    lines[10] = "garbage here and there\n"
    lines[20] = "1.0,2.0,3.0\n"
    path = tmp_path / "odd.csv"
    path.write_text("".join(lines))
    s = rr_file_read(path)
    assert s.format == "time-rr" and len(s) == 48 and s.skipped_lines == 2
    assert any("2 lines that are not two numbers skipped" in n for n in s.notes)


def test_attune_analyze_reads_both_as_a_user_runs_it(shared_data: Path) -> None:
    for rel, fmt in ((MEDITATION, "time-hr"), (SLOW, "time-rr")):
        proc = attune("analyze", str(shared_data / rel), "--format", "json")
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr and "two columns without a header" in proc.stderr
        ticks = json.loads(proc.stdout)["ticks"]
        coherent = [t for t in ticks if t["coherence"] is not None]
        assert len(coherent) > 0.8 * len(ticks), fmt
        # both are slow breathing with large swings (docs/breathing.md)
        rate = float(np.median([t["breath_rate_per_min"] for t in coherent]))
        assert 2.5 < rate < 6.0, (rel, rate)


def test_attune_import_asks_for_a_start_and_takes_one(shared_data: Path, tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite"
    proc = attune("import", str(shared_data / MEDITATION), "--db", str(db), "--start", "2026-11-20T08:00:00+00:00")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "(time-hr)" in proc.stdout + proc.stderr
    conn = sqlite3.connect(db)
    n, first = conn.execute("SELECT count(*), min(epoch_ms) FROM beat").fetchone()
    conn.close()
    assert n == len(rr_file_read(shared_data / MEDITATION))
    assert 0 <= first - iso_to_epoch_ms("2026-11-20T08:00:00+00:00") < 2000  # the first beat at the start given
    forced = attune("import", str(shared_data / MEDITATION), "--db", str(tmp_path / "b.sqlite"),
                    "--input-format", "time-rr", "--start", "2026-11-20T08:00:00+00:00")
    assert forced.returncode == 0 and "(time-rr)" in forced.stdout + forced.stderr  # forced: the second column taken as RR
