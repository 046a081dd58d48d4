"""An emulated BlueZ (``org.bluez``) with fake Bluetooth LE heart-rate chest straps.

Bleak's Linux backend talks to ``bluetoothd`` over D-Bus and to nothing else, so
a D-Bus service that owns ``org.bluez`` and behaves like ``bluetoothd`` lets the
*real* Bleak code (scanner, client, bleak-retry-connector) run without any
Bluetooth hardware. Run it on a private bus (see :mod:`dbus_bus`) and point the
code under test at that bus with ``DBUS_SYSTEM_BUS_ADDRESS``.

What is emulated (the subset of the BlueZ D-Bus API that Bleak uses):

* ``org.freedesktop.DBus.ObjectManager`` (``GetManagedObjects``, ``InterfacesAdded``,
  ``InterfacesRemoved``). dbus-fast's :class:`~dbus_fast.aio.MessageBus` serves
  ``GetManagedObjects`` for every exported object and emits the two signals on
  ``export``/``unexport`` itself. Unlike ``bluetoothd`` it sends them from the object's
  own path instead of ``/``; Bleak matches them by interface, member and ``arg0path``
  only, so that makes no difference to it.
* One adapter, ``/org/bluez/hci0`` (``org.bluez.Adapter1``): ``SetDiscoveryFilter``,
  ``StartDiscovery``, ``StopDiscovery``, ``GetDiscoveryFilters``, ``RemoveDevice``.
  Discovery sessions and filters are kept per D-Bus client (unique bus name), as in
  ``bluetoothd``: a second ``StartDiscovery`` from the same connection fails with
  ``org.bluez.Error.InProgress``, a ``StopDiscovery`` without a session fails with
  ``org.bluez.Error.Failed`` ("No discovery started"), and a client that leaves the
  bus loses its sessions.
* Devices, ``/org/bluez/hci0/dev_XX_XX_XX_XX_XX_XX`` (``org.bluez.Device1``). A device
  object appears (``InterfacesAdded``) the first time the strap is "heard" during a
  discovery that its filter admits; while discovery runs every present, advertising
  strap is re-advertised every ``advertise_interval`` seconds as a
  ``PropertiesChanged`` of ``RSSI`` (and ``ManufacturerData``), which is what drives
  Bleak's scanner callbacks. A device object that is neither connected nor paired is
  removed ``temporary_timeout`` seconds after it was last heard, like BlueZ's
  ``TemporaryTimeout``.
* ``Connect()``: ``Connected=True``; after ``service_discovery_time`` the GATT objects
  are exported (``InterfacesAdded``), then ``ServicesResolved=True`` and the reply.
  An absent strap (out of range / not worn) does not advertise, and ``Connect()``
  waits up to ``connect_timeout`` seconds for it to come back, then fails with
  ``org.bluez.Error.Failed`` ``"le-connection-abort-by-local"`` (no ``Connected``
  change, as the link never came up). ``Disconnect()`` cancels a pending attempt.
* Link loss (:meth:`EmulatedDevice.drop_link`): ``ServicesResolved=False``,
  ``InterfacesRemoved`` for every GATT object, ``Connected=False``, in that order.
* GATT (``org.bluez.GattService1``, ``GattCharacteristic1``, ``GattDescriptor1``)
  with ``ReadValue``, ``WriteValue``, ``StartNotify`` and ``StopNotify``.
  ``AcquireNotify``/``NotifyAcquired`` are deliberately absent, so Bleak uses
  ``StartNotify`` and receives notifications as ``PropertiesChanged`` of ``Value``.
  As in BlueZ, ``Value`` is empty until the characteristic is read or notifies, a
  ``ReadValue`` also updates ``Value`` (so a client subscribed to the same
  characteristic sees the read as a notification too), and notification sessions
  are per D-Bus client.

The strap's GATT database (every part optional, since real straps differ):

* Heart Rate ``0x180D``: Heart Rate Measurement ``0x2A37`` (notify) and Body Sensor
  Location ``0x2A38`` (read);
* Battery ``0x180F``: Battery Level ``0x2A19`` (read, notify);
* Device Information ``0x180A``: Manufacturer Name ``0x2A29``, Model Number ``0x2A24``,
  Serial Number ``0x2A25``, Firmware Revision ``0x2A26`` (read, UTF-8);
* Polar Measurement Data (``StrapSpec(pmd=PmdSpec())``), answering like a Polar H10: the
  control point ``FB005C81`` (read: the features ``0F 05 00``, ECG and ACC; write with
  response: requests, answered by an indication ``F0 op type error more parameters`` a few
  ms after the write returns, as a real strap does) and the data characteristic
  ``FB005C82`` (notify). Get-settings for ACC lists the H10's 25/50/100/200 Hz, 16 bit,
  2/4/8 g; start validates the values, answers 6 "already in state" while streaming and
  the spec's ``start_error`` (e.g. 13, "device in charger") when given; stop answers 6 when
  not streaming. The streaming state lives on the strap, not on the link: it survives a
  link loss (the worst case, which is why a client must stop before it starts), and
  :meth:`EmulatedDevice.pmd_notify` delivers data only while the strap streams;
* Running Speed and Cadence ``0x1814`` (``StrapSpec(rsc=True)``): measurement ``0x2A53`` (notify).

Known simplifications: ``RSSI`` stays on the device after discovery stops (BlueZ
invalidates it), a disconnect always removes the GATT objects (BlueZ may keep them
for bonded devices), every characteristic has a ``Notifying`` property, and there
is no ``TxPower``, BR/EDR, agent, profile or advertisement-monitor API.

The emulator runs its own asyncio event loop in a background thread, so plain
synchronous tests drive it::

    with PrivateDBus() as bus, BlueZEmulator(bus.address) as bluez:
        strap = bluez.add_device(StrapSpec("C8:2E:11:0A:12:34", "Polar H10 0A123456", battery=87))
        ...  # start the code under test with DBUS_SYSTEM_BUS_ADDRESS=bus.address
        strap.wait_notifying(timeout=10)
        assert strap.notify(bytes([0x10, 72, 0x20, 0x03]))
        strap.drop_link()

Every public method is thread-safe. Methods that wait (``wait_*``) must not be
called from the emulator's own event loop thread.
"""

# The D-Bus members below are named exactly as in the BlueZ API (PascalCase), because
# dbus-fast takes the D-Bus name from the Python name.
# ruff: noqa: N802

import asyncio
import concurrent.futures
import contextlib
import copy
import enum
import logging
import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Annotated, Any, ClassVar, Final, Literal, Self, TypeVar

from dbus_fast import DBusError, Message, MessageType, NameFlag, RequestNameReply, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import (
    DBusBool,
    DBusBytes,
    DBusDict,
    DBusInt16,
    DBusObjectPath,
    DBusSignature,
    DBusStr,
    DBusUInt16,
    DBusUInt32,
)
from dbus_fast.constants import PropertyAccess
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property

# No ``from __future__ import annotations`` here: dbus-fast reads the D-Bus signatures
# from the annotations of the decorated members, and a deferred ``-> None`` would not
# read as "no return value".

__all__ = [
    "BATTERY_LEVEL",
    "BATTERY_SERVICE",
    "BODY_SENSOR_LOCATION",
    "CLIENT_CHARACTERISTIC_CONFIGURATION",
    "DEVICE_INFORMATION_FIELDS",
    "DEVICE_INFORMATION_SERVICE",
    "FIRMWARE_REVISION",
    "HEART_RATE_MEASUREMENT",
    "HEART_RATE_SERVICE",
    "LE_ABORT_BY_LOCAL",
    "LE_ABORT_BY_REMOTE",
    "MANUFACTURER_NAME",
    "MODEL_NUMBER",
    "PMD_CONTROL_POINT",
    "PMD_DATA",
    "PMD_SERVICE",
    "RSC_MEASUREMENT",
    "RSC_SERVICE",
    "SERIAL_NUMBER",
    "BlueZEmulator",
    "DeviceStats",
    "DiscoveryFilter",
    "EmulatedDevice",
    "PmdSpec",
    "StrapSpec",
    "uuid16",
]

_LOGGER = logging.getLogger(__name__)

_T = TypeVar("_T")

# --------------------------------------------------------------------------- names


def uuid16(short: int) -> str:
    """The full, lowercase 128-bit form of a 16-bit Bluetooth SIG UUID, as BlueZ reports it."""
    if not 0 <= short <= 0xFFFF:
        raise ValueError(f"not a 16-bit UUID: {short:#x}")
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


