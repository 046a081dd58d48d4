"""Polar Measurement Data (PMD): control-point requests and responses, ACC data frames,
and the sensor clock mapped to wall time.

This is attune's own code, written from Polar's public documentation and read against open
implementations (nothing copied). Every fact below was checked in the source named:

* [SDK] polarofficial/polar-ble-sdk, Android ``BlePMDClient.kt``, ``PmdControlPointResponse.kt``,
  ``PmdSetting.kt``, ``PmdDataFrame.kt``, ``PmdMeasurementType.kt``, ``model/AccData.kt``,
  ``model/PmdTimeStampUtils.kt``; iOS ``PmdControlPointCommand.swift`` and
  ``PmdControlPointResponse.swift`` (``CONTROL_POINT_RESPONSE_CODE = 0xF0``).
* [SDK-TEST] the same repository's unit tests ``BlePmdClientControlPointResponseTest.kt`` and
  ``model/AccDataTest.kt``: their example bytes are fixed test vectors in ``tests/test_pmd.py``.
* [DOC] polar-ble-sdk ``documentation/TimeSystemExplained.md`` and ``products/PolarH10.md``.
* [BH] fsmeraldi/bleakheart ``src/bleakheart/core.py`` (MPL-2.0; read, not copied).

Facts:

* UUIDs [SDK, BH]: service ``fb005c80-02e7-f387-1cad-8acd2d8df0c8``, control point ``…c81``
  (read: features; write with response: requests; answers come back on it — indicate, per
  the property list in an open Rust H10 client), data ``…c82`` (notifications).
* Reading the control point gives ``0x0F`` then a bit field of the measurement types offered:
  byte 1 bit *n* = type *n* for ECG..SKIN_TEMP, byte 2 bits 1..6 = SDK mode, location,
  pressure, temperature, offline recording, offline HR [SDK ``PmdMeasurementType.fromByteArray``, BH].
* Requests [SDK, BH]: ``op, type[, settings]`` with op 0x01 get settings, 0x02 start,
  0x03 stop. Settings are ``(setting type, count, value…)``, values little-endian of a width
  set by the setting type: sample rate, resolution and range 2 bytes, range in milli-units
  4, channels 1, factor 4 (an IEEE-754 float32) [SDK ``PmdSetting.typeToFieldSize``]. A start
  request carries one value per setting. The H10 start of ACC at 200 Hz, 16 bit, ±8 g is
  ``02 02 00 01 c8 00 01 01 10 00 02 01 08 00`` in many open H10 scripts (±2 g: last value
  ``02 00``, bleakheart's default settings); our encoder produces both.
* Response [SDK, SDK-TEST, BH]: ``0xF0, op, type, error, more, parameters…``. ``more`` and
  parameters are only meaningful on success; with ``more`` set, the next indication's
  parameters (from byte 5) continue this one's. A control-point indication whose first
  byte is not 0xF0 is a message from the device: ``0x01`` = online measurement stopped,
  followed by the measurement types stopped [SDK ``processPmdCpCommand``].
* Error codes 0..14 [SDK ``PmdControlPointResponseCode``; 0..13 also in BH]: see
  :class:`PmdErrorCode`. The parameters of the answer to a start are settings; the SDK takes
  ``FACTOR`` from them (a float32 scale for delta-compressed samples) [SDK ``startMeasurement``,
  ``PmdSetting.updateSelectedFromStartResponse``].
* Data frame [SDK ``PmdDataFrame``, BH]: byte 0 measurement type (low 6 bits), bytes 1..8
  uint64 LE sensor time of the **last** sample in ns since 2000-01-01T00:00:00Z [DOC], byte 9
  frame type: low 7 bits the type, bit 7 set = delta-compressed; samples from byte 10.
* ACC frames [SDK ``AccData``]: uncompressed type 0 int8, type 1 int16 (the H10's; BH parses
  only this one), type 2 int24, x,y,z per sample, in mg. Delta-compressed type 1 (0x81):
  16-bit reference sample, mg, times ``FACTOR`` when the start answer gave one other than 1.
  Delta-compressed type 0 (0x80): 16-bit reference, units of g times ``FACTOR``, so
  mg = value × factor × 1000 (SDK comment: "special Wolfi type").
* Delta compression [SDK ``parseDeltaFramesAll``/``parseDeltaFrame``/``parseDeltaFrameRefSamples``]:
  a reference sample (channels × ceil(resolution/8) bytes, signed LE), then blocks of
  ``delta bit width (1 byte), sample count (1 byte), ceil(width × count × channels / 8) bytes``;
  inside a block the bits are read least-significant bit of each byte first, sample after
  sample, channel after channel, each delta sign-extended from its width and added to the
  previous sample. Every block starts on a byte boundary.
* Per-sample times [SDK ``PmdTimeStampUtils``]: Polar spreads a frame's *n* samples evenly
  over ``(previous frame's time, this frame's time]`` when it has a previous frame of the same
  measurement and frame type (kept until stop or disconnect), else back from the frame time at
  the sample rate; the last sample gets the frame time exactly. We do the same, with one
  difference, documented at :func:`pmd_acc_parse`: a previous frame that is too far back
  (frames lost) is not used.
* Sensor time is *not* wall time [DOC]: an H10 that shut down restarts its clock at
  2019-01-01 (599616000000000000 ns) unless an app sets it; offset 1970→2000 is
  946684800000000000 ns. So sample times are anchored on arrival (:class:`SensorClock`).
* H10 ACC [DOC]: 25, 50, 100, 200 Hz; range 2, 4, 8 g; values in mg.

Not verified in Polar's own documents: that an H10 keeps streaming after the app vanishes
(the shared notes say so; the SDK's ``stopMeasurement`` exists but no document states it).

Malformed bytes never raise: parsers *return* a :class:`PmdMalformed` (like ``hrm_parse``),
so the recorder can count and keep them. A well-formed answer that carries an error code is
turned into a :class:`PmdError` (an ``AttuneError``: one line for the user) by
:meth:`PmdResponse.raise_for_error`.
"""

