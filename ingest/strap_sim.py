"""A simulated chest strap for ``attune demo``: real Heart Rate Measurement bytes, in real time.

It stands where the Bleak collector stands (an :data:`attune.ingest.session.Source`): every
second it encodes the RR intervals of the beats that ended in that second into a 0x2A37
payload, stamps it like the collector does and puts it on the queue, so the demo exercises
the same parser, timestamping, storage and pipeline as a real strap.

Motion: like a Polar H10 streaming its accelerometer at 25 Hz, it also sends one PMD ACC
frame a second (uncompressed type 1, int16 mg, sensor clock from 2019-01-01 as an H10 after
a reset) made of *real* chest motion, ``fixtures/motion/`` (Hexoskin session 003): the
walking half while the simulated person walks (:func:`walks_every`: a few minutes every
twenty), the still half otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from attune.ingest.events import DeviceInfo, LinkEvent, LinkKind, MotionKind, MotionNotification, Notification
from attune.ingest.hrm import hrm_encode
from attune.ingest.pmd import pmd_acc_encode

log = logging.getLogger(__name__)

MOTION_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "motion" / "hexoskin003_still_walk_25hz.csv"
SIM_ACC_RATE_HZ = 25
H10_RESET_SENSOR_NS = 599_616_000_000_000_000  # 2019-01-01 in ns since 2000: an H10's clock after a reset

SIM_DEVICE = DeviceInfo(
    address="SIM:00:00:00:00:01",
    name="attune simulated strap",
    manufacturer="attune",
    model="simulator",
    body_location="chest",
    has_acc=True,
    has_rsc=False,
)


def motion_fixture_load(path: Path = MOTION_FIXTURE) -> tuple[np.ndarray, np.ndarray] | None:
    """The fixture's still and walking halves, each (n, 3) int16 mg at 25 Hz; None when the
    file is not there (an install without the repository's fixtures: the demo goes without motion)."""
    try:
        data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int64)
    except OSError:
        return None
    split = int(np.argmax(np.diff(data[:, 0]) > 1000)) + 1  # the two segments are minutes apart
    return data[:split, 1:].astype(np.int16), data[split:, 1:].astype(np.int16)


def walks_every(start_s: float, *, every_s: float = 1200.0, walk_s: float = 180.0, first_s: float = 240.0
                ) -> Callable[[float], bool]:
    """The simulated person's day, kept simple: a walk of ``walk_s`` every ``every_s``, the
    first ``first_s`` after ``start_s`` (monotonic seconds); still otherwise."""
    def moving(now_s: float) -> bool:
        t = now_s - start_s - first_s
        return t >= 0 and t % every_s < walk_s
    return moving


class _AccSource:
    """Cycles through the fixture's still or walking half, a frame per notification interval."""

    def __init__(self, halves: tuple[np.ndarray, np.ndarray], moving: Callable[[float], bool]) -> None:
        self.halves = halves
        self.moving = moving
        self.pos = [0, 0]
        self.sensor_ns = H10_RESET_SENSOR_NS

    def frame(self, now_s: float, n: int = SIM_ACC_RATE_HZ) -> bytes:
        which = 1 if self.moving(now_s) else 0
        half = self.halves[which]
        idx = (self.pos[which] + np.arange(n)) % len(half)
        self.pos[which] = int(idx[-1]) + 1
        self.sensor_ns += n * 1_000_000_000 // SIM_ACC_RATE_HZ
        return pmd_acc_encode(half[idx], self.sensor_ns, frame_type=1)


def _rr_1024(rr_ms: float) -> int:
    return max(1, min(0xFFFF, round(rr_ms * 1024 / 1000)))


async def strap_simulate(
    queue: asyncio.Queue[Any],
    stop: asyncio.Event,
    rr_ms: Iterator[float],
    *,
    interval_s: float = 1.0,
    battery: int = 87,
    motion: bool = True,
    moving: Callable[[float], bool] | None = None,
) -> None:
    """Emit 1 Hz notifications from an endless RR generator until ``stop`` is set; with
    ``motion``, a PMD accelerometer frame with each (``moving(monotonic_s)`` says whether the
    person walks; default :func:`walks_every` from now)."""
    halves = motion_fixture_load() if motion else None
    if motion and halves is None:
        log.info("no motion fixture at %s: the simulated strap sends beats only", MOTION_FIXTURE)
    device = SIM_DEVICE if halves is not None else dataclasses.replace(SIM_DEVICE, has_acc=False)
    queue.put_nowait(LinkEvent(LinkKind.CONNECTED, {"rssi": -55, "battery": battery}, device))
    queue.put_nowait(LinkEvent(LinkKind.CAPABILITIES, {"acc": halves is not None, "rsc": False}))
    acc = None
    if halves is not None:
        acc = _AccSource(halves, moving or walks_every(time.monotonic()))
        queue.put_nowait(LinkEvent(LinkKind.MOTION_STARTED, {"sample_rate_hz": SIM_ACC_RATE_HZ, "range_g": 8,
                                                              "resolution_bits": 16, "factor": None}))
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
            if acc is not None:
                n = max(1, round(SIM_ACC_RATE_HZ * interval_s))  # the samples of one interval
                queue.put_nowait(MotionNotification.now(MotionKind.PMD, acc.frame(time.monotonic(), n)))
            next_send_s += interval_s
    finally:
        if acc is not None:
            queue.put_nowait(LinkEvent(LinkKind.MOTION_STOPPED, {"reason": "stopped"}))
        queue.put_nowait(LinkEvent(LinkKind.DISCONNECTED, {"reason": "stopped"}))