HEART_RATE_SERVICE: Final = uuid16(0x180D)
HEART_RATE_MEASUREMENT: Final = uuid16(0x2A37)
BODY_SENSOR_LOCATION: Final = uuid16(0x2A38)
BATTERY_SERVICE: Final = uuid16(0x180F)
BATTERY_LEVEL: Final = uuid16(0x2A19)
DEVICE_INFORMATION_SERVICE: Final = uuid16(0x180A)
MANUFACTURER_NAME: Final = uuid16(0x2A29)
MODEL_NUMBER: Final = uuid16(0x2A24)
SERIAL_NUMBER: Final = uuid16(0x2A25)
FIRMWARE_REVISION: Final = uuid16(0x2A26)
CLIENT_CHARACTERISTIC_CONFIGURATION: Final = uuid16(0x2902)
RSC_SERVICE: Final = uuid16(0x1814)
RSC_MEASUREMENT: Final = uuid16(0x2A53)
PMD_SERVICE: Final = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_POINT: Final = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA: Final = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

#: Keys accepted in ``StrapSpec(device_info=...)`` and the characteristic each one fills.
DEVICE_INFORMATION_FIELDS: Final[Mapping[str, str]] = {
    "manufacturer_name": MANUFACTURER_NAME,
    "model_number": MODEL_NUMBER,
    "serial_number": SERIAL_NUMBER,
    "firmware_revision": FIRMWARE_REVISION,
}

BLUEZ_SERVICE: Final = "org.bluez"
ADAPTER_INTERFACE: Final = "org.bluez.Adapter1"
DEVICE_INTERFACE: Final = "org.bluez.Device1"
GATT_SERVICE_INTERFACE: Final = "org.bluez.GattService1"
GATT_CHARACTERISTIC_INTERFACE: Final = "org.bluez.GattCharacteristic1"
GATT_DESCRIPTOR_INTERFACE: Final = "org.bluez.GattDescriptor1"


class _Error(enum.StrEnum):
    """``org.bluez.Error.*`` names used by the emulator."""

    FAILED = "org.bluez.Error.Failed"
    IN_PROGRESS = "org.bluez.Error.InProgress"
    INVALID_ARGUMENTS = "org.bluez.Error.InvalidArguments"
    NOT_READY = "org.bluez.Error.NotReady"
    NOT_PERMITTED = "org.bluez.Error.NotPermitted"
    NOT_SUPPORTED = "org.bluez.Error.NotSupported"
    NOT_CONNECTED = "org.bluez.Error.NotConnected"
    DOES_NOT_EXIST = "org.bluez.Error.DoesNotExist"
    ALREADY_EXISTS = "org.bluez.Error.AlreadyExists"


#: The error text of a failed LE connection attempt that the local host gave up on
#: (BlueZ >= 5.62). Bleak treats exactly this text as "retry once the link is down".
LE_ABORT_BY_LOCAL: Final = "le-connection-abort-by-local"
#: The error text when the peer dropped the link while connecting.
LE_ABORT_BY_REMOTE: Final = "le-connection-abort-by-remote"

# D-Bus types that dbus_fast.annotations does not name.
_DBusStrList = Annotated[list[str], DBusSignature("as")]
_DBusObjectPathList = Annotated[list[str], DBusSignature("ao")]
_DBusManufacturerData = Annotated[dict[int, Variant], DBusSignature("a{qv}")]
_DBusServiceData = Annotated[dict[str, Variant], DBusSignature("a{sv}")]

_ADDRESS_RE: Final = re.compile(r"^[0-9A-F]{2}(?::[0-9A-F]{2}){5}$")
_READ: Final = PropertyAccess.READ


def _failed(text: str) -> DBusError:
    return DBusError(_Error.FAILED, text)


# --------------------------------------------------------------------------- public value types


@dataclass(frozen=True)
class PmdSpec:
    """The Polar Measurement Data service of an emulated strap (bytes written out here by
    hand from Polar's BLE SDK documentation, independent of the code under test).

    Attributes:
        features: The control point's read value: ``0F``, then a bit per measurement type
            offered (bit 0 ECG, bit 2 ACC: an H10).
        acc_settings: Parameters of the answer to get-settings for ACC: (type, count,
            uint16 values...) for sample rate 25/50/100/200 Hz, resolution 16, range 2/4/8 g.
        start_error: Error code answered to every start request (0: start normally);
            13 is "device in charger".
        answer_delay_s: Seconds between a write's reply and its answer's indication.
    """

    features: bytes = bytes.fromhex("0f 05 00")
    acc_settings: bytes = bytes.fromhex("00 04 19 00 32 00 64 00 c8 00  01 01 10 00  02 03 02 00 04 00 08 00")
    start_error: int = 0
    answer_delay_s: float = 0.005


@dataclass(frozen=True)
class StrapSpec:
    """One emulated heart-rate strap: identity, advertisement, GATT database, timing.

    Give it to :meth:`BlueZEmulator.add_device`. Only ``address`` and ``name`` are needed;
    the defaults are a present, unpaired chest strap with Heart Rate and Battery services.

    Attributes:
        address: Bluetooth address, ``"XX:XX:XX:XX:XX:XX"`` (any case; stored upper case).
        name: Advertised local name (BlueZ ``Name``/``Alias``).
        rssi: Signal strength in dBm reported with each advertisement.
        present: Whether the strap starts in range and worn.
        address_type: ``"random"`` (most straps) or ``"public"``.
        heart_rate: Whether it has the Heart Rate service with Heart Rate
            Measurement (``0x2A37``, notify).
        body_location: Body Sensor Location (``0x2A38``) value, e.g. ``0x01``
            (chest); ``None`` leaves the characteristic out. Needs ``heart_rate``.
        battery: Battery Level in percent (``0x180F``/``0x2A19``); ``None``
            leaves the Battery service out.
        device_info: Device Information strings, keyed by ``"manufacturer_name"``,
            ``"model_number"``, ``"serial_number"``, ``"firmware_revision"``;
            missing keys leave their characteristic out, ``None``/empty leaves
            the service out.
        advertised_uuids: Service UUIDs in the advertisement (full 128-bit);
            default: the Heart Rate service if ``heart_rate``.
        manufacturer_data: Advertised manufacturer data by company ID.
        service_data: Advertised service data by UUID.
        appearance: GAP appearance (``0x0341``: heart rate belt).
        paired: Whether BlueZ already knows the strap as paired/bonded (its
            object then exists before any scan and never expires).
        mtu: ATT MTU reported on the characteristics.
        connect_timeout: Seconds a ``Connect()`` to an absent strap waits for it
            to come back before failing (the kernel's LE connection timeout,
            shortened).
        connect_error: Error text of that failure (``org.bluez.Error.Failed``).
        service_discovery_time: Seconds between ``Connected=True`` and the GATT
            objects appearing.
        advertise_while_connected: Whether the strap keeps advertising while
            connected (some allow a second central).
        pmd: The Polar Measurement Data service (``None``: a strap without it).
        rsc: Whether it has Running Speed and Cadence (``0x1814``/``0x2A53``, notify).

    Raises:
        ValueError: for a malformed address or a bad option.
    """

    address: str
    name: str
    rssi: int = -60
    present: bool = True
    address_type: Literal["public", "random"] = "random"
    heart_rate: bool = True
    body_location: int | None = 0x01
    battery: int | None = 100
    device_info: Mapping[str, str] | None = None
    advertised_uuids: Sequence[str] | None = None
    manufacturer_data: Mapping[int, bytes] | None = None
    service_data: Mapping[str, bytes] | None = None
    appearance: int = 0x0341
    paired: bool = False
    mtu: int = 23
    connect_timeout: float = 2.0
    connect_error: str = LE_ABORT_BY_LOCAL
    service_discovery_time: float = 0.02
    advertise_while_connected: bool = False
    pmd: PmdSpec | None = None
    rsc: bool = False

    def __post_init__(self) -> None:
        info = dict(self.device_info or {})
        unknown = set(info) - set(DEVICE_INFORMATION_FIELDS)
        if unknown:
            raise ValueError(f"unknown device_info keys {sorted(unknown)}; known: {sorted(DEVICE_INFORMATION_FIELDS)}")
        if self.body_location is not None and not self.heart_rate:
            raise ValueError("body_location needs heart_rate=True (it is part of the Heart Rate service)")
        for label, byte in (("body_location", self.body_location), ("battery", self.battery)):
            if byte is not None and not 0 <= byte <= 0xFF:
                raise ValueError(f"{label} must fit in one byte, not {byte}")
        advertised = self.advertised_uuids
        if advertised is None:
            advertised = [HEART_RATE_SERVICE] if self.heart_rate else []
        # normalised once, here: the rest of the emulator reads these as given
        set_ = object.__setattr__  # frozen
        set_(self, "address", _normalise_address(self.address))
        set_(self, "device_info", info)
        set_(self, "advertised_uuids", tuple(uuid.lower() for uuid in advertised))
        set_(self, "manufacturer_data", dict(self.manufacturer_data or {}))
        set_(self, "service_data", {uuid.lower(): data for uuid, data in (self.service_data or {}).items()})