from __future__ import annotations

import enum
import math
import struct
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from attune.errors import AttuneError

PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_POINT_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

PMD_RESPONSE_CODE = 0xF0  # first byte of every answer to a request
PMD_FEATURES_CODE = 0x0F  # first byte of the control point's read value
PMD_DEVICE_STOPPED_CODE = 0x01  # device → client: online measurement stopped

PMD_EPOCH_UNIX_NS = 946_684_800_000_000_000  # 2000-01-01T00:00:00Z in ns since 1970
PMD_FRAME_HEADER_BYTES = 10
DELTA_FLAG = 0x80
NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000


class PmdMeasurementType(enum.IntEnum):
    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3
    GYRO = 5
    MAGNETOMETER = 6
    SKIN_TEMP = 7
    SDK_MODE = 9
    LOCATION = 10
    PRESSURE = 11
    TEMPERATURE = 12
    OFFLINE_RECORDING = 13
    OFFLINE_HR = 14


class PmdOpCode(enum.IntEnum):
    GET_SETTINGS = 0x01
    START = 0x02
    STOP = 0x03
    GET_SDK_MODE_SETTINGS = 0x04
    GET_MEASUREMENT_STATUS = 0x05


class PmdSettingType(enum.IntEnum):
    SAMPLE_RATE = 0  # Hz
    RESOLUTION = 1  # bits
    RANGE = 2  # g for ACC (deg/s for gyro …)
    RANGE_MILLIUNIT = 3
    CHANNELS = 4
    FACTOR = 5  # float32 bits: scale of delta-compressed samples


SETTING_FIELD_BYTES: dict[PmdSettingType, int] = {
    PmdSettingType.SAMPLE_RATE: 2,
    PmdSettingType.RESOLUTION: 2,
    PmdSettingType.RANGE: 2,
    PmdSettingType.RANGE_MILLIUNIT: 4,
    PmdSettingType.CHANNELS: 1,
    PmdSettingType.FACTOR: 4,
}


class PmdErrorCode(enum.IntEnum):
    SUCCESS = 0
    INVALID_OP_CODE = 1
    INVALID_MEASUREMENT_TYPE = 2
    NOT_SUPPORTED = 3
    INVALID_LENGTH = 4
    INVALID_PARAMETER = 5
    ALREADY_IN_STATE = 6
    INVALID_RESOLUTION = 7
    INVALID_SAMPLE_RATE = 8
    INVALID_RANGE = 9
    INVALID_MTU = 10
    INVALID_NUMBER_OF_CHANNELS = 11
    INVALID_STATE = 12
    DEVICE_IN_CHARGER = 13
    DISK_FULL = 14

    @property
    def message(self) -> str:
        return _ERROR_MESSAGES[self]


_ERROR_MESSAGES: dict[PmdErrorCode, str] = {
    PmdErrorCode.SUCCESS: "success",
    PmdErrorCode.INVALID_OP_CODE: "invalid op code",
    PmdErrorCode.INVALID_MEASUREMENT_TYPE: "invalid measurement type",
    PmdErrorCode.NOT_SUPPORTED: "not supported by this device",
    PmdErrorCode.INVALID_LENGTH: "invalid request length",
    PmdErrorCode.INVALID_PARAMETER: "invalid parameter",
    PmdErrorCode.ALREADY_IN_STATE: "already in state (already streaming, or already stopped)",
    PmdErrorCode.INVALID_RESOLUTION: "invalid resolution",
    PmdErrorCode.INVALID_SAMPLE_RATE: "invalid sample rate",
    PmdErrorCode.INVALID_RANGE: "invalid range",
    PmdErrorCode.INVALID_MTU: "invalid MTU (the link's packets are too small for this stream)",
    PmdErrorCode.INVALID_NUMBER_OF_CHANNELS: "invalid number of channels",
    PmdErrorCode.INVALID_STATE: "invalid state",
    PmdErrorCode.DEVICE_IN_CHARGER: "device in charger",
    PmdErrorCode.DISK_FULL: "disk full",
}


def _type_name(value: int) -> str:
    try:
        return PmdMeasurementType(value).name
    except ValueError:
        return f"type {value}"


class PmdError(AttuneError):
    """The strap refused a PMD request (a well-formed answer with an error code)."""

    def __init__(self, op: int, measurement_type: int, code: int) -> None:
        self.op = op
        self.measurement_type = measurement_type
        self.code = code
        try:
            what = PmdErrorCode(code).message
        except ValueError:
            what = "unknown error"
        try:
            op_name = PmdOpCode(op).name.lower().replace("_", " ")
        except ValueError:
            op_name = f"op 0x{op:02x}"
        super().__init__(f"the strap refused to {op_name} {_type_name(measurement_type)}: {what} (PMD error {code})")


class PmdMalformedCode(enum.StrEnum):
    EMPTY = "empty"
    TRUNCATED = "truncated"  # a field or block is cut short
    NOT_A_RESPONSE = "not_a_response"  # first byte is neither 0xF0 nor a known device message
    WRONG_MEASUREMENT = "wrong_measurement"  # e.g. an ECG frame given to the ACC parser
    UNSUPPORTED_FRAME_TYPE = "unsupported_frame_type"
    BAD_LENGTH = "bad_length"  # samples area is not whole samples, or holds none
    BAD_DELTA_BLOCK = "bad_delta_block"  # a delta bit width that cannot be
    BAD_SETTING = "bad_setting"  # unknown setting type in a settings list
    BAD_TIME = "bad_time"  # sample times would fall before the sensor epoch


