"""A simulated chest strap for ``attune demo``: real Heart Rate Measurement bytes, in real time.

It stands where the Bleak collector stands (an :data:`attune.ingest.session.Source`): every
second it encodes the RR intervals of the beats that ended in that second into a 0x2A37
payload, stamps it like the collector does and puts it on the queue, so the demo exercises
the same parser, timestamping, storage and pipeline as a real strap.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Any

from attune.ingest.events import DeviceInfo, LinkEvent, LinkKind, Notification
from attune.ingest.hrm import hrm_encode

SIM_DEVICE = DeviceInfo(
    address="SIM:00:00:00:00:01",
    name="attune simulated strap",
    manufacturer="attune",
    model="simulator",
    body_location="chest",
)


def _rr_1024(rr_ms: float) -> int:
    return max(1, min(0xFFFF, round(rr_ms * 1024 / 1000)))


async def strap_simulate(
    queue: asyncio.Queue[Any],
    stop: asyncio.Event,
    rr_ms: Iterator[float],
    *,
    interval_s: float = 1.0,
    battery: int = 87,
) -> None:
    """Emit 1 Hz notifications from an endless RR generator until ``stop`` is set."""
    queue.put_nowait(LinkEvent(LinkKind.CONNECTED, {"rssi": -55, "battery": battery}, SIM_DEVICE))
    pending_rr = next(rr_ms)  # the interval that ends at the next beat
    next_beat_s = time.monotonic() + pending_rr / 1000
    next_send_s = time.monotonic() + interval_s
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, next_send_s - time.monotonic()))
            if stop.is_set():
                break
            ticks: list[int] = []
            # every beat that has happened by now goes into this notification
            while next_beat_s <= time.monotonic() and len(ticks) < 9:
                ticks.append(_rr_1024(pending_rr))
                pending_rr = next(rr_ms)
                next_beat_s += pending_rr / 1000
            hr = round(60 * 1024 / (sum(ticks) / len(ticks))) if ticks else 0
            queue.put_nowait(Notification.now(hrm_encode(min(hr, 255), ticks, contact=True)))
            next_send_s += interval_s
    finally:
        queue.put_nowait(LinkEvent(LinkKind.DISCONNECTED, {"reason": "stopped"}))
