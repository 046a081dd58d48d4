"""Running Speed and Cadence Measurement (0x2A53): vectors laid out by hand from the
Bluetooth SIG RSC Service layout (flags, uint16 speed 1/256 m/s, uint8 cadence 1/min,
[uint16 stride 1/100 m], [uint32 distance 1/10 m], little-endian), malformed bytes and
encode/parse round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attune.ingest.rsc import RscMalformed, RscMeasurement, rsc_encode, rsc_parse


@pytest.mark.parametrize(("hex_", "expected"), [
    # walking, 3.0 m/s (768/256), 80 steps/min, nothing optional
    ("00 00 03 50", RscMeasurement(3.0, 80, False)),
    # running, 2.5 m/s (640), 170/min, stride 1.25 m (125), distance 1234.5 m (12345)
    ("07 80 02 aa 7d 00 39 30 00 00", RscMeasurement(2.5, 170, True, 1.25, 1234.5)),
    # total distance only (flag bit 1): 1000.0 m (10000), standing still
    ("02 00 00 00 10 27 00 00", RscMeasurement(0.0, 0, False, None, 1000.0)),
    # reserved flag bits and trailing bytes are ignored, as the spec asks of a client
    ("f8 01 01 ff 00", RscMeasurement(257 / 256, 255, False)),
])
def test_spec_layout(hex_: str, expected: RscMeasurement) -> None:
    assert rsc_parse(bytes.fromhex(hex_)) == expected


@pytest.mark.parametrize("hex_", ["", "00", "00 00 03", "01 00 03 50", "01 00 03 50 7d", "03 00 03 50 7d 00 39 30 00"])
def test_malformed_is_returned_not_raised(hex_: str) -> None:
    got = rsc_parse(bytes.fromhex(hex_))
    assert isinstance(got, RscMalformed)
    assert got.payload == bytes.fromhex(hex_)
    assert "bytes" in str(got)


@given(speed_256=st.integers(0, 0xFFFF), cadence=st.integers(0, 0xFF), running=st.booleans(),
       stride=st.none() | st.integers(0, 0xFFFF), distance=st.none() | st.integers(0, 0xFFFFFFFF))
def test_round_trip(speed_256: int, cadence: int, running: bool, stride: int | None, distance: int | None) -> None:
    payload = rsc_encode(speed_256 / 256, cadence, running=running,
                         stride_m=None if stride is None else stride / 100,
                         distance_m=None if distance is None else distance / 10)
    m = rsc_parse(payload)
    assert isinstance(m, RscMeasurement)
    assert (round(m.speed_m_s * 256), m.cadence_spm, m.running) == (speed_256, cadence, running)
    assert m.stride_m == (None if stride is None else stride / 100)
    assert m.distance_m == (None if distance is None else distance / 10)


def test_encode_refuses_what_does_not_fit() -> None:
    with pytest.raises(ValueError, match="out of range"):
        rsc_encode(1.0, 256)


def test_docstring_example() -> None:
    import doctest

    import attune.ingest.rsc as rsc

    result = doctest.testmod(rsc, verbose=False)
    assert result.attempted > 0 and result.failed == 0