@dataclass(frozen=True, slots=True)
class PmdMalformed:
    """Bytes that are not a valid PMD message (returned, never raised)."""

    code: PmdMalformedCode
    message: str
    payload: bytes

    def __str__(self) -> str:
        return f"{self.code}: {self.message} (payload {self.payload[:32].hex() or 'empty'})"


# --------------------------------------------------------------------------- requests


def _setting_value_bytes(setting: PmdSettingType, value: int | float) -> bytes:
    size = SETTING_FIELD_BYTES[setting]
    if setting is PmdSettingType.FACTOR:
        return struct.pack("<f", float(value))
    if not isinstance(value, int) or not 0 <= value < 1 << (8 * size):
        raise ValueError(f"{setting.name} value {value!r} does not fit {size} unsigned bytes")
    return value.to_bytes(size, "little")


def pmd_settings_encode(settings: Mapping[PmdSettingType, Sequence[int | float] | int | float]) -> bytes:
    """Settings as ``(type, count, values…)`` groups, in the mapping's order.

    A single value or a sequence of values per setting type (a request carries one value;
    a device's answer to get-settings lists every value it offers).
    """
    out = bytearray()
    for setting, values in settings.items():
        setting = PmdSettingType(setting)
        seq = list(values) if isinstance(values, Sequence) else [values]
        if not 1 <= len(seq) <= 0xFF:
            raise ValueError(f"{setting.name}: {len(seq)} values (1..255 allowed)")
        out += bytes([setting, len(seq)])
        for v in seq:
            out += _setting_value_bytes(setting, v)
    return bytes(out)


def pmd_request_get_settings(measurement_type: PmdMeasurementType | int) -> bytes:
    """Ask which settings the device offers for a measurement (op 0x01)."""
    return bytes([PmdOpCode.GET_SETTINGS, PmdMeasurementType(measurement_type)])


def pmd_request_start(
    measurement_type: PmdMeasurementType | int,
    *,
    sample_rate_hz: int | None = None,
    resolution_bits: int | None = None,
    range_g: int | None = None,
    channels: int | None = None,
) -> bytes:
    """Start a measurement (op 0x02) with one value per given setting, in type order.

    >>> pmd_request_start(PmdMeasurementType.ACC, sample_rate_hz=200, resolution_bits=16, range_g=8).hex(" ")
    '02 02 00 01 c8 00 01 01 10 00 02 01 08 00'
    """
    chosen: dict[PmdSettingType, int] = {}
    for setting, value in ((PmdSettingType.SAMPLE_RATE, sample_rate_hz), (PmdSettingType.RESOLUTION, resolution_bits),
                           (PmdSettingType.RANGE, range_g), (PmdSettingType.CHANNELS, channels)):
        if value is not None:
            chosen[setting] = value
    return bytes([PmdOpCode.START, PmdMeasurementType(measurement_type)]) + pmd_settings_encode(chosen)


def pmd_acc_settings_choose(offered: PmdSettings, *, sample_rate_hz: int = 25, range_g: int = 8) -> dict[str, int]:
    """Start settings for ACC from what the device offers (the answer to get-settings).

    The lowest offered rate at or above ``sample_rate_hz`` (else the highest offered), the
    smallest offered range at or above ``range_g`` (else the widest), the finest resolution.
    A setting the device does not list is left out. Keyword arguments for
    :func:`pmd_request_start`.

    Why 8 g: the shared Hexoskin chest recordings (walking, stairs, jogging) reach single-axis
    peaks of 4.7 g (subject 003) and 7.7 g (005), which ±2 g would clip; 16 bits over ±8 g
    still resolve 0.25 mg.
    """

    def at_least(values: tuple[int, ...], wanted: int) -> int:
        above = [v for v in values if v >= wanted]
        return min(above) if above else max(values)

    chosen: dict[str, int] = {}
    if offered.sample_rates_hz:
        chosen["sample_rate_hz"] = at_least(offered.sample_rates_hz, sample_rate_hz)
    if offered.resolutions_bits:
        chosen["resolution_bits"] = max(offered.resolutions_bits)
    if offered.ranges_g:
        chosen["range_g"] = at_least(offered.ranges_g, range_g)
    return chosen


def pmd_request_stop(measurement_type: PmdMeasurementType | int) -> bytes:
    """Stop a measurement (op 0x03)."""
    return bytes([PmdOpCode.STOP, PmdMeasurementType(measurement_type)])


# --------------------------------------------------------------------------- responses


@dataclass(frozen=True, slots=True)
class PmdSettings:
    """Settings as a device lists them: every value offered (or in force) per setting type."""

    values: Mapping[PmdSettingType, tuple[int, ...]]

    def get(self, setting: PmdSettingType) -> tuple[int, ...]:
        return self.values.get(setting, ())

    @property
    def sample_rates_hz(self) -> tuple[int, ...]:
        return self.get(PmdSettingType.SAMPLE_RATE)

    @property
    def resolutions_bits(self) -> tuple[int, ...]:
        return self.get(PmdSettingType.RESOLUTION)

    @property
    def ranges_g(self) -> tuple[int, ...]:
        return self.get(PmdSettingType.RANGE)

    @property
    def factor(self) -> float | None:
        """The delta-frame scale (float32) when the device gave one."""
        raw = self.get(PmdSettingType.FACTOR)
        return struct.unpack("<f", raw[0].to_bytes(4, "little"))[0] if raw else None