@dataclass
class DeviceStats:
    """What the code under test did to one emulated strap (a snapshot; see :attr:`EmulatedDevice.stats`)."""

    connect_calls: int = 0
    """``Device1.Connect()`` calls, successful or not."""
    connections: int = 0
    """Connections that reached ``ServicesResolved=True`` (through ``Connect()`` or ``Pair()``)."""
    failed_connects: int = 0
    """``Connect()`` calls that returned an error."""
    disconnect_calls: int = 0
    """``Device1.Disconnect()`` calls."""
    pair_calls: int = 0
    """``Device1.Pair()`` calls."""
    link_losses: int = 0
    """Links dropped by the strap side (:meth:`EmulatedDevice.drop_link`, going absent)."""
    start_notify_calls: int = 0
    """``StartNotify()`` calls on any characteristic."""
    stop_notify_calls: int = 0
    """``StopNotify()`` calls on any characteristic."""
    notifications_delivered: int = 0
    """Notifications sent to subscribed clients (``PropertiesChanged`` of ``Value``)."""
    notifications_dropped: int = 0
    """Notifications not sent because nobody was subscribed (or nothing was connected)."""
    reads: dict[str, int] = field(default_factory=dict)
    """``ReadValue()`` calls per characteristic UUID."""
    writes: list[tuple[str, bytes]] = field(default_factory=list)
    """Accepted ``WriteValue()`` calls as (characteristic UUID, value), in order."""


@dataclass(frozen=True)
class DiscoveryFilter:
    """A client's discovery filter, as set with ``Adapter1.SetDiscoveryFilter``."""

    uuids: frozenset[str] = frozenset()
    """Service UUIDs (lowercase); empty means any."""
    rssi: int | None = None
    """Minimum RSSI in dBm, or ``None``."""
    pathloss: int | None = None
    """Maximum path loss in dB, or ``None`` (accepted, not applied: the emulator has no TX power)."""
    transport: str = "auto"
    """``"auto"``, ``"le"`` or ``"bredr"``."""
    duplicate_data: bool = True
    """BlueZ's ``DuplicateData`` (accepted; the emulator always re-advertises)."""
    discoverable: bool = False
    """BlueZ's ``Discoverable`` (accepted, not applied)."""
    pattern: str = ""
    """Address or name prefix; empty means any."""

    _KEYS: ClassVar[tuple[str, ...]] = (
        "UUIDs",
        "RSSI",
        "Pathloss",
        "Transport",
        "DuplicateData",
        "Discoverable",
        "Pattern",
    )

    @classmethod
    def from_dbus(cls, properties: Mapping[str, Variant]) -> "DiscoveryFilter":
        """Parse the ``a{sv}`` argument of ``SetDiscoveryFilter``.

        Raises:
            DBusError: ``org.bluez.Error.InvalidArguments`` for unknown keys or bad values.
        """
        unknown = set(properties) - set(cls._KEYS)
        if unknown:
            raise DBusError(_Error.INVALID_ARGUMENTS, f"Invalid Arguments in method call: {sorted(unknown)}")
        values = {key: variant.value for key, variant in properties.items()}
        transport = values.get("Transport", "auto")
        if transport not in ("auto", "le", "bredr"):
            raise DBusError(_Error.INVALID_ARGUMENTS, f"Invalid Transport: {transport!r}")
        if "RSSI" in values and "Pathloss" in values:
            raise DBusError(_Error.INVALID_ARGUMENTS, "RSSI and Pathloss are mutually exclusive")
        return cls(
            uuids=frozenset(str(uuid).lower() for uuid in values.get("UUIDs", ())),
            rssi=values.get("RSSI"),
            pathloss=values.get("Pathloss"),
            transport=transport,
            duplicate_data=bool(values.get("DuplicateData", True)),
            discoverable=bool(values.get("Discoverable", False)),
            pattern=values.get("Pattern", ""),
        )

    def admits(self, device: "_Device") -> bool:
        """Whether ``device``'s advertisements pass this filter."""
        if self.transport == "bredr":
            return False  # every emulated strap is LE-only
        if self.uuids and not self.uuids & set(device.config.advertised_uuids):
            return False
        if self.rssi is not None and device.rssi < self.rssi:
            return False
        return not self.pattern or device.address.startswith(self.pattern) or device.local_name.startswith(self.pattern)


# --------------------------------------------------------------------------- GATT model


@dataclass
class _CharacteristicModel:
    """One characteristic of a strap's GATT database; outlives connections."""

    uuid: str
    flags: tuple[str, ...]
    value: bytes
    """What the strap answers to a read (and the last value it notified)."""
    handle: int = 0
    cccd_handle: int | None = None

    @property
    def can_notify(self) -> bool:
        return "notify" in self.flags or "indicate" in self.flags


@dataclass
class _ServiceModel:
    uuid: str
    characteristics: list[_CharacteristicModel]
    handle: int = 0


def _build_gatt(
    *,
    heart_rate: bool,
    body_location: int | None,
    battery: int | None,
    device_info: Mapping[str, str],
    pmd: PmdSpec | None = None,
    rsc: bool = False,
    first_handle: int = 0x000A,
) -> list[_ServiceModel]:
    """Lay out the strap's GATT database and number its attributes like a real server."""
    services: list[_ServiceModel] = []
    if heart_rate:
        chars = [_CharacteristicModel(HEART_RATE_MEASUREMENT, ("notify",), b"")]
        if body_location is not None:
            chars.append(_CharacteristicModel(BODY_SENSOR_LOCATION, ("read",), bytes([body_location])))
        services.append(_ServiceModel(HEART_RATE_SERVICE, chars))
    if battery is not None:
        services.append(
            _ServiceModel(BATTERY_SERVICE, [_CharacteristicModel(BATTERY_LEVEL, ("read", "notify"), bytes([battery]))])
        )
    if device_info:
        services.append(
            _ServiceModel(
                DEVICE_INFORMATION_SERVICE,
                [
                    _CharacteristicModel(uuid, ("read",), device_info[key].encode())
                    for key, uuid in DEVICE_INFORMATION_FIELDS.items()
                    if key in device_info
                ],
            )
        )

    if rsc:
        services.append(_ServiceModel(RSC_SERVICE, [_CharacteristicModel(RSC_MEASUREMENT, ("notify",), b"")]))
    if pmd is not None:
        services.append(_ServiceModel(PMD_SERVICE, [
            _CharacteristicModel(PMD_CONTROL_POINT, ("read", "write", "indicate"), pmd.features),
            _CharacteristicModel(PMD_DATA, ("notify",), b""),
        ]))

    # Service declaration, then per characteristic: declaration, value (and CCCD).
    # BlueZ names characteristic objects after the declaration handle.
    handle = first_handle
    for service in services:
        service.handle = handle
        handle += 1
        for char in service.characteristics:
            char.handle = handle
            handle += 2
            if char.can_notify:
                char.cccd_handle = handle
                handle += 1
    return services


# --------------------------------------------------------------------------- D-Bus objects: GATT


class _GattService1(ServiceInterface):
    """``org.bluez.GattService1`` of a connected strap."""

    def __init__(self, model: _ServiceModel, device_path: str) -> None:
        super().__init__(GATT_SERVICE_INTERFACE)
        self.model = model
        self.device_path = device_path
        self.path = f"{device_path}/service{model.handle:04x}"

    @dbus_property(access=_READ)
    def UUID(self) -> DBusStr:
        return self.model.uuid

    @dbus_property(access=_READ)
    def Device(self) -> DBusObjectPath:
        return self.device_path

    @dbus_property(access=_READ)
    def Primary(self) -> DBusBool:
        return True

    @dbus_property(access=_READ)
    def Includes(self) -> _DBusObjectPathList:
        return []

    @dbus_property(access=_READ)
    def Handle(self) -> DBusUInt16:
        return self.model.handle


