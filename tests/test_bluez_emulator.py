"""The BlueZ emulator works with the real Bleak BlueZ backend and bleak-retry-connector.

The Bleak side of each test runs in a separate Python process (this file, run as a
script: ``python tests/test_bluez_emulator.py SCENARIO JSON-ARGS``) with
``DBUS_SYSTEM_BUS_ADDRESS`` pointing at the test's private bus, so every test gets a
fresh Bleak with no state left from another test. The scenario prints one JSON line
with its results; the test drives the strap through the emulator meanwhile and checks
both sides.

A few tests talk D-Bus to the emulator directly (dbus-fast, in-process) to pin down
BlueZ behaviour that Bleak relies on without exposing it, such as the order of the
link-loss signals.

Fixtures ``dbus_system_bus`` and ``bluez`` come from ``conftest_bluez``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError
from bleak_retry_connector import BleakClientWithServiceCache, establish_connection, get_device
from bluez_emulator import (
    BATTERY_LEVEL,
    BATTERY_SERVICE,
    BODY_SENSOR_LOCATION,
    DEVICE_INFORMATION_SERVICE,
    FIRMWARE_REVISION,
    HEART_RATE_MEASUREMENT,
    HEART_RATE_SERVICE,
    MANUFACTURER_NAME,
    MODEL_NUMBER,
    SERIAL_NUMBER,
    BlueZEmulator,
    DiscoveryFilter,
    StrapSpec,
)

STRAP = "C8:2E:11:0A:12:34"
STRAP_NAME = "Polar H10 0A123456"
OTHER = "E4:5F:01:AB:CD:EF"
OTHER_NAME = "HRM-Pro:123456"
POLAR_COMPANY_ID = 0x006B
DEVICE_INFO = {
    "manufacturer_name": "Polar Electro Oy",
    "model_number": "H10",
    "serial_number": "0A123456",
    "firmware_revision": "3.1.1",
}

# Heart Rate Measurement payloads: flags, 8-bit bpm, RR intervals in 1/1024 s.
HRM_PAYLOADS = [
    bytes([0x10, 62, 0x00, 0x04]),
    bytes([0x16, 63, 0xF0, 0x03, 0xF8, 0x03]),
    bytes([0x00, 64]),
]

SCENARIO_TIMEOUT = 30.0


# =============================================================================
# Bleak side: scenarios run in a subprocess (see the __main__ block at the end)
# =============================================================================

Scenario = Callable[..., Awaitable[dict[str, Any]]]
SCENARIOS: dict[str, Scenario] = {}


def scenario(fn: Scenario) -> Scenario:
    SCENARIOS[fn.__name__] = fn
    return fn


def _adv_summary(device: BLEDevice, adv: AdvertisementData) -> dict[str, Any]:
    return {
        "name": device.name,
        "local_name": adv.local_name,
        "rssi": adv.rssi,
        "service_uuids": sorted(adv.service_uuids),
        "manufacturer_data": {str(k): v.hex() for k, v in adv.manufacturer_data.items()},
    }


@scenario
async def scan(*, timeout: float, service_uuids: list[str]) -> dict[str, Any]:
    """``BleakScanner.discover`` with a service filter, as the recorder's scan does."""
    found = await BleakScanner.discover(timeout=timeout, service_uuids=service_uuids, return_adv=True)
    return {"devices": {address: _adv_summary(device, adv) for address, (device, adv) in found.items()}}


@scenario
async def read_and_notify(*, address: str, reads: list[str], count: int) -> dict[str, Any]:
    """Connect by address, read characteristics, collect ``count`` heart-rate notifications."""
    disconnects = 0

    def on_disconnect(_client: BleakClient) -> None:
        nonlocal disconnects
        disconnects += 1

    queue: asyncio.Queue[bytes] = asyncio.Queue()
    async with BleakClient(address, disconnected_callback=on_disconnect, timeout=5.0) as client:
        services = {service.uuid: sorted(c.uuid for c in service.characteristics) for service in client.services}
        values: dict[str, str] = {}
        for uuid in reads:
            try:
                values[uuid] = (await client.read_gatt_char(uuid)).hex()
            except BleakError as exc:
                values[uuid] = type(exc).__name__
        await client.start_notify(HEART_RATE_MEASUREMENT, lambda _char, data: queue.put_nowait(bytes(data)))
        payloads = [(await asyncio.wait_for(queue.get(), 10)).hex() for _ in range(count)]
        await client.stop_notify(HEART_RATE_MEASUREMENT)
        name = client.name
    return {
        "name": name,
        "services": services,
        "reads": values,
        "payloads": payloads,
        "disconnects": disconnects,
        "connected_after": client.is_connected,
    }