def pmd_settings_parse(parameters: bytes | bytearray | memoryview) -> PmdSettings | PmdMalformed:
    """Decode ``(type, count, values…)`` groups (the parameters of a settings answer).

    Values are unsigned little-endian integers of the setting's width; ``FACTOR`` stays as
    its 32 raw bits (read it as a float with :attr:`PmdSettings.factor`).
    """
    data = bytes(parameters)
    values: dict[PmdSettingType, tuple[int, ...]] = {}
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            return PmdMalformed(PmdMalformedCode.TRUNCATED, f"setting header cut short at byte {pos}", data)
        try:
            setting = PmdSettingType(data[pos])
        except ValueError:
            return PmdMalformed(PmdMalformedCode.BAD_SETTING, f"unknown setting type {data[pos]} at byte {pos}", data)
        count = data[pos + 1]
        size = SETTING_FIELD_BYTES[setting]
        pos += 2
        if pos + count * size > len(data):
            return PmdMalformed(PmdMalformedCode.TRUNCATED, f"{setting.name}: {count} values cut short", data)
        values[setting] = values.get(setting, ()) + tuple(
            int.from_bytes(data[pos + i * size: pos + (i + 1) * size], "little") for i in range(count))
        pos += count * size
    return PmdSettings(values)


@dataclass(frozen=True, slots=True)
class PmdResponse:
    """An answer to a control-point request."""

    op: int  # the request's op code (PmdOpCode when known)
    measurement_type: int
    error: int  # PmdErrorCode when known; 0 = success
    more: bool  # further indications continue the parameters
    parameters: bytes

    @property
    def ok(self) -> bool:
        return self.error == PmdErrorCode.SUCCESS

    def raise_for_error(self) -> PmdResponse:
        """``self`` on success, else raise :class:`PmdError`."""
        if not self.ok:
            raise PmdError(self.op, self.measurement_type, self.error)
        return self

    def settings(self) -> PmdSettings | PmdMalformed:
        """The parameters read as settings (answers to get-settings and to start)."""
        return pmd_settings_parse(self.parameters)


@dataclass(frozen=True, slots=True)
class PmdDeviceStopped:
    """The device stopped online streams by itself (control-point message 0x01)."""

    measurement_types: tuple[int, ...]


def pmd_response_parse(payload: bytes | bytearray | memoryview) -> PmdResponse | PmdDeviceStopped | PmdMalformed:
    """Decode a control-point indication: an answer (0xF0 …) or a device message (0x01 …)."""
    data = bytes(payload)
    if not data:
        return PmdMalformed(PmdMalformedCode.EMPTY, "no bytes", data)
    if data[0] == PMD_DEVICE_STOPPED_CODE:
        return PmdDeviceStopped(tuple(b & 0x3F for b in data[1:]))
    if data[0] != PMD_RESPONSE_CODE:
        return PmdMalformed(PmdMalformedCode.NOT_A_RESPONSE, f"first byte 0x{data[0]:02x} is not 0xf0", data)
    if len(data) < 4:
        return PmdMalformed(PmdMalformedCode.TRUNCATED, "answer shorter than 4 bytes", data)
    op, mtype, error = data[1], data[2], data[3]
    if error != PmdErrorCode.SUCCESS:
        return PmdResponse(op, mtype, error, False, b"")  # as the SDK: no more, no parameters
    more = len(data) > 4 and data[4] != 0
    return PmdResponse(op, mtype, error, more, data[5:])


def pmd_responses_join(parts: Sequence[PmdResponse]) -> PmdResponse:
    """One answer from an answer and its continuations (``more`` set on all but the last)."""
    if not parts:
        raise ValueError("no responses to join")
    first = parts[0]
    return PmdResponse(first.op, first.measurement_type, first.error, parts[-1].more,
                       b"".join(p.parameters for p in parts))


def pmd_response_encode(
    op: PmdOpCode | int,
    measurement_type: PmdMeasurementType | int,
    error: PmdErrorCode | int = PmdErrorCode.SUCCESS,
    *,
    more: bool = False,
    parameters: bytes = b"",
) -> bytes:
    """Build a control-point answer (for the simulated strap and tests)."""
    return bytes([PMD_RESPONSE_CODE, op, measurement_type, error, 1 if more else 0]) + bytes(parameters)


def pmd_features_parse(payload: bytes | bytearray | memoryview) -> frozenset[PmdMeasurementType] | PmdMalformed:
    """Decode the control point's read value: the measurement types the device offers."""
    data = bytes(payload)
    if not data:
        return PmdMalformed(PmdMalformedCode.EMPTY, "no bytes", data)
    if data[0] != PMD_FEATURES_CODE or len(data) < 2:
        return PmdMalformed(PmdMalformedCode.NOT_A_RESPONSE, "not a PMD feature read (0x0f, bit field)", data)
    bits = int.from_bytes(data[1:3], "little")
    return frozenset(t for t in PmdMeasurementType if bits >> t & 1)


def pmd_features_encode(types: Sequence[PmdMeasurementType | int]) -> bytes:
    """The control point's read value for a device offering ``types``."""
    bits = 0
    for t in types:
        bits |= 1 << PmdMeasurementType(t)
    return bytes([PMD_FEATURES_CODE]) + bits.to_bytes(2, "little")


# --------------------------------------------------------------------------- data frames