class _GattCharacteristic1(ServiceInterface):
    """``org.bluez.GattCharacteristic1`` of a connected strap; lives for one connection."""

    def __init__(self, device: "_Device", model: _CharacteristicModel, service_path: str) -> None:
        super().__init__(GATT_CHARACTERISTIC_INTERFACE)
        self.device = device
        self.model = model
        self.service_path = service_path
        self.path = f"{service_path}/char{model.handle:04x}"
        self.value = b""  # BlueZ's cached value: empty until read or notified
        self.notify_sessions: set[str] = set()  # unique bus names of subscribed clients
        self.cccd: _GattDescriptor1 | None = None

    @property
    def notifying(self) -> bool:
        return bool(self.notify_sessions)

    # -- properties

    @dbus_property(access=_READ)
    def UUID(self) -> DBusStr:
        return self.model.uuid

    @dbus_property(access=_READ)
    def Service(self) -> DBusObjectPath:
        return self.service_path

    @dbus_property(access=_READ)
    def Value(self) -> DBusBytes:
        return self.value

    @dbus_property(access=_READ)
    def Notifying(self) -> DBusBool:
        return self.notifying

    @dbus_property(access=_READ)
    def Flags(self) -> _DBusStrList:
        return list(self.model.flags)

    @dbus_property(access=_READ)
    def Handle(self) -> DBusUInt16:
        return self.model.handle

    @dbus_property(access=_READ)
    def MTU(self) -> DBusUInt16:
        return self.device.config.mtu

    # -- methods

    @dbus_method()
    def ReadValue(self, options: DBusDict) -> DBusBytes:
        self.device.stats.reads[self.model.uuid] = self.device.stats.reads.get(self.model.uuid, 0) + 1
        self.device.core.changed()
        if "read" not in self.model.flags:
            raise DBusError(_Error.NOT_PERMITTED, "Read not permitted")
        offset = int(options["offset"].value) if "offset" in options else 0
        if offset > len(self.model.value):
            raise DBusError(_Error.INVALID_ARGUMENTS, "Invalid offset")
        # BlueZ stores what it read in the cached Value and announces it, so a client
        # that is subscribed to this characteristic gets the read as a notification too.
        self.set_value(self.model.value)
        return self.model.value[offset:]

    @dbus_method()
    def WriteValue(self, value: DBusBytes, options: DBusDict) -> None:
        if "write" not in self.model.flags and "write-without-response" not in self.model.flags:
            raise DBusError(_Error.NOT_PERMITTED, "Write not permitted")
        self.device.stats.writes.append((self.model.uuid, bytes(value)))
        if self.model.uuid == PMD_CONTROL_POINT:
            self.device.pmd_request(bytes(value))  # the read value stays the features
        else:
            self.model.value = bytes(value)
        self.device.core.changed()

    @dbus_method()
    def StartNotify(self) -> None:
        # Synchronous on purpose: the caller's bus name is only known while dispatching.
        sender = self.device.core.caller.sender
        self.device.stats.start_notify_calls += 1
        self.device.core.changed()
        if not self.model.can_notify:
            raise DBusError(_Error.NOT_SUPPORTED, "Operation is not supported")
        self.add_session(sender)

    @dbus_method()
    def StopNotify(self) -> None:
        sender = self.device.core.caller.sender
        self.device.stats.stop_notify_calls += 1
        self.device.core.changed()
        if sender not in self.notify_sessions:
            raise _failed("No notify session started")
        self.remove_session(sender)

    # -- emulator side

    def add_session(self, sender: str) -> None:
        was_notifying = self.notifying
        self.notify_sessions.add(sender)
        if not was_notifying:
            if self.cccd is not None:
                self.cccd.value = b"\x01\x00"
            self.emit_properties_changed({"Notifying": True})
            self.device.core.changed()

    def remove_session(self, sender: str) -> None:
        if sender not in self.notify_sessions:
            return
        self.notify_sessions.discard(sender)
        if not self.notifying:
            if self.cccd is not None:
                self.cccd.value = b"\x00\x00"
            self.emit_properties_changed({"Notifying": False})
            self.device.core.changed()

    def set_value(self, value: bytes) -> None:
        """Update BlueZ's cached ``Value`` and announce it (which is how notifications reach clients)."""
        self.value = value
        self.emit_properties_changed({"Value": value})


class _GattDescriptor1(ServiceInterface):
    """``org.bluez.GattDescriptor1``: the CCCD of a notifying characteristic."""

    def __init__(self, characteristic: _GattCharacteristic1, handle: int) -> None:
        super().__init__(GATT_DESCRIPTOR_INTERFACE)
        self.characteristic = characteristic
        self.handle = handle
        self.path = f"{characteristic.path}/desc{handle:04x}"
        self.value = b"\x00\x00"

    @dbus_property(access=_READ)
    def UUID(self) -> DBusStr:
        return CLIENT_CHARACTERISTIC_CONFIGURATION

    @dbus_property(access=_READ)
    def Characteristic(self) -> DBusObjectPath:
        return self.characteristic.path

    @dbus_property(access=_READ)
    def Value(self) -> DBusBytes:
        return self.value

    @dbus_property(access=_READ)
    def Handle(self) -> DBusUInt16:
        return self.handle

    @dbus_method()
    def ReadValue(self, options: DBusDict) -> DBusBytes:
        return self.value

    @dbus_method()
    def WriteValue(self, value: DBusBytes, options: DBusDict) -> None:
        # bluetoothd owns the CCCD: clients subscribe with StartNotify.
        raise DBusError(_Error.NOT_PERMITTED, "Write not permitted")


# --------------------------------------------------------------------------- D-Bus objects: device


