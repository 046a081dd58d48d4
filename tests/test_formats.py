"""Tests for ``ingest/formats/``: reading RR-interval files from common tools.

Three layers:

* hand-made fixtures in ``fixtures/formats/`` (one per format, plus corrupt files);
* every real recording in the shared data folder that holds RR intervals, checked
  against the counts and means stated in its README;
* properties: any positive RR list written in each text format reads back
  unchanged, and no input bytes produce anything but an RRSeries or RRFormatError.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from attune.ingest.formats import (
    FORMAT_DESCRIPTIONS,
    FORMATS,
    RRFormatError,
    RRSeries,
    rr_file_detect,
    rr_file_read,
)

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures" / "formats"


# ---------------------------------------------------------------------------------------
# Shared-data helper (to move to a shared conftest later)
# ---------------------------------------------------------------------------------------


def data_dir() -> Path:
    """Folder of real recordings: ``$ATTUNE_DATA_DIR``, else ``<repo>/../shared/data``."""
    env = os.environ.get("ATTUNE_DATA_DIR")
    return Path(env) if env else REPO.parent / "shared" / "data"


def require_data(relpath: str) -> Path:
    """Path of ``relpath`` inside :func:`data_dir`.

    Skips the calling test with a clear reason when the file is absent (a fresh
    clone has no data folder), unless ``ATTUNE_REQUIRE_ALL=1`` (CI), which turns
    the skip into a failure.
    """
    root = data_dir()
    path = root / relpath
    if path.is_file():
        return path
    reason = (
        f"real-data file {relpath!r} not found under {root} "
        "(set ATTUNE_DATA_DIR to the shared data folder to run this test)"
    )
    if os.environ.get("ATTUNE_REQUIRE_ALL") == "1":
        pytest.fail(reason + "; ATTUNE_REQUIRE_ALL=1 forbids skipping", pytrace=False)
    pytest.skip(reason)


def mean_hr(rr: RRSeries) -> float:
    """Mean heart rate as the data README states it: 60000 / mean RR (ms)."""
    return 60000.0 / float(rr.rr_ms.mean())


def check_invariants(rr: RRSeries) -> None:
    assert rr.format in FORMATS
    assert rr.rr_ms.dtype == np.float64 and rr.rr_ms.ndim == 1 and len(rr) == rr.rr_ms.size > 0
    assert np.all(np.isfinite(rr.rr_ms)) and np.all(rr.rr_ms > 0)
    for extra in (rr.epoch_ms, rr.hr_bpm):
        if extra is not None:
            assert extra.dtype == np.float64 and extra.shape == rr.rr_ms.shape
    assert isinstance(rr.skipped_lines, int) and rr.skipped_lines >= 0
    assert isinstance(rr.notes, tuple) and all(isinstance(n, str) for n in rr.notes)
    assert not rr.rr_ms.flags.writeable


def iso_ms(start: datetime, offset_ms: int) -> str:
    """Naive local ISO time with milliseconds, as Polar Sensor Logger writes it."""
    return (start + timedelta(milliseconds=int(offset_ms))).isoformat(timespec="milliseconds")


def fixture(name: str) -> Path:
    return FIXTURES / name


def utc_ms(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp() * 1000.0


# ---------------------------------------------------------------------------------------
# Hand-made fixtures, one per format
# ---------------------------------------------------------------------------------------


def test_formats_tuple_is_the_documented_set():
    assert set(FORMATS) == {
        "rr-lines",
        "hrv-logger",
        "polar-sensor-logger",
        "selfloops",
        "csv-rr_ms",
        "physionet-rr-secs",
        "time-hr",
        "time-rr",
    }
    assert set(FORMAT_DESCRIPTIONS) == set(FORMATS)


def test_polar_sensor_logger_fixture():
    path = fixture("polar_sensor_logger_RR.txt")
    assert rr_file_detect(path) == "polar-sensor-logger"
    rr = rr_file_read(path, tz="Europe/Helsinki")  # UTC+2 in March 2024 (before DST)
    check_invariants(rr)
    assert rr.rr_ms.tolist() == [812, 798, 825, 809, 841]
    assert rr.skipped_lines == 1  # the 0 ms row
    assert rr.hr_bpm is None and rr.start_epoch_ms is None
    # two beats share one notification's phone timestamp
    assert rr.epoch_ms[0] == rr.epoch_ms[1] == utc_ms(2024, 3, 9, 20, 15, 1) + 123
    assert rr.epoch_ms[-1] == utc_ms(2024, 3, 9, 20, 15, 4) + 602
    assert any("receive time" in n for n in rr.notes)


def test_kubios_style_lines_with_header_and_blanks():
    rr = rr_file_read(fixture("kubios_rr_with_header.txt"))
    check_invariants(rr)
    assert rr.format == "rr-lines"
    assert rr.rr_ms.tolist() == [812, 798.5, 825, 809, 841]
    assert rr.skipped_lines == 5  # title, 'RR (ms)', two blank lines, 'n/a'
    assert rr.epoch_ms is None and rr.hr_bpm is None


def test_elite_hrv_seconds_are_converted_to_ms():
    rr = rr_file_read(fixture("elite_hrv_seconds.txt"))
    assert rr.format == "rr-lines"
    np.testing.assert_allclose(rr.rr_ms, [812, 798, 825, 809, 841], rtol=1e-12)
    assert any("seconds" in n for n in rr.notes)


def test_fatmaxxer_like_hrv_logger_fixture():
    rr = rr_file_read(fixture("fatmaxxer_like.rr.csv"))
    check_invariants(rr)
    assert rr.format == "hrv-logger"
    assert rr.rr_ms.tolist() == [812, 798, 825, 809, 841]
    assert rr.epoch_ms.tolist() == [1700000000812, 1700000001610, 1700000002435, 1700000003244, 1700000004085]
    assert rr.skipped_lines == 0  # the blank line after the header is part of the format


def test_hrv_logger_classic_date_column_uses_tz():
    path = fixture("hrv_logger_date_RR.csv")
    assert rr_file_detect(path) == "hrv-logger"
    rr = rr_file_read(path, tz="Europe/Berlin")  # UTC+1 in November
    assert rr.rr_ms.tolist() == [812, 798, 825, 809]
    assert rr.epoch_ms[0] == utc_ms(2023, 11, 14, 22, 13, 20) + 812
    utc = rr_file_read(path, tz="UTC")
    np.testing.assert_array_equal(utc.epoch_ms - rr.epoch_ms, 3_600_000.0)


def test_hrv_logger_date_with_utc_offset(tmp_path):
    path = tmp_path / "2025-03-15_RR_0001TEST.csv"
    path.write_text("date,rr,since start\n2025-03-15 09:00:15 +0100,823,0\n2025-03-15 09:00:16 +0100,812,823\n")
    rr = rr_file_read(path, tz="Asia/Tokyo")  # the written offset wins over tz
    assert rr.format == "hrv-logger"
    assert rr.epoch_ms.tolist() == [utc_ms(2025, 3, 15, 8, 0, 15), utc_ms(2025, 3, 15, 8, 0, 16)]


def test_selfloops_original_fixture():
    path = fixture("selfloops_original.txt")
    assert rr_file_detect(path) == "selfloops"
    rr = rr_file_read(path, tz="America/New_York")  # 2023-03-12 07:30 is EDT (UTC-4), DST began 02:00
    check_invariants(rr)
    assert rr.rr_ms.tolist() == [812, 798, 825, 809, 841]
    assert rr.hr_bpm.tolist() == [73, 75, 72, 74, 71]
    assert rr.start_epoch_ms == utc_ms(2023, 3, 12, 11, 30, 0)
    assert rr.epoch_ms.tolist() == [rr.start_epoch_ms + t for t in (-35, 763, 1588, 2397, 3238)]


def test_generic_semicolon_csv_with_hr_and_a_negative_rr():
    rr = rr_file_read(fixture("generic_semicolon.csv"))
    check_invariants(rr)
    assert rr.format == "csv-rr_ms"
    assert rr.rr_ms.tolist() == [812, 798, 825, 841]
    assert rr.hr_bpm.tolist() == [73.9, 75.2, 72.7, 71.3]
    assert rr.epoch_ms.tolist() == [1700000000812, 1700000001610, 1700000002435, 1700000004085]
    assert rr.skipped_lines == 1


def test_generic_tab_csv_rr_in_seconds_with_iso_utc_times():
    rr = rr_file_read(fixture("generic_tab_seconds.tsv"), tz="Asia/Tokyo")  # zone in the data wins
    check_invariants(rr)
    assert rr.format == "csv-rr_ms"
    np.testing.assert_allclose(rr.rr_ms, [812, 798, 825, 809], rtol=1e-12)
    assert rr.epoch_ms[0] == utc_ms(2023, 11, 14, 22, 13, 20) + 812


def test_physionet_like_fixture_drops_the_offset():
    path = fixture("physionet_like_rr_secs.txt")
    assert rr_file_detect(path) == "physionet-rr-secs"
    rr = rr_file_read(path)
    check_invariants(rr)
    ticks = np.array([101, 99, 104, 103, 106, 101, 97, 95, 99, 102, 105, 107, 103, 100, 98, 97, 101, 103])
    np.testing.assert_array_equal(rr.rr_ms, ticks / 128 * 1000)
    assert any("offset from record start" in n for n in rr.notes)
    # Forcing plain lines keeps the first value as an RR (what a naive reader would do).
    plain = rr_file_read(path, format="rr-lines")
    assert len(plain) == len(rr) + 1 and plain.rr_ms[0] == 741 / 128 * 1000


def test_negative_and_zero_values_are_skipped_and_counted():
    rr = rr_file_read(fixture("negative_and_zero.txt"))
    assert rr.rr_ms.tolist() == [812, 798]
    assert rr.skipped_lines == 2
    assert any("zero or negative" in n for n in rr.notes)


def test_rrseries_is_frozen_and_read_only():
    rr = rr_file_read(fixture("fatmaxxer_like.rr.csv"))
    with pytest.raises(AttributeError):
        rr.format = "x"  # type: ignore[misc]
    with pytest.raises(ValueError):
        rr.rr_ms[0] = 1.0


# ---------------------------------------------------------------------------------------
# Time zones
# ---------------------------------------------------------------------------------------


def test_naive_times_default_to_machine_local_time(monkeypatch):
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is not available on this platform")
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        rr = rr_file_read(fixture("selfloops_original.txt"))  # no tz: machine local = Berlin (UTC+1 in March)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert rr.start_epoch_ms == utc_ms(2023, 3, 12, 6, 30, 0)
    assert any("machine's local time zone" in n for n in rr.notes)


def test_daylight_saving_jump_inside_a_file(tmp_path):
    path = tmp_path / "psl_dst_RR.txt"
    path.write_text(
        "Phone timestamp;RR-interval [ms]\n"
        "2024-03-31T01:59:59.300;900\n"
        "2024-03-31T03:00:00.200;900\n"  # Europe/Berlin skips 02:00-03:00: 0.9 s later
    )
    rr = rr_file_read(path, tz="Europe/Berlin")
    assert rr.epoch_ms[0] == utc_ms(2024, 3, 31, 0, 59, 59) + 300
    assert rr.epoch_ms[1] - rr.epoch_ms[0] == 900.0


def test_bad_tz_and_bad_format_are_value_errors():
    with pytest.raises(ValueError, match="time zone"):
        rr_file_read(fixture("selfloops_original.txt"), tz="Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="rr-lines"):
        rr_file_read(fixture("selfloops_original.txt"), format="kubios-xlsx")


# ---------------------------------------------------------------------------------------
# Corrupt files
# ---------------------------------------------------------------------------------------


def assert_names_every_format(message: str) -> None:
    for fmt in FORMATS:
        assert fmt in message, f"{fmt!r} missing from: {message}"


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("empty.txt", "empty"),
        ("binary_garbage.bin", "binary"),
        ("no_rr_column.csv", "none is an RR column"),
        ("all_text.txt", "none of its 3 non-blank lines is a number"),
    ],
)
def test_corrupt_fixtures_raise_rrformaterror_with_reason(name, why):
    path = fixture(name)
    for call in (rr_file_detect, rr_file_read):
        with pytest.raises(RRFormatError) as info:
            call(path)
        message = str(info.value)
        assert why in message
        assert_names_every_format(message)
        assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"\n\n   \n", "only blank lines"),
        (b"0.997\t832\n1.812\t815\n", "no header row"),
        (b"ecg_adc\n496\n497\n499\n", "not an RR column"),
        (b"812\nnote one\nnote two\nnote three\n", "only 1 of 4 non-blank lines"),
        (b"hr_bpm\n72\n75\n", "column is named 'hr_bpm'"),
        (bytes(range(1, 32)) * 20, "binary"),
    ],
)
def test_more_corrupt_content(tmp_path, content, why):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(RRFormatError) as info:
        rr_file_read(path)
    assert why in str(info.value)
    assert_names_every_format(str(info.value))


def test_table_whose_rr_column_is_empty(tmp_path):
    path = tmp_path / "empty_rr.csv"
    path.write_text("epoch_ms,rr_ms\n1700000000000,\n1700000001000,abc\n")
    with pytest.raises(RRFormatError):
        rr_file_read(path)


def test_forced_format_that_does_not_match(tmp_path):
    with pytest.raises(RRFormatError, match="forced format 'selfloops'"):
        rr_file_read(fixture("kubios_rr_with_header.txt"), format="selfloops")
    with pytest.raises(RRFormatError, match="no line holds a single number"):
        rr_file_read(fixture("no_rr_column.csv"), format="rr-lines")


def test_missing_file_is_an_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        rr_file_read(tmp_path / "nope.txt")


def test_utf16_and_latin1_files_are_read(tmp_path):
    u16 = tmp_path / "excel_unicode.txt"
    u16.write_bytes("RR (ms)\r\n812\r\n798\r\n".encode("utf-16"))
    assert rr_file_read(u16).rr_ms.tolist() == [812, 798]
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("Zeit;RR (ms);Bemerkung\n1;812;Ruhe\n2;798;Übung\n".encode("latin-1"))
    rr = rr_file_read(latin)
    assert rr.format == "csv-rr_ms" and rr.rr_ms.tolist() == [812, 798]
    assert any("Latin-1" in n for n in rr.notes)


# ---------------------------------------------------------------------------------------
# Speed: ~100k beats must read in well under a second
# ---------------------------------------------------------------------------------------


def _best_time(path: Path, **kw) -> tuple[float, RRSeries]:
    best, rr = float("inf"), None
    for _ in range(2):
        t0 = time.perf_counter()
        rr = rr_file_read(path, **kw)
        best = min(best, time.perf_counter() - t0)
    return best, rr


def test_100k_lines_read_fast(tmp_path):
    rng = np.random.default_rng(7)
    rr = rng.integers(350, 1400, 100_000)
    beat = np.cumsum(rr)
    lines = tmp_path / "lines.txt"
    lines.write_text("RR (ms)\n" + "\n".join(map(str, rr)) + "\n")
    hrvl = tmp_path / "big.rr.csv"
    hrvl.write_text(
        "timestamp,rr,since_start\n\n"
        + "\n".join(f"{1_700_000_000_000 + b},{r},{b - r}" for b, r in zip(beat, rr, strict=True))
        + "\n"
    )
    psl = tmp_path / "big_RR.txt"
    t0 = datetime(2024, 5, 1, 21, 0, 0)
    psl.write_text(
        "Phone timestamp;RR-interval [ms]\n"
        + "\n".join(f"{iso_ms(t0, b)};{r}" for b, r in zip(beat, rr, strict=True))
        + "\n"
    )
    for path, fmt in ((lines, "rr-lines"), (hrvl, "hrv-logger"), (psl, "polar-sensor-logger")):
        took, got = _best_time(path, tz="UTC")
        assert got.format == fmt and len(got) == 100_000
        np.testing.assert_array_equal(got.rr_ms, rr)
        assert took < 1.0, f"{fmt}: {took:.2f} s for 100k beats"


# ---------------------------------------------------------------------------------------
# Real recordings (shared data folder)
# ---------------------------------------------------------------------------------------

# (path, format, beats, mean HR bpm from 60000/mean RR, skipped lines).  Counts and HR
# are the README's where it states them (FatMaxxer 11,463 / 112; SelfLoops 38,295 / 79
# and 139; ectopic 798 / 80; labelled ECG conditions), else what the files hold
# (PhysioNet: lines minus the offset line; README: "~100k beats each").
REAL_FILES = [
    ("physionet_24h/nsr2db_nsr001_rr_secs.txt", "physionet-rr-secs", 106_459, 78.9, 0),
    ("physionet_24h/nsr2db_nsr002_rr_secs.txt", "physionet-rr-secs", 111_333, 79.5, 0),
    ("physionet_24h/nsr2db_nsr003_rr_secs.txt", "physionet-rr-secs", 97_323, 68.7, 0),
    ("physionet_24h/nsr2db_nsr004_rr_secs.txt", "physionet-rr-secs", 97_814, 70.5, 0),
    ("physionet_24h/chf2db_chf201_rr_secs.txt", "physionet-rr-secs", 112_183, 81.3, 0),
    ("physionet_24h/rr_healthy_subjects_000_ms.txt", "rr-lines", 80_441, 63.6, 1),
    ("physionet_24h/rr_healthy_subjects_003_ms.txt", "rr-lines", 108_150, 84.0, 0),
    ("polar_h10_exercise/FatMaxOptimiser.20210606_161059.rr.csv", "hrv-logger", 11_463, 112.3, 0),
    ("selfloops_daily/original_selfloops_20170804001r.txt", "selfloops", 38_295, 79.2, 0),
    ("selfloops_daily/original_selfloops_20170808002e.txt", "selfloops", 7_501, 139.0, 0),
    ("selfloops_daily/selfloops_20170804001r_rr.csv", "csv-rr_ms", 38_295, 79.2, 0),
    ("selfloops_daily/selfloops_20170808002e_rr.csv", "csv-rr_ms", 7_501, 139.0, 0),
    ("labeled_conditions_p37/vu_ams_ecg_rr_labeled.csv", "csv-rr_ms", 3_040, 63.2, 0),
    ("labeled_conditions_p37/kyto_rr_labeled.csv", "csv-rr_ms", 2_860, 60.7, 0),
    ("labeled_conditions_p37/heartmath_rr_labeled.csv", "csv-rr_ms", 3_042, 65.4, 0),
    ("labeled_conditions_p37/rhythm_rr_labeled.csv", "csv-rr_ms", 2_604, 61.1, 0),
    ("labeled_conditions_p37/empatica_rr_labeled.csv", "csv-rr_ms", 4_139, 60.2, 0),
    ("labeled_conditions_p37/original_test_kyto.csv", "hrv-logger", 2_860, 60.7, 0),
    ("labeled_conditions_p37/original_test_heartmath.csv", "hrv-logger", 3_042, 65.4, 0),
    ("labeled_conditions_p37/original_test_rhythm.csv", "hrv-logger", 2_604, 61.1, 0),
    ("polar_h10_ectopic/polar_h10_rr_only.csv", "csv-rr_ms", 798, 79.9, 0),
    ("pyhrv_reference/SampleNNISeriesLong_ms.csv", "rr-lines", 4_684, 78.1, 1),
    ("pyhrv_reference/SampleNNISeriesShort_ms.csv", "rr-lines", 337, 67.5, 1),
]


@pytest.mark.parametrize(
    ("relpath", "fmt", "beats", "hr", "skipped"), REAL_FILES, ids=[r[0] for r in REAL_FILES]
)
def test_real_file_detected_and_read(relpath, fmt, beats, hr, skipped):
    path = require_data(relpath)
    assert rr_file_detect(path) == fmt
    t0 = time.perf_counter()
    rr = rr_file_read(path, tz="UTC")
    took = time.perf_counter() - t0
    check_invariants(rr)
    assert rr.format == fmt
    assert len(rr) == beats
    assert mean_hr(rr) == pytest.approx(hr, abs=0.05)
    assert rr.skipped_lines == skipped
    assert took < 1.0, f"{relpath}: {took:.2f} s"


def test_physionet_first_value_is_an_offset_not_an_rr():
    path = require_data("physionet_24h/nsr2db_nsr001_rr_secs.txt")
    first, second = (float(x) for x in path.read_text().split()[:2])
    assert first == 225.796875  # 3.8 minutes: clearly not an RR interval
    rr = rr_file_read(path)
    assert rr.rr_ms[0] == second * 1000
    assert any("offset" in n and "225.797" in n for n in rr.notes)
    # chf201's offset (5.9 s) would pass for a long pause: the format, not the value, decides.
    chf = rr_file_read(require_data("physionet_24h/chf2db_chf201_rr_secs.txt"))
    assert chf.rr_ms[0] == 757.8125
    # 1/128 s quantisation survives the conversion exactly.
    ticks = rr.rr_ms / 1000 * 128
    np.testing.assert_array_equal(ticks, np.round(ticks))


def test_physionet_nsr003_keeps_its_37_s_gap():
    rr = rr_file_read(require_data("physionet_24h/nsr2db_nsr003_rr_secs.txt"))
    assert rr.rr_ms.max() == 37_000.0
    assert any("longer than 3 s" in n for n in rr.notes)


def test_fatmaxxer_timestamps_span_102_minutes_with_4_2_s_dropout():
    rr = rr_file_read(require_data("polar_h10_exercise/FatMaxOptimiser.20210606_161059.rr.csv"))
    assert rr.epoch_ms[0] == 1622959867016
    span_min = (rr.epoch_ms[-1] - rr.epoch_ms[0]) / 60_000
    assert 101.5 < span_min < 102.5  # README: 102 min
    assert rr.rr_ms.max() == 4189  # README: dropouts up to 4.2 s
    assert datetime.fromtimestamp(rr.epoch_ms[0] / 1000, UTC).date().isoformat() == "2021-06-06"


def test_selfloops_original_and_conversion_agree():
    orig_path = require_data("selfloops_daily/original_selfloops_20170804001r.txt")
    orig = rr_file_read(orig_path, tz="UTC")
    conv = rr_file_read(require_data("selfloops_daily/selfloops_20170804001r_rr.csv"))
    np.testing.assert_array_equal(orig.rr_ms, conv.rr_ms)
    np.testing.assert_array_equal(orig.hr_bpm, conv.hr_bpm)
    # The first line "04 August 2017 12:53:19" is local time without a zone.
    assert orig.start_epoch_ms == utc_ms(2017, 8, 4, 12, 53, 19)
    assert orig.epoch_ms[0] == orig.start_epoch_ms - 42  # first beat 42 ms before the start
    assert (orig.epoch_ms[-1] - orig.epoch_ms[0]) / 3_600_000 == pytest.approx(8.05, abs=0.01)
    berlin = rr_file_read(orig_path, tz="Europe/Berlin")
    assert orig.start_epoch_ms - berlin.start_epoch_ms == 2 * 3_600_000  # CEST
    # The conversion's t_ms is relative time: no Unix epoch to offer.
    assert conv.epoch_ms is None and conv.start_epoch_ms is None
    assert any("t_ms" in n and "not used" in n for n in conv.notes)


def test_labeled_ecg_condition_means_match_readme_via_epoch_ms():
    rr = rr_file_read(require_data("labeled_conditions_p37/vu_ams_ecg_rr_labeled.csv"))
    events = pd.read_csv(require_data("labeled_conditions_p37/events_with_epoch_ms.csv"))
    readme = {
        "sitting": 55.8,
        "arithmetic": 57.9,
        "recovery": 57.2,
        "standing": 65.9,
        "breathing": 53.9,
        "neurotask": 54.8,
        "walking": 72.6,
        "biking": 99.8,
    }
    for condition, expected in readme.items():
        ev = events[events.conditions == condition].set_index("datapoint").epoch_ms
        inside = (rr.epoch_ms >= ev["start"]) & (rr.epoch_ms < ev["end"])
        assert 60000 / rr.rr_ms[inside].mean() == pytest.approx(expected, abs=0.05), condition


@pytest.mark.parametrize("device", ["kyto", "heartmath", "rhythm"])
def test_hrv_logger_originals_match_their_conversions(device):
    orig = rr_file_read(require_data(f"labeled_conditions_p37/original_test_{device}.csv"))
    conv = rr_file_read(require_data(f"labeled_conditions_p37/{device}_rr_labeled.csv"))
    assert orig.format == "hrv-logger" and conv.format == "csv-rr_ms"
    np.testing.assert_array_equal(orig.rr_ms, conv.rr_ms)
    np.testing.assert_array_equal(orig.epoch_ms, conv.epoch_ms)


def test_polar_h10_rr_only_nanosecond_times():
    rr = rr_file_read(require_data("polar_h10_ectopic/polar_h10_rr_only.csv"))
    assert rr.epoch_ms[0] == pytest.approx(1714920600436.2373, abs=1e-3)
    assert (rr.epoch_ms[-1] - rr.epoch_ms[0]) / 60_000 == pytest.approx(10.0, abs=0.1)  # README: 10 min


def test_mixed_ecg_table_yields_the_same_rr_as_the_rr_only_file():
    mixed = rr_file_read(require_data("polar_h10_ectopic/polar_h10_ecg130hz_hr_rr.csv"))
    only = rr_file_read(require_data("polar_h10_ectopic/polar_h10_rr_only.csv"))
    np.testing.assert_array_equal(mixed.rr_ms, only.rr_ms)
    np.testing.assert_array_equal(mixed.epoch_ms, only.epoch_ms)
    assert mixed.skipped_lines == 77_298  # ECG sample rows without an RR value, counted


def test_pyhrv_long_series_mean_nn_matches_pyhrv_report():
    rr = rr_file_read(require_data("pyhrv_reference/SampleNNISeriesLong_ms.csv"))
    assert len(rr) == 4_684
    assert float(rr.rr_ms.mean()) == pytest.approx(768.438, abs=5e-4)


@pytest.mark.parametrize(
    "relpath",
    [
        "pyhrv_reference/SampleECG_bitalino_1000hz_adc10bit.csv",  # one column, but ECG samples
        "pyhrv_reference/original_SampleNNISeriesLong.npy",  # binary
        "pyhrv_reference/original_SampleReport_for_SampleNNISeriesLong.txt",  # a report, not a series
        "polar_h10_exercise/FatMaxOptimiser.20210606_161059.features.csv",  # features, no RR column
        "labeled_conditions_p37/events_with_epoch_ms.csv",
    ],
)
def test_real_non_rr_files_are_refused(relpath):
    path = require_data(relpath)
    with pytest.raises(RRFormatError) as info:
        rr_file_read(path)
    assert_names_every_format(str(info.value))


# ---------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------

MONTHS = "January February March April May June July August September October November December".split()
rr_ms_values = st.lists(st.integers(250_000, 2_500_000).map(lambda v: v / 1000), min_size=1, max_size=200)
naive_starts = st.datetimes(min_value=datetime(2012, 1, 1), max_value=datetime(2035, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)


def _write_rr_lines_ms(data, path):
    rr = data.draw(rr_ms_values)
    header = data.draw(st.sampled_from(["", "RR (ms)\n", "# exported\n\nRR\n"]))
    path.write_text(header + "\n".join(repr(v) for v in rr) + "\n")
    return "rr-lines", np.array(rr), None, None


def _write_rr_lines_seconds(data, path):
    ms = data.draw(st.lists(st.integers(250, 2500), min_size=1, max_size=200))
    path.write_text("\n".join(str(v / 1000) for v in ms) + "\n")
    return "rr-lines", np.array(ms, dtype=float), None, None


def _write_physionet(data, path):
    ticks = data.draw(st.lists(st.integers(32, 320), min_size=16, max_size=200))
    assume(np.mean(np.array(ticks) % 4 == 0) <= 0.5)  # a real 128 Hz series uses the fine grid
    offset = data.draw(st.integers(1, 128 * 600))
    path.write_text("".join(f"{t / 128:.8f}\n" for t in [offset, *ticks]))
    return "physionet-rr-secs", np.array(ticks) / 128 * 1000, None, None


def _write_hrv_logger(data, path):
    rr = np.array(data.draw(st.lists(st.integers(250, 2500), min_size=1, max_size=200)))
    base = data.draw(st.integers(1_400_000_000_000, 1_900_000_000_000))
    header = data.draw(st.sampled_from(["timestamp,rr,since_start", "timestamp, rr, since_start "]))
    stamps = base + np.cumsum(rr)
    body = "".join(f"{t},{r},{s}\n" for t, r, s in zip(stamps, rr, np.cumsum(rr) - rr, strict=True))
    path.write_text(f"{header}\n\n{body}")
    return "hrv-logger", rr.astype(float), stamps.astype(float), None


def _write_polar_sensor_logger(data, path):
    rr = np.array(data.draw(st.lists(st.integers(250, 2500), min_size=1, max_size=200)))
    start = data.draw(naive_starts)
    offsets = np.cumsum(rr)
    lines = [f"{iso_ms(start, o)};{r}" for o, r in zip(offsets, rr, strict=True)]
    path.write_text("Phone timestamp;RR-interval [ms]\n" + "\n".join(lines) + "\n")
    epoch = start.replace(tzinfo=UTC).timestamp() * 1000 + offsets
    return "polar-sensor-logger", rr.astype(float), epoch, None


def _write_selfloops(data, path):
    rr = np.array(data.draw(st.lists(st.integers(250, 2500), min_size=1, max_size=200)))
    start = data.draw(naive_starts)
    lead = data.draw(st.integers(-300, 300))
    t = np.cumsum(rr) - rr[0] + lead
    hr = np.round(60000 / rr).astype(int)
    first = f"{start.day:02d} {MONTHS[start.month - 1]} {start.year} {start:%H:%M:%S}"
    head = f"{first}\nTime (ms),HR (bpm),R-R (ms)\n"
    path.write_text(head + "".join(f"{a},{b},{c}\n" for a, b, c in zip(t, hr, rr, strict=True)))
    epoch = start.replace(tzinfo=UTC).timestamp() * 1000 + t
    return "selfloops", rr.astype(float), epoch, hr.astype(float)


def _write_generic_csv(data, path):
    rr = np.array(data.draw(rr_ms_values))
    base = data.draw(st.integers(1_400_000_000_000, 1_900_000_000_000))
    epoch = base + np.cumsum(np.round(rr)).astype(np.int64)
    hr = np.round(60000 / rr, 1)
    delim = data.draw(st.sampled_from([",", ";", "\t"]))
    order = data.draw(st.permutations(["epoch_ms", "rr_ms", "hr_bpm"]))
    cols = {
        "epoch_ms": [str(int(v)) for v in epoch],
        "rr_ms": [repr(float(v)) for v in rr],
        "hr_bpm": [repr(float(v)) for v in hr],
    }
    rows = [delim.join(cols[c][i] for c in order) for i in range(len(rr))]
    path.write_text(delim.join(order) + "\n" + "\n".join(rows) + "\n")
    return "csv-rr_ms", rr, epoch.astype(float), hr


WRITERS = {
    "rr-lines (ms)": _write_rr_lines_ms,
    "rr-lines (s)": _write_rr_lines_seconds,
    "physionet-rr-secs": _write_physionet,
    "hrv-logger": _write_hrv_logger,
    "polar-sensor-logger": _write_polar_sensor_logger,
    "selfloops": _write_selfloops,
    "csv-rr_ms": _write_generic_csv,
}


@pytest.mark.parametrize("writer", list(WRITERS), ids=list(WRITERS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_write_then_read_round_trips(writer, data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rr.txt"
        fmt, rr, epoch, hr = WRITERS[writer](data, path)
        got = rr_file_read(path, tz="UTC")
        check_invariants(got)
        assert got.format == fmt
        assert got.skipped_lines == (path.read_text().count("\n") - len(rr) if fmt == "rr-lines" else 0)
        np.testing.assert_allclose(got.rr_ms, rr, rtol=1e-12, atol=0)
        if epoch is None:
            assert got.epoch_ms is None
        else:
            np.testing.assert_allclose(got.epoch_ms, epoch, rtol=0, atol=1e-3)
        if hr is None:
            assert got.hr_bpm is None
        else:
            np.testing.assert_array_equal(got.hr_bpm, hr)


@settings(max_examples=300, deadline=None)
@given(
    content=st.one_of(
        st.binary(max_size=600),
        st.text(alphabet="0123456789.,;\t -+eE:TZnaNrRms_()[]\n\r", max_size=600).map(str.encode),
        st.lists(
            st.sampled_from(
                [
                    "Phone timestamp;RR-interval [ms]",
                    "timestamp,rr,since_start",
                    "Time (ms),HR (bpm),R-R (ms)",
                    "04 August 2017 12:53:19",
                    "epoch_ms,rr_ms",
                    "2024-03-09T22:15:01.123;812",
                    "1700000000812,812,0",
                    "-42,102,618",
                    "812",
                    "0.5078125",
                    "",
                    "nan",
                    "-1e308",
                    '"812',
                ]
            ),
            max_size=40,
        ).map(lambda ls: "\n".join(ls).encode()),
    )
)
def test_any_bytes_give_rrseries_or_rrformaterror(content):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.txt"
        path.write_bytes(content)
        try:
            rr = rr_file_read(path, tz="UTC")
        except RRFormatError:
            return
        check_invariants(rr)