@dataclass(frozen=True, slots=True)
class PmdFrameHeader:
    measurement_type: int  # low 6 bits of byte 0
    sensor_t_ns: int  # time of the frame's last sample, ns since 2000-01-01 on the sensor clock
    frame_type: int  # low 7 bits of byte 9
    compressed: bool  # bit 7 of byte 9


def pmd_frame_header_parse(payload: bytes | bytearray | memoryview) -> PmdFrameHeader | PmdMalformed:
    data = bytes(payload)
    if not data:
        return PmdMalformed(PmdMalformedCode.EMPTY, "no bytes", data)
    if len(data) < PMD_FRAME_HEADER_BYTES:
        return PmdMalformed(PmdMalformedCode.TRUNCATED, f"frame header needs 10 bytes, got {len(data)}", data)
    (t_ns,) = struct.unpack_from("<Q", data, 1)
    return PmdFrameHeader(data[0] & 0x3F, t_ns, data[9] & 0x7F, bool(data[9] & DELTA_FLAG))


@dataclass(frozen=True, slots=True, eq=False)
class AccFrame:
    """One decoded ACC frame.

    ``t_ns``: per-sample sensor time, ns since 2000-01-01 (int64, last = ``header.sensor_t_ns``);
    ``acc_mg``: shape (n, 3) int32, x, y, z in milli-g including gravity.
    ``timing`` says how sample times were spread: ``"previous_frame"`` (between the previous
    frame's time and this one's) or ``"sample_rate"`` (back from this frame's time).
    """

    header: PmdFrameHeader
    t_ns: np.ndarray
    acc_mg: np.ndarray
    timing: str

    @property
    def x_mg(self) -> np.ndarray:
        return self.acc_mg[:, 0]

    @property
    def y_mg(self) -> np.ndarray:
        return self.acc_mg[:, 1]

    @property
    def z_mg(self) -> np.ndarray:
        return self.acc_mg[:, 2]


_RAW_ACC_BYTES = {0: 1, 1: 2, 2: 3}  # uncompressed ACC frame type → bytes per axis value
_DELTA_ACC_TYPES = (0, 1)  # delta-compressed ACC frame types (both with a 16-bit reference)
ACC_CHANNELS = 3
MAX_DELTA_BITS = 32


def _signed(values: np.ndarray, bits: int) -> np.ndarray:
    """Two's complement of unsigned ``bits``-wide integers (int64)."""
    v = values.astype(np.int64)
    return np.where(v >= 1 << (bits - 1), v - (1 << bits), v)


def pmd_delta_decode(
    content: bytes | bytearray | memoryview, *, channels: int = ACC_CHANNELS, reference_bits: int = 16
) -> np.ndarray | PmdMalformed:
    """Samples of a delta-compressed frame body (bytes after the 10-byte header).

    Returns int64 samples of shape (n, channels), the reference sample first, in the frame's
    own units (scaling is the caller's: see :func:`pmd_acc_parse`).
    """
    data = bytes(content)
    ref_bytes = math.ceil(reference_bits / 8)
    if len(data) < channels * ref_bytes:
        return PmdMalformed(PmdMalformedCode.TRUNCATED, "reference sample cut short", data)
    raw = np.frombuffer(data[: channels * ref_bytes], dtype=np.uint8).reshape(channels, ref_bytes)
    ref = _signed((raw.astype(np.int64) << (8 * np.arange(ref_bytes))).sum(axis=1), reference_bits)
    blocks = [ref.reshape(1, channels)]
    last = ref
    pos = channels * ref_bytes
    while pos < len(data):
        if pos + 2 > len(data):
            return PmdMalformed(PmdMalformedCode.TRUNCATED, f"delta block header cut short at byte {pos}", data)
        width, count = data[pos], data[pos + 1]
        pos += 2
        if count == 0:
            continue
        if not 1 <= width <= MAX_DELTA_BITS:
            return PmdMalformed(PmdMalformedCode.BAD_DELTA_BLOCK, f"delta width {width} bits at byte {pos - 2}", data)
        nbits = width * count * channels
        nbytes = math.ceil(nbits / 8)
        if pos + nbytes > len(data):
            return PmdMalformed(PmdMalformedCode.TRUNCATED, f"delta block of {count} samples cut short", data)
        bits = np.unpackbits(np.frombuffer(data[pos: pos + nbytes], dtype=np.uint8), bitorder="little")[:nbits]
        weights = np.int64(1) << np.arange(width, dtype=np.int64)
        deltas = _signed(bits.reshape(count * channels, width).astype(np.int64) @ weights, width)
        samples = last + np.cumsum(deltas.reshape(count, channels), axis=0)
        blocks.append(samples)
        last = samples[-1]
        pos += nbytes
    return np.concatenate(blocks, axis=0)


def _round_sum(base: int, frac: np.ndarray) -> np.ndarray:
    """``base + frac`` rounded half to even, exactly (``base`` an integer of any size below
    2**63; ``frac`` small floats), as Polar's ``round(start + delta * i)`` in exact arithmetic."""
    r = np.floor(frac)
    rem = frac - r
    whole = np.int64(base) + r.astype(np.int64)
    up = (rem > 0.5) | ((rem == 0.5) & (whole % 2 == 1))
    return whole + up.astype(np.int64)


