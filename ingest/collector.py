"""The Bleak collector: find a chest strap, stay connected all day, stamp every notification.

Data flow: strap → :func:`Collector._on_measurement` (synchronous Bleak callback: stamp the
arrival time, enqueue, nothing else) → ``asyncio.Queue`` → :class:`~attune.ingest.recorder.Recorder`.
Link life (connected, disconnected, battery, link_silent, …) travels on the same queue as
:class:`~attune.ingest.events.LinkEvent` so the recorder sees events in arrival order.

Reconnection: every attempt starts with a fresh scan (BlueZ forgets a device's object once
it stops advertising), connection establishment goes through bleak-retry-connector, waits
between attempts grow exponentially with jitter up to ``backoff_cap_s`` and reset after a
healthy connection, and a watchdog treats a link silent for ``watchdog_s`` as lost.

Motion (issue 8), on every connection: where the strap has Polar Measurement Data, the
accelerometer is started (features, offered settings, :func:`pmd_acc_settings_choose`,
stop-then-start: a strap may still stream for a process that died) and its data
notifications travel as :class:`MotionNotification` on the same queue; where it has
Running Speed and Cadence, 0x2A53 is subscribed. A refusal (e.g. "device in charger") is one
logged line and a ``motion_error`` event: beats go on. The stop command is always sent
before a deliberate disconnect (Ctrl-C, SIGTERM, ``--duration``): an H10 left streaming
drains its battery.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError
from bleak.uuids import normalize_uuid_16
from bleak_retry_connector import BleakClientWithServiceCache, establish_connection

from attune.errors import AttuneError
from attune.ingest.events import DeviceInfo, LinkEvent, LinkKind, MotionKind, MotionNotification, Notification
from attune.ingest.pmd import (
    PMD_DATA_UUID,
    PMD_SERVICE_UUID,
    PmdError,
    PmdMeasurementType,
    PmdSettings,
    pmd_acc_settings_choose,
    pmd_request_start,
)
from attune.ingest.pmd_link import PmdLink
from attune.ingest.rsc import RSC_MEASUREMENT_UUID

log = logging.getLogger(__name__)

HEART_RATE_SERVICE = normalize_uuid_16(0x180D)
HEART_RATE_MEASUREMENT = normalize_uuid_16(0x2A37)
BODY_SENSOR_LOCATION = normalize_uuid_16(0x2A38)
BATTERY_LEVEL = normalize_uuid_16(0x2A19)
DEVICE_INFORMATION = {
    "manufacturer": normalize_uuid_16(0x2A29),
    "model": normalize_uuid_16(0x2A24),
    "serial": normalize_uuid_16(0x2A25),
    "firmware": normalize_uuid_16(0x2A26),
}
BODY_LOCATIONS = {0: "other", 1: "chest", 2: "wrist", 3: "finger", 4: "hand", 5: "ear lobe", 6: "foot"}

class BluetoothUnavailable(AttuneError):
    """No Bluetooth to use: no D-Bus system bus, no bluetoothd, or no adapter."""


def bluetooth_error(exc: BaseException) -> BluetoothUnavailable:
    """What a failed scan start means to the user, in one line."""
    if isinstance(exc, FileNotFoundError | ConnectionRefusedError):
        detail = "no D-Bus system bus"
    elif "ServiceUnknown" in str(exc) or "org.bluez" in str(exc):
        detail = "the BlueZ service does not answer"
    else:
        detail = str(exc) or type(exc).__name__
    return BluetoothUnavailable(
        f"Bluetooth is not available ({detail}): is bluetoothd running (`systemctl status bluetooth`) "
        "and an adapter present and powered on (`bluetoothctl show`)?"
    )


@dataclass(frozen=True)
class FoundStrap:
    address: str
    name: str | None
    rssi: int | None
    device: BLEDevice


def _found(device: BLEDevice, adv: AdvertisementData) -> FoundStrap:
    return FoundStrap(device.address, adv.local_name or device.name, adv.rssi, device)


async def straps_scan(timeout_s: float = 5.0) -> list[FoundStrap]:
    """Scan for devices advertising the Heart Rate Service; strongest signal first."""
    try:
        seen = await BleakScanner.discover(
            timeout=timeout_s, return_adv=True, service_uuids=[HEART_RATE_SERVICE]
        )
    except (BleakError, OSError, EOFError) as exc:
        raise bluetooth_error(exc) from exc
    straps = [_found(d, adv) for d, adv in seen.values()]
    return sorted(straps, key=lambda s: -(s.rssi if s.rssi is not None else -999))


def strap_matches(spec: str | None, device: BLEDevice, adv: AdvertisementData) -> bool:
    """``spec`` is an address (any case) or a name (exact, or a case-insensitive prefix)."""
    if spec is None:
        return HEART_RATE_SERVICE in (adv.service_uuids or [])
    name = adv.local_name or device.name or ""
    spec_l = spec.lower()
    return device.address.lower() == spec_l or name == spec or name.lower().startswith(spec_l)


async def strap_find(spec: str | None, timeout_s: float = 10.0) -> FoundStrap | None:
    """Scan until the wanted strap (or, with no spec, any HR strap) advertises."""
    loop = asyncio.get_running_loop()
    found: asyncio.Future[FoundStrap] = loop.create_future()

    def on_advertisement(device: BLEDevice, adv: AdvertisementData) -> None:
        if not found.done() and strap_matches(spec, device, adv):
            found.set_result(_found(device, adv))

    service_filter = [HEART_RATE_SERVICE] if spec is None else None
    scanner = BleakScanner(on_advertisement, service_uuids=service_filter)
    try:
        await scanner.start()
    except (BleakError, OSError, EOFError) as exc:
        raise bluetooth_error(exc) from exc
    try:
        return await asyncio.wait_for(found, timeout_s)
    except TimeoutError:
        return None
    finally:
        with contextlib.suppress(BleakError, OSError, EOFError):
            await scanner.stop()


@dataclass(frozen=True)
class BackoffPolicy:
    """Exponential backoff with jitter: ``min(cap, base·2^n)`` scaled by U(0.5, 1)."""

    base_s: float = 1.0
    cap_s: float = 60.0
    healthy_s: float = 60.0  # a connection this long resets the attempt counter

    def delay_s(self, attempt: int, rng: random.Random | None = None) -> float:
        raw = min(self.cap_s, self.base_s * 2 ** min(attempt, 30))
        return raw * (rng or random).uniform(0.5, 1.0)


class Collector:
    """Keeps one strap connected forever and feeds its notifications into ``queue``."""

    def __init__(
        self,
        queue: asyncio.Queue[Any],
        device: str | None = None,
        *,
        watchdog_s: float = 10.0,
        backoff: BackoffPolicy | None = None,
        scan_timeout_s: float = 10.0,
        battery_poll_s: float = 300.0,
        acc_rate_hz: int = 25,
    ) -> None:
        self.queue = queue
        self.device = device
        self.watchdog_s = watchdog_s
        self.backoff = backoff or BackoffPolicy()
        self.scan_timeout_s = scan_timeout_s
        self.battery_poll_s = battery_poll_s
        self._last_rx = time.monotonic()
        self.notifications = 0
        self._scanned = False  # has Bluetooth ever worked in this process?
        self.acc_rate_hz = acc_rate_hz  # wanted accelerometer rate; 0: leave the accelerometer alone
        self._acc_streaming = False
        # PMD frames that arrive before their stream's start answer: held until the recorder
        # has been told the stream's settings (motion_started), then queued in order
        self._pmd_early: list[MotionNotification] | None = None

    # Bleak calls this synchronously for every notification: stamp and enqueue, nothing else.
    def _on_measurement(self, _char: Any, data: bytearray) -> None:
        self._last_rx = time.monotonic()
        self.notifications += 1
        self.queue.put_nowait(Notification.now(data))

    def _on_pmd_data(self, _char: Any, data: bytearray) -> None:
        self._last_rx = time.monotonic()
        n = MotionNotification.now(MotionKind.PMD, data)
        if self._pmd_early is not None:
            self._pmd_early.append(n)
        else:
            self.queue.put_nowait(n)

    def _on_rsc(self, _char: Any, data: bytearray) -> None:
        self._last_rx = time.monotonic()
        self.queue.put_nowait(MotionNotification.now(MotionKind.RSC, data))

    def _on_pmd_stopped(self, types: tuple[int, ...]) -> None:
        if PmdMeasurementType.ACC in types and self._acc_streaming:
            self._acc_streaming = False
            self._event(LinkKind.MOTION_STOPPED, reason="strap")

    def _event(self, kind: str, device: DeviceInfo | None = None, **value: Any) -> None:
        self.queue.put_nowait(LinkEvent(kind, value, device))

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, record, reconnect — until ``stop`` is set."""
        attempt = 0
        while not stop.is_set():
            try:
                connected_s = await self._session(stop)
            except BluetoothUnavailable as exc:
                if not self._scanned:
                    raise  # never worked: the user must act, say so now
                log.warning("%s", exc)  # it worked before (bluetoothd restarting?): keep trying
                self._event(LinkKind.SCAN_MISS, device_spec=self.device, error=str(exc))
                connected_s = 0.0
            if stop.is_set():
                break
            if connected_s >= self.backoff.healthy_s:
                attempt = 0
            delay = self.backoff.delay_s(attempt)
            attempt += 1
            log.info("reconnecting in %.1f s (attempt %d)", delay, attempt)
            self._event(LinkKind.RETRY_WAIT, delay_s=round(delay, 2), attempt=attempt)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    async def _session(self, stop: asyncio.Event) -> float:
        """One scan → connect → stream cycle; returns how long the link was up (s)."""
        strap = await strap_find(self.device, self.scan_timeout_s)
        self._scanned = True
        if strap is None:
            log.info("no strap found%s", f" matching {self.device!r}" if self.device else "")
            self._event(LinkKind.SCAN_MISS, device_spec=self.device)
            return 0.0
        # BlueZ stops updating RSSI once connected: the advertisement is the last reading
        self._event(LinkKind.RSSI, DeviceInfo(strap.address, strap.name), rssi=strap.rssi)
        lost = asyncio.Event()
        try:
            client = await establish_connection(
                BleakClientWithServiceCache,
                strap.device,
                strap.name or strap.address,
                disconnected_callback=lambda _c: lost.set(),
                max_attempts=2,
            )
        except (BleakError, TimeoutError, OSError) as exc:
            log.info("could not connect to %s: %s", strap.address, exc)
            self._event(LinkKind.CONNECT_FAILED, DeviceInfo(strap.address, strap.name), error=str(exc))
            return 0.0
        started = time.monotonic()
        reason = "stopped"
        self._acc_streaming = False
        self._pmd_early = None
        pmd = PmdLink(client, on_stopped=self._on_pmd_stopped)
        try:
            info, battery = await self._read_metadata(client, strap)
            has_acc = await self._acc_offered(client, pmd)
            has_rsc = client.services.get_characteristic(RSC_MEASUREMENT_UUID) is not None
            info = dataclasses.replace(info, has_acc=has_acc, has_rsc=has_rsc)
            self._event(LinkKind.CONNECTED, info, rssi=strap.rssi, battery=battery)
            self._event(LinkKind.CAPABILITIES, acc=has_acc, rsc=has_rsc)
            log.info("connected to %s (%s), battery %s%%, accelerometer %s", info.name, info.address, battery,
                     "yes" if has_acc else "no")
            self._last_rx = time.monotonic()
            await client.start_notify(HEART_RATE_MEASUREMENT, self._on_measurement)
            if has_rsc:
                await client.start_notify(RSC_MEASUREMENT_UUID, self._on_rsc)
            if has_acc and self.acc_rate_hz > 0:
                await self._acc_start(client, pmd)
            reason = await self._supervise(client, lost, stop)
        except BleakError as exc:
            reason = f"error: {exc}"
            log.warning("link to %s failed: %s", strap.address, exc)
        finally:
            if client.is_connected and self._acc_streaming:
                await self._acc_stop(pmd)
            if client.is_connected:
                with contextlib.suppress(BleakError, TimeoutError, OSError):
                    await asyncio.wait_for(client.disconnect(), 10.0)
            connected_s = time.monotonic() - started
            self._event(LinkKind.DISCONNECTED, reason=reason, connected_s=round(connected_s, 1))
            log.info("disconnected from %s: %s", strap.address, reason)
        return connected_s

    async def _acc_offered(self, client: BleakClient, pmd: PmdLink) -> bool:
        """Whether the strap has a PMD accelerometer (its feature read lists ACC)."""
        if client.services.get_service(PMD_SERVICE_UUID) is None:
            return False
        if self.acc_rate_hz <= 0:  # motion off: do not talk to the control point at all
            return True
        try:
            return PmdMeasurementType.ACC in await pmd.features_read()
        except (AttuneError, BleakError, TimeoutError) as exc:
            log.warning("could not read the strap's PMD features (%s): recording without motion", exc)
            self._event(LinkKind.MOTION_ERROR, error=str(exc) or type(exc).__name__)
            return False

    async def _acc_start(self, client: BleakClient, pmd: PmdLink) -> None:
        """Start the accelerometer; a refusal is one line and a motion_error event."""
        acc = PmdMeasurementType.ACC
        self._pmd_early = []
        try:
            offered = await pmd.settings_get(acc)
            chosen = pmd_acc_settings_choose(offered, sample_rate_hz=self.acc_rate_hz)
            try:  # a strap may still stream for an earlier process: stop first, then start
                await pmd.stop(acc)
            except PmdError as exc:
                log.debug("stop before start: %s", exc)  # "already in state" when it was not streaming
            await client.start_notify(PMD_DATA_UUID, self._on_pmd_data)
            self._acc_streaming = True  # from here on the strap may stream: stop it on exit
            try:
                answer = await pmd.request(pmd_request_start(acc, **chosen))
            except PmdError:
                self._acc_streaming = False  # refused: nothing to stop
                raise
            in_force = answer.settings()  # the answer may carry a scale for delta frames
            factor = in_force.factor if isinstance(in_force, PmdSettings) else None
            self._event(LinkKind.MOTION_STARTED, **chosen, factor=factor)
            log.info("accelerometer streaming: %s", ", ".join(f"{k} {v}" for k, v in chosen.items()))
        except (AttuneError, BleakError, TimeoutError) as exc:
            message = str(exc) or type(exc).__name__
            log.warning("no motion from this strap: %s; recording beats without it", message)
            self._event(LinkKind.MOTION_ERROR, error=message, code=getattr(exc, "code", None))
        finally:
            early, self._pmd_early = self._pmd_early or [], None
            for n in early:
                self.queue.put_nowait(n)

    async def _acc_stop(self, pmd: PmdLink) -> None:
        """Send the stop command (bounded wait: shutdown must not hang on a silent strap)."""
        try:
            await pmd.stop(PmdMeasurementType.ACC)
            log.info("accelerometer stopped")
            self._event(LinkKind.MOTION_STOPPED, reason="stopped")
        except (AttuneError, BleakError, TimeoutError) as exc:
            log.warning("could not stop the strap's accelerometer: %s", exc)
            self._event(LinkKind.MOTION_ERROR, error=f"stop: {exc}", code=getattr(exc, "code", None))
        self._acc_streaming = False

    async def _supervise(self, client: BleakClient, lost: asyncio.Event, stop: asyncio.Event) -> str:
        """Wait for link loss, a silent link (watchdog) or stop; poll the battery meanwhile."""
        next_battery = time.monotonic() + self.battery_poll_s
        while True:
            if stop.is_set():
                return "stopped"
            if lost.is_set():
                return "link_lost"
            silent_s = time.monotonic() - self._last_rx
            if silent_s > self.watchdog_s:
                self._event(LinkKind.LINK_SILENT, silent_s=round(silent_s, 1))
                return "watchdog"
            if time.monotonic() >= next_battery:
                next_battery = time.monotonic() + self.battery_poll_s
                battery = await self._read_battery(client)
                if battery is not None:
                    self._event(LinkKind.BATTERY, battery=battery)
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())]
            try:
                await asyncio.wait(waiters, timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waiters:
                    w.cancel()

    async def _read_metadata(self, client: BleakClient, strap: FoundStrap) -> tuple[DeviceInfo, int | None]:
        """Battery, body sensor location and Device Information, each only where present."""
        fields: dict[str, str | None] = {}
        for key, uuid in DEVICE_INFORMATION.items():
            raw = await self._read_optional(client, uuid)
            fields[key] = raw.decode("utf-8", "replace").strip("\x00 ") if raw else None
        location = await self._read_optional(client, BODY_SENSOR_LOCATION)
        body_location = BODY_LOCATIONS.get(location[0], f"code {location[0]}") if location else None
        info = DeviceInfo(strap.address, strap.name, body_location=body_location, **fields)
        return info, await self._read_battery(client)

    async def _read_battery(self, client: BleakClient) -> int | None:
        raw = await self._read_optional(client, BATTERY_LEVEL)
        return raw[0] if raw else None

    @staticmethod
    async def _read_optional(client: BleakClient, uuid: str) -> bytes | None:
        if client.services.get_characteristic(uuid) is None:
            return None
        try:
            return bytes(await asyncio.wait_for(client.read_gatt_char(uuid), 10.0))
        except (BleakError, TimeoutError) as exc:
            log.info("reading %s failed: %s", uuid, exc)
            return None