@scenario
async def link_loss(*, address: str) -> dict[str, Any]:
    """Scan, connect to the ``BLEDevice``, subscribe and wait for the strap to drop the link."""
    device = await BleakScanner.find_device_by_address(address, timeout=5.0)
    assert device is not None, f"{address} not found"
    disconnected = asyncio.Event()
    client = BleakClient(device, disconnected_callback=lambda _client: disconnected.set(), timeout=5.0)
    await client.connect()
    await client.start_notify(HEART_RATE_MEASUREMENT, lambda _char, _data: None)
    await asyncio.wait_for(disconnected.wait(), 10)
    return {"disconnected_callback": True, "is_connected": client.is_connected}


@scenario
async def absent(*, present_address: str, absent_address: str) -> dict[str, Any]:
    """An absent strap is not found by a scan, and connecting to it fails."""
    found = await BleakScanner.discover(timeout=0.6, service_uuids=[HEART_RATE_SERVICE], return_adv=True)

    by_address_error = ""
    try:
        await BleakClient(absent_address, timeout=0.6).connect()
    except Exception as exc:  # the exception type is the result
        by_address_error = type(exc).__name__

    # BlueZ still has an object for a strap it knows (here: paired earlier), so a
    # BLEDevice can be had without a scan; connecting to it must fail all the same.
    known = await get_device(absent_address)
    by_device_error = ""
    if known is not None:
        try:
            await BleakClient(known, timeout=1.0).connect()
        except Exception as exc:  # the exception type is the result
            by_device_error = type(exc).__name__
    return {
        "found": sorted(found),
        "by_address_error": by_address_error,
        "known_to_bluez": known is not None,
        "by_device_error": by_device_error,
        "present_seen": present_address in found,
    }


async def _find_until_found(address: str, attempt_timeout: float, deadline: float) -> tuple[BLEDevice, int]:
    """Rescan (as BlueZ needs before a reconnect) until ``address`` advertises again."""
    attempts = 0
    while time.monotonic() < deadline:
        attempts += 1
        device = await BleakScanner.find_device_by_address(address, timeout=attempt_timeout)
        if device is not None:
            return device, attempts
    raise TimeoutError(f"{address} did not come back")