def _sample_times(
    t_last_ns: int, n: int, sample_rate_hz: float | None, previous_t_ns: int | None
) -> tuple[np.ndarray, str] | str:
    """Per-sample times (int64 ns) ending at ``t_last_ns``, or a reason they cannot be."""
    if t_last_ns >= 1 << 63:
        return f"sensor time {t_last_ns} ns is beyond int64"
    period_ns = NS_PER_S / sample_rate_hz if sample_rate_hz and sample_rate_hz > 0 else None
    # a span beyond 2**53 ns (104 days) is no previous frame of this stream, and would lose float precision
    use_previous = previous_t_ns is not None and 0 <= previous_t_ns < t_last_ns < previous_t_ns + (1 << 53)
    if use_previous and period_ns is not None:
        # frames lost in between: the spacing would stretch, so fall back to the rate
        use_previous = (t_last_ns - previous_t_ns) <= 1.5 * n * period_ns
    idx = np.arange(1, n, dtype=np.float64)  # samples 1 .. n-1; the last is the frame time
    if use_previous:
        assert previous_t_ns is not None
        step = (t_last_ns - previous_t_ns) / n
        head = _round_sum(previous_t_ns, idx * step)
        timing = "previous_frame"
    elif period_ns is not None:
        if (n - 1) * period_ns > t_last_ns:
            return "first sample would fall before the sensor epoch"
        head = _round_sum(t_last_ns, (idx - n) * period_ns)
        timing = "sample_rate"
    else:
        return "neither a sample rate nor an earlier frame time to spread samples with"
    return np.append(head, np.int64(t_last_ns)), timing


def pmd_acc_parse(
    payload: bytes | bytearray | memoryview,
    *,
    sample_rate_hz: float | None,
    previous_t_ns: int | None = None,
    factor: float = 1.0,
) -> AccFrame | PmdMalformed:
    """Decode an ACC data frame (uncompressed types 0/1/2, delta-compressed 0x80/0x81).

    ``sample_rate_hz``: the rate the stream was started with. ``previous_t_ns``: the time of
    the previous frame of the same measurement and frame type in this stream (``None`` after
    a start or a reconnect). Samples are spread evenly between ``previous_t_ns`` and this
    frame's time, as Polar's SDK does, when that span is at most 1.5× the frame's length at
    the sample rate (otherwise frames were lost in between, and the span would stretch the
    spacing); else back from this frame's time at the sample rate. The last sample is
    always at the frame's time. ``factor``: the ``FACTOR`` from the start answer (delta
    frames only).

    Returns an :class:`AccFrame`, or a :class:`PmdMalformed` for anything else (never raises
    on bad bytes).
    """
    data = bytes(payload)
    header = pmd_frame_header_parse(data)
    if isinstance(header, PmdMalformed):
        return header
    if header.measurement_type != PmdMeasurementType.ACC:
        return PmdMalformed(PmdMalformedCode.WRONG_MEASUREMENT,
                            f"{_type_name(header.measurement_type)} frame, not ACC", data)
    body = data[PMD_FRAME_HEADER_BYTES:]
    if header.compressed:
        if header.frame_type not in _DELTA_ACC_TYPES:
            return PmdMalformed(PmdMalformedCode.UNSUPPORTED_FRAME_TYPE,
                                f"delta-compressed ACC frame type {header.frame_type}", data)
        decoded = pmd_delta_decode(body, channels=ACC_CHANNELS, reference_bits=16)
        if isinstance(decoded, PmdMalformed):
            return PmdMalformed(decoded.code, decoded.message, data)
        # scaled in float32 and truncated, as the SDK does (Kotlin Float, toInt())
        with np.errstate(over="ignore", invalid="ignore"):
            if header.frame_type == 0:  # units of g × factor
                mg = np.trunc(decoded.astype(np.float32) * (np.float32(factor) * np.float32(1000.0)))
            elif factor != 1.0:
                mg = np.trunc(decoded.astype(np.float32) * np.float32(factor))
            else:
                mg = decoded
            fits = bool(np.all(np.abs(mg) < 2**31))
        if not fits:
            return PmdMalformed(PmdMalformedCode.BAD_DELTA_BLOCK, "samples overflow 32 bits", data)
        acc_mg = mg.astype(np.int32)
    else:
        size = _RAW_ACC_BYTES.get(header.frame_type)
        if size is None:
            return PmdMalformed(PmdMalformedCode.UNSUPPORTED_FRAME_TYPE, f"ACC frame type {header.frame_type}", data)
        sample_bytes = size * ACC_CHANNELS
        if not body or len(body) % sample_bytes:
            return PmdMalformed(PmdMalformedCode.BAD_LENGTH,
                                f"{len(body)} sample bytes are not whole {sample_bytes}-byte samples", data)
        raw = np.frombuffer(body, dtype=np.uint8).reshape(-1, ACC_CHANNELS, size).astype(np.int64)
        acc_mg = _signed((raw << (8 * np.arange(size))).sum(axis=2), 8 * size).astype(np.int32)
    times = _sample_times(header.sensor_t_ns, len(acc_mg), sample_rate_hz, previous_t_ns)
    if isinstance(times, str):
        return PmdMalformed(PmdMalformedCode.BAD_TIME, times, data)
    t_ns, timing = times
    return AccFrame(header, t_ns, acc_mg, timing)


@dataclass
class PmdAccStream:
    """Decodes one ACC stream frame after frame, keeping the previous frame time per frame
    type as Polar's SDK does. Call :meth:`reset` after every (re)start or disconnect."""

    sample_rate_hz: float | None
    factor: float = 1.0
    _previous_t_ns: dict[int, int] = field(default_factory=dict)

    def reset(self) -> None:
        self._previous_t_ns.clear()

    def feed(self, payload: bytes | bytearray | memoryview) -> AccFrame | PmdMalformed:
        header = pmd_frame_header_parse(payload)
        key = (header.frame_type | (DELTA_FLAG if header.compressed else 0)) if isinstance(header, PmdFrameHeader) else -1
        frame = pmd_acc_parse(payload, sample_rate_hz=self.sample_rate_hz,
                              previous_t_ns=self._previous_t_ns.get(key), factor=self.factor)
        if isinstance(frame, AccFrame):
            self._previous_t_ns[key] = frame.header.sensor_t_ns
        return frame


