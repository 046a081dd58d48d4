"""Running Speed and Cadence Measurement (0x2A53): parse and encode.

The standard GATT characteristic (service 0x1814), laid out as in the Bluetooth SIG's
RSC Service specification (RSCS v1.0, section 3.1 / GATT Specification Supplement):

====== ======== ===========================================================
bytes  type     field
====== ======== ===========================================================
1      uint8    flags: bit 0 stride length present, bit 1 total distance
                present, bit 2 walking (0) or running (1); bits 3-7 reserved
2      uint16   instantaneous speed, 1/256 m/s
1      uint8    instantaneous cadence, 1/min
(2)    uint16   instantaneous stride length, 1/100 m (flag bit 0)
(4)    uint32   total distance, 1/10 m (flag bit 1)
====== ======== ===========================================================

All little-endian. Malformed bytes never raise: :func:`rsc_parse` *returns* an
:class:`RscMalformed` (like ``hrm_parse``), so the recorder can keep and count them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

RSC_SERVICE_UUID = "00001814-0000-1000-8000-00805f9b34fb"
RSC_MEASUREMENT_UUID = "00002a53-0000-1000-8000-00805f9b34fb"

FLAG_STRIDE = 0x01
FLAG_DISTANCE = 0x02
FLAG_RUNNING = 0x04


@dataclass(frozen=True, slots=True)
class RscMeasurement:
    """One decoded measurement: ``speed_m_s``, ``cadence_spm`` (1/min, as the sensor
    counts it), ``running`` (False: walking), optional stride length (m) and total distance (m)."""

    speed_m_s: float
    cadence_spm: int
    running: bool
    stride_m: float | None = None
    distance_m: float | None = None


@dataclass(frozen=True, slots=True)
class RscMalformed:
    """Bytes that are not a valid RSC measurement (returned, never raised)."""

    message: str
    payload: bytes

    def __str__(self) -> str:
        return f"{self.message} (payload {self.payload[:32].hex() or 'empty'})"


def rsc_parse(payload: bytes | bytearray | memoryview) -> RscMeasurement | RscMalformed:
    """Decode a 0x2A53 notification.

    >>> rsc_parse(bytes.fromhex("05 00 03 a8 f4 00"))
    RscMeasurement(speed_m_s=3.0, cadence_spm=168, running=True, stride_m=2.44, distance_m=None)
    """
    data = bytes(payload)
    if len(data) < 4:
        return RscMalformed(f"{len(data)} bytes, a measurement has at least 4", data)
    flags = data[0]
    need = 4 + (2 if flags & FLAG_STRIDE else 0) + (4 if flags & FLAG_DISTANCE else 0)
    if len(data) < need:
        return RscMalformed(f"flags 0x{flags:02x} announce {need} bytes, got {len(data)}", data)
    speed_256, cadence = struct.unpack_from("<HB", data, 1)
    pos = 4
    stride_m = distance_m = None
    if flags & FLAG_STRIDE:
        stride_m = struct.unpack_from("<H", data, pos)[0] / 100
        pos += 2
    if flags & FLAG_DISTANCE:
        distance_m = struct.unpack_from("<I", data, pos)[0] / 10
    return RscMeasurement(speed_256 / 256, cadence, bool(flags & FLAG_RUNNING), stride_m, distance_m)


def rsc_encode(
    speed_m_s: float,
    cadence_spm: int,
    *,
    running: bool = False,
    stride_m: float | None = None,
    distance_m: float | None = None,
) -> bytes:
    """Build a 0x2A53 payload (for the simulated strap and tests). Values that do not fit
    their field raise ``ValueError``."""
    flags = (FLAG_RUNNING if running else 0) | (FLAG_STRIDE if stride_m is not None else 0) \
        | (FLAG_DISTANCE if distance_m is not None else 0)
    try:
        out = struct.pack("<BHB", flags, round(speed_m_s * 256), cadence_spm)
        if stride_m is not None:
            out += struct.pack("<H", round(stride_m * 100))
        if distance_m is not None:
            out += struct.pack("<I", round(distance_m * 10))
    except struct.error as exc:
        raise ValueError(f"RSC value out of range: {exc}") from None
    return out