class _Device(ServiceInterface):
    """``org.bluez.Device1`` plus the strap's state. Used on the emulator's loop thread only."""

    def __init__(
        self,
        core: "_Core",
        config: StrapSpec,
    ) -> None:
        super().__init__(DEVICE_INTERFACE)
        self.core = core
        self.config = config
        self.gatt = _build_gatt(heart_rate=config.heart_rate, body_location=config.body_location,
                                battery=config.battery, device_info=config.device_info or {},
                                pmd=config.pmd, rsc=config.rsc)
        self.pmd_streaming = False  # ACC streaming: the strap's state, not the link's
        self.address = config.address
        self.local_name = config.name
        self.path = f"{core.adapter.path}/dev_{config.address.replace(':', '_')}"
        self.rssi = config.rssi
        self.present = config.present
        self.paired = config.paired
        self.bonded = config.paired
        self.trusted = False
        self.blocked = False
        self.alias = ""
        self.connected = False
        self.services_resolved = False
        self.uuids: list[str] = list(config.advertised_uuids)
        self.exported = False
        self.last_seen = -math.inf
        self.stats = DeviceStats()
        self.connecting = False
        self._connect_cancelled = False
        self._wakeup = asyncio.Event()
        self._link_generation = 0
        self._pending_failures: list[str] = []
        self._presence_timer: asyncio.TimerHandle | None = None
        self._gatt_objects: list[_GattService1 | _GattCharacteristic1 | _GattDescriptor1] = []

    # -- properties (org.bluez.Device1)

    @dbus_property(access=_READ)
    def Address(self) -> DBusStr:
        return self.address

    @dbus_property(access=_READ)
    def AddressType(self) -> DBusStr:
        return self.config.address_type

    @dbus_property(access=_READ)
    def Name(self) -> DBusStr:
        return self.local_name

    @dbus_property()
    def Alias(self) -> DBusStr:
        return self.alias or self.local_name

    @Alias.setter  # type: ignore[no-redef]
    def Alias(self, value: DBusStr) -> None:
        self.alias = value
        self.emit_properties_changed({"Alias": self.alias or self.local_name})

    @dbus_property(access=_READ)
    def Appearance(self) -> DBusUInt16:
        return self.config.appearance

    @dbus_property(access=_READ)
    def Paired(self) -> DBusBool:
        return self.paired

    @dbus_property(access=_READ)
    def Bonded(self) -> DBusBool:
        return self.bonded

    @dbus_property()
    def Trusted(self) -> DBusBool:
        return self.trusted

    @Trusted.setter  # type: ignore[no-redef]
    def Trusted(self, value: DBusBool) -> None:
        self.trusted = value
        self.emit_properties_changed({"Trusted": value})

    @dbus_property()
    def Blocked(self) -> DBusBool:
        return self.blocked

    @Blocked.setter  # type: ignore[no-redef]
    def Blocked(self, value: DBusBool) -> None:
        self.blocked = value
        self.emit_properties_changed({"Blocked": value})

    @dbus_property(access=_READ)
    def LegacyPairing(self) -> DBusBool:
        return False

    @dbus_property(access=_READ)
    def RSSI(self) -> DBusInt16:
        return self.rssi

    @dbus_property(access=_READ)
    def Connected(self) -> DBusBool:
        return self.connected

    @dbus_property(access=_READ)
    def UUIDs(self) -> _DBusStrList:
        return self.uuids

    @dbus_property(access=_READ)
    def Adapter(self) -> DBusObjectPath:
        return self.core.adapter.path

    @dbus_property(access=_READ)
    def ManufacturerData(self) -> _DBusManufacturerData:
        return {company: Variant("ay", data) for company, data in self.config.manufacturer_data.items()}

    @dbus_property(access=_READ)
    def ServiceData(self) -> _DBusServiceData:
        return {uuid: Variant("ay", data) for uuid, data in self.config.service_data.items()}

    @dbus_property(access=_READ)
    def AdvertisingFlags(self) -> DBusBytes:
        return b"\x06"  # LE General Discoverable, BR/EDR not supported

    @dbus_property(access=_READ)
    def ServicesResolved(self) -> DBusBool:
        return self.services_resolved

    # -- methods (org.bluez.Device1)

    @dbus_method()
    async def Connect(self) -> None:
        self.stats.connect_calls += 1
        self.core.changed()
        try:
            await self._connect()
        except DBusError:
            self.stats.failed_connects += 1
            self.core.changed()
            raise

    @dbus_method()
    def Disconnect(self) -> None:
        self.stats.disconnect_calls += 1
        self.core.changed()
        self.cancel_connect()
        self.tear_down_link()

    @dbus_method()
    async def Pair(self) -> None:
        self.stats.pair_calls += 1
        self.core.changed()
        if self.paired:
            raise DBusError(_Error.ALREADY_EXISTS, "Already Exists")
        if not self.connected:
            await self._connect()
        self.paired = self.bonded = True
        self.emit_properties_changed({"Paired": True, "Bonded": True})
        self.core.changed()

    @dbus_method()
    def CancelPairing(self) -> None:
        raise DBusError(_Error.DOES_NOT_EXIST, "Does Not Exist")

    # -- connection state machine

    async def _connect(self) -> None:
        if not self.core.adapter.powered:
            raise DBusError(_Error.NOT_READY, "Resource Not Ready")
        if self.connected:
            return
        if self.connecting:
            raise DBusError(_Error.IN_PROGRESS, "In Progress")
        self.connecting = True
        self._connect_cancelled = False
        self.core.changed()
        try:
            await self._wait_until_reachable()
            if self._pending_failures:
                await self._flap_link(self._pending_failures.pop(0))
            await self._establish_link()
        finally:
            self.connecting = False
            self.core.changed()

    async def _wait_until_reachable(self) -> None:
        """Wait, like a pending LE create-connection, for the strap to advertise again."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.connect_timeout
        while not self.present:
            remaining = deadline - loop.time()
            if self._connect_cancelled:
                raise _failed(LE_ABORT_BY_LOCAL)
            if remaining <= 0:
                raise _failed(self.config.connect_error)
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), remaining)
        if self._connect_cancelled:
            raise _failed(LE_ABORT_BY_LOCAL)

    async def _flap_link(self, error: str) -> None:
        """A connection that comes up and breaks at once (what BlueZ reports as "le-connection-abort-by-local")."""
        self._set_connected(True)
        await asyncio.sleep(0.01)
        self._set_connected(False)
        raise _failed(error)

    async def _establish_link(self) -> None:
        generation = self._set_connected(True)
        await asyncio.sleep(self.config.service_discovery_time)
        if not self.connected or generation != self._link_generation:
            raise _failed(LE_ABORT_BY_REMOTE)
        self._export_gatt()
        self.services_resolved = True
        changed: dict[str, Any] = {"ServicesResolved": True}
        resolved = [service.uuid for service in self.gatt if service.uuid not in self.uuids]
        if resolved:
            self.uuids = [*self.uuids, *resolved]
            changed["UUIDs"] = self.uuids
        self.emit_properties_changed(changed)
        self.stats.connections += 1
        self.core.changed()

    def _set_connected(self, connected: bool) -> int:
        if connected:
            self._link_generation += 1
        self.connected = connected
        self.emit_properties_changed({"Connected": connected})
        self.core.changed()
        return self._link_generation

    def cancel_connect(self) -> None:
        if self.connecting:
            self._connect_cancelled = True
            self._wakeup.set()

    def tear_down_link(self) -> bool:
        """Disconnect like BlueZ: ``ServicesResolved=False``, GATT objects removed, ``Connected=False``."""
        if not self.connected:
            return False
        self._link_generation += 1
        if self.services_resolved:
            self.services_resolved = False
            self.emit_properties_changed({"ServicesResolved": False})
        self._unexport_gatt()
        self._set_connected(False)
        return True

    def _export_gatt(self) -> None:
        objects: list[_GattService1 | _GattCharacteristic1 | _GattDescriptor1] = []
        for service_model in self.gatt:
            service = _GattService1(service_model, self.path)
            objects.append(service)
            for char_model in service_model.characteristics:
                char = _GattCharacteristic1(self, char_model, service.path)
                objects.append(char)
                if char_model.cccd_handle is not None:
                    char.cccd = _GattDescriptor1(char, char_model.cccd_handle)
                    objects.append(char.cccd)
        for obj in objects:
            self.core.export(obj)
        self._gatt_objects = objects

    def _unexport_gatt(self) -> None:
        objects, self._gatt_objects = self._gatt_objects, []
        for obj in reversed(objects):  # descriptors and characteristics before their service
            self.core.unexport(obj)

    def characteristic(self, uuid: str) -> _GattCharacteristic1 | None:
        """The exported characteristic with this UUID (``None`` while disconnected)."""
        return next(
            (obj for obj in self._gatt_objects if isinstance(obj, _GattCharacteristic1) and obj.model.uuid == uuid),
            None,
        )

    def characteristic_model(self, uuid: str) -> _CharacteristicModel:
        for service in self.gatt:
            for char in service.characteristics:
                if char.uuid == uuid:
                    return char
        raise KeyError(f"{self.address} has no characteristic {uuid}")

    # -- PMD control point (an H10's answers)

    def pmd_request(self, value: bytes) -> None:
        """Answer a control-point write with an indication, shortly after the write returns."""
        spec = self.config.pmd
        assert spec is not None
        op = value[0] if value else 0
        mtype = value[1] if len(value) > 1 else 0
        error, params = self._pmd_answer(spec, op, mtype, value[2:])
        answer = bytes([0xF0, op, mtype, error, 0]) + params
        loop = asyncio.get_running_loop()
        loop.call_later(spec.answer_delay_s, self._indicate, PMD_CONTROL_POINT, answer)

    def _indicate(self, uuid: str, payload: bytes) -> None:
        """An indication that is not the characteristic's read value (a control-point answer)."""
        char = self.characteristic(uuid)
        if char is None or not char.notifying:
            self.stats.notifications_dropped += 1
        else:
            char.set_value(payload)
            self.stats.notifications_delivered += 1
        self.core.changed()

    def _pmd_answer(self, spec: PmdSpec, op: int, mtype: int, settings: bytes) -> tuple[int, bytes]:
        acc = 2
        if op not in (0x01, 0x02, 0x03):
            return 1, b""  # invalid op code
        if mtype != acc:
            return 3, b""  # not supported (this emulation streams ACC only)
        if op == 0x01:
            return 0, spec.acc_settings
        if op == 0x03:
            if not self.pmd_streaming:
                return 6, b""  # already in state
            self.pmd_streaming = False
            return 0, b""
        if spec.start_error:
            return spec.start_error, b""
        if self.pmd_streaming:
            return 6, b""
        chosen: dict[int, int] = {}
        pos = 0
        while pos + 4 <= len(settings):  # (type, count=1, uint16 value)
            chosen[settings[pos]] = int.from_bytes(settings[pos + 2: pos + 4], "little")
            pos += 4
        if pos != len(settings):
            return 4, b""  # invalid length
        if chosen.get(0, 25) not in (25, 50, 100, 200):
            return 8, b""  # invalid sample rate
        if chosen.get(1, 16) != 16:
            return 7, b""
        if chosen.get(2, 8) not in (2, 4, 8):
            return 9, b""
        self.pmd_streaming = True
        return 0, b""

    # -- strap side (called through EmulatedDevice)

    def notify(self, uuid: str, payload: bytes) -> bool:
        model = self.characteristic_model(uuid)
        if not model.can_notify:
            raise ValueError(f"characteristic {uuid} of {self.address} does not notify")
        model.value = payload
        char = self.characteristic(uuid)
        if char is None or not char.notifying:
            self.stats.notifications_dropped += 1
            self.core.changed()
            return False
        char.set_value(payload)
        self.stats.notifications_delivered += 1
        self.core.changed()
        return True

    def set_present(self, present: bool) -> None:
        if self._presence_timer is not None:
            self._presence_timer.cancel()
            self._presence_timer = None
        if present == self.present:
            return
        self.present = present
        if not present and self.tear_down_link():
            self.stats.link_losses += 1
        self._wakeup.set()
        if present and self.core.adapter.discovering:
            self.core.advertise(self)
        self.core.changed()

    def drop_link(self, absent_for: float | None) -> bool:
        dropped = self.tear_down_link()
        if dropped:
            self.stats.link_losses += 1
        if absent_for is not None:
            self.set_present(False)
            if math.isfinite(absent_for):
                loop = asyncio.get_running_loop()
                self._presence_timer = loop.call_later(absent_for, self.set_present, True)
        self.core.changed()
        return dropped

    def set_rssi(self, rssi: int) -> None:
        self.rssi = rssi
        if self.exported:
            self.emit_properties_changed({"RSSI": rssi})

    def fail_next_connects(self, count: int, error: str) -> None:
        self._pending_failures.extend([error] * count)

    @property
    def advertising(self) -> bool:
        return self.present and (not self.connected or self.config.advertise_while_connected)

    def advertise(self, now: float) -> None:
        """Deliver one advertisement to BlueZ: create the object, or refresh RSSI/ManufacturerData."""
        self.last_seen = now
        if not self.exported:
            self.core.export(self)
            self.exported = True
            self.core.changed()
            return
        changed: dict[str, Any] = {"RSSI": self.rssi}
        if self.config.manufacturer_data:
            changed["ManufacturerData"] = self.ManufacturerData
        self.emit_properties_changed(changed)

    def remove(self) -> None:
        """Forget the device, as ``RemoveDevice`` or the temporary-device timeout do."""
        self.cancel_connect()
        self.tear_down_link()
        if self.exported:
            self.core.unexport(self)
            self.exported = False
        self.paired = self.bonded = self.trusted = False
        self.alias = ""
        self.uuids = list(self.config.advertised_uuids)
        self.core.changed()

    def client_gone(self, name: str) -> None:
        for obj in self._gatt_objects:
            if isinstance(obj, _GattCharacteristic1):
                obj.remove_session(name)


