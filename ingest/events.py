"""What flows from the collector to the recorder, and from the recorder onward.

strap → :class:`Notification` / :class:`LinkEvent` (collector, stamped on arrival)
      → :class:`Beat`, :class:`StatusEvent` (recorder, after parsing, timestamping and storage)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np


class LinkKind(StrEnum):
    """What a :class:`LinkEvent` (and its ``status_event`` row) says happened; the values
    are the stored and published strings."""

    RECORDING_STARTED = "recording_started"
    RECORDING_STOPPED = "recording_stopped"
    SCAN_MISS = "scan_miss"  # the strap was not found this round
    RETRY_WAIT = "retry_wait"
    CONNECT_FAILED = "connect_failed"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    LINK_SILENT = "link_silent"  # connected, but no notification for a while
    RSSI = "rssi"
    BATTERY = "battery"
    CONTACT = "contact"  # skin contact changed
    PARSE_ERROR = "parse_error"
    CLOCK_STEP = "clock_step"  # the wall clock jumped against the monotonic one
    STORAGE_FAILED = "storage_failed"
    STORAGE_RESUMED = "storage_resumed"
    # motion (issue 8): what the strap offers, and the accelerometer stream's life
    CAPABILITIES = "capabilities"  # {"acc": bool, "rsc": bool} after each connect
    MOTION_STARTED = "motion_started"  # PMD ACC streaming: {"sample_rate_hz", "range_g", …}
    MOTION_STOPPED = "motion_stopped"  # the stop command was sent (or the strap stopped it)
    MOTION_ERROR = "motion_error"  # the strap refused a request: {"error": one line, "code"}


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    address: str
    name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    body_location: str | None = None
    has_acc: bool | None = None  # PMD accelerometer offered (None: not asked)
    has_rsc: bool | None = None  # Running Speed and Cadence measurement offered


@dataclass(frozen=True, slots=True)
class Notification:
    """One 0x2A37 notification, stamped the moment it arrived."""

    arrival_mono_ns: int
    arrival_wall_ns: int
    payload: bytes

    @classmethod
    def now(cls, payload: bytes | bytearray) -> Notification:
        return cls(time.monotonic_ns(), time.time_ns(), bytes(payload))


class MotionKind(StrEnum):
    """Which motion characteristic a :class:`MotionNotification` came from (the stored
    ``motion_packet.kind``)."""

    PMD = "pmd"  # Polar Measurement Data, data characteristic FB005C82-…
    RSC = "rsc"  # standard Running Speed and Cadence measurement 0x2A53


@dataclass(frozen=True, slots=True)
class MotionNotification:
    """One PMD data or RSC notification, stamped the moment it arrived."""

    kind: MotionKind
    arrival_mono_ns: int
    arrival_wall_ns: int
    payload: bytes

    @classmethod
    def now(cls, kind: MotionKind, payload: bytes | bytearray) -> MotionNotification:
        return cls(kind, time.monotonic_ns(), time.time_ns(), bytes(payload))


@dataclass(frozen=True, slots=True)
class LinkEvent:
    """Connection life and device state: connected, disconnected, battery, rssi, …"""

    kind: LinkKind
    value: dict[str, Any] = field(default_factory=dict)
    device: DeviceInfo | None = None
    wall_ns: int = field(default_factory=time.time_ns)


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """A stored status event: link life and device state (``kind`` as in :class:`LinkEvent`,
    plus contact, parse_error, clock_step, storage_resumed…) at ``epoch_ms`` (Unix ms)."""

    epoch_ms: int
    kind: str
    value: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Beat:
    """A stored beat: the RR interval that ends at ``epoch_ms``."""

    id: int
    segment_id: int
    epoch_ms: int
    rr_ms: float
    rr_1024: int | None
    hr_bpm: int | None
    flags: int


@dataclass(frozen=True, slots=True)
class AccSamples:
    """Stored accelerometer samples in time order: ``epoch_ms`` (n,) int64 Unix ms,
    ``xyz_mg`` (n, 3) int16 in mg including gravity, at the nominal ``rate_hz``."""

    epoch_ms: np.ndarray
    xyz_mg: np.ndarray
    rate_hz: float

    def __len__(self) -> int:
        return len(self.epoch_ms)

    @classmethod
    def empty(cls, rate_hz: float = 0.0) -> AccSamples:
        return cls(np.empty(0, np.int64), np.empty((0, 3), np.int16), rate_hz)
