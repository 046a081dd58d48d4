"""`attune import` reads accelerometer files (issue 8): detection, reading, rates, hostile
files, duplicates, overlap and --replace, analysis_pending, the acc_frame codecs. Real
files (the fixtures hold real Hexoskin chest motion, see fixtures/motion/README.md), real
SQLite, the venv's real `attune` binary."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from attune.db import db_connect
from attune.ingest.events import MotionKind, MotionNotification
from attune.ingest.exchange import ImportRefused, acc_import
from attune.ingest.formats import rr_file_read
from attune.ingest.formats.acc import AccFormatError, acc_file_detect, acc_file_read, acc_file_sniff
from attune.ingest.motion_store import (
    acc_frame_insert,
    acc_read,
    acc_series_store,
    acc_span_clear,
    motion_packet_insert,
)
from attune.ingest.pmd import pmd_acc_encode, pmd_acc_encode_delta

REPO = Path(__file__).resolve().parent.parent
MOTION = REPO / "fixtures" / "motion"
PSL = MOTION / "psl_H10_ACC.txt"
GENERIC = MOTION / "generic_50hz.csv"
RR = MOTION / "hexoskin_003_rr.csv"
ATTUNE = str(Path(sys.executable).with_name("attune"))
T0_MS = 1_668_212_597_000  # the fixtures' first sample (2022-11-12T00:23:17Z)
UTC_ENV = {"TZ": "UTC"}


def attune(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ATTUNE, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **UTC_ENV})


def one(db: Path, sql: str, *args: object) -> object:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, args).fetchone()[0]
    finally:
        conn.close()


def real_motion() -> np.ndarray:
    """The generic fixture's real chest motion, int (3000, 3) mg."""
    return np.loadtxt(GENERIC, delimiter=",", skiprows=1, dtype=np.int64)[:, 1:]


def write_csv(path: Path, t_ms: np.ndarray, xyz: np.ndarray, header: str = "epoch_ms,x_mg,y_mg,z_mg",
              sep: str = ",", fmt_t=lambda t: str(int(t))) -> Path:
    rows = [header] + [sep.join([fmt_t(t), *(str(int(v)) for v in row)]) for t, row in zip(t_ms, xyz, strict=True)]
    path.write_text("\n".join(rows) + "\n")
    return path


def one_line(exc: BaseException, *needles: str) -> str:
    msg = str(exc)
    assert "\n" not in msg, msg
    for needle in needles:
        assert needle in msg, msg
    return msg


# -- detection and reading ------------------------------------------------------------------------
def test_fixtures_are_detected_and_read_on_wall_time() -> None:
    assert acc_file_sniff(PSL) and acc_file_sniff(GENERIC)
    assert acc_file_detect(PSL) == "polar-sensor-logger-acc"
    assert acc_file_detect(GENERIC) == "csv-acc"
    psl = acc_file_read(PSL, tz="UTC")
    gen = acc_file_read(GENERIC)
    assert (len(psl), psl.rate_hz, psl.skipped_lines) == (1500, pytest.approx(25.0, rel=1e-3), 0)
    assert (len(gen), gen.rate_hz, gen.skipped_lines) == (3000, pytest.approx(50.0, rel=1e-3), 0)
    assert gen.epoch_ms[0] == T0_MS and gen.epoch_ms[-1] == T0_MS + 2999 * 20
    # the Sensor Logger file: sensor clock (2019-based, not wall time) placed by the phone's
    # arrival stamps, which come 30-90 ms after a frame's last sample
    assert 0 <= psl.epoch_ms[0] - T0_MS <= 90
    assert np.all(np.diff(psl.epoch_ms) == 40)
    assert psl.xyz_mg.dtype == np.int16 and psl.xyz_mg.shape == (1500, 3)
    # real chest motion: about 1 g at rest
    assert 800 < np.median(np.linalg.norm(gen.xyz_mg[:1000].astype(float), axis=1)) < 1200