# --------------------------------------------------------------------------- D-Bus objects: adapter


class _Adapter(ServiceInterface):
    """``org.bluez.Adapter1`` plus discovery state. Used on the emulator's loop thread only."""

    def __init__(self, core: "_Core", address: str, alias: str, path: str) -> None:
        super().__init__(ADAPTER_INTERFACE)
        self.core = core
        self.address = address
        self.alias = alias
        self.path = path
        self.powered = True
        self.filters: dict[str, DiscoveryFilter] = {}  # per client, set by SetDiscoveryFilter
        self.sessions: dict[str, DiscoveryFilter] = {}  # per client with an active discovery

    @property
    def discovering(self) -> bool:
        return bool(self.sessions) and self.powered

    def admits(self, device: _Device) -> bool:
        return any(session.admits(device) for session in self.sessions.values())

    # -- properties

    @dbus_property(access=_READ)
    def Address(self) -> DBusStr:
        return self.address

    @dbus_property(access=_READ)
    def AddressType(self) -> DBusStr:
        return "public"

    @dbus_property(access=_READ)
    def Name(self) -> DBusStr:
        return "attune-emulated-adapter"

    @dbus_property(access=_READ)
    def Alias(self) -> DBusStr:
        return self.alias

    @dbus_property(access=_READ)
    def Class(self) -> DBusUInt32:
        return 0x000000

    @dbus_property(access=_READ)
    def Powered(self) -> DBusBool:
        return self.powered

    @dbus_property(access=_READ)
    def PowerState(self) -> DBusStr:
        return "on" if self.powered else "off"

    @dbus_property(access=_READ)
    def Discoverable(self) -> DBusBool:
        return False

    @dbus_property(access=_READ)
    def DiscoverableTimeout(self) -> DBusUInt32:
        return 180

    @dbus_property(access=_READ)
    def Pairable(self) -> DBusBool:
        return True

    @dbus_property(access=_READ)
    def PairableTimeout(self) -> DBusUInt32:
        return 0

    @dbus_property(access=_READ)
    def Discovering(self) -> DBusBool:
        return self.discovering

    @dbus_property(access=_READ)
    def UUIDs(self) -> _DBusStrList:
        return [uuid16(0x1800), uuid16(0x1801)]

    @dbus_property(access=_READ)
    def Modalias(self) -> DBusStr:
        return "usb:v1D6Bp0246d0542"

    @dbus_property(access=_READ)
    def Roles(self) -> _DBusStrList:
        return ["central", "peripheral"]

    # -- methods (synchronous: the caller's bus name is only known while dispatching)

    @dbus_method()
    def SetDiscoveryFilter(self, properties: DBusDict) -> None:
        sender = self.core.caller.sender
        discovery_filter = DiscoveryFilter.from_dbus(properties)
        if properties:
            self.filters[sender] = discovery_filter
        else:
            self.filters.pop(sender, None)
        if sender in self.sessions:
            self.sessions[sender] = discovery_filter
        self.core.changed()

    @dbus_method()
    def GetDiscoveryFilters(self) -> _DBusStrList:
        return list(DiscoveryFilter._KEYS)

    @dbus_method()
    def StartDiscovery(self) -> None:
        sender = self.core.caller.sender
        if not self.powered:
            raise DBusError(_Error.NOT_READY, "Resource Not Ready")
        if sender in self.sessions:
            raise DBusError(_Error.IN_PROGRESS, "Operation already in progress")
        was_discovering = self.discovering
        self.sessions[sender] = self.filters.get(sender, DiscoveryFilter())
        if not was_discovering:
            self.emit_properties_changed({"Discovering": True})
        # The first advertisements arrive right after the scan starts (after this reply).
        asyncio.get_running_loop().call_soon(self.core.advertise_all)
        self.core.changed()

    @dbus_method()
    def StopDiscovery(self) -> None:
        sender = self.core.caller.sender
        if not self.powered:
            raise DBusError(_Error.NOT_READY, "Resource Not Ready")
        if sender not in self.sessions:
            raise _failed("No discovery started")
        self._end_session(sender)

    @dbus_method()
    def RemoveDevice(self, device: DBusObjectPath) -> None:
        target = self.core.devices_by_path.get(device)
        if target is None or not target.exported:
            raise DBusError(_Error.DOES_NOT_EXIST, "Does Not Exist")
        target.remove()

    # -- emulator side

    def _end_session(self, sender: str) -> None:
        was_discovering = self.discovering
        del self.sessions[sender]
        self.filters.pop(sender, None)
        if was_discovering and not self.discovering:
            self.emit_properties_changed({"Discovering": False})
        self.core.changed()

    def client_gone(self, name: str) -> None:
        self.filters.pop(name, None)
        if name in self.sessions:
            self._end_session(name)

    def set_powered(self, powered: bool) -> None:
        if powered == self.powered:
            return
        was_discovering = self.discovering
        self.powered = powered
        changed: dict[str, Any] = {"Powered": powered, "PowerState": "on" if powered else "off"}
        if not powered:
            self.sessions.clear()
            self.filters.clear()
            if was_discovering:
                changed["Discovering"] = False
            for device in self.core.devices_by_path.values():
                device.cancel_connect()
                device.tear_down_link()
        self.emit_properties_changed(changed)
        self.core.changed()


# --------------------------------------------------------------------------- loop-side core


class _MessageFilter:
    """Sees every incoming message before dbus-fast dispatches it.

    * Records the sender of the method call being dispatched. BlueZ keys discovery and
      notification sessions by the caller's unique bus name, but dbus-fast does not pass
      the message to ``@dbus_method`` handlers. It runs this filter synchronously right
      before it dispatches the call, so *synchronous* handlers can read :attr:`sender`.
    * Answers calls to BlueZ interfaces on paths that do not exist with
      ``org.freedesktop.DBus.Error.UnknownObject``, as bluetoothd (GDBus) does: dbus-fast
      would say ``UnknownMethod``, and Bleak relies on the difference (it raises
      ``BleakDeviceNotFoundError`` for a device whose object is gone).
    * Notices clients leaving the bus, which ends their sessions.
    """

    def __init__(self, exported: Callable[[str], bool], on_client_gone: Callable[[str], None]) -> None:
        self.sender = ""
        self._exported = exported
        self._on_client_gone = on_client_gone

    def __call__(self, msg: Message) -> Message | None:
        if msg.message_type is MessageType.METHOD_CALL:
            self.sender = msg.sender or ""
            if msg.interface and msg.interface.startswith("org.bluez.") and not self._exported(msg.path or ""):
                return Message.new_error(
                    msg,
                    "org.freedesktop.DBus.Error.UnknownObject",
                    f'Method "{msg.member}" with signature "{msg.signature}" on interface '
                    f'"{msg.interface}" doesn\'t exist',
                )
        elif (
            msg.message_type is MessageType.SIGNAL
            and msg.member == "NameOwnerChanged"
            and msg.sender == "org.freedesktop.DBus"
        ):
            name, _old_owner, new_owner = msg.body
            if name.startswith(":") and not new_owner:
                self._on_client_gone(name)
        return None


