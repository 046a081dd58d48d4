"""Heart Rate Measurement parser: real payloads, encode/parse round trip, random bytes."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attune.ingest.hrm import (
    HeartRateMeasurement,
    HrmError,
    HrmErrorCode,
    hrm_encode,
    hrm_parse,
    rr_1024_to_ms,
)


def _payload_rows(shared_data: Path) -> list[dict[str, str]]:
    with open(shared_data / "ble_hrm_payloads" / "ble_2a37_real_payloads.csv", newline="") as f:
        return list(csv.DictReader(f))


def _publisher_claims(text: str) -> tuple[int | None, list[float] | None]:
    """Pull HR and RR (ms) out of a publisher's free-text decode, where it states them."""
    hr = re.search(r"HR\s*=\s*(\d+)", text)
    rr: list[float] | None = None
    ms = re.search(r"RR\s*=\s*([\d.]+(?:\s*ms)?(?:\s*,\s*[\d.]+\s*ms)*)", text)
    if ms and "ms" in ms.group(1):
        rr = [float(v) for v in re.findall(r"([\d.]+)\s*ms", ms.group(1))]
    ticks = re.search(r"RR\s*=\s*(\d+)/1024", text)
    if ticks:
        rr = [rr_1024_to_ms(int(ticks.group(1)))]
    return (int(hr.group(1)) if hr else None), rr


def test_real_payloads_match_publishers_and_spec_columns(shared_data: Path) -> None:
    rows = _payload_rows(shared_data)
    assert len(rows) == 30
    checked_claims = 0
    for row in rows:
        result = hrm_parse(bytes.fromhex(row["payload_hex"]))
        if row["spec_trailing_bytes"] != "0":
            # odd-length rows are robustness cases: a typed error, never an exception
            assert isinstance(result, HrmError), row["capture_id"]
            assert result.code is HrmErrorCode.ODD_RR_BYTES
            continue
        assert isinstance(result, HeartRateMeasurement), (row["capture_id"], result)
        assert result.flags == int(row["spec_flags"], 16)
        assert result.hr_bpm == int(row["spec_hr_bpm"])
        expected_ticks = [int(v) for v in row["spec_rr_1024"].split(";") if v]
        assert list(result.rr_1024) == expected_ticks
        hr, rr = _publisher_claims(row["publisher_decoded"])
        if hr is not None:
            assert result.hr_bpm == hr, row
            checked_claims += 1
        if rr is not None:
            assert result.rr_ms == pytest.approx(rr, abs=1e-6), row
            checked_claims += 1
    # the publishers state values for a handful of rows; all of them must be checked
    assert checked_claims >= 8


def test_contact_and_energy_fields() -> None:
    assert hrm_parse(bytes.fromhex("063c")).contact is True  # supported + detected
    assert hrm_parse(bytes.fromhex("043c")).contact is False  # supported, not detected
    assert hrm_parse(bytes.fromhex("003c")).contact is None  # not supported
    # energy expended shifts the RR offset by two bytes
    m = hrm_parse(bytes([0x18, 70, 0x34, 0x12, 0x00, 0x04]))
    assert isinstance(m, HeartRateMeasurement)
    assert m.energy_kj == 0x1234 and m.rr_1024 == (1024,)
    # uint16 heart rate
    m = hrm_parse(bytes([0x01, 0x2C, 0x01]))
    assert isinstance(m, HeartRateMeasurement) and m.hr_bpm == 300


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"", HrmErrorCode.EMPTY),
        (b"\x10", HrmErrorCode.TRUNCATED),
        (b"\x01\x3c", HrmErrorCode.TRUNCATED),
        (b"\x08\x3c\x01", HrmErrorCode.TRUNCATED),
        (b"\x10\x3c\x00\x04\x01", HrmErrorCode.ODD_RR_BYTES),
        (b"\x00\x3c\x99", HrmErrorCode.TRAILING_BYTES),
    ],
)
def test_malformed_payloads_return_typed_errors(payload: bytes, code: HrmErrorCode) -> None:
    result = hrm_parse(payload)
    assert isinstance(result, HrmError)
    assert result.code is code
    assert result.payload == payload


def test_hr_above_127_is_unsigned() -> None:
    m = hrm_parse(bytes([0x00, 0xB4]))
    assert isinstance(m, HeartRateMeasurement) and m.hr_bpm == 180


@given(
    hr=st.integers(0, 0xFFFF),
    rr=st.lists(st.integers(0, 0xFFFF), max_size=9),
    contact=st.sampled_from([None, True, False]),
    energy=st.one_of(st.none(), st.integers(0, 0xFFFF)),
)
def test_encode_parse_round_trip(hr: int, rr: list[int], contact: bool | None, energy: int | None) -> None:
    m = hrm_parse(hrm_encode(hr, rr, contact=contact, energy_kj=energy))
    assert isinstance(m, HeartRateMeasurement)
    assert (m.hr_bpm, m.rr_1024, m.contact, m.energy_kj) == (hr, tuple(rr), contact, energy)


@given(st.binary(max_size=40))
def test_random_bytes_never_raise(payload: bytes) -> None:
    result = hrm_parse(payload)
    assert isinstance(result, (HeartRateMeasurement, HrmError))
    if isinstance(result, HeartRateMeasurement):
        # a successful parse must account for every byte of the payload
        assert hrm_encode(
            result.hr_bpm, result.rr_1024, contact=result.contact, energy_kj=result.energy_kj,
            hr_uint16=bool(result.flags & 1),
        )[1:] == payload[1:]
