"""One writer and one reader of the ingest tables (issue 11), and plausibility flags
computed in one place, bit for bit as before, on real data."""

from __future__ import annotations

import csv
import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from test_timestamps import _fatmaxxer_packets as fatmaxxer_packets

from attune.db import db_connect
from attune.ingest.events import DeviceInfo
from attune.ingest.formats import rr_file_read
from attune.ingest.hrm import HeartRateMeasurement, HrmError, hrm_parse
from attune.ingest.plausibility import RR_MAX_MS, RR_MIN_MS, TRAILING_RATIO, BeatFlag, beat_flags, beat_flags_for
from attune.ingest.store import beats_count, beats_read, series_store

REPO = Path(__file__).resolve().parent.parent


# -- the flags as they were computed before (per packet in the recorder, vectorised at import)
def _packet_flags_before(m: HeartRateMeasurement, previous_rr_1024: int | None) -> list[int]:
    rr = m.rr_1024
    packet_flags = 0
    if m.hr_bpm == 0:
        packet_flags |= BeatFlag.HR_ZERO
    if m.contact is False:
        packet_flags |= BeatFlag.NO_CONTACT
    flags = []
    for i, ticks in enumerate(rr):
        f = packet_flags
        rr_ms = ticks * 1000.0 / 1024
        if not RR_MIN_MS <= rr_ms <= RR_MAX_MS:
            f |= BeatFlag.RR_OUT_OF_RANGE
        if i == 0 and previous_rr_1024 is not None and ticks == previous_rr_1024 and len(rr) == 1:
            f |= BeatFlag.RR_REPEATED
        if i == len(rr) - 1 and i > 0:
            before = rr[i - 1]
            if before and abs(ticks - before) > TRAILING_RATIO * before:
                f |= BeatFlag.RR_TRAILING_SUSPECT
        flags.append(int(f))
    return flags


def _import_flags_before(rr: np.ndarray, hr: object) -> np.ndarray:
    flags = np.where((rr < RR_MIN_MS) | (rr > RR_MAX_MS), int(BeatFlag.RR_OUT_OF_RANGE), 0).astype(np.int64)
    if hr is not None:
        flags |= np.where(np.asarray(hr) == 0, int(BeatFlag.HR_ZERO), 0).astype(np.int64)
    return flags


def _fatmaxxer_packets(shared_data: Path) -> list[list[int]]:
    """The FatMaxxer log's notifications (see test_timestamps), as 1/1024 s ticks."""
    return [[round(v * 1.024) for v in rr] for _, rr in fatmaxxer_packets(shared_data)]


def test_recorder_flags_are_bit_identical_on_the_fatmaxxer_log(shared_data: Path) -> None:
    packets = _fatmaxxer_packets(shared_data)
    assert sum(map(len, packets)) == 11463
    # every HR/contact case, and the range edges (255/256 and 2560/2561 ticks), on real RR chains
    packets += [[255, 256], [2560, 2561], [0], [256], [256], [900, 100, 900]]
    seen = 0
    previous: int | None = None
    for k, ticks in enumerate(packets):
        m = HeartRateMeasurement(0x10, 0 if k % 11 == 0 else 60, (None, True, False)[k % 3], None, tuple(ticks))
        got = beat_flags_for(m, previous)
        assert got == _packet_flags_before(m, previous), (k, ticks)
        assert all(type(f) is int for f in got)
        seen |= np.bitwise_or.reduce(got)
        previous = ticks[-1]
    wanted = (BeatFlag.RR_OUT_OF_RANGE | BeatFlag.HR_ZERO | BeatFlag.RR_REPEATED | BeatFlag.RR_TRAILING_SUSPECT
              | BeatFlag.NO_CONTACT)
    assert seen == wanted  # every flag the function sets was exercised


def test_recorder_flags_are_bit_identical_on_real_payloads(shared_data: Path) -> None:
    with open(shared_data / "ble_hrm_payloads" / "ble_2a37_real_payloads.csv", newline="") as f:
        payloads = [bytes.fromhex(r["payload_hex"]) for r in csv.DictReader(f)]
    parsed = [m for m in map(hrm_parse, payloads) if not isinstance(m, HrmError)]
    assert len(payloads) >= 30 and len(parsed) >= 25
    for m in parsed:
        for previous in (None, *m.rr_1024[:1], 1):
            assert beat_flags_for(m, previous) == _packet_flags_before(m, previous)