class _Core:
    """Everything that lives on the emulator's event loop thread."""

    def __init__(
        self,
        bus_address: str,
        *,
        adapter_address: str,
        adapter_alias: str,
        advertise_interval: float,
        temporary_timeout: float,
        changed: Callable[[], None],
    ) -> None:
        self.bus_address = bus_address
        self.advertise_interval = advertise_interval
        self.temporary_timeout = temporary_timeout
        self.changed = changed
        self.caller = _MessageFilter(lambda path: path in self._exported_paths, self._client_gone)
        self._exported_paths: set[str] = set()
        self.adapter = _Adapter(self, adapter_address, adapter_alias, "/org/bluez/hci0")
        self.devices_by_path: dict[str, _Device] = {}
        self._bus: MessageBus | None = None
        self._ticker: asyncio.Task[None] | None = None

    @property
    def bus(self) -> MessageBus:
        if self._bus is None:
            raise RuntimeError("the BlueZ emulator is not connected to a bus")
        return self._bus

    def export(self, obj: "_Adapter | _Device | _GattService1 | _GattCharacteristic1 | _GattDescriptor1") -> None:
        """Export a D-Bus object (dbus-fast emits ``InterfacesAdded``)."""
        self.bus.export(obj.path, obj)
        self._exported_paths.add(obj.path)

    def unexport(self, obj: "_Adapter | _Device | _GattService1 | _GattCharacteristic1 | _GattDescriptor1") -> None:
        """Unexport a D-Bus object (dbus-fast emits ``InterfacesRemoved``)."""
        self._exported_paths.discard(obj.path)
        self.bus.unexport(obj.path, obj)

    async def start(self) -> None:
        bus = await MessageBus(bus_address=self.bus_address).connect()
        self._bus = bus
        bus.add_message_handler(self.caller)
        await bus.call(
            Message(
                destination="org.freedesktop.DBus",
                path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus",
                member="AddMatch",
                signature="s",
                body=["type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged'"],
            )
        )
        self.export(self.adapter)
        reply = await bus.request_name(BLUEZ_SERVICE, NameFlag.DO_NOT_QUEUE)
        if reply not in (RequestNameReply.PRIMARY_OWNER, RequestNameReply.ALREADY_OWNER):
            bus.disconnect()
            raise RuntimeError(f"{BLUEZ_SERVICE} is already owned on {self.bus_address} ({reply.name})")
        self._ticker = asyncio.create_task(self._tick_forever(), name="bluez-emulator-ticker")

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        # Like bluetoothd going down: pending connection attempts fail, links drop.
        devices = list(self.devices_by_path.values())
        for device in devices:
            device.cancel_connect()
            device.tear_down_link()
        for _ in range(100):
            if not any(device.connecting for device in devices):
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0)  # let the failed Connect() calls send their error replies
        if self._bus is not None:
            self._bus.disconnect()
            with contextlib.suppress(Exception):
                await self._bus.wait_for_disconnect()  # type: ignore[no-untyped-call]
            self._bus = None

    def add_device(self, device: _Device) -> None:
        if device.path in self.devices_by_path:
            raise ValueError(f"a device with address {device.address} already exists")
        self.devices_by_path[device.path] = device
        if device.paired:
            # Bonded devices are loaded from BlueZ's storage at start-up.
            self.export(device)
            device.exported = True
        elif self.adapter.discovering:
            self.advertise(device)
        self.changed()

    def forget_device(self, device: _Device) -> None:
        device.remove()
        del self.devices_by_path[device.path]

    def advertise(self, device: _Device) -> None:
        if device.advertising and self.adapter.admits(device):
            device.advertise(asyncio.get_running_loop().time())

    def advertise_all(self) -> None:
        if not self.adapter.discovering:
            return
        for device in self.devices_by_path.values():
            self.advertise(device)

    def expire_devices(self) -> None:
        now = asyncio.get_running_loop().time()
        for device in self.devices_by_path.values():
            if (
                device.exported
                and not (device.connected or device.connecting or device.paired)
                and now - device.last_seen > self.temporary_timeout
            ):
                device.remove()

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.advertise_interval)
            try:
                self.advertise_all()
                self.expire_devices()
            except Exception:  # keep advertising; a broken tick must not stop the emulator
                _LOGGER.exception("BlueZ emulator tick failed")

    def _client_gone(self, name: str) -> None:
        self.adapter.client_gone(name)
        for device in self.devices_by_path.values():
            device.client_gone(name)


# --------------------------------------------------------------------------- public API


class EmulatedDevice:
    """Test-side handle on one emulated strap. Thread-safe; get one from :meth:`BlueZEmulator.add_device`."""

    def __init__(self, emulator: "BlueZEmulator", device: _Device) -> None:
        self._emulator = emulator
        self._device = device

    def __repr__(self) -> str:
        return f"<EmulatedDevice {self.address} {self.name!r}>"

    @property
    def address(self) -> str:
        """Bluetooth address, upper case (``"C8:2E:11:0A:12:34"``)."""
        return self._device.address

    @property
    def name(self) -> str:
        """The advertised local name."""
        return self._device.local_name

    @property
    def path(self) -> str:
        """D-Bus object path (``/org/bluez/hci0/dev_C8_2E_11_0A_12_34``)."""
        return self._device.path

    # -- state (plain reads of values only the loop thread writes)

    @property
    def present(self) -> bool:
        """Whether the strap is in range and worn (advertising, connectable)."""
        return self._device.present

    @property
    def connected(self) -> bool:
        return self._device.connected

    @property
    def services_resolved(self) -> bool:
        return self._device.services_resolved

    @property
    def known(self) -> bool:
        """Whether BlueZ currently has an object for the device (seen in a scan, or paired)."""
        return self._device.exported

    @property
    def paired(self) -> bool:
        return self._device.paired

    def notifying(self, uuid: str = HEART_RATE_MEASUREMENT) -> bool:
        """Whether some client has notifications of ``uuid`` enabled."""
        char = self._device.characteristic(uuid)
        return char is not None and char.notifying

    @property
    def stats(self) -> DeviceStats:
        """A snapshot of the counters (see :class:`DeviceStats`)."""
        return self._emulator._call(lambda: copy.deepcopy(self._device.stats))

    @property
    def connect_attempts(self) -> int:
        """``Connect()`` calls so far."""
        return self.stats.connect_calls

    @property
    def notifications_delivered(self) -> int:
        return self.stats.notifications_delivered

    @property
    def start_notify_calls(self) -> int:
        return self.stats.start_notify_calls

    def read_count(self, uuid: str) -> int:
        """``ReadValue()`` calls on characteristic ``uuid`` so far."""
        return self.stats.reads.get(uuid, 0)

    # -- actions

    def notify(self, payload: bytes, uuid: str = HEART_RATE_MEASUREMENT) -> bool:
        """Send a notification (Heart Rate Measurement by default).

        Also becomes the characteristic's value. Returns whether it was delivered,
        i.e. whether the strap was connected and a client had notifications enabled.

        Raises:
            KeyError: if the strap has no such characteristic.
            ValueError: if the characteristic does not notify.
        """
        data = bytes(payload)
        return self._emulator._call(lambda: self._device.notify(uuid, data))

    def set_value(self, uuid: str, value: bytes) -> None:
        """Set what the strap answers to a read of ``uuid`` (no notification).

        Raises:
            KeyError: if the strap has no such characteristic.
        """
        data = bytes(value)

        def update() -> None:
            self._device.characteristic_model(uuid).value = data

        self._emulator._call(update)

    @property
    def pmd_streaming(self) -> bool:
        """Whether the strap's accelerometer streams (started and not stopped since)."""
        return self._device.pmd_streaming

    def pmd_requests(self) -> list[bytes]:
        """Every write to the PMD control point so far, in order."""
        return [value for uuid, value in self.stats.writes if uuid == PMD_CONTROL_POINT]

    def pmd_stop_by_itself(self) -> bool:
        """The strap ends ACC streaming on its own and says so on the control point
        (``01 02``: online measurement stopped, ACC). Returns whether it was streaming."""

        def stop() -> bool:
            was = self._device.pmd_streaming
            self._device.pmd_streaming = False
            self._device._indicate(PMD_CONTROL_POINT, bytes([0x01, 0x02]))
            return was

        return self._emulator._call(stop)

    def pmd_notify(self, frame: bytes) -> bool:
        """Send a PMD data frame, as the strap does only while it streams. Returns whether it
        was delivered (streaming, connected and subscribed)."""
        data = bytes(frame)

        def send() -> bool:
            return self._device.pmd_streaming and self._device.notify(PMD_DATA, data)

        return self._emulator._call(send)

    def set_battery_level(self, percent: int) -> bool:
        """Set the battery level and notify it if a client subscribed. Returns whether it was delivered."""
        if not 0 <= percent <= 100:
            raise ValueError(f"battery level must be 0..100, not {percent}")
        return self.notify(bytes([percent]), BATTERY_LEVEL)

    def set_rssi(self, rssi: int) -> None:
        """Change the signal strength reported with the next advertisements."""
        self._emulator._call(lambda: self._device.set_rssi(rssi))

    def set_present(self, present: bool) -> None:
        """Put the strap in range and on the chest (``True``) or not (``False``).

        An absent strap does not advertise and cannot be connected; making a connected
        strap absent drops its link (like :meth:`drop_link`). Cancels a pending
        return scheduled by ``drop_link(absent_for=...)``.
        """
        self._emulator._call(lambda: self._device.set_present(present))

    def drop_link(self, *, absent_for: float | None = None) -> bool:
        """Lose the connection from the strap's side (out of range, strap taken off).

        BlueZ then emits ``ServicesResolved=False``, ``InterfacesRemoved`` for all GATT
        objects and ``Connected=False``, in that order.

        Args:
            absent_for: If given, the strap also stops advertising for that many
                seconds (``math.inf``: until :meth:`set_present`).

        Returns:
            Whether a link was up.
        """
        return self._emulator._call(lambda: self._device.drop_link(absent_for))

    def fail_next_connects(self, count: int = 1, error: str = LE_ABORT_BY_LOCAL) -> None:
        """Make the next ``count`` connection attempts fail after the link briefly came up.

        Emulates the common real-world failure where BlueZ emits ``Connected=True``,
        then ``Connected=False``, and fails ``Connect()`` with ``org.bluez.Error.Failed``
        ``error``. With the default text Bleak retries inside the same ``connect()``.
        """
        if count < 0:
            raise ValueError("count must not be negative")
        self._emulator._call(lambda: self._device.fail_next_connects(count, error))

    def forget(self) -> None:
        """Remove BlueZ's object for the device (like ``RemoveDevice``); it reappears when heard again."""
        self._emulator._call(self._device.remove)

    # -- waiting

    def wait_connected(self, timeout: float = 5.0) -> None:
        """Wait until a client connected and the services are resolved.

        Raises:
            TimeoutError: if that did not happen within ``timeout`` seconds.
        """
        self._emulator.wait_until(lambda: self._device.services_resolved, timeout, f"{self.address} connected")

    def wait_disconnected(self, timeout: float = 5.0) -> None:
        """Wait until the strap is not connected. Raises :class:`TimeoutError`."""
        self._emulator.wait_until(lambda: not self._device.connected, timeout, f"{self.address} disconnected")

    def wait_notifying(self, timeout: float = 5.0, uuid: str = HEART_RATE_MEASUREMENT) -> None:
        """Wait until a client enabled notifications of ``uuid``. Raises :class:`TimeoutError`."""
        self._emulator.wait_until(lambda: self.notifying(uuid), timeout, f"{self.address} notifying {uuid}")

    def wait_stats(self, predicate: Callable[[DeviceStats], bool], timeout: float = 5.0) -> DeviceStats:
        """Wait until ``predicate(stats)`` holds and return those stats. Raises :class:`TimeoutError`."""
        # The predicate runs under the waiters' lock, so it reads the live counters
        # (never _call(), which would deadlock); the counters only ever grow.
        self._emulator.wait_until(lambda: predicate(self._device.stats), timeout, f"{self.address} stats condition")
        return self.stats