# --------------------------------------------------------------------------- encoders


def pmd_frame_header_encode(measurement_type: int, sensor_t_ns: int, frame_type: int, *, compressed: bool) -> bytes:
    if not 0 <= sensor_t_ns < 1 << 64:
        raise ValueError(f"sensor_t_ns {sensor_t_ns} does not fit uint64")
    return bytes([measurement_type]) + struct.pack("<Q", sensor_t_ns) + bytes([frame_type | (DELTA_FLAG if compressed else 0)])


def _as_samples(acc_mg: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
    a = np.asarray(acc_mg, dtype=np.int64)
    if a.ndim != 2 or a.shape[1] != ACC_CHANNELS or len(a) == 0:
        raise ValueError(f"acc_mg must be shape (n >= 1, 3), got {a.shape}")
    return a


def pmd_acc_encode(acc_mg: np.ndarray | Sequence[Sequence[int]], sensor_t_ns: int, *, frame_type: int = 1) -> bytes:
    """An uncompressed ACC frame (type 0 int8, 1 int16 — the H10's —, 2 int24), last sample at
    ``sensor_t_ns``. Values that do not fit the type raise ``ValueError``."""
    size = _RAW_ACC_BYTES.get(frame_type)
    if size is None:
        raise ValueError(f"no uncompressed ACC frame type {frame_type}")
    a = _as_samples(acc_mg)
    lo, hi = -(1 << (8 * size - 1)), (1 << (8 * size - 1)) - 1
    if a.min() < lo or a.max() > hi:
        raise ValueError(f"values outside {lo}..{hi} do not fit frame type {frame_type}")
    u = (a & ((1 << (8 * size)) - 1)).astype(np.uint64)
    body = ((u[..., None] >> (8 * np.arange(size, dtype=np.uint64))) & 0xFF).astype(np.uint8).tobytes()
    return pmd_frame_header_encode(PmdMeasurementType.ACC, sensor_t_ns, frame_type, compressed=False) + body


def _bits_needed(deltas: np.ndarray) -> int:
    """Smallest two's-complement width holding every value (at least 1)."""
    hi = int(max(deltas.max(), -deltas.min() - 1, 0))
    return max(1, hi.bit_length() + 1) if hi else 1


def pmd_delta_encode(
    samples: np.ndarray, *, reference_bits: int = 16, block_samples: int = 255, delta_bits: int | None = None
) -> bytes:
    """Delta-compress samples (n, channels): reference sample, then blocks of at most
    ``block_samples`` deltas, each block at the smallest width that holds its deltas (or at
    ``delta_bits`` when given; deltas that do not fit raise ``ValueError``)."""
    a = np.asarray(samples, dtype=np.int64)
    if a.ndim != 2 or len(a) == 0:
        raise ValueError("samples must be shape (n >= 1, channels)")
    if not 1 <= block_samples <= 0xFF:
        raise ValueError("block_samples must be 1..255")
    lo, hi = -(1 << (reference_bits - 1)), (1 << (reference_bits - 1)) - 1
    if a[0].min() < lo or a[0].max() > hi:
        raise ValueError(f"reference sample outside {lo}..{hi}")
    ref_bytes = math.ceil(reference_bits / 8)
    out = bytearray()
    for v in a[0]:
        out += (int(v) & ((1 << (8 * ref_bytes)) - 1)).to_bytes(ref_bytes, "little")
    deltas = np.diff(a, axis=0)
    for start in range(0, len(deltas), block_samples):
        block = deltas[start: start + block_samples]
        need = _bits_needed(block)
        width = need if delta_bits is None else delta_bits
        if not need <= width <= MAX_DELTA_BITS:
            raise ValueError(f"deltas need {need} bits (width {width}, at most {MAX_DELTA_BITS})")
        u = (block.reshape(-1) & ((1 << width) - 1)).astype(np.uint64)
        bits = ((u[:, None] >> np.arange(width, dtype=np.uint64)) & 1).astype(np.uint8).reshape(-1)
        out += bytes([width, len(block)]) + np.packbits(bits, bitorder="little").tobytes()
    return bytes(out)


def pmd_acc_encode_delta(
    acc_mg: np.ndarray | Sequence[Sequence[int]], sensor_t_ns: int, *, block_samples: int = 255
) -> bytes:
    """A delta-compressed ACC frame of type 0x81 in mg (factor 1), last sample at ``sensor_t_ns``."""
    body = pmd_delta_encode(_as_samples(acc_mg), reference_bits=16, block_samples=block_samples)
    return pmd_frame_header_encode(PmdMeasurementType.ACC, sensor_t_ns, 1, compressed=True) + body


# --------------------------------------------------------------------------- sensor clock


def pmd_t_ns_to_unix_ns(t_ns: int) -> int:
    """Sensor ns since 2000-01-01 read naively as UTC (only right when the app set the sensor's clock)."""
    return t_ns + PMD_EPOCH_UNIX_NS


@dataclass(frozen=True)
class SensorClockConfig:
    max_lag_ms: float = 2000.0  # newest sample older than this on arrival: re-anchor
    max_lead_ms: float = 2000.0  # newest sample later than arrival by more: re-anchor
    floor_window_s: float = 60.0  # rolling window of the minimum lag
    floor_slack_ms: float = 300.0  # minimum lag above this over a window: move forward
    clock_step_ms: float = 1000.0  # change of wall-minus-monotonic that counts as a wall step


@dataclass(frozen=True, slots=True, eq=False)
class SensorStamped:
    """Wall times for one frame's samples."""

    new_segment: str | None  # reason, when this frame re-anchors the clock
    epoch_ms: np.ndarray  # int64 Unix ms, floored, one per sample
    offset_ns: int  # monotonic ns minus sensor ns, in force for this frame
    shift_ms: float  # how far the offset moved on this frame (0 if not)


@dataclass
class SensorClock:
    """Maps sensor time (ns since 2000-01-01 on the strap's clock) to Unix ms, anchored on
    arrival like :class:`~attune.ingest.timestamps.BeatClock`.

    The strap's clock is not wall time (an H10 restarts at 2019-01-01 after it shuts down),
    but it ticks steadily. So monotonic time = sensor time + offset, with the offset chosen
    as large as possible such that no frame's last sample is later than its arrival (the
    lower envelope of ``arrival - sensor time``), and the segment's wall-minus-monotonic
    offset turns monotonic into Unix time. Per frame, ``slack`` = arrival − (newest sample
    + offset):

    * ``slack < 0`` (a frame arrived sooner after its samples than any before): the offset
      moves back by ``-slack``, so no sample is ever placed after its arrival;
    * the rolling minimum of slack over ``floor_window_s`` above ``floor_slack_ms`` (the
      strap's clock runs slow against ours): the offset moves forward by that minimum, so
      the lag stays below ``floor_slack_ms`` + drift over one window;
    * otherwise the offset stays put: arrival jitter never moves sample times;
    * ``slack > max_lag_ms`` or ``< -max_lead_ms``, the sensor time not advancing, a wall
      clock step, or :meth:`break_chain` (disconnect, stream restart): re-anchor, newest
      sample at arrival, and say why in ``new_segment``.

    A move back (early in a stream, when latency falls below all earlier latencies) can
    place a frame's first samples up to that move before the previous frame's last ones;
    within a frame times always ascend. Arithmetic is in integer ns (sensor times near
    6e17 ns do not fit a float's precision).
    """

    config: SensorClockConfig = field(default_factory=SensorClockConfig)
    _open: bool = False
    _pending_reason: str = "start"
    _offset_ns: int = 0  # mono_ns - sensor_ns
    _wall_minus_mono_ns: int = 0
    _last_sensor_ns: int = -1
    _floor: deque[tuple[int, int]] = field(default_factory=deque)  # (arrival, arrival - sensor), ns
    _floor_start_ns: int = 0

    def break_chain(self, reason: str) -> None:
        """Re-anchor at the next frame (disconnect, stream restart …)."""
        self._open = False
        self._pending_reason = reason

    def stamp(self, arrival_mono_ns: int, arrival_wall_ns: int, t_ns: np.ndarray | Sequence[int]) -> SensorStamped:
        """Unix ms of every sample of a frame that arrived at the given times.

        ``t_ns``: the frame's per-sample sensor times (ascending, last = the frame's time).
        """
        t = np.asarray(t_ns, dtype=np.int64)
        arrival_mono_ns, arrival_wall_ns = int(arrival_mono_ns), int(arrival_wall_ns)
        wall_minus_mono = arrival_wall_ns - arrival_mono_ns
        if len(t) == 0:
            return SensorStamped(None, np.zeros(0, dtype=np.int64), self._offset_ns, 0.0)
        last_ns = int(t[-1])
        cfg = self.config
        if self._open and abs(wall_minus_mono - self._wall_minus_mono_ns) > cfg.clock_step_ms * NS_PER_MS:
            self.break_chain("clock")
        shift = 0
        if self._open:
            slack = arrival_mono_ns - (last_ns + self._offset_ns)
            if last_ns <= self._last_sensor_ns:
                self.break_chain("sensor_back")
            elif slack > cfg.max_lag_ms * NS_PER_MS:
                self.break_chain("lag")
            elif slack < -cfg.max_lead_ms * NS_PER_MS:
                self.break_chain("lead")
            elif slack < 0:
                shift = slack
            else:
                shift = self._floor_shift(arrival_mono_ns, arrival_mono_ns - last_ns)
        reason: str | None = None
        if not self._open:
            reason = self._pending_reason
            self._open = True
            self._offset_ns = arrival_mono_ns - last_ns  # newest sample at arrival
            self._wall_minus_mono_ns = wall_minus_mono
            self._floor.clear()
            self._floor_start_ns = arrival_mono_ns
        elif shift:
            self._offset_ns += shift
            self._floor.clear()
            self._floor_start_ns = arrival_mono_ns
        self._last_sensor_ns = last_ns
        # floored, like the packet's arrival_epoch_ms, so no sample reads later than its arrival
        epoch_ms = (t + np.int64(self._offset_ns + self._wall_minus_mono_ns)) // NS_PER_MS
        return SensorStamped(reason, epoch_ms, self._offset_ns, shift / NS_PER_MS)

    def _floor_shift(self, arrival_ns: int, free_slack_ns: int) -> int:
        """Forward shift (ns) when the rolling minimum slack stays above the floor."""
        floor = self._floor
        while floor and floor[-1][1] >= free_slack_ns:
            floor.pop()
        floor.append((arrival_ns, free_slack_ns))
        window_ns = round(self.config.floor_window_s * NS_PER_S)
        while floor[0][0] < arrival_ns - window_ns:
            floor.popleft()
        if arrival_ns - self._floor_start_ns < window_ns:
            return 0
        min_slack = floor[0][1] - self._offset_ns
        return min_slack if min_slack > self.config.floor_slack_ms * NS_PER_MS else 0
