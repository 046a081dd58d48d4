"""Polar Measurement Data: fixed vectors from Polar's SDK tests and open code, encode/parse
round trips on real chest motion, random bytes, and the sensor clock's properties."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attune.errors import AttuneError
from attune.ingest.pmd import (
    PMD_CONTROL_POINT_UUID,
    PMD_DATA_UUID,
    PMD_EPOCH_UNIX_NS,
    PMD_SERVICE_UUID,
    AccFrame,
    PmdAccStream,
    PmdDeviceStopped,
    PmdError,
    PmdErrorCode,
    PmdMalformed,
    PmdMalformedCode,
    PmdMeasurementType,
    PmdOpCode,
    PmdResponse,
    PmdSettings,
    PmdSettingType,
    SensorClock,
    pmd_acc_encode,
    pmd_acc_encode_delta,
    pmd_acc_parse,
    pmd_acc_settings_choose,
    pmd_delta_decode,
    pmd_delta_encode,
    pmd_features_encode,
    pmd_features_parse,
    pmd_frame_header_encode,
    pmd_request_get_settings,
    pmd_request_start,
    pmd_request_stop,
    pmd_response_encode,
    pmd_response_parse,
    pmd_responses_join,
    pmd_settings_encode,
    pmd_settings_parse,
    pmd_t_ns_to_unix_ns,
)

ACC = PmdMeasurementType.ACC
H10_RATES_HZ = (25, 50, 100, 200)  # polar-ble-sdk documentation/products/PolarH10.md

# --------------------------------------------------------------------------- UUIDs, requests


def test_uuids() -> None:
    # polar-ble-sdk BlePMDClient.kt companion object (PMD_SERVICE, PMD_CP, PMD_DATA)
    assert PMD_SERVICE_UUID == "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
    assert PMD_CONTROL_POINT_UUID == "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
    assert PMD_DATA_UUID == "fb005c82-02e7-f387-1cad-8acd2d8df0c8"


def test_start_requests_match_open_h10_code() -> None:
    # ACC 200 Hz, 16 bit, ±8 g: `ACC_WRITE`/`START_ACC` in many open H10 scripts (e.g. the
    # polar-h10 bleak/Qt/JS/C examples found by searching "0x02, 0x02, 0x00, 0x01, 0xC8")
    assert pmd_request_start(ACC, sample_rate_hz=200, resolution_bits=16, range_g=8) == bytes.fromhex(
        "02 02 00 01 c8 00 01 01 10 00 02 01 08 00")
    # ±2 g: bleakheart's default ACC settings (200 Hz, 16 bit, range 2), and ../shared/notes/polar-pmd.md
    assert pmd_request_start(ACC, sample_rate_hz=200, resolution_bits=16, range_g=2) == bytes.fromhex(
        "02 02 00 01 c8 00 01 01 10 00 02 01 02 00")
    # ECG 130 Hz, 14 bit: `ECG_WRITE` in the same open H10 scripts
    assert pmd_request_start(PmdMeasurementType.ECG, sample_rate_hz=130, resolution_bits=14) == bytes.fromhex(
        "02 00 00 01 82 00 01 01 0e 00")
    # gyro 52 Hz, 16 bit, 2000 deg/s: `START_GYRO` in an open JS Polar client
    assert pmd_request_start(PmdMeasurementType.GYRO, sample_rate_hz=52, resolution_bits=16, range_g=2000) == bytes.fromhex(
        "02 05 00 01 34 00 01 01 10 00 02 01 d0 07")
    # the attune default: H10's lowest rate
    assert pmd_request_start(ACC, sample_rate_hz=25, resolution_bits=16, range_g=8) == bytes.fromhex(
        "02 02 00 01 19 00 01 01 10 00 02 01 08 00")


def test_stop_and_get_settings_requests() -> None:
    # `ACC_STOP_CMD = {0x03, 0x02}` in open C code; op codes from polar-ble-sdk PmdControlPointCommand
    assert pmd_request_stop(ACC) == bytes([0x03, 0x02])
    assert pmd_request_get_settings(ACC) == bytes([0x01, 0x02])
    assert pmd_request_stop(PmdMeasurementType.ECG) == bytes([0x03, 0x00])


def test_bad_request_values_are_refused() -> None:
    with pytest.raises(ValueError):
        pmd_request_start(ACC, sample_rate_hz=70000)
    with pytest.raises(ValueError):
        pmd_request_start(4)  # not a measurement type
    with pytest.raises(ValueError):
        pmd_request_start(ACC, channels=300)


# --------------------------------------------------------------------------- responses


def test_response_vector_success_with_parameters() -> None:
    # polar-ble-sdk BlePmdClientControlPointResponseTest: "F0 01 02 00 00 FF FF FF"
    r = pmd_response_parse(bytes.fromhex("F0 01 02 00 00 FF FF FF"))
    assert r == PmdResponse(PmdOpCode.GET_SETTINGS, ACC, PmdErrorCode.SUCCESS, False, b"\xff\xff\xff")
    assert r.ok and r.raise_for_error() is r


def test_response_vector_error() -> None:
    # polar-ble-sdk BlePmdClientControlPointResponseTest: "F0 01 06 07 00" (mag, invalid resolution)
    r = pmd_response_parse(bytes.fromhex("F0 01 06 07 00"))
    assert isinstance(r, PmdResponse)
    assert (r.op, r.measurement_type, r.error, r.more, r.parameters) == (1, 6, PmdErrorCode.INVALID_RESOLUTION, False, b"")
    with pytest.raises(PmdError, match="invalid resolution"):
        r.raise_for_error()


@pytest.mark.parametrize(("code", "words"), [(13, "device in charger"), (6, "already in state"),
                                              (5, "invalid parameter"), (14, "disk full"), (99, "unknown error")])
def test_errors_are_one_line_attune_errors(code: int, words: str) -> None:
    r = pmd_response_parse(pmd_response_encode(PmdOpCode.START, ACC, code))
    assert isinstance(r, PmdResponse) and not r.ok
    with pytest.raises(PmdError) as info:
        r.raise_for_error()
    err = info.value
    assert isinstance(err, AttuneError) and err.exit_code == 2
    assert words in str(err) and "\n" not in str(err)
    assert "start ACC" in str(err) and f"PMD error {code}" in str(err)
    assert (err.op, err.measurement_type, err.code) == (PmdOpCode.START, ACC, code)


def test_every_error_code_has_a_message() -> None:
    assert [c.value for c in PmdErrorCode] == list(range(15))
    assert all(c.message for c in PmdErrorCode)


def test_settings_answer_round_trip_h10_like() -> None:
    offered = {PmdSettingType.SAMPLE_RATE: H10_RATES_HZ, PmdSettingType.RESOLUTION: (16,), PmdSettingType.RANGE: (2, 4, 8)}
    answer = pmd_response_encode(PmdOpCode.GET_SETTINGS, ACC, parameters=pmd_settings_encode(offered))
    r = pmd_response_parse(answer)
    assert isinstance(r, PmdResponse)
    s = r.settings()
    assert isinstance(s, PmdSettings)
    assert s.sample_rates_hz == H10_RATES_HZ and s.resolutions_bits == (16,) and s.ranges_g == (2, 4, 8)
    assert s.factor is None


def test_acc_settings_choose() -> None:
    h10 = PmdSettings({PmdSettingType.SAMPLE_RATE: H10_RATES_HZ, PmdSettingType.RESOLUTION: (16,),
                       PmdSettingType.RANGE: (2, 4, 8)})
    assert pmd_acc_settings_choose(h10) == {"sample_rate_hz": 25, "resolution_bits": 16, "range_g": 8}
    assert pmd_request_start(ACC, **pmd_acc_settings_choose(h10)) == bytes.fromhex("02 02 00 01 19 00 01 01 10 00 02 01 08 00")
    assert pmd_acc_settings_choose(h10, sample_rate_hz=60, range_g=3) == {"sample_rate_hz": 100, "resolution_bits": 16, "range_g": 4}
    assert pmd_acc_settings_choose(h10, sample_rate_hz=500, range_g=16) == {"sample_rate_hz": 200, "resolution_bits": 16, "range_g": 8}
    # a device that lists no range (values made up for the test)
    no_range = PmdSettings({PmdSettingType.SAMPLE_RATE: (26, 52, 104, 208), PmdSettingType.RESOLUTION: (16,),
                               PmdSettingType.CHANNELS: (3,)})
    assert pmd_acc_settings_choose(no_range) == {"sample_rate_hz": 26, "resolution_bits": 16}


def test_settings_factor_and_channels() -> None:
    # FACTOR is a float32 (polar-ble-sdk BlePMDClient.getFactor: intBitsToFloat); CHANNELS 1 byte
    params = pmd_settings_encode({PmdSettingType.CHANNELS: 3, PmdSettingType.FACTOR: 2.44e-4})
    assert params[:3] == bytes([4, 1, 3])
    s = pmd_settings_parse(params)
    assert isinstance(s, PmdSettings)
    assert s.get(PmdSettingType.CHANNELS) == (3,)
    assert s.factor == pytest.approx(2.44e-4, rel=1e-6)


@pytest.mark.parametrize("params", ["00", "00 02 19 00", "03 01 00", "09 01 00 00", "05 01 00 00 80"])
def test_bad_settings_are_typed(params: str) -> None:
    s = pmd_settings_parse(bytes.fromhex(params))
    assert isinstance(s, PmdMalformed)
    assert s.code in (PmdMalformedCode.TRUNCATED, PmdMalformedCode.BAD_SETTING)


def test_more_flag_joins_parameters() -> None:
    full = pmd_settings_encode({PmdSettingType.SAMPLE_RATE: H10_RATES_HZ, PmdSettingType.RANGE: (2, 4, 8)})
    cut = 5
    first = pmd_response_parse(pmd_response_encode(1, ACC, more=True, parameters=full[:cut]))
    second = pmd_response_parse(pmd_response_encode(1, ACC, parameters=full[cut:]))
    assert isinstance(first, PmdResponse) and isinstance(second, PmdResponse)
    assert first.more and not second.more
    assert isinstance(first.settings(), PmdMalformed)  # half an answer is not settings
    joined = pmd_responses_join([first, second])
    assert not joined.more and joined.settings() == pmd_settings_parse(full)


def test_device_message_and_non_responses() -> None:
    # polar-ble-sdk BlePMDClient.processPmdCpCommand: 0x01 = online measurement stopped, then types
    assert pmd_response_parse(bytes([0x01, 0x02, 0x00])) == PmdDeviceStopped((ACC, PmdMeasurementType.ECG))
    assert pmd_response_parse(b"").code == PmdMalformedCode.EMPTY
    assert pmd_response_parse(bytes([0x0F, 0x05])).code == PmdMalformedCode.NOT_A_RESPONSE
    assert pmd_response_parse(bytes([0xF0, 0x02, 0x02])).code == PmdMalformedCode.TRUNCATED


def test_features_h10() -> None:
    # bleakheart available_measurements: read gives 0x0F then flags; "for the H10 ... ['ECG', 'ACC']"
    assert pmd_features_parse(bytes([0x0F, 0x05])) == frozenset({PmdMeasurementType.ECG, ACC})
    every = [t for t in PmdMeasurementType]
    assert pmd_features_parse(pmd_features_encode(every)) == frozenset(every)
    assert isinstance(pmd_features_parse(bytes([0xF0, 0x05])), PmdMalformed)


# --------------------------------------------------------------------------- ACC frame vectors

# polar-ble-sdk AccDataTest "process acc raw data frame type 1": header 02 | 00 94 35 77 00 00 00 00 | 01
SDK_RAW1_HEADER = "02 00 94 35 77 00 00 00 00 01"
SDK_RAW1_BODY = (
    "F7 FF FF FF E7 03 F8 FF FE FF E5 03 F9 FF FF FF E5 03 FA FF FF FF E6 03 FA FF FE FF E6 03 F9 FF FF FF E5 03 "
    "F8 FF FF FF E6 03 F8 FF FE FF E6 03 FA FF FF FF E5 03 FA FF FF FF E7 03 FA FF FF FF E5 03 F8 FF FF FF E6 03 "
    "F7 FF FF FF E6 03 F8 FF FE FF E6 03 F9 FF FE FF E7 03 F9 FF 00 00 E6 03 F9 FF FF FF E6 03 F7 FF FE FF E5 03 "
    "F9 FF FF FF E5 03 F9 FF FF FF E5 03 FA FF 00 00 E6 03 F9 FF FE FF E6 03 F8 FF FF FF E6 03 F8 FF FF FF E5 03 "
    "F9 FF FF FF E6 03 F9 FF FF FF E5 03 FA FF FF FF E6 03 F9 FF FF FF E5 03 F9 FF FF FF E5 03 F8 FF FE FF E6 03 "
    "F9 FF FF FF E6 03 F9 FF FF FF E6 03 F9 FF 00 00 E5 03 F9 FF FE FF E6 03 F8 FF FE FF E6 03 F7 FF FE FF E6 03")

# polar-ble-sdk AccDataTest "process acc compressed data type 0" (frame type 0x80, factor 2.44E-4, range 8 g)
SDK_DELTA0_HEADER = "02 00 94 35 77 00 00 00 00 80"
SDK_DELTA0_BODY = (
    "71 07 F0 6A 9E 8D 0A 38 BE 5C BE BA 2F 96 B3 EE 4B E5 AD FB 42 B9 EB BE 4C FE BA 2F 92 BF EE 4B E4 B1 FB 12 "
    "B9 EC BD 3C 3E BB 2F 8F D3 DE 4B E3 B5 F7 D2 B8 ED BD 30 7E 7B 2F 8B E3 CE 8B E2 BA F7 A2 B8 EE BC 20 BE 7B "
    "2F 88 F3 CE CB E1 BD EF 52 F8 EF BC 18 FE 3B 2F 84 03 BF CB E0 C2 EF 32 B8 F0 BB 04 4E BC 2E 81 13 AF 0B E0 "
    "C6 EF F2 F7 F1 B9 FC 7D BC 2E 7D 27 9F 4B DF CA EB C2 F7 F2 B8 EC CD 7C 2E 7B 37 8F 4B DE CE E3 92 F7 F3 B8 "
    "E0 0D FD 2D 77 4B 7F CB DD D2 DF 62 37 F5 B7 D4 4D BD 2D 74 5B 6F CB DC D7 D7 32 37 F6 B5 C8 8D 7D 2D 71 6B "
    "4F 4B DC DC D3 F2 36 F7 B4 BC DD FD 2C 6F 7B 3F 4B DB E0 CF D2 36 F8 B2 B0 2D BE 2C 6C 8F 1F CB DA E3 C7 A2 "
    "76 F9")

# polar-ble-sdk AccDataTest "process acc compressed data type 1" (frame type 0x81, time 0x65, previous 100)
SDK_DELTA1 = "02 65 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06 01 7B 0F 08"


def test_sdk_vector_raw_type1() -> None:
    frame = pmd_acc_parse(bytes.fromhex(SDK_RAW1_HEADER + SDK_RAW1_BODY), sample_rate_hz=52)
    assert isinstance(frame, AccFrame)
    assert frame.header.sensor_t_ns == 2_000_000_000
    assert len(frame.acc_mg) == len(bytes.fromhex(SDK_RAW1_BODY)) // 6 == 36
    assert frame.acc_mg[:2].tolist() == [[-9, -1, 999], [-8, -2, 997]]
    assert frame.t_ns[-1] == 2_000_000_000 and frame.timing == "sample_rate"
    assert np.allclose(np.diff(frame.t_ns), 1e9 / 52, atol=1)


def test_sdk_vector_delta_type0() -> None:
    body = bytes.fromhex(SDK_DELTA0_BODY)
    raw = pmd_delta_decode(body)
    assert isinstance(raw, np.ndarray)
    assert raw.shape == (1 + 56, 3)  # reference + one block of 0x38 samples at 0x0A bits
    assert raw[0].tolist() == [1905, 27376, -29282]
    assert raw[1].tolist() == [1905 + 190, 27376 - 105, -29282 - 85]
    factor = 2.44e-4
    frame = pmd_acc_parse(bytes.fromhex(SDK_DELTA0_HEADER) + body, sample_rate_hz=None, previous_t_ns=100, factor=factor)
    assert isinstance(frame, AccFrame) and frame.header.compressed and frame.header.frame_type == 0
    assert np.all(np.abs(frame.acc_mg) <= 8 * 1000)  # the SDK test's range check (8 g)
    assert np.abs(frame.acc_mg[:2] - np.trunc(raw[:2] * factor * 1000)).max() <= 1
    # time stamps as the SDK test: first = round(previous + (t - previous) / n), last = t
    assert frame.t_ns[0] == round(100 + (2_000_000_000 - 100) / 57)
    assert frame.t_ns[-1] == 2_000_000_000 and frame.timing == "previous_frame"


def test_sdk_vector_delta_type1() -> None:
    frame = pmd_acc_parse(bytes.fromhex(SDK_DELTA1), sample_rate_hz=None, previous_t_ns=100)
    assert isinstance(frame, AccFrame)
    assert frame.acc_mg.tolist() == [[-15, 20, 1008], [-20, 17, 1008]]
    assert frame.t_ns.tolist() == [100, 101]  # the SDK test's expected times
    assert frame.x_mg.tolist() == [-15, -20] and frame.z_mg.tolist() == [1008, 1008]


# --------------------------------------------------------------------------- malformed frames


def _acc(body: str, frame_type: int = 1) -> bytes:
    return pmd_frame_header_encode(ACC, 10**15, frame_type & 0x7F, compressed=bool(frame_type & 0x80)) + bytes.fromhex(body)


@pytest.mark.parametrize(("payload", "code"), [
    (b"", PmdMalformedCode.EMPTY),
    (bytes.fromhex("02 00 94 35"), PmdMalformedCode.TRUNCATED),
    (pmd_frame_header_encode(PmdMeasurementType.ECG, 10**15, 0, compressed=False) + bytes(9), PmdMalformedCode.WRONG_MEASUREMENT),
    (_acc("00 00 00 00 00 00", 3), PmdMalformedCode.UNSUPPORTED_FRAME_TYPE),
    (_acc("00 00 00 00 00 00", 0x82), PmdMalformedCode.UNSUPPORTED_FRAME_TYPE),
    (_acc("", 1), PmdMalformedCode.BAD_LENGTH),
    (_acc("00 00 00 00 00 00 00", 1), PmdMalformedCode.BAD_LENGTH),
    (_acc("00 00 00 00 00", 0x81), PmdMalformedCode.TRUNCATED),  # reference cut short
    (_acc("00 00 00 00 00 00 06", 0x81), PmdMalformedCode.TRUNCATED),  # block header cut short
    (_acc("00 00 00 00 00 00 06 02 ff", 0x81), PmdMalformedCode.TRUNCATED),  # block bits cut short
    (_acc("00 00 00 00 00 00 00 02 ff", 0x81), PmdMalformedCode.BAD_DELTA_BLOCK),  # zero-bit deltas
    (_acc("00 00 00 00 00 00 28 01" + " ff" * 15, 0x81), PmdMalformedCode.BAD_DELTA_BLOCK),  # 40-bit deltas
    (pmd_frame_header_encode(ACC, 1000, 1, compressed=False) + bytes(12), PmdMalformedCode.BAD_TIME),  # before epoch
    (pmd_frame_header_encode(ACC, 1 << 63, 1, compressed=False) + bytes(6), PmdMalformedCode.BAD_TIME),
])
def test_malformed_frames_are_typed(payload: bytes, code: PmdMalformedCode) -> None:
    out = pmd_acc_parse(payload, sample_rate_hz=25)
    assert isinstance(out, PmdMalformed), out
    assert out.code == code, out
    assert out.payload == payload and str(out)


def test_no_rate_and_no_previous_frame_is_typed() -> None:
    out = pmd_acc_parse(pmd_acc_encode([[0, 0, 1000]] * 3, 10**15), sample_rate_hz=None)
    assert isinstance(out, PmdMalformed) and out.code == PmdMalformedCode.BAD_TIME
    far = pmd_acc_parse(pmd_acc_encode([[0, 0, 1000]] * 3, 2**63 - 1), sample_rate_hz=None, previous_t_ns=0)
    assert isinstance(far, PmdMalformed) and far.code == PmdMalformedCode.BAD_TIME


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_only_ever_give_the_typed_error(payload: bytes) -> None:
    for out in (pmd_acc_parse(payload, sample_rate_hz=25), pmd_acc_parse(payload, sample_rate_hz=None, previous_t_ns=5)):
        assert isinstance(out, AccFrame | PmdMalformed)
    assert isinstance(pmd_response_parse(payload), PmdResponse | PmdDeviceStopped | PmdMalformed)
    assert isinstance(pmd_settings_parse(payload), PmdSettings | PmdMalformed)
    assert isinstance(pmd_features_parse(payload), frozenset | PmdMalformed)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([0x00, 0x01, 0x02, 0x80, 0x81, 0x03, 0xFF]), st.integers(0, 2**64 - 1), st.binary(max_size=300),
       st.one_of(st.none(), st.integers(0, 2**64 - 1)), st.floats(allow_nan=False, allow_infinity=False, width=32))
def test_random_acc_bodies_only_ever_give_the_typed_error(frame_type: int, t_ns: int, body: bytes,
                                                          previous: int | None, factor: float) -> None:
    payload = bytes([ACC]) + struct.pack("<Q", t_ns) + bytes([frame_type]) + body
    out = pmd_acc_parse(payload, sample_rate_hz=25, previous_t_ns=previous, factor=factor)
    assert isinstance(out, AccFrame | PmdMalformed)
    if isinstance(out, AccFrame):
        assert len(out.t_ns) == len(out.acc_mg) >= 1 and out.acc_mg.shape[1] == 3
        assert out.t_ns[-1] == t_ns and np.all(np.diff(out.t_ns) >= 0) and out.t_ns[0] >= 0


# --------------------------------------------------------------------------- round trips

RANGES = {0: 127, 1: 32767, 2: 2**23 - 1}


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([0, 1, 2]), st.data())
def test_uncompressed_round_trip(frame_type: int, data: st.DataObject) -> None:
    hi = RANGES[frame_type]
    rows = data.draw(st.lists(st.lists(st.integers(-hi - 1, hi), min_size=3, max_size=3), min_size=1, max_size=40))
    t_ns = data.draw(st.integers(10**12, 2**62))
    frame = pmd_acc_parse(pmd_acc_encode(rows, t_ns, frame_type=frame_type), sample_rate_hz=25)
    assert isinstance(frame, AccFrame)
    assert frame.acc_mg.tolist() == rows and frame.t_ns[-1] == t_ns


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_delta_round_trip(data: st.DataObject) -> None:
    ref = data.draw(st.lists(st.integers(-32768, 32767), min_size=3, max_size=3))
    steps = data.draw(st.lists(st.lists(st.integers(-(2**20), 2**20), min_size=3, max_size=3), max_size=80))
    rows = np.cumsum(np.array([ref] + steps, dtype=np.int64), axis=0)
    block = data.draw(st.integers(1, 255))
    frame = pmd_acc_parse(pmd_acc_encode_delta(rows, 10**15, block_samples=block), sample_rate_hz=25)
    assert isinstance(frame, AccFrame) and frame.header.compressed
    assert frame.acc_mg.tolist() == rows.tolist()


def test_delta_encoder_matches_sdk_bytes() -> None:
    # re-encoding the SDK's compressed type 1 samples at the device's 6-bit width gives its bytes
    samples = np.array([[-15, 20, 1008], [-20, 17, 1008]])
    ours, sdk = pmd_delta_encode(samples, delta_bits=6), bytes.fromhex(SDK_DELTA1)[10:]
    # 3 × 6 = 18 bits of deltas in 3 bytes: the SDK vector's 6 padding bits are not zero (0x08), ours are
    assert ours[:-1] == sdk[:-1] and ours[-1] == sdk[-1] & 0b11
    smallest = pmd_delta_encode(samples)  # the deltas (-5, -3, 0) fit 4 bits
    assert smallest[6] == 4 and pmd_delta_decode(smallest).tolist() == samples.tolist()
    with pytest.raises(ValueError):
        pmd_delta_encode(samples, delta_bits=3)


def test_encoders_refuse_what_does_not_fit() -> None:
    with pytest.raises(ValueError):
        pmd_acc_encode([[128, 0, 0]], 10**15, frame_type=0)
    with pytest.raises(ValueError):
        pmd_acc_encode([[0, 0]], 10**15)
    with pytest.raises(ValueError):
        pmd_acc_encode_delta([[40000, 0, 0]], 10**15)
    with pytest.raises(ValueError):
        pmd_acc_encode([[0, 0, 0]], 10**15, frame_type=5)


# --------------------------------------------------------------------------- real motion

HEXOSKIN_HZ = 64
HEXOSKIN_COUNTS_PER_G = 256


def _hexoskin_acc_mg_25hz(shared_data: Path, seconds: int) -> np.ndarray:
    """Real torso acceleration (Hexoskin, 64 Hz int16, 1 g ≈ 256 counts) as mg at 25 Hz."""
    folder = shared_data / "hexoskin_chest_acc" / "003"
    axes = []
    for axis in "XYZ":
        with wave.open(str(folder / f"acceleration_{axis}.wav")) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, HEXOSKIN_HZ)
            counts = np.frombuffer(w.readframes(seconds * HEXOSKIN_HZ), dtype="<i2").astype(np.float64)
        t_in = np.arange(len(counts)) / HEXOSKIN_HZ
        t_out = np.arange(0, t_in[-1], 1 / 25)
        axes.append(np.interp(t_out, t_in, counts) * 1000 / HEXOSKIN_COUNTS_PER_G)
    return np.rint(np.stack(axes, axis=1)).astype(np.int64)


@pytest.mark.parametrize("compressed", [False, True])
def test_real_motion_stream_round_trip(shared_data: Path, compressed: bool) -> None:
    acc = _hexoskin_acc_mg_25hz(shared_data, 300)
    assert acc.shape[0] > 7000 and 500 < np.median(np.linalg.norm(acc, axis=1)) < 1500  # about 1 g at rest
    per_frame, period_ns, t0_ns = 36, 40_000_000, 599_616_000_000_000_000  # H10 default time 2019-01-01
    stream = PmdAccStream(sample_rate_hz=25)
    frames, sizes = [], []
    for start in range(0, len(acc), per_frame):
        chunk = acc[start: start + per_frame]
        t_last = t0_ns + (start + len(chunk) - 1) * period_ns
        payload = pmd_acc_encode_delta(chunk, t_last, block_samples=12) if compressed else pmd_acc_encode(chunk, t_last)
        sizes.append(len(payload))
        frame = stream.feed(payload)
        assert isinstance(frame, AccFrame), frame
        frames.append(frame)
    got = np.concatenate([f.acc_mg for f in frames])
    t = np.concatenate([f.t_ns for f in frames])
    assert got.tolist() == acc.tolist()
    assert np.array_equal(t, t0_ns + np.arange(len(acc)) * period_ns)  # exact 40 ms spacing across frames
    assert [f.timing for f in frames[:2]] == ["sample_rate", "previous_frame"]
    assert max(sizes) <= 10 + per_frame * 6  # within one H10-sized notification
    if compressed:  # real chest motion compresses
        assert sum(sizes) < 0.8 * (10 * len(sizes) + 6 * len(acc))


def test_stream_falls_back_to_rate_after_lost_frames_and_resets() -> None:
    rows = [[0, 0, 1000]] * 10
    stream = PmdAccStream(sample_rate_hz=25)
    t = 10**15
    assert stream.feed(pmd_acc_encode(rows, t)).timing == "sample_rate"
    assert stream.feed(pmd_acc_encode(rows, t + 400_000_000)).timing == "previous_frame"
    lost = stream.feed(pmd_acc_encode(rows, t + 1_600_000_000))  # two frames lost in between
    assert lost.timing == "sample_rate" and np.all(np.diff(lost.t_ns) == 40_000_000)
    back = stream.feed(pmd_acc_encode(rows, t))  # sensor time went back (restart): not spread over a negative span
    assert back.timing == "sample_rate"
    stream.reset()
    assert stream.feed(pmd_acc_encode(rows, t + 5 * 10**9)).timing == "sample_rate"


# --------------------------------------------------------------------------- sensor clock


def test_epoch_offset() -> None:
    # polar-ble-sdk documentation/TimeSystemExplained.md: offset 1970 → 2000 in ns; H10 default time
    assert PMD_EPOCH_UNIX_NS == 946_684_800_000_000_000
    assert pmd_t_ns_to_unix_ns(599_616_000_000_000_000) == 1_546_300_800_000_000_000  # 2019-01-01T00:00:00Z


WALL0_NS = 1_700_000_000_000_000_000
MONO0_NS = 5_000_000_000_000


def _simulate(latencies_ms: list[float], *, drift_ppm: float = 0.0, per_frame: int = 36, reset_at: int | None = None,
              clock: SensorClock | None = None):
    """Frames of a 25 Hz stream: sensor clock (with drift), arrival = true time of the last sample + latency."""
    clock = clock or SensorClock()
    period_ns = 40_000_000
    out = []
    sensor0 = 599_616_000_000_000_000
    for i, lat in enumerate(latencies_ms):
        true_last_ns = (i + 1) * per_frame * period_ns  # since stream start, true time
        if reset_at is not None and i >= reset_at:
            sensor_base = 10**15  # clock restarted after a reconnect
        else:
            sensor_base = sensor0
        sensor_last = sensor_base + round(true_last_ns * (1 + drift_ppm * 1e-6))
        t = sensor_last - np.arange(per_frame - 1, -1, -1, dtype=np.int64) * round(period_ns * (1 + drift_ppm * 1e-6))
        arrival_mono = MONO0_NS + true_last_ns + round(lat * 1e6)
        arrival_wall = WALL0_NS + true_last_ns + round(lat * 1e6)
        stamped = clock.stamp(arrival_mono, arrival_wall, t)
        true_epoch_ms = (WALL0_NS + true_last_ns - (per_frame - 1 - np.arange(per_frame)) * period_ns) / 1e6
        out.append((stamped, arrival_wall, true_epoch_ms))
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(5, 400), min_size=5, max_size=120), st.floats(-200, 200))
def test_sensor_clock_never_after_arrival_and_close_to_truth(latencies_ms: list[float], drift_ppm: float) -> None:
    frames = _simulate(latencies_ms, drift_ppm=drift_ppm)
    assert frames[0][0].new_segment == "start"
    assert all(s.new_segment is None for s, _, _ in frames[1:])
    max_err_ms = max(latencies_ms) + 300 + 2
    for stamped, arrival_wall_ns, true_ms in frames:
        assert stamped.epoch_ms[-1] <= arrival_wall_ns // 1_000_000  # never after its arrival
        assert np.all(np.diff(stamped.epoch_ms) > 0)  # 40 ms apart: strictly increasing
        assert np.all(np.abs(stamped.epoch_ms - true_ms) <= max_err_ms)
        assert stamped.shift_ms <= 0 or stamped.shift_ms > 300  # back to arrival, or the floor's step


@settings(max_examples=40, deadline=None)
@given(st.floats(5, 400), st.integers(3, 60))
def test_sensor_clock_offset_is_stable_under_constant_latency(latency_ms: float, n: int) -> None:
    frames = _simulate([latency_ms] * n)
    offsets = {s.offset_ns for s, _, _ in frames}
    assert len(offsets) == 1 and all(s.shift_ms == 0 for s, _, _ in frames)
    # newest sample placed at arrival: true time + latency, within a ms
    assert abs(frames[-1][0].epoch_ms[-1] - (frames[-1][2][-1] + latency_ms)) <= 1


def test_sensor_clock_jitter_does_not_move_times() -> None:
    lat = [50, 300, 120, 250, 80, 400, 90, 200] * 5
    frames = _simulate(lat)
    # only frames arriving faster than every earlier one move the offset (back, by the difference)
    moved = [i for i, (s, _, _) in enumerate(frames) if s.shift_ms]
    assert moved == []  # the first frame had the lowest latency (50 ms): nothing ever moves
    spans = [s.epoch_ms[-1] - t[-1] for s, _, t in frames]
    assert max(spans) - min(spans) <= 1  # every frame keeps the first one's 50 ms lag


def test_sensor_clock_slow_strap_moves_forward_by_the_floor() -> None:
    # the strap's clock runs 2000 ppm slow: the lag grows ~2.9 ms per 1.44 s frame and is taken back in steps
    frames = _simulate([20.0] * 400, drift_ppm=-2000)
    forward = [s.shift_ms for s, _, _ in frames if s.shift_ms > 0]
    assert forward and all(v > 300 for v in forward)
    lags = [t[-1] + 20 - s.epoch_ms[-1] for s, _, t in frames]
    # the lag stays below the floor plus the drift of one 60 s window (120 ms) and a frame
    assert max(lags) < 300 + 120 + 3 + 1


def test_sensor_clock_reanchors_on_jumps_and_reconnects() -> None:
    clock = SensorClock()
    frames = _simulate([30.0] * 20, reset_at=10, clock=clock)
    reasons = [s.new_segment for s, _, _ in frames]
    assert reasons[0] == "start" and reasons[10] == "sensor_back" and reasons.count(None) == 18
    s, arrival, true_ms = frames[10]
    assert s.epoch_ms[-1] == arrival // 1_000_000  # re-anchored: newest sample at arrival
    clock.break_chain("disconnect")
    more = _simulate([30.0], clock=clock)
    assert more[0][0].new_segment == "disconnect"


def test_sensor_clock_large_forward_jump_and_wall_step() -> None:
    clock = SensorClock()
    t = np.arange(36, dtype=np.int64) * 40_000_000 + 10**15
    assert clock.stamp(MONO0_NS, WALL0_NS, t).new_segment == "start"
    # the sensor clock leaps 1 h ahead (set by another app) while 1.44 s pass here
    jumped = clock.stamp(MONO0_NS + 1_440_000_000, WALL0_NS + 1_440_000_000, t + 3600 * 10**9)
    assert jumped.new_segment == "lead"
    # a long silence with the sensor clock running on: lag re-anchors
    late = clock.stamp(MONO0_NS + 60 * 10**9, WALL0_NS + 60 * 10**9, t + 3600 * 10**9 + 1_440_000_000)
    assert late.new_segment == "lag"
    # the wall clock is stepped by 10 s (NTP) while the monotonic clock runs on
    step = clock.stamp(MONO0_NS + 61_440_000_000, WALL0_NS + 71_440_000_000, t + 3600 * 10**9 + 2_880_000_000)
    assert step.new_segment == "clock"
    assert step.epoch_ms[-1] == (WALL0_NS + 71_440_000_000) // 1_000_000


def test_sensor_clock_empty_frame() -> None:
    s = SensorClock().stamp(MONO0_NS, WALL0_NS, [])
    assert s.new_segment is None and len(s.epoch_ms) == 0