class BlueZEmulator:
    """An emulated ``bluetoothd`` on a D-Bus bus, running in a background thread.

    Args:
        bus_address: Address of the bus to serve ``org.bluez`` on (a private one:
            see :class:`dbus_bus.PrivateDBus`).
        adapter_address: The adapter's Bluetooth address.
        adapter_alias: The adapter's alias.
        advertise_interval: Seconds between two advertisements of each present strap
            while discovery is on.
        temporary_timeout: Seconds after which BlueZ forgets a device it no longer
            hears (BlueZ's ``TemporaryTimeout``, 30 s by default).
        call_timeout: Seconds to wait for the emulator thread in each public call.
    """

    def __init__(
        self,
        bus_address: str,
        *,
        adapter_address: str = "00:1A:7D:DA:71:13",
        adapter_alias: str = "attune-test",
        advertise_interval: float = 0.2,
        temporary_timeout: float = 30.0,
        call_timeout: float = 10.0,
    ) -> None:
        if advertise_interval <= 0:
            raise ValueError("advertise_interval must be positive")
        self.bus_address = bus_address
        self._call_timeout = call_timeout
        self._condition = threading.Condition()
        self._core = _Core(
            bus_address,
            adapter_address=_normalise_address(adapter_address),
            adapter_alias=adapter_alias,
            advertise_interval=advertise_interval,
            temporary_timeout=temporary_timeout,
            changed=self._notify_waiters,
        )
        self._devices: dict[str, EmulatedDevice] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> Self:
        """Connect to the bus, own ``org.bluez`` and start serving. Returns ``self``.

        Raises:
            RuntimeError: if already started, or ``org.bluez`` is owned by someone else.
            OSError: if the bus cannot be reached.
        """
        if self._thread is not None:
            raise RuntimeError("the BlueZ emulator is already running")
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._core.start())
            except BaseException as exc:  # report any start-up failure to start()
                started.set_exception(exc)
                loop.close()
                return
            started.set_result(None)
            try:
                loop.run_forever()
            finally:
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="bluez-emulator", daemon=True)
        self._thread.start()
        try:
            started.result(self._call_timeout)
        except BaseException:
            self._thread.join(self._call_timeout)
            self._thread = None
            self._loop = None
            raise
        return self

    def stop(self) -> None:
        """Release ``org.bluez``, disconnect from the bus and end the thread. Idempotent."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._core.stop(), loop).result(self._call_timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(self._call_timeout)
            self._loop = None
            self._thread = None
            self._notify_waiters()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- adapter

    @property
    def adapter_path(self) -> str:
        return self._core.adapter.path

    @property
    def adapter_address(self) -> str:
        return self._core.adapter.address

    @property
    def discovering(self) -> bool:
        """Whether some client is running a discovery."""
        return self._core.adapter.discovering

    def discovery_filters(self) -> list[DiscoveryFilter]:
        """The filters of the discovery sessions now running, one per client."""
        return self._call(lambda: list(self._core.adapter.sessions.values()))

    def set_powered(self, powered: bool) -> None:
        """Switch the adapter on or off (off: discovery ends, links drop, ``Connect()`` fails with NotReady)."""
        self._call(lambda: self._core.adapter.set_powered(powered))

    def wait_discovering(self, discovering: bool = True, timeout: float = 5.0) -> None:
        """Wait until discovery is on (or off). Raises :class:`TimeoutError`."""
        self.wait_until(lambda: self._core.adapter.discovering == discovering, timeout, f"discovering={discovering}")

    # -- devices

    def add_device(self, spec: StrapSpec) -> EmulatedDevice:
        """Add a heart-rate strap described by ``spec``.

        Raises:
            ValueError: for a duplicate address.
        """

        def create() -> _Device:
            device = _Device(self._core, spec)
            self._core.add_device(device)
            return device

        handle = EmulatedDevice(self, self._call(create))
        self._devices[spec.address] = handle
        return handle

    def device(self, address: str) -> EmulatedDevice:
        """The strap with this address. Raises :class:`KeyError`."""
        return self._devices[_normalise_address(address)]

    @property
    def devices(self) -> list[EmulatedDevice]:
        return list(self._devices.values())

    def remove_device(self, address: str) -> None:
        """Take the strap out of the world entirely (its BlueZ object goes too)."""
        handle = self._devices.pop(_normalise_address(address))
        self._call(lambda: self._core.forget_device(handle._device))

    # -- threading helpers

    def _call(self, fn: Callable[[], _T]) -> _T:
        """Run ``fn`` on the emulator's loop thread and return its result."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            raise RuntimeError("the BlueZ emulator is not running (call start())")
        if threading.get_ident() == thread.ident:
            return fn()
        future: concurrent.futures.Future[_T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the calling thread
                future.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return future.result(self._call_timeout)

    def _notify_waiters(self) -> None:
        with self._condition:
            self._condition.notify_all()

    def wait_until(self, predicate: Callable[[], bool], timeout: float, what: str = "condition") -> None:
        """Wait until ``predicate()`` (evaluated on the caller's thread) holds.

        It is re-checked whenever the emulator's state changes.

        Raises:
            TimeoutError: if it did not hold within ``timeout`` seconds.
            RuntimeError: if called on the emulator's own thread (it would deadlock).
        """
        if self._thread is not None and threading.get_ident() == self._thread.ident:
            raise RuntimeError("wait_until() cannot be called on the emulator's thread")
        with self._condition:
            if not self._condition.wait_for(predicate, timeout):
                raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def _normalise_address(address: str) -> str:
    normalised = address.upper()
    if not _ADDRESS_RE.match(normalised):
        raise ValueError(f"not a Bluetooth address: {address!r}")
    return normalised