@scenario
async def reconnect(*, address: str, attempt_timeout: float) -> dict[str, Any]:
    """establish_connection, lose the strap, rescan until it is back, establish_connection again."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    disconnected = asyncio.Event()

    def on_notify(_char: object, data: bytearray) -> None:
        queue.put_nowait(bytes(data))

    async def connect_and_listen(device: BLEDevice) -> BleakClientWithServiceCache:
        client = await establish_connection(
            BleakClientWithServiceCache,
            device,
            "strap",
            disconnected_callback=lambda _client: disconnected.set(),
            max_attempts=2,
        )
        await client.start_notify(HEART_RATE_MEASUREMENT, on_notify)
        return client

    device = await BleakScanner.find_device_by_address(address, timeout=5.0)
    assert device is not None, f"{address} not found"
    client = await connect_and_listen(device)
    first = await asyncio.wait_for(queue.get(), 10)
    await asyncio.wait_for(disconnected.wait(), 10)

    device, attempts = await _find_until_found(address, attempt_timeout, time.monotonic() + 15)
    disconnected.clear()
    client = await connect_and_listen(device)
    second = await asyncio.wait_for(queue.get(), 10)
    battery = (await client.read_gatt_char(BATTERY_LEVEL)).hex()
    await client.disconnect()
    return {"payloads": [first.hex(), second.hex()], "scan_attempts": attempts, "battery": battery}


@scenario
async def retry_connect(*, address: str) -> dict[str, Any]:
    """establish_connection to a strap whose first connection attempt aborts."""
    device = await BleakScanner.find_device_by_address(address, timeout=5.0)
    assert device is not None, f"{address} not found"
    client = await establish_connection(BleakClientWithServiceCache, device, "strap", max_attempts=3)
    battery = (await client.read_gatt_char(BATTERY_LEVEL)).hex()
    await client.disconnect()
    return {"battery": battery}


async def _run_scenario(name: str, args: dict[str, Any]) -> None:
    logging.basicConfig(level=logging.DEBUG if os.environ.get("ATTUNE_BLEAK_DEBUG") else logging.WARNING)
    async with asyncio.timeout(SCENARIO_TIMEOUT):
        result = await SCENARIOS[name](**args)
    print(json.dumps({"result": result}), flush=True)


# =============================================================================
# Test side
# =============================================================================


class BleakProcess:
    """A Bleak scenario running in its own interpreter against the private bus."""

    def __init__(self, bus_address: str, name: str, **args: Any) -> None:
        assert name in SCENARIOS, name
        self.name = name
        # A file, not a pipe: nobody reads stderr while the test runs, and Bleak's debug
        # log (ATTUNE_BLEAK_DEBUG=1) would fill a pipe and stall the scenario.
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - see close()
        self._process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), name, json.dumps(args)],
            env={**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": bus_address},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )

    def result(self, timeout: float = SCENARIO_TIMEOUT + 5) -> dict[str, Any]:
        """Wait for the scenario to finish and return what it reported (its stderr: :meth:`stderr`)."""
        try:
            stdout, _ = self._process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"scenario {self.name!r} did not finish in {timeout} s") from None
        lines = [line for line in stdout.splitlines() if line.startswith('{"result"')]
        assert self._process.returncode == 0 and lines, (
            f"scenario {self.name!r} failed (exit code {self._process.returncode}); stdout:\n{stdout}"
        )
        result: dict[str, Any] = json.loads(lines[-1])["result"]
        return result

    def kill(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait(5)

    def stderr(self) -> str:
        """Everything the scenario wrote to stderr (kills it first if still running)."""
        self.kill()
        self._stderr.seek(0)
        return self._stderr.read()

    def close(self) -> None:
        self.kill()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._stderr.close()


@contextmanager
def bleak_process(bus_address: str, name: str, **args: Any) -> Iterator[BleakProcess]:
    """Run a scenario; if the test fails meanwhile, kill it and attach its stderr to the failure."""
    process = BleakProcess(bus_address, name, **args)
    try:
        yield process
    except BaseException as exc:
        exc.add_note(f"--- stderr of Bleak scenario {name!r} ---\n{process.stderr()}")
        raise
    finally:
        process.close()


def test_scan_finds_present_strap_with_name_rssi_and_advertisement(bluez: BlueZEmulator, dbus_system_bus: str) -> None:
    bluez.add_device(StrapSpec(STRAP, STRAP_NAME, rssi=-58, manufacturer_data={POLAR_COMPANY_ID: b"\x3f\x00\x00"}))
    bluez.add_device(StrapSpec(OTHER, OTHER_NAME, present=False))  # strap in the drawer
    bluez.add_device(StrapSpec("D0:00:00:00:00:01", "Some Speaker", heart_rate=False, body_location=None))

    with bleak_process(dbus_system_bus, "scan", timeout=0.6, service_uuids=[HEART_RATE_SERVICE]) as bleak:
        bluez.wait_discovering(timeout=10)
        # Bleak hands its service filter to BlueZ (and filters again itself).
        assert bluez.discovery_filters() == [
            DiscoveryFilter(uuids=frozenset({HEART_RATE_SERVICE}), transport="le", duplicate_data=False)
        ]
        result = bleak.result()

    assert result["devices"] == {
        STRAP: {
            "name": STRAP_NAME,
            "local_name": STRAP_NAME,
            "rssi": -58,
            "service_uuids": [HEART_RATE_SERVICE],
            "manufacturer_data": {str(POLAR_COMPANY_ID): "3f0000"},
        }
    }
    assert not bluez.discovering  # the scan ended
    assert not bluez.device(OTHER).known


def test_connect_read_and_receive_exact_notifications(bluez: BlueZEmulator, dbus_system_bus: str) -> None:
    strap = bluez.add_device(StrapSpec(STRAP, STRAP_NAME, battery=87, body_location=0x01, device_info=DEVICE_INFO))
    reads = [BATTERY_LEVEL, BODY_SENSOR_LOCATION, MANUFACTURER_NAME, MODEL_NUMBER, SERIAL_NUMBER, FIRMWARE_REVISION]

    with bleak_process(dbus_system_bus, "read_and_notify", address=STRAP, reads=reads, count=3) as bleak:
        strap.wait_notifying(timeout=15)
        assert [strap.notify(payload) for payload in HRM_PAYLOADS] == [True, True, True]
        result = bleak.result()

    assert result["payloads"] == [payload.hex() for payload in HRM_PAYLOADS]
    assert result["name"] == STRAP_NAME
    assert result["reads"] == {
        BATTERY_LEVEL: "57",  # 87 %
        BODY_SENSOR_LOCATION: "01",  # chest
        MANUFACTURER_NAME: b"Polar Electro Oy".hex(),
        MODEL_NUMBER: b"H10".hex(),
        SERIAL_NUMBER: b"0A123456".hex(),
        FIRMWARE_REVISION: b"3.1.1".hex(),
    }
    assert result["services"] == {
        HEART_RATE_SERVICE: sorted([HEART_RATE_MEASUREMENT, BODY_SENSOR_LOCATION]),
        BATTERY_SERVICE: [BATTERY_LEVEL],
        DEVICE_INFORMATION_SERVICE: sorted([MANUFACTURER_NAME, MODEL_NUMBER, SERIAL_NUMBER, FIRMWARE_REVISION]),
    }
    assert result["disconnects"] == 1  # the client's own disconnect at the end
    assert result["connected_after"] is False

    stats = strap.stats
    assert (stats.connect_calls, stats.connections, stats.disconnect_calls) == (1, 1, 1)
    assert (stats.start_notify_calls, stats.stop_notify_calls, stats.notifications_delivered) == (1, 1, 3)
    assert stats.reads == {uuid: 1 for uuid in reads}
    assert not strap.connected
    assert not strap.notify(HRM_PAYLOADS[0])  # nobody listening any more


def test_optional_services_are_left_out(bluez: BlueZEmulator, dbus_system_bus: str) -> None:
    strap = bluez.add_device(StrapSpec(STRAP, STRAP_NAME, battery=None, body_location=None, device_info={"model_number": "X"}))

    with bleak_process(
        dbus_system_bus, "read_and_notify", address=STRAP, reads=[BATTERY_LEVEL, MODEL_NUMBER], count=1
    ) as bleak:
        strap.wait_notifying(timeout=15)
        strap.notify(HRM_PAYLOADS[2])
        result = bleak.result()

    assert result["services"] == {
        HEART_RATE_SERVICE: [HEART_RATE_MEASUREMENT],
        DEVICE_INFORMATION_SERVICE: [MODEL_NUMBER],
    }
    assert result["reads"] == {BATTERY_LEVEL: "BleakCharacteristicNotFoundError", MODEL_NUMBER: b"X".hex()}
    assert result["payloads"] == [HRM_PAYLOADS[2].hex()]


def test_link_loss_fires_disconnected_callback(bluez: BlueZEmulator, dbus_system_bus: str) -> None:
    strap = bluez.add_device(StrapSpec(STRAP, STRAP_NAME))

    with bleak_process(dbus_system_bus, "link_loss", address=STRAP) as bleak:
        strap.wait_notifying(timeout=15)
        assert strap.drop_link() is True
        result = bleak.result()

    assert result["disconnected_callback"] is True
    assert result["is_connected"] is False
    stats = strap.stats
    assert (stats.link_losses, stats.disconnect_calls) == (1, 0)
    assert not strap.connected and strap.present


def test_absent_strap_is_not_found_and_cannot_be_connected(bluez: BlueZEmulator, dbus_system_bus: str) -> None:
    bluez.add_device(StrapSpec(OTHER, OTHER_NAME))
    # Paired earlier, so BlueZ has an object for it, but not worn now.
    absent = bluez.add_device(StrapSpec(STRAP, STRAP_NAME, present=False, paired=True, connect_timeout=0.3))

    with bleak_process(dbus_system_bus, "absent", present_address=OTHER, absent_address=STRAP) as bleak:
        result = bleak.result()

    assert result["found"] == [OTHER]
    assert result["present_seen"] is True
    # BleakClient(address) scans first and does not find it.
    assert result["by_address_error"] == "BleakDeviceNotFoundError"
    # With a BLEDevice, Connect() is tried and fails with "le-connection-abort-by-local";
    # Bleak then waits for the link to go down before retrying, which never happens,
    # so the caller sees its own timeout.
    assert result["known_to_bluez"] is True
    assert result["by_device_error"] == "TimeoutError"
    stats = absent.wait_stats(lambda s: s.failed_connects == 1)
    assert (stats.connect_calls, stats.connections) == (1, 0)


def test_strap_that_comes_back_is_found_and_reconnected(bluez: BlueZEmulator, dbus_system_bus: str) -> None:
    strap = bluez.add_device(StrapSpec(STRAP, STRAP_NAME, battery=55))
    attempt_timeout = 0.4

    with bleak_process(dbus_system_bus, "reconnect", address=STRAP, attempt_timeout=attempt_timeout) as bleak:
        strap.wait_notifying(timeout=15)
        assert strap.notify(HRM_PAYLOADS[0])
        strap.drop_link(absent_for=math.inf)  # strap taken off
        # The client rescans; while the strap is away no scan may find it.
        bluez.wait_discovering(timeout=10)
        time.sleep(attempt_timeout + 0.6)
        strap.set_present(True)
        strap.wait_notifying(timeout=15)
        assert strap.notify(HRM_PAYLOADS[1])
        result = bleak.result()

    assert result["payloads"] == [HRM_PAYLOADS[0].hex(), HRM_PAYLOADS[1].hex()]
    assert result["scan_attempts"] >= 2
    assert result["battery"] == "37"  # 55 %
    stats = strap.stats
    assert (stats.connect_calls, stats.connections, stats.link_losses) == (2, 2, 1)
    assert stats.start_notify_calls == 2


def test_retry_connector_survives_an_aborted_connection(bluez: BlueZEmulator, dbus_system_bus: str) -> None:
    strap = bluez.add_device(StrapSpec(STRAP, STRAP_NAME, battery=90))
    strap.fail_next_connects(1)

    with bleak_process(dbus_system_bus, "retry_connect", address=STRAP) as bleak:
        result = bleak.result()

    assert result["battery"] == "5a"
    stats = strap.stats
    assert (stats.connect_calls, stats.failed_connects, stats.connections) == (2, 1, 1)


async def test_bleak_in_process_with_a_fresh_event_loop(bluez: BlueZEmulator) -> None:
    """Bleak can also run in the test process itself.

    Bleak 3.1 keeps one BlueZ manager per event loop, and pytest-asyncio gives each
    test a new loop, so the manager connects to this test's bus. Emulator calls block,
    hence ``asyncio.to_thread``.
    """
    strap = bluez.add_device(StrapSpec(STRAP, STRAP_NAME, battery=64))
    found = await BleakScanner.discover(timeout=0.5, service_uuids=[HEART_RATE_SERVICE], return_adv=True)
    assert list(found) == [STRAP]
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    async with BleakClient(found[STRAP][0], timeout=5.0) as client:
        assert await client.read_gatt_char(BATTERY_LEVEL) == bytearray([64])
        await client.start_notify(HEART_RATE_MEASUREMENT, lambda _char, data: queue.put_nowait(bytes(data)))
        await asyncio.to_thread(strap.wait_notifying)
        assert await asyncio.to_thread(strap.notify, HRM_PAYLOADS[1])
        assert await asyncio.wait_for(queue.get(), 5) == HRM_PAYLOADS[1]
    assert not strap.connected


# -----------------------------------------------------------------------------
# D-Bus level checks (dbus-fast in this process; no Bleak)
# -----------------------------------------------------------------------------


async def _connect_client(address: str) -> Any:
    from dbus_fast.aio import MessageBus

    return await MessageBus(bus_address=address).connect()


async def _call(
    bus: Any,
    path: str,
    interface: str,
    member: str,
    signature: str = "",
    body: list[Any] | None = None,
    destination: str = "org.bluez",
) -> Any:
    from dbus_fast import Message

    return await bus.call(
        Message(
            destination=destination,
            path=path,
            interface=interface,
            member=member,
            signature=signature,
            body=body or [],
        )
    )


async def test_managed_objects_describe_adapter_and_known_strap(bluez: BlueZEmulator, dbus_system_bus: str) -> None:
    bluez.add_device(StrapSpec(STRAP, STRAP_NAME, paired=True))
    bus = await _connect_client(dbus_system_bus)
    try:
        reply = await _call(bus, "/", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
    finally:
        bus.disconnect()
    objects = reply.body[0]
    adapter = objects["/org/bluez/hci0"]["org.bluez.Adapter1"]
    assert adapter["Powered"].value is True
    assert "central" in adapter["Roles"].value
    device = objects["/org/bluez/hci0/dev_C8_2E_11_0A_12_34"]["org.bluez.Device1"]
    assert device["Address"].value == STRAP
    assert device["Adapter"].value == "/org/bluez/hci0"
    assert device["RSSI"].signature == "n"
    assert device["ManufacturerData"].signature == "a{qv}"
    assert device["UUIDs"].value == [HEART_RATE_SERVICE]
    assert (device["Connected"].value, device["ServicesResolved"].value, device["Paired"].value) == (False, False, True)


async def test_link_loss_signals_come_in_bluez_order(bluez: BlueZEmulator, dbus_system_bus: str) -> None:
    from dbus_fast import MessageType

    strap = bluez.add_device(StrapSpec(STRAP, STRAP_NAME, paired=True))
    bus = await _connect_client(dbus_system_bus)
    signals: list[tuple[str, Any]] = []

    def record(msg: Any) -> None:
        if msg.message_type is not MessageType.SIGNAL or not (msg.path or "").startswith(strap.path):
            return
        if msg.member == "PropertiesChanged" and msg.body[0] == "org.bluez.Device1":
            signals.append(("changed", {k: v.value for k, v in msg.body[1].items()}))
        elif msg.member == "InterfacesRemoved":
            signals.append(("removed", msg.body[0]))

    try:
        bus.add_message_handler(record)
        daemon = "org.freedesktop.DBus"
        await _call(bus, "/org/freedesktop/DBus", daemon, "AddMatch", "s", ["type='signal'"], destination=daemon)
        reply = await _call(bus, strap.path, "org.bluez.Device1", "Connect")
        assert reply.message_type is MessageType.METHOD_RETURN
        signals.clear()
        await asyncio.to_thread(strap.drop_link)
        async with asyncio.timeout(5):
            while not signals or signals[-1] != ("changed", {"Connected": False}):
                await asyncio.sleep(0.01)
    finally:
        bus.disconnect()

    assert signals[0] == ("changed", {"ServicesResolved": False})
    assert signals[-1] == ("changed", {"Connected": False})
    removed = [path for kind, path in signals[1:-1] if kind == "removed"]
    assert len(removed) == len(signals) - 2
    assert any("/char" in path for path in removed) and any(path.endswith("service000a") for path in removed)


async def test_discovery_sessions_are_per_client(bluez: BlueZEmulator, dbus_system_bus: str) -> None:
    adapter = "/org/bluez/hci0"
    first, second = await _connect_client(dbus_system_bus), await _connect_client(dbus_system_bus)
    try:
        assert (await _call(first, adapter, "org.bluez.Adapter1", "StartDiscovery")).error_name is None
        again = await _call(first, adapter, "org.bluez.Adapter1", "StartDiscovery")
        assert again.error_name == "org.bluez.Error.InProgress"
        not_started = await _call(second, adapter, "org.bluez.Adapter1", "StopDiscovery")
        assert (not_started.error_name, not_started.body) == ("org.bluez.Error.Failed", ["No discovery started"])
        assert (await _call(second, adapter, "org.bluez.Adapter1", "StartDiscovery")).error_name is None
        assert (await _call(first, adapter, "org.bluez.Adapter1", "StopDiscovery")).error_name is None
        assert bluez.discovering  # the second client still scans
    finally:
        first.disconnect()
        second.disconnect()  # leaving the bus ends its session, as in BlueZ
    await asyncio.to_thread(bluez.wait_discovering, False, 5.0)


async def test_calls_to_a_forgotten_device_fail_with_unknown_object(bluez: BlueZEmulator, dbus_system_bus: str) -> None:
    strap = bluez.add_device(StrapSpec(STRAP, STRAP_NAME, paired=True))
    bus = await _connect_client(dbus_system_bus)
    try:
        reply = await _call(bus, "/org/bluez/hci0", "org.bluez.Adapter1", "RemoveDevice", "o", [strap.path])
        assert reply.error_name is None
        assert not strap.known
        reply = await _call(bus, strap.path, "org.bluez.Device1", "Connect")
    finally:
        bus.disconnect()
    assert reply.error_name == "org.freedesktop.DBus.Error.UnknownObject"


if __name__ == "__main__":
    asyncio.run(_run_scenario(sys.argv[1], json.loads(sys.argv[2])))
