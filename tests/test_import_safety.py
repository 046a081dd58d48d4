"""Imports never damage what is stored (issue 7, section 2): through the real `attune`
binary of this venv, real files, real SQLite, real SIGKILLs."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ATTUNE = str(Path(sys.executable).with_name("attune"))
NSR1 = "physionet_24h/nsr2db_nsr001_rr_secs.txt"
NSR2 = "physionet_24h/nsr2db_nsr002_rr_secs.txt"
RR_MS = "physionet_24h/rr_healthy_subjects_000_ms.txt"
START = "2026-11-20T00:00:00+00:00"


def attune(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ATTUNE, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def q(db: Path, sql: str, *args: object) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def one(db: Path, sql: str, *args: object) -> object:
    return q(db, sql, *args)[0][0]


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Everything an import could damage, row for row."""
    return {t: q(db, f"SELECT * FROM {t} ORDER BY 1") for t in
            ("beat", "segment", "device", "import_file", "tick", "episode", "state_change", "analysis_pending")}


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode != 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and "applying migration" not in ln]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


# -- 1. over a stored span ---------------------------------------------------------------------------
def test_second_series_over_same_day_is_refused_then_replaced(shared_data: Path, tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite"
    first = attune("import", str(shared_data / NSR1), "--db", str(db), "--start", START)
    assert first.returncode == 0, first.stderr
    before = snapshot(db)
    assert len(before["tick"]) > 15_000 and len(before["episode"]) > 0

    refused = attune("import", str(shared_data / NSR2), "--db", str(db), "--start", START)
    assert refused.returncode == 1
    assert "✓" not in refused.stderr
    assert "overlap" in refused.stderr and "nsr2db_nsr001_rr_secs.txt" in refused.stderr
    assert "(imported)" in refused.stderr and "--replace" in refused.stderr
    assert snapshot(db) == before  # ticks, episodes, beats: not one row changed

    replaced = attune("import", str(shared_data / NSR2), "--db", str(db), "--start", START, "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert "replaced" in replaced.stderr
    n2 = int(replaced.stderr.split(": ", 1)[1].split(" beats")[0])
    new_device = "physionet-rr-secs: nsr2db_nsr002_rr_secs.txt"
    lo, hi = q(db, "SELECT min(b.epoch_ms), max(b.epoch_ms) FROM beat b JOIN segment s ON s.id = b.segment_id"
                   " JOIN device d ON d.id = s.device_id WHERE d.name = ?", new_device)[0]
    # one series only over the file's span: every beat there is the new file's, none of the old one
    assert one(db, "SELECT count(*) FROM beat WHERE epoch_ms BETWEEN ? AND ?", lo, hi) == n2
    devices = q(db, "SELECT DISTINCT d.name FROM beat b JOIN segment s ON s.id = b.segment_id"
                    " JOIN device d ON d.id = s.device_id WHERE b.epoch_ms BETWEEN ? AND ?", lo, hi)
    assert devices == [(new_device,)]
    # what is left of the old series lies outside that span (here: its first beat, 16 ms earlier)
    outside = one(db, "SELECT count(*) FROM beat WHERE epoch_ms < ? OR epoch_ms > ?", lo, hi)
    assert one(db, "SELECT count(*) FROM beat") - n2 == outside
    assert one(db, "SELECT count(*) FROM segment s WHERE NOT EXISTS (SELECT 1 FROM beat WHERE segment_id = s.id)") == 0
    assert one(db, "SELECT count(*) FROM analysis_pending") == 0
    # analysed afresh: ticks over the whole new day, not 'unknown' everywhere
    known = "SELECT count(*) FROM tick WHERE epoch_ms BETWEEN ? AND ? AND state != 'unknown'"
    fresh = tmp_path / "fresh.sqlite"
    assert attune("import", str(shared_data / NSR2), "--db", str(fresh), "--start", START).returncode == 0
    assert one(db, known, lo, hi) == pytest.approx(one(fresh, known, lo, hi), rel=0.01)
    assert one(db, known, lo, hi) > 5000
    assert one(db, "SELECT count(*) FROM episode") > 0


def test_stored_beats_in_a_gap_of_the_file_are_no_overlap(tmp_path: Path) -> None:
    """A stamped file with a 90 min pause (two segments) goes around beats stored in the
    pause: no refusal, and both series stay whole."""
    db = tmp_path / "a.sqlite"
    t0 = 1_795_132_800_000  # 2026-11-20T00:00Z
    stamps = [t0 + 800 * i for i in range(1, 2251)] + [t0 + 7_200_000 + 800 * i for i in range(1, 2251)]
    pauses = tmp_path / "pauses.csv"
    pauses.write_text("epoch_ms,rr_ms\n" + "\n".join(f"{t},800" for t in stamps) + "\n")
    middle = _rr_file(tmp_path / "middle.txt", n=2000)  # 27 min from 00:45
    assert attune("import", str(middle), "--db", str(db), "--start", "2026-11-20T00:45:00+00:00").returncode == 0
    both = attune("import", str(pauses), "--db", str(db))
    assert both.returncode == 0, both.stderr
    assert one(db, "SELECT count(*) FROM beat") == 4500 + 2000
    assert one(db, "SELECT count(DISTINCT path) FROM import_file") == 2


# -- 2. duplicates by content ---------------------------------------------------------------------------
def _variants(src: Path, tmp: Path, n: int = 3000) -> tuple[Path, list[Path]]:
    lines = src.read_text().splitlines()[:n]
    base = tmp / "day.txt"
    base.write_text("\n".join(lines))  # no final newline
    crlf = tmp / "day_crlf.txt"
    crlf.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    trailing = tmp / "day_trailing.txt"
    trailing.write_text("\n".join(lines) + "\n\n")
    csv = tmp / "day.csv"
    csv.write_text("rr_ms\n" + "\n".join(lines) + "\n")
    secs = tmp / "day_secs.txt"
    secs.write_text("\n".join(f"{float(v) / 1000:.4f}" for v in lines) + "\n")
    return base, [crlf, trailing, csv, secs]


def test_same_beats_in_other_bytes_are_already_imported(shared_data: Path, tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite"
    base, variants = _variants(shared_data / RR_MS, tmp_path)
    ok = attune("import", str(base), "--db", str(db), "--start", START)
    assert ok.returncode == 0, ok.stderr
    before = snapshot(db)
    for path in variants:
        again = attune("import", str(path), "--db", str(db), "--start", START)
        assert again.returncode == 1, (path.name, again.stderr)
        assert "already" in again.stderr, again.stderr
        assert snapshot(db) == before, path.name
    assert one(db, "SELECT count(*) FROM beat") == 3000


def test_untimed_file_again_with_another_mtime_is_already_imported(shared_data: Path, tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite"
    base, (crlf, *_) = _variants(shared_data / RR_MS, tmp_path)
    os.utime(base, (time.time() - 7 * 86400,) * 2)  # placed a week ago, by its mtime
    assert attune("import", str(base), "--db", str(db)).returncode == 0
    again = attune("import", str(crlf), "--db", str(db))
    assert again.returncode == 1 and "already imported" in again.stderr, again.stderr
    assert one(db, "SELECT count(*) FROM beat") == 3000


# -- 3. absurd values --------------------------------------------------------------------------------------
def _rr_file(path: Path, bad: str | None = None, n: int = 2000) -> Path:
    rng = np.random.default_rng(0)
    values = [f"{v:.0f}" for v in 800 + 40 * rng.standard_normal(n)]
    if bad is not None:
        values[n // 2] = bad
    path.write_text("\n".join(values) + "\n")
    return path


def _empty_store(db: Path) -> None:
    for table in ("import_file", "beat", "segment", "device", "tick", "episode", "analysis_pending"):
        assert one(db, f"SELECT count(*) FROM {table}") == 0, table


@pytest.mark.parametrize("bad", ["1e300", "1e15", "1e308"])
def test_absurd_rr_leaves_no_trace_and_can_be_retried(tmp_path: Path, bad: str) -> None:
    db = tmp_path / "a.sqlite"
    path = _rr_file(tmp_path / "rr.txt", bad)
    failed = attune("import", str(path), "--db", str(db), "--start", START)
    assert_one_line_error(failed, "rr.txt", "nothing imported")
    _empty_store(db)
    analyze = attune("analyze", "--db", str(db), "--format", "json")
    assert analyze.returncode == 0 and "Error" not in analyze.stderr, analyze.stderr
    _rr_file(path)  # the user fixes the file and tries again
    retried = attune("import", str(path), "--db", str(db), "--start", START)
    assert retried.returncode == 0, retried.stderr
    assert one(db, "SELECT count(*) FROM beat") == 2000
    assert one(db, "SELECT count(*) FROM tick") > 0
    analyze = attune("analyze", "--db", str(db), "--format", "json")
    assert analyze.returncode == 0, analyze.stderr


@pytest.mark.parametrize("start", ["9999-12-31T23:59", "1900-01-01T00:00", "0001-01-01T00:00"])
def test_absurd_start_is_refused_before_any_write(tmp_path: Path, start: str) -> None:
    db = tmp_path / "a.sqlite"
    failed = attune("import", str(_rr_file(tmp_path / "rr.txt")), "--db", str(db), "--start", start)
    assert_one_line_error(failed)
    assert "--start" in failed.stderr or "ISO 8601" in failed.stderr
    assert not db.exists()  # refused before the database was even opened


def test_beats_running_past_any_plausible_time_are_refused(tmp_path: Path) -> None:
    """Plausible RRs, but 44 hours of them from a start an hour ago: the last beats would
    lie more than a day in the future."""
    db = tmp_path / "a.sqlite"
    path = _rr_file(tmp_path / "rr.txt", n=200_000)
    an_hour_ago = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 3600))
    failed = attune("import", str(path), "--db", str(db), "--start", an_hour_ago)
    assert_one_line_error(failed, "last beat", "plausible")
    _empty_store(db)


def test_absurd_stamps_in_a_timed_file_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite"
    t0 = 1_795_000_000_000
    rows = [f"{t0 + 800 * i},800" for i in range(1000)]
    rows[500] = f"{t0 * 10**6},800"  # one stamp 10^6 times too late
    path = tmp_path / "stamped.csv"
    path.write_text("epoch_ms,rr_ms\n" + "\n".join(rows) + "\n")
    failed = attune("import", str(path), "--db", str(db))
    assert_one_line_error(failed, "beat #501")
    _empty_store(db)


def test_analyze_db_survives_beats_an_older_import_wrote_with_impossible_times(tmp_path: Path) -> None:
    """Before the checks, `attune import` of RR 1e300 / 1e15 stored epoch_ms -2^63 and
    year -29662, after which `analyze --db` crashed with OverflowError on every run."""
    db = tmp_path / "a.sqlite"
    assert attune("import", str(_rr_file(tmp_path / "rr.txt")), "--db", str(db), "--start", START).returncode == 0
    conn = sqlite3.connect(db)
    with conn:  # the rows main wrote (reproduced on main, see issue 7)
        seg = conn.execute("SELECT min(id) FROM segment").fetchone()[0]
        conn.executemany("INSERT INTO beat(segment_id, epoch_ms, rr_ms, flags) VALUES (?, ?, ?, 1)",
                         [(seg, -(2**63), 1e300), (seg, -998_000_000_000_000, 1e15)])
    conn.close()
    analyze = attune("analyze", "--db", str(db), "--format", "json")
    assert analyze.returncode == 0, analyze.stderr
    assert "Overflow" not in analyze.stderr and "2 stored beats have impossible times" in analyze.stderr
    assert one(db, "SELECT count(*) FROM tick") > 100


# -- 4. half-finished work ----------------------------------------------------------------------------
def _kill_when_beats_without_ticks(proc: subprocess.Popen, db: Path, deadline_s: float = 120) -> None:
    """SIGKILL ``proc`` at the first moment the database holds beats but no ticks: the
    beats are committed and the analysis is running."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        assert proc.poll() is None, "finished before it could be interrupted"
        if db.exists():
            try:
                beats, ticks = q(db, "SELECT (SELECT count(*) FROM beat), (SELECT count(*) FROM tick)")[0]
            except sqlite3.OperationalError:  # schema not there yet
                beats, ticks = 0, 0
            if beats and not ticks:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return
        time.sleep(0.005)
    raise AssertionError("the database never showed beats without ticks")


@pytest.mark.parametrize("finisher", ["import", "analyze"])
def test_import_killed_during_analysis_is_finished_next_time(shared_data: Path, tmp_path: Path, finisher: str) -> None:
    db = tmp_path / "a.sqlite"
    src = str(shared_data / NSR1)
    proc = subprocess.Popen([ATTUNE, "import", src, "--db", str(db), "--start", START],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_when_beats_without_ticks(proc, db)
    assert proc.returncode == -signal.SIGKILL
    assert one(db, "SELECT count(*) FROM tick") == 0
    assert one(db, "SELECT count(*) FROM analysis_pending") == 1
    if finisher == "import":
        again = attune("import", src, "--db", str(db), "--start", START)
        assert again.returncode == 1 and "already imported" in again.stderr, again.stderr
    else:
        again = attune("analyze", "--db", str(db), "--format", "json")
        assert again.returncode == 0, again.stderr
    assert "finishing analysis left pending by an interrupted import nsr2db_nsr001_rr_secs.txt" in again.stderr
    assert one(db, "SELECT count(*) FROM analysis_pending") == 0
    assert one(db, "SELECT count(*) FROM tick") > 15_000
    assert one(db, "SELECT count(*) FROM episode") > 0


def test_serve_finishes_analysis_an_interrupted_import_left(shared_data: Path, tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite"
    proc = subprocess.Popen([ATTUNE, "import", str(shared_data / NSR1), "--db", str(db), "--start", START],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_when_beats_without_ticks(proc, db)
    log = tmp_path / "serve.log"
    with open(log, "w") as err:
        server = subprocess.Popen([ATTUNE, "serve", "--db", str(db), "--port", str(_free_port())],
                                  stdout=subprocess.DEVNULL, stderr=err)
        try:
            end = time.monotonic() + 120
            while "attune is at" not in log.read_text() and time.monotonic() < end:
                assert server.poll() is None, log.read_text()
                time.sleep(0.1)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    assert "finishing analysis left pending by an interrupted import nsr2db_nsr001_rr_secs.txt" in log.read_text()
    assert one(db, "SELECT count(*) FROM analysis_pending") == 0
    assert one(db, "SELECT count(*) FROM tick") > 15_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_killed_during_sample_day_is_completed_by_demo_keep(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite"
    proc = subprocess.Popen([ATTUNE, "demo", "--db", str(db), "--port", str(_free_port())],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_when_beats_without_ticks(proc, db)
    sample_beats = one(db, "SELECT count(*) FROM beat")
    assert sample_beats > 50_000  # yesterday's 16 h at least
    again = attune("demo", "--db", str(db), "--keep", "--port", str(_free_port()),
                   env={"ATTUNE_DEMO_DURATION_S": "2"})
    assert again.returncode == 0, again.stderr
    assert "finishing analysis left pending by an interrupted demo sample day" in again.stderr
    assert one(db, "SELECT count(*) FROM analysis_pending") == 0
    lo, hi = q(db, "SELECT min(epoch_ms), max(epoch_ms) FROM beat WHERE segment_id IN"
                   " (SELECT id FROM segment WHERE source = 'demo')")[0]
    # the sample day is analysed from its first beat: 16 h of ticks at least, and episodes
    assert one(db, "SELECT count(*) FROM tick WHERE epoch_ms BETWEEN ? AND ?", lo, lo + 16 * 3600_000) > 11_000
    assert one(db, "SELECT count(*) FROM episode WHERE onset_ms BETWEEN ? AND ?", lo, hi) > 0


# -- 5. streaming, size-checked reads --------------------------------------------------------------------------
_RSS_PROBE = """
import resource, sys
from attune.cli import main
import attune.ingest.exchange, attune.signals.batch  # loaded before the baseline is taken
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
status = main(["import", sys.argv[1], "--db", sys.argv[2]])
print(status, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


@pytest.mark.parametrize("size_mib", [300, 1126])
def test_oversized_file_is_refused_before_it_is_read(tmp_path: Path, size_mib: int) -> None:
    """`attune import` of a (sparse) file over the limit: refused in one line, and the
    process's peak RSS (measured by itself) does not grow by the file's size."""
    big = tmp_path / "big.txt"
    with open(big, "wb") as fh:
        fh.truncate(size_mib << 20)  # sparse: no disk used
    db = tmp_path / "a.sqlite"
    probe = subprocess.run([sys.executable, "-c", _RSS_PROBE, str(big), str(db)],
                           capture_output=True, text=True, timeout=300)
    status, grown_kib = (int(v) for v in probe.stdout.split()[-2:])
    assert status == 1, probe.stderr
    assert "larger than any RR export (limit 256 MiB)" in probe.stderr
    assert grown_kib < 16 * 1024, f"peak RSS grew by {grown_kib} KiB while refusing a {size_mib} MiB file"
    _empty_store(db)


def test_file_of_too_many_short_lines_is_refused_while_reading(tmp_path: Path) -> None:
    """16 MiB of "800" lines is 4.1 M beats: parsing would hold every line as a Python
    string (~600 MiB); refused while the lines are counted."""
    many = tmp_path / "many.txt"
    many.write_bytes(b"800\n" * 4_100_000)
    db = tmp_path / "a.sqlite"
    probe = subprocess.run([sys.executable, "-c", _RSS_PROBE, str(many), str(db)],
                           capture_output=True, text=True, timeout=300)
    status, grown_kib = (int(v) for v in probe.stdout.split()[-2:])
    assert status == 1 and "more than 4,000,000 lines" in probe.stderr, probe.stderr
    assert grown_kib < 64 * 1024, f"peak RSS grew by {grown_kib} KiB"
    _empty_store(db)


def test_pipes_devices_and_directories_are_refused_with_one_line(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite"
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path, why in (("/dev/zero", "device"), (str(fifo), "pipe"), (str(tmp_path), "directory")):
        failed = attune("import", path, "--db", str(db), timeout=30)
        assert_one_line_error(failed, why)
        assert failed.returncode == 1
    _empty_store(db)