def test_import_flags_are_bit_identical_on_every_real_recording(shared_data: Path) -> None:
    checked = 0
    for path in sorted(shared_data.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in (".csv", ".txt") or "payloads" in str(path):
            continue
        try:
            series = rr_file_read(path)
        except Exception:  # files no reader takes are not this test's business
            continue
        rr = np.asarray(series.rr_ms, dtype=float)
        assert np.array_equal(beat_flags(rr, series.hr_bpm), _import_flags_before(rr, series.hr_bpm)), path
        # no real file reports HR 0 or leaves HR out: the same RR with such HR columns
        k = np.arange(rr.size)
        hr = np.where(k % 50 == 0, 0.0, np.where(k % 77 == 0, np.nan, 60.0))
        assert np.array_equal(beat_flags(rr, hr), _import_flags_before(rr, hr)), path
        checked += 1
    assert checked >= 50


def test_vectorised_flags_over_a_recording_equal_the_per_packet_ones(shared_data: Path) -> None:
    """The recorder's per-packet flags are the vectorised ones plus the packet-only flags."""
    packets = _fatmaxxer_packets(shared_data)
    ticks = np.concatenate([np.asarray(p) for p in packets])
    hr = np.concatenate([np.full(len(p), 0 if k % 7 == 0 else 80) for k, p in enumerate(packets)])
    off = np.concatenate([np.full(len(p), k % 5 == 0) for k, p in enumerate(packets)])
    whole = beat_flags(ticks * 1000.0 / 1024, hr, no_contact=off)
    per_packet: list[int] = []
    previous: int | None = None
    for k, p in enumerate(packets):
        m = HeartRateMeasurement(0x16, 0 if k % 7 == 0 else 80, k % 5 != 0, None, tuple(p))
        per_packet += beat_flags_for(m, previous)
        previous = p[-1]
    packet_only = int(BeatFlag.RR_REPEATED | BeatFlag.RR_TRAILING_SUSPECT)
    assert np.array_equal(np.asarray(per_packet) & ~packet_only, whole)


# -- one reader, one span rule -----------------------------------------------------------------------
@pytest.fixture
def stored(db_path: Path) -> sqlite3.Connection:
    conn = db_connect(db_path)
    epoch = np.array([1000, 2000, 2000, 3000, 4000, 5000], dtype=np.int64)
    rr = np.array([800.0, 1000.0, 1001.0, 1000.0, 1000.0, 1000.0])
    with conn:
        series_store(conn, DeviceInfo("import:test"), "import", np.array([0, 0, 0, 1, 1, 1]), epoch, rr,
                     [60, None, 60, 0, 60, 60], beat_flags(rr, [60, np.nan, 60, 0, 60, 60]), reasons="import")
    return conn


def test_beats_read_is_half_open_at_both_boundaries(stored: sqlite3.Connection) -> None:
    def times(a: int | None, b: int | None) -> list[int]:
        got = [epoch_ms for epoch_ms, *_ in beats_read(stored, a, b)]
        assert beats_count(stored, a, b) == len(got)
        return got

    assert times(2000, 4000) == [2000, 2000, 3000]  # from included, to excluded
    assert times(1999, 4001) == [2000, 2000, 3000, 4000]
    assert times(2001, 3000) == []
    assert times(2000, 2001) == [2000, 2000]
    assert times(None, 2000) == [1000]
    assert times(5000, None) == [5000]
    assert times(None, None) == [1000, 2000, 2000, 3000, 4000, 5000]
    rows = list(beats_read(stored, 2000, 2001))
    assert rows == [(2000, 1000.0, None, rows[0][3], 0), (2000, 1001.0, 60, rows[0][3], 0)]  # storage order


def test_series_store_writes_segments_in_order(stored: sqlite3.Connection) -> None:
    segments = stored.execute("SELECT id, source, reason, started_epoch_ms FROM segment ORDER BY id").fetchall()
    assert [tuple(s)[1:] for s in segments] == [("import", "import", 1000), ("import", "import", 3000)]
    beats = list(beats_read(stored))
    assert [b[3] for b in beats] == [segments[0][0]] * 3 + [segments[1][0]] * 3
    assert [b[4] for b in beats] == [0, 0, 0, int(BeatFlag.HR_ZERO), 0, 0]


def test_ingest_rows_are_written_in_one_module_only() -> None:
    """No other production module inserts device, segment, packet or beat rows."""
    pattern = re.compile(r"INSERT\s+(?:OR\s+\w+\s+)?INTO\s+(device|segment|packet|beat)\b", re.IGNORECASE)
    writers = sorted({str(p.relative_to(REPO)) for folder in ("attune", "ingest", "signals", "api")
                      for p in (REPO / folder).rglob("*.py") if pattern.search(p.read_text(encoding="utf-8"))})
    assert writers == ["ingest/store.py"]
