"""Heart Rate Measurement (GATT characteristic 0x2A37): parse and encode.

Layout (Bluetooth SIG, Heart Rate Service 1.0, section 3.1):

====  =========================================================================
byte  field
====  =========================================================================
0     flags: bit0 HR is uint16; bit1 contact detected; bit2 contact supported;
      bit3 energy expended present; bit4 RR intervals present; bits 5-7 reserved
1..   HR, uint8 or uint16 little-endian, beats per minute
..    energy expended, uint16 little-endian, kilojoules (only with bit3)
..    zero or more RR intervals, uint16 little-endian, 1/1024 s each (only with bit4)
====  =========================================================================

RR intervals are kept as exact 1/1024 s ticks (``rr_1024``); milliseconds are derived at
the edge. Malformed payloads are *returned* as :class:`HrmError` (never raised), so the
recorder can count and log them without ever stopping.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

FLAG_HR_UINT16 = 0x01
FLAG_CONTACT_DETECTED = 0x02
FLAG_CONTACT_SUPPORTED = 0x04
FLAG_ENERGY_PRESENT = 0x08
FLAG_RR_PRESENT = 0x10

RR_TICKS_PER_S = 1024


def rr_1024_to_ms(rr_1024: int) -> float:
    """Convert an RR interval from 1/1024 s ticks to milliseconds (exact in float64)."""
    return rr_1024 * 1000.0 / RR_TICKS_PER_S


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    """One decoded notification."""

    flags: int
    hr_bpm: int
    contact: bool | None  # None: the sensor does not report contact
    energy_kj: int | None
    rr_1024: tuple[int, ...]

    @property
    def rr_ms(self) -> tuple[float, ...]:
        return tuple(rr_1024_to_ms(v) for v in self.rr_1024)


class HrmErrorCode(enum.StrEnum):
    EMPTY = "empty"
    TRUNCATED = "truncated"  # a field announced by the flags is missing or cut short
    ODD_RR_BYTES = "odd_rr_bytes"  # RR area ends in half an interval
    TRAILING_BYTES = "trailing_bytes"  # bytes after the last field with no RR flag


@dataclass(frozen=True, slots=True)
class HrmError:
    """A payload that is not a valid Heart Rate Measurement."""

    code: HrmErrorCode
    message: str
    payload: bytes

    def __str__(self) -> str:
        return f"{self.code}: {self.message} (payload {self.payload.hex() or 'empty'})"


def hrm_parse(payload: bytes | bytearray | memoryview) -> HeartRateMeasurement | HrmError:
    """Decode a Heart Rate Measurement payload.

    Returns a :class:`HeartRateMeasurement`, or an :class:`HrmError` when the payload is
    empty, truncated, or has an odd number of bytes in its RR area. Reserved flag bits are
    ignored, as the specification asks of receivers.
    """
    data = bytes(payload)
    if not data:
        return HrmError(HrmErrorCode.EMPTY, "no bytes", data)
    flags = data[0]
    pos = 1
    if flags & FLAG_HR_UINT16:
        if len(data) < pos + 2:
            return HrmError(HrmErrorCode.TRUNCATED, "uint16 heart rate cut short", data)
        hr_bpm = data[pos] | data[pos + 1] << 8
        pos += 2
    else:
        if len(data) < pos + 1:
            return HrmError(HrmErrorCode.TRUNCATED, "heart rate missing", data)
        hr_bpm = data[pos]  # unsigned: HR > 127 must not turn negative
        pos += 1
    contact = bool(flags & FLAG_CONTACT_DETECTED) if flags & FLAG_CONTACT_SUPPORTED else None
    energy_kj = None
    if flags & FLAG_ENERGY_PRESENT:
        if len(data) < pos + 2:
            return HrmError(HrmErrorCode.TRUNCATED, "energy expended cut short", data)
        energy_kj = data[pos] | data[pos + 1] << 8
        pos += 2
    rest = len(data) - pos
    if flags & FLAG_RR_PRESENT:
        if rest % 2:
            return HrmError(
                HrmErrorCode.ODD_RR_BYTES, f"{rest} bytes of RR data is not whole intervals", data
            )
        rr_1024 = struct.unpack_from(f"<{rest // 2}H", data, pos)
    else:
        if rest:
            return HrmError(
                HrmErrorCode.TRAILING_BYTES, f"{rest} unexpected bytes without the RR flag", data
            )
        rr_1024 = ()
    return HeartRateMeasurement(flags, hr_bpm, contact, energy_kj, rr_1024)


def hrm_encode(
    hr_bpm: int,
    rr_1024: tuple[int, ...] | list[int] = (),
    *,
    contact: bool | None = None,
    energy_kj: int | None = None,
    hr_uint16: bool | None = None,
) -> bytes:
    """Build a Heart Rate Measurement payload (used by the simulated strap and tests).

    ``hr_uint16`` defaults to what the value needs. RR flag is set whenever RR values are
    given. Values outside their field's range raise ``ValueError``.
    """
    if hr_uint16 is None:
        hr_uint16 = hr_bpm > 0xFF
    if not 0 <= hr_bpm <= (0xFFFF if hr_uint16 else 0xFF):
        raise ValueError(f"hr_bpm {hr_bpm} out of range")
    flags = 0
    body = bytearray()
    if hr_uint16:
        flags |= FLAG_HR_UINT16
        body += struct.pack("<H", hr_bpm)
    else:
        body.append(hr_bpm)
    if contact is not None:
        flags |= FLAG_CONTACT_SUPPORTED | (FLAG_CONTACT_DETECTED if contact else 0)
    if energy_kj is not None:
        flags |= FLAG_ENERGY_PRESENT
        body += struct.pack("<H", energy_kj)
    if rr_1024:
        flags |= FLAG_RR_PRESENT
        body += struct.pack(f"<{len(rr_1024)}H", *rr_1024)
    return bytes([flags]) + bytes(body)