def test_no_rr_file_is_taken_for_an_accelerometer_file() -> None:
    for f in sorted((REPO / "fixtures" / "formats").iterdir()) + [RR]:
        assert not acc_file_sniff(f), f
    assert len(rr_file_read(RR)) > 1000  # and the motion fixtures' beats stay RR


@pytest.mark.parametrize("rate_hz", [12.5, 25.0, 50.0, 100.0, 200.0])
def test_every_rate_from_12_5_to_200_hz(tmp_path: Path, rate_hz: float) -> None:
    n = int(rate_hz * 20)
    xyz = np.resize(real_motion(), (n, 3))
    t = T0_MS + np.round(np.arange(n) * 1000.0 / rate_hz)
    gen = acc_file_read(write_csv(tmp_path / "g.csv", t, xyz))
    assert gen.rate_hz == pytest.approx(rate_hz, rel=0.01) and len(gen) == n
    # a Sensor Logger file at that rate: sensor ns per sample, one phone stamp per 36 samples
    lines = ["Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg] "]
    for i in range(n):
        last = min(i // 36 * 36 + 35, n - 1)
        phone = np.datetime64(int(T0_MS + last * 1000.0 / rate_hz + 50), "ms").astype(str)
        lines.append(f"{phone};{599_616_000_000_000_000 + round(i * 1e9 / rate_hz)};{';'.join(map(str, xyz[i]))};")
    (tmp_path / "p.txt").write_text("\n".join(lines) + "\n")
    psl = acc_file_read(tmp_path / "p.txt", tz="UTC")
    assert psl.rate_hz == pytest.approx(rate_hz, rel=0.01) and len(psl) == n
    assert 0 <= psl.epoch_ms[0] - T0_MS <= 51
    assert np.array_equal(psl.xyz_mg, xyz)


@pytest.mark.parametrize("rate_hz", [10.0, 250.0, 1.0])
def test_rates_outside_12_5_to_200_hz_are_refused_in_one_line(tmp_path: Path, rate_hz: float) -> None:
    n = 400
    t = T0_MS + np.round(np.arange(n) * 1000.0 / rate_hz)
    with pytest.raises(AccFormatError) as err:
        acc_file_read(write_csv(tmp_path / "g.csv", t, np.resize(real_motion(), (n, 3))))
    one_line(err.value, "Hz", "12.5–200 Hz", "nothing imported")


def test_psl_sensor_clock_restart_and_phone_only_files(tmp_path: Path) -> None:
    xyz = np.resize(real_motion(), (200, 3))
    lines = ["Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]"]
    for i in range(200):  # the strap restarted its clock at sample 100, the phone kept going
        sensor = 599_616_000_000_000_000 + (i if i < 100 else i - 100) * 40_000_000
        phone = np.datetime64(T0_MS + (i // 10 * 10 + 9) * 40 + 40, "ms").astype(str) + "Z"
        lines.append(f"{phone};{sensor};{';'.join(map(str, xyz[i]))}")
    (tmp_path / "restart.txt").write_text("\n".join(lines) + "\n")
    s = acc_file_read(tmp_path / "restart.txt")
    assert len(s) == 200 and np.all(np.diff(s.epoch_ms) > 0)
    assert abs(s.epoch_ms[100] - (T0_MS + 100 * 40)) <= 45  # the second stretch is placed on its own
    assert any("2 stretches" in n for n in s.notes)
    # no sensor column: samples sharing a phone stamp are spread back from it at the file's rate
    lines = ["Phone timestamp;X [mg];Y [mg];Z [mg]"]
    for i in range(200):
        phone = np.datetime64(T0_MS + (i // 10 * 10 + 9) * 40, "ms").astype(str)
        lines.append(f"{phone};{';'.join(map(str, xyz[i]))}")
    (tmp_path / "phone.txt").write_text("\n".join(lines) + "\n")
    s = acc_file_read(tmp_path / "phone.txt", tz="UTC")
    assert s.rate_hz == pytest.approx(25.0, rel=0.01)
    assert np.array_equal(s.epoch_ms, T0_MS + np.arange(200) * 40)


def test_decimal_commas_units_and_other_names(tmp_path: Path) -> None:
    xyz = np.resize(real_motion(), (100, 3))
    t = T0_MS + np.arange(100) * 40
    g = tmp_path / "g.csv"  # ; separated, in g with decimal commas, ISO times with zone
    g.write_text("time;acc_x [g];acc_y [g];acc_z [g]\n" + "".join(
        f"{np.datetime64(int(tt), 'ms')}Z;" + ";".join(f"{v / 1000:.3f}".replace(".", ",") for v in row) + "\n"
        for tt, row in zip(t, xyz, strict=True)))
    s = acc_file_read(g)
    assert np.array_equal(s.epoch_ms, t)
    assert np.abs(s.xyz_mg.astype(int) - xyz).max() <= 1
    assert any("converted to mg" in n for n in s.notes)
    g16 = tmp_path / "g16.csv"  # the same as UTF-16 with a byte-order mark
    g16.write_bytes(g.read_text().encode("utf-16"))
    assert acc_file_sniff(g16) and np.array_equal(acc_file_read(g16).xyz_mg, s.xyz_mg)
    secs = write_csv(tmp_path / "s.csv", t / 1000.0, xyz, "timestamp,x,y,z", fmt_t=lambda v: f"{v:.3f}")
    assert np.array_equal(acc_file_read(secs).epoch_ms, t)  # Unix seconds by magnitude


def test_bad_rows_are_counted_never_silent(tmp_path: Path) -> None:
    xyz = np.resize(real_motion(), (300, 3))
    t = T0_MS + np.arange(300) * 40
    rows = [f"{tt},{x},{y},{z}" for tt, (x, y, z) in zip(t, xyz, strict=True)]
    rows[10] = f"{t[10]},NaN,12,13"
    rows[11] = f"{t[11]},1e300,12,13"
    rows[12] = f"{t[12]},99999,12,13"
    rows[13] = "garbage"
    rows[14] = f"{t[14]},1,2"
    rows[15] = "99999999999999999999,1,2,3"
    rows[20], rows[21] = rows[21], rows[20]  # out of order
    rows.insert(30, rows[29])  # a repeated time
    rows.insert(40, "")
    f = tmp_path / "bad.csv"
    f.write_text("epoch_ms,x_mg,y_mg,z_mg\n" + "\n".join(rows) + "\n")
    s = acc_file_read(f)
    assert len(s) == 294 and s.skipped_lines == 302 - 294
    assert np.all(np.diff(s.epoch_ms) > 0)
    text = " | ".join(s.notes)
    for needle in ("rows out of time order sorted", "repeating an earlier time", "beyond ±32767 mg",
                   "without a readable time or x, y, z", "blank or malformed"):
        assert needle in text, text


@pytest.mark.parametrize(("content", "needle"), [
    (b"epoch_ms,x_mg,y_mg\n1668212597000,1,2\n1668212597040,1,2\n", "no z column"),
    (b"x_mg,y_mg,z_mg\n1,2,3\n4,5,6\n", "without wall time"),
    (b"t_s,x_mg,y_mg,z_mg\n0.00,1,2,3\n0.04,4,5,6\n0.08,4,5,6\n", "wall-clock"),
    (b"Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]\nyesterday;1;2;3;4\nnoon;2;2;3;4\n",
     "no wall time"),
    (b"epoch_ms,x_mg,y_mg,z_mg\n", "no row under the header"),
    (b"Phone timestamp;sensor timestamp [ns];X [dps];Y [dps];Z [dps]\n2024-03-09T22:15:01.123;1;2;3;4\n",
     "'dps' (a gyroscope) is not an acceleration"),
    (b"Phone timestamp;sensor timestamp [ns];X [G];Y [G];Z [G]\n2024-03-09T22:15:01.123;1;0.2;0.3;0.4\n",
     "'gauss' (a magnetometer) is not an acceleration"),
    (b"epoch_ms,x_mg,y_mg,z_mg\n1668212597000,1,2,3\n", "1 valid sample"),
    (b"\x00\x01\x02epoch_ms,x_mg,y_mg,z_mg\n" + bytes(range(256)) * 40, "binary"),
])
def test_hostile_files_are_one_line(tmp_path: Path, content: bytes, needle: str) -> None:
    f = tmp_path / "hostile.csv"
    f.write_bytes(content)
    with pytest.raises(AccFormatError) as err:
        acc_file_read(f, format="csv-acc" if b"\x00" in content else None)
    one_line(err.value, needle)


def test_huge_long_fifo_and_directory_are_refused_before_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as fh:
        fh.write(b"epoch_ms,x_mg,y_mg,z_mg\n")
        fh.truncate(300 << 20)  # sparse: nothing is written, the size is what is checked
    with pytest.raises(AccFormatError) as err:
        acc_file_read(huge)
    one_line(err.value, "larger than any accelerometer export")
    long = tmp_path / "long.csv"
    long.write_bytes(b"epoch_ms,x_mg,y_mg,z_mg\n" + b"\n" * 12_000_001)
    with pytest.raises(AccFormatError) as err:
        acc_file_read(long)
    one_line(err.value, "more than 12,000,000 lines")
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert not acc_file_sniff(fifo)  # and returns at once: nobody writes to it
    with pytest.raises(AccFormatError) as err:
        acc_file_read(fifo)
    one_line(err.value, "pipe")
    with pytest.raises(AccFormatError) as err:
        acc_file_read(tmp_path)
    one_line(err.value, "directory")


# -- storing ------------------------------------------------------------------------------------------
def test_import_stores_samples_once_whatever_the_bytes(tmp_path: Path) -> None:
    conn = db_connect(tmp_path / "a.sqlite")
    r = acc_import(conn, GENERIC)
    assert (r.samples, r.rate_hz, r.first_ms, r.last_ms) == (3000, pytest.approx(50.0), T0_MS, T0_MS + 59_980)
    assert r.pending_id is None and r.beats_in_span == 0  # no beats: nothing to analyse yet
    back = acc_read(conn)
    assert np.array_equal(back.epoch_ms, T0_MS + np.arange(3000) * 20)
    assert np.array_equal(back.xyz_mg, real_motion()) and back.rate_hz == 50.0
    crlf = tmp_path / "same.csv"  # the same samples with CRLF and a tab delimiter
    crlf.write_bytes(GENERIC.read_bytes().replace(b",", b"\t").replace(b"\n", b"\r\n"))
    with pytest.raises(ImportRefused) as err:
        acc_import(conn, crlf)
    one_line(err.value, "already imported", "nothing imported")
    assert conn.execute("SELECT count(*) FROM import_file").fetchone()[0] == 1


def test_overlap_is_refused_and_replace_swaps_the_span(tmp_path: Path) -> None:
    conn = db_connect(tmp_path / "a.sqlite")
    acc_import(conn, GENERIC)
    xyz = np.resize(real_motion()[::-1], (500, 3))
    t = T0_MS + 20_000 + np.arange(500) * 40  # 20 s .. 40 s into the stored minute, at 25 Hz
    other = write_csv(tmp_path / "other.csv", t, xyz)
    before = conn.execute("SELECT * FROM acc_frame ORDER BY id").fetchall()
    with pytest.raises(ImportRefused) as err:
        acc_import(conn, other)
    one_line(err.value, "overlap", "generic_50hz.csv", "--replace", "nothing imported")
    assert conn.execute("SELECT * FROM acc_frame ORDER BY id").fetchall() == before
    r = acc_import(conn, other, replace=True)
    assert r.replaced == 999  # the stored samples from t[0] to t[-1], 20 ms apart
    back = acc_read(conn)
    inside = (back.epoch_ms >= t[0]) & (back.epoch_ms <= t[-1])
    assert np.array_equal(back.epoch_ms[inside], t) and np.array_equal(back.xyz_mg[inside], xyz)
    gen = real_motion()
    assert np.array_equal(back.xyz_mg[back.epoch_ms < t[0]], gen[:1000])  # edges kept
    assert np.array_equal(back.xyz_mg[back.epoch_ms > t[-1]], gen[1999:])
    # replacing everything an import held removes its import record, so it can come back
    wide_t = T0_MS - 1000 + np.arange(1550) * 40
    wide = write_csv(tmp_path / "wide.csv", wide_t, np.resize(real_motion(), (1550, 3)))
    acc_import(conn, wide, replace=True)
    assert [r[0] for r in conn.execute("SELECT path FROM import_file")] == [str(wide.resolve())]
    assert np.array_equal(acc_read(conn).epoch_ms, wide_t)
    acc_import(conn, GENERIC, replace=True)
    assert len(acc_read(conn)) == 3000 + 25 + 25


def test_pending_is_written_with_the_samples_or_not_at_all(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite"
    assert attune("import", str(RR), "--db", str(db)).returncode == 0
    conn = db_connect(db)
    # the analysis_pending insert fails (a real SQLite error): nothing of the import stays
    conn.execute("CREATE TRIGGER no_pending BEFORE INSERT ON analysis_pending BEGIN SELECT RAISE(ABORT, 'full'); END")
    conn.commit()
    with pytest.raises(sqlite3.IntegrityError):
        acc_import(conn, GENERIC)
    assert conn.execute("SELECT count(*) FROM acc_frame").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM import_file WHERE format = 'csv-acc'").fetchone()[0] == 0
    conn.execute("DROP TRIGGER no_pending")
    conn.commit()
    r = acc_import(conn, GENERIC)
    assert r.beats_in_span > 50 and r.pending_id is not None
    assert [tuple(r) for r in conn.execute("SELECT from_ms, to_ms FROM analysis_pending")] == [(T0_MS, T0_MS + 59_981)]


# -- through the command line ---------------------------------------------------------------------------
def test_cli_motion_before_or_after_the_beats(tmp_path: Path) -> None:
    for order in ((PSL, RR), (RR, PSL)):
        db = tmp_path / f"{order[0].stem}.sqlite"
        outs = [attune("import", str(f), "--db", str(db)) for f in order]
        assert all(o.returncode == 0 for o in outs), [o.stderr for o in outs]
        acc_out = outs[0] if order[0] == PSL else outs[1]
        assert ("1500 accelerometer samples at 25 Hz (polar-sensor-logger-acc), 2022-11-12T00:23:17.0"
                in acc_out.stderr), acc_out.stderr
        if order[0] == PSL:
            assert "no beats stored over this span yet" in acc_out.stderr
        else:
            assert "analysed" in acc_out.stderr and "beats with it" in acc_out.stderr
        assert one(db, "SELECT count(*) FROM analysis_pending") == 0
        assert one(db, "SELECT sum(n) FROM acc_frame") == 1500
        assert one(db, "SELECT count(*) FROM tick WHERE epoch_ms BETWEEN ? AND ?", T0_MS, T0_MS + 60_000) >= 11


def test_cli_refusals_are_one_line_each(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite"
    slow = write_csv(tmp_path / "slow.csv", T0_MS + np.arange(100) * 1000, np.resize(real_motion(), (100, 3)))
    out = attune("import", str(GENERIC), str(GENERIC), str(slow), "--db", str(db))
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("✗")]
    assert len(lines) == 2 and "already imported" in lines[0] and "1 Hz" in lines[1] and "12.5–200 Hz" in lines[1]
    forced = attune("import", str(GENERIC), "--db", str(db), "--input-format", "polar-sensor-logger-acc")
    assert forced.returncode == 1 and "not the 'polar-sensor-logger-acc' asked for" in forced.stderr
    replaced = attune("import", str(PSL), "--db", str(db), "--replace")
    assert replaced.returncode == 0 and "replaced 2998 stored accelerometer samples" in replaced.stderr, replaced.stderr


def test_cli_kill_after_the_samples_leaves_the_analysis_pending(shared_data: Path, tmp_path: Path) -> None:
    """Beats of a whole day stored; a day of motion over them; SIGKILL while the analysis
    runs: the motion and its pending mark are there together, and `analyze --db` finishes it."""
    db = tmp_path / "a.sqlite"
    start = "2026-11-20T00:00:00+00:00"
    day = attune("import", str(shared_data / "physionet_24h" / "nsr2db_nsr001_rr_secs.txt"), "--db", str(db),
                 "--start", start)
    assert day.returncode == 0, day.stderr
    t0 = 1_795_132_800_000  # 2026-11-20T00:00:00Z
    n = 25 * 3600 * 6  # six hours at 25 Hz
    motion = write_csv(tmp_path / "six_hours.csv", t0 + np.arange(n) * 40, np.resize(real_motion(), (n, 3)))
    proc = subprocess.Popen([ATTUNE, "import", str(motion), "--db", str(db)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, **UTC_ENV})
    end = time.monotonic() + 120
    while time.monotonic() < end:
        assert proc.poll() is None, "finished before it could be interrupted"
        try:
            frames, pending = sqlite3.connect(f"file:{db}?mode=ro", uri=True).execute(
                "SELECT (SELECT count(*) FROM acc_frame), (SELECT count(*) FROM analysis_pending)").fetchone()
        except sqlite3.OperationalError:
            frames, pending = 0, 0
        if frames:
            assert pending == 1  # committed together
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            break
        time.sleep(0.005)
    assert proc.returncode == -signal.SIGKILL
    assert one(db, "SELECT count(*) FROM analysis_pending") == 1
    again = attune("analyze", "--db", str(db), "--format", "json")
    assert again.returncode == 0, again.stderr
    assert "finishing analysis left pending by an interrupted import six_hours.csv" in again.stderr
    assert one(db, "SELECT count(*) FROM analysis_pending") == 0


# -- the acc_frame codecs ----------------------------------------------------------------------------------
def test_live_frames_are_read_back_from_their_raw_notification(tmp_path: Path) -> None:
    conn = db_connect(tmp_path / "a.sqlite")
    xyz = np.resize(real_motion(), (54, 3))
    sensor_ns = 599_616_000_000_000_000 + 10**12
    rows = []
    for payload in (pmd_acc_encode_delta(xyz, sensor_ns), pmd_acc_encode(xyz, sensor_ns)):
        pid = motion_packet_insert(conn, None, MotionNotification(MotionKind.PMD, 1, T0_MS * 10**6, payload))
        rows.append(acc_frame_insert(conn, T0_MS, T0_MS + 53 * 40, xyz, 25.0, device_id=None, packet_id=pid))
    # a packet that holds other samples (a frame scaled by a factor, or not ACC): stored itself
    pid = motion_packet_insert(conn, None, MotionNotification(MotionKind.PMD, 2, T0_MS * 10**6, b"\x02" + bytes(40)))
    rows.append(acc_frame_insert(conn, T0_MS + 5000, T0_MS + 5000 + 53 * 40, xyz, 25.0, device_id=None, packet_id=pid))
    conn.commit()
    codecs = [tuple(conn.execute("SELECT codec, length(xyz_mg) FROM acc_frame WHERE id = ?", (i,)).fetchone())
              for i in rows]
    assert codecs[0] == (1, 0) and codecs[1] == (1, 0) and codecs[2][0] in (0, 2) and codecs[2][1] > 0
    back = acc_read(conn, T0_MS, T0_MS + 3000)
    assert len(back) == 108 and np.array_equal(back.xyz_mg[::2], xyz) and np.array_equal(back.xyz_mg[1::2], xyz)
    assert np.array_equal(acc_read(conn, T0_MS + 5000).xyz_mg, xyz)
    # cutting a packet-backed frame keeps the part outside the span
    assert acc_span_clear(conn, T0_MS + 40 * 10, T0_MS + 5000) == 2 * 44
    back = acc_read(conn, T0_MS, T0_MS + 3000)
    assert np.array_equal(back.xyz_mg[::2], xyz[:10]) and len(back) == 20


def test_a_database_of_migration_5_keeps_its_samples(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    raw = sqlite3.connect(db)
    for name in sorted((REPO / "attune" / "migrations").glob("000[1-5]_*.sql")):
        raw.executescript(name.read_text())
    raw.execute("PRAGMA user_version = 5")
    xyz = np.resize(real_motion(), (25, 3)).astype("<i2")
    raw.execute("INSERT INTO acc_frame(first_ms, last_ms, n, rate_hz, xyz_mg) VALUES (?,?,?,?,?)",
                (T0_MS, T0_MS + 24 * 40, 25, 25.0, xyz.tobytes()))
    raw.commit()
    raw.close()
    conn = db_connect(db)
    back = acc_read(conn)
    assert np.array_equal(back.xyz_mg, xyz) and np.array_equal(back.epoch_ms, T0_MS + np.arange(25) * 40)
    assert acc_series_store(conn, T0_MS + 10_000 + np.arange(1500) * 40, np.resize(real_motion(), (1500, 3)), 25.0,
                            device_id=None) == 1
    assert [r[0] for r in conn.execute("SELECT codec FROM acc_frame ORDER BY id")] == [0, 2]
    assert np.array_equal(acc_read(conn, T0_MS + 10_000).xyz_mg, np.resize(real_motion(), (1500, 3)))


def test_a_table_with_an_rr_column_stays_an_rr_file(tmp_path: Path) -> None:
    f = tmp_path / "mixed.csv"
    f.write_text("epoch_ms,rr_ms,x_mg,y_mg,z_mg\n1668212597000,812,1,2,3\n1668212597812,798,1,2,3\n")
    assert not acc_file_sniff(f)
    assert len(rr_file_read(f)) == 2


def test_batch_decode_of_raw_frames_equals_one_by_one() -> None:
    from attune.ingest.motion_store import _packet_xyz, _packets_xyz

    motion = np.resize(real_motion(), (20_000, 3))
    rng = np.random.default_rng(3)
    payloads, i = [], 0
    while i < len(motion) - 400:
        k = int(rng.choice([1, 2, 25, 54, 54, 54, 71, 300]))  # 300: two delta blocks
        xyz = motion[i:i + k] * (4 if rng.random() < 0.2 else 1)  # wider deltas now and then
        payloads.append(pmd_acc_encode_delta(np.clip(xyz, -32768, 32767), 10**15 + i))
        i += k
    payloads += [pmd_acc_encode(motion[:36], 10**15), b"\x02" + bytes(40), None, b""]
    batch = _packets_xyz(payloads)
    widths = set()
    for payload, got in zip(payloads, batch, strict=True):
        alone = None if not payload else _packet_xyz(payload, 25.0)
        if got is None:  # left to the one-by-one decoder: a single sample, several blocks, not delta, not ACC
            assert alone is None or payload[9] != 0x81 or len(alone) == 1 or len(alone) > 255
        else:
            widths.add(payload[16])
            assert np.array_equal(got, alone)
    assert len(widths) >= 4 and sum(b is not None for b in batch) > 150


def test_times_outside_1990_to_tomorrow_are_refused(tmp_path: Path) -> None:
    conn = db_connect(tmp_path / "a.sqlite")
    xyz = np.resize(real_motion(), (100, 3))
    for name, t0 in (("2090", 3_800_000_000_000), ("2200", 7_258_118_400_000), ("1985", 500_000_000_000)):
        with pytest.raises((ImportRefused, AccFormatError)) as err:
            acc_import(conn, write_csv(tmp_path / f"{name}.csv", t0 + np.arange(100) * 40, xyz))
        one_line(err.value, "1990", "nothing imported" if name != "2090" else "tomorrow")
    assert conn.execute("SELECT count(*) FROM acc_frame").fetchone()[0] == 0
