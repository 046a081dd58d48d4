"""The PMD control-point conversation with a connected strap, over Bleak.

A request is a write with response to the control point (``FB005C81``); the strap answers
with an indication on the same characteristic (``F0 op type error more parameters``,
continued by further indications while ``more`` is set), see :mod:`attune.ingest.pmd`.
:class:`PmdLink` serialises requests, matches each answer to its request (by op code and
measurement type) and turns an error code into a :class:`~attune.ingest.pmd.PmdError`.
The strap may also say on its own that it stopped streaming (``0x01 …``): that goes to
``on_stopped``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from bleak import BleakClient

from attune.errors import AttuneError
from attune.ingest.pmd import (
    PMD_CONTROL_POINT_UUID,
    PMD_FEATURES_CODE,
    PmdDeviceStopped,
    PmdMalformed,
    PmdMeasurementType,
    PmdResponse,
    PmdSettings,
    pmd_features_parse,
    pmd_request_get_settings,
    pmd_request_stop,
    pmd_response_parse,
    pmd_responses_join,
)

log = logging.getLogger(__name__)


class PmdTimeout(AttuneError):
    """The strap did not answer a control-point request in time."""


class PmdProtocolError(AttuneError):
    """The strap answered with bytes that are not a PMD message."""


class PmdLink:
    """Control-point requests on one connection (create a new one after every reconnect)."""

    def __init__(
        self,
        client: BleakClient,
        *,
        timeout_s: float = 5.0,
        on_stopped: Callable[[tuple[int, ...]], None] | None = None,
    ) -> None:
        self.client = client
        self.timeout_s = timeout_s
        self.on_stopped = on_stopped
        self._answers: asyncio.Queue[PmdResponse] = asyncio.Queue()
        self._lock = asyncio.Lock()
        self._indicating = False

    async def features_read(self) -> frozenset[PmdMeasurementType]:
        """The measurement types the strap offers (a read of the control point)."""
        raw = await asyncio.wait_for(self.client.read_gatt_char(PMD_CONTROL_POINT_UUID), self.timeout_s)
        features = pmd_features_parse(raw)
        if isinstance(features, PmdMalformed):
            raise PmdProtocolError(f"the strap's PMD feature read is not valid ({features})")
        return features

    async def open(self) -> None:
        """Enable the control point's indications (the answers)."""
        if not self._indicating:
            await asyncio.wait_for(self.client.start_notify(PMD_CONTROL_POINT_UUID, self._on_indication),
                                   self.timeout_s)
            self._indicating = True

    # Bleak calls this for every indication (and for our own reads of the control point,
    # which BlueZ announces as a value change too)
    def _on_indication(self, _char: Any, data: bytearray) -> None:
        parsed = pmd_response_parse(data)
        if isinstance(parsed, PmdDeviceStopped):
            log.info("the strap stopped PMD streaming by itself: types %s", parsed.measurement_types)
            if self.on_stopped is not None:
                self.on_stopped(parsed.measurement_types)
        elif isinstance(parsed, PmdResponse):
            self._answers.put_nowait(parsed)
        elif not (data and data[0] == PMD_FEATURES_CODE):  # the echo of a feature read
            log.debug("ignored control-point bytes: %s", parsed)

    async def request(self, payload: bytes) -> PmdResponse:
        """Send one request; return its (joined) answer, raising :class:`PmdError` for an
        error code and :class:`PmdTimeout` when no answer comes."""
        await self.open()
        op, mtype = payload[0], payload[1]
        async with self._lock:
            while not self._answers.empty():  # late answers to an earlier, timed-out request
                self._answers.get_nowait()
            await asyncio.wait_for(self.client.write_gatt_char(PMD_CONTROL_POINT_UUID, payload, response=True),
                                   self.timeout_s)
            parts: list[PmdResponse] = []
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.timeout_s
            while True:
                try:
                    answer = await asyncio.wait_for(self._answers.get(), max(0.0, deadline - loop.time()))
                except TimeoutError:
                    raise PmdTimeout(f"the strap did not answer PMD request {payload.hex(' ')} within "
                                     f"{self.timeout_s:g} s") from None
                if not parts and (answer.op != op or answer.measurement_type != mtype):
                    continue  # not ours
                parts.append(answer)
                if not answer.more:
                    break
        return pmd_responses_join(parts).raise_for_error()

    async def settings_get(self, measurement_type: PmdMeasurementType) -> PmdSettings:
        """The settings the strap offers for a measurement (op 0x01)."""
        settings = (await self.request(pmd_request_get_settings(measurement_type))).settings()
        if isinstance(settings, PmdMalformed):
            raise PmdProtocolError(f"the strap's {measurement_type.name} settings are not valid ({settings})")
        return settings

    async def stop(self, measurement_type: PmdMeasurementType) -> PmdResponse:
        return await self.request(pmd_request_stop(measurement_type))
