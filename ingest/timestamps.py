"""Beat times from RR sums anchored to notification arrival.

A Heart Rate Measurement carries no time of its own. Each notification is stamped on
arrival with the monotonic and the wall clock; the beats it reports happened *before* it
arrived, and consecutive beats are exactly one RR apart. So within a segment every beat
time is ``anchor + S`` where ``S`` is the running sum of RR intervals, and the anchor is
chosen as late as possible such that the newest beat of every packet is no later than its
arrival (the lower envelope of ``arrival - S``). Work happens on the monotonic clock; the
segment's wall-minus-monotonic offset maps beat times to Unix time, so a wall clock step
cannot bend beat spacing (it starts a new segment instead, and is visible as a change of
offset).

Bounds, all checked per packet (``slack`` = arrival - newest beat time):

* ``slack < 0``: the chain runs ahead of arrival (strap clock faster than ours, or a
  re-sent interval): the anchor moves back by ``-slack``.
* ``slack > max_lag_ms``: beats are missing (lost notifications, HR-only packets): the
  chain is broken and a new segment starts.
* ``slack < -max_lead_ms``, or a move back by at least the packet's first RR (which
  would put a beat before its predecessor): a new segment starts.
* rolling minimum of slack over ``floor_window_s`` above ``floor_slack_ms``: the strap
  clock runs slower than ours; the anchor moves forward by that minimum so beat times do
  not lag arrival more and more over a long day.

Each beat time therefore lies within ``[arrival - max_lag_ms, arrival]`` of the packet that
reported it (the newest beat of each packet; older ones are earlier by their RR sum).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ClockConfig:
    max_lag_ms: float = 5000.0
    max_lead_ms: float = 1500.0
    floor_window_s: float = 60.0
    floor_slack_ms: float = 300.0
    clock_step_ms: float = 1000.0


@dataclass(frozen=True, slots=True)
class Stamped:
    """Beat times for one packet's RR values."""

    new_segment: str | None  # reason, when these beats open a new segment
    beat_mono_ms: tuple[float, ...]
    beat_epoch_ms: tuple[int, ...]
    wall_minus_mono_ms: float  # offset in force for the segment
    anchor_shift_ms: float  # how far the anchor moved on this packet (0 if not)


@dataclass
class BeatClock:
    """Reconstructs beat times for one stream of notifications."""

    config: ClockConfig = field(default_factory=ClockConfig)
    _open: bool = False
    _pending_reason: str = "start"
    _gap: bool = False
    _anchor_ms: float = 0.0
    _sum_ms: float = 0.0
    _offset_ms: float = 0.0
    # (arrival_ms, arrival_ms - sum_ms) with increasing second element: a monotonic deque
    # giving the rolling minimum of the anchor-free slack in O(1) amortised.
    _floor: deque[tuple[float, float]] = field(default_factory=deque)
    _floor_start_ms: float = 0.0

    def break_chain(self, reason: str) -> None:
        """Start a new segment at the next packet (disconnect, contact change, …)."""
        self._open = False
        self._pending_reason = reason

    def mark_gap(self) -> None:
        """Beats went missing (a packet was skipped): re-anchor at the next packet."""
        self._gap = True

    def stamp(
        self, arrival_mono_ns: int, arrival_wall_ns: int, rr_ms: Sequence[float]
    ) -> Stamped:
        arrival_ms = arrival_mono_ns / 1e6
        offset_ms = arrival_wall_ns / 1e6 - arrival_ms
        reason: str | None = None
        shift = 0.0
        if self._open and abs(offset_ms - self._offset_ms) > self.config.clock_step_ms:
            self.break_chain("clock")
        if not rr_ms:
            return Stamped(None, (), (), self._offset_ms if self._open else offset_ms, 0.0)
        packet_ms = float(sum(rr_ms))
        if self._open:
            new_sum = self._sum_ms + packet_ms
            slack = arrival_ms - (self._anchor_ms + new_sum)
            if slack > self.config.max_lag_ms:
                self.break_chain("lag")
            elif slack < -min(self.config.max_lead_ms, rr_ms[0]):
                # moving back by a whole interval or more would reorder beats
                self.break_chain("lead")
            elif self._gap or slack < 0:
                shift = slack  # back when ahead of arrival; forward to close a gap
            else:
                shift = self._floor_shift(arrival_ms, arrival_ms - new_sum)
        if not self._open:
            reason = self._pending_reason
            self._open = True
            self._anchor_ms = arrival_ms - packet_ms  # newest beat at arrival: latest possible
            self._sum_ms = 0.0
            self._offset_ms = offset_ms
            self._floor.clear()
            self._floor_start_ms = arrival_ms
        else:
            self._anchor_ms += shift
            if shift:
                self._floor.clear()
                self._floor_start_ms = arrival_ms
        self._gap = False
        times = []
        s = self._sum_ms
        for v in rr_ms:
            s += v
            times.append(self._anchor_ms + s)
        self._sum_ms = s
        # floor, like the packet's arrival_epoch_ms, so a beat never reads later than it
        epoch = tuple(math.floor(t + self._offset_ms) for t in times)
        return Stamped(reason, tuple(times), epoch, self._offset_ms, shift)

    def _floor_shift(self, arrival_ms: float, free_slack: float) -> float:
        """Forward shift when the rolling minimum slack stays above the floor."""
        floor = self._floor
        while floor and floor[-1][1] >= free_slack:
            floor.pop()
        floor.append((arrival_ms, free_slack))
        horizon = arrival_ms - self.config.floor_window_s * 1000.0
        while floor[0][0] < horizon:
            floor.popleft()
        if arrival_ms - self._floor_start_ms < self.config.floor_window_s * 1000.0:
            return 0.0
        min_slack = floor[0][1] - self._anchor_ms
        return min_slack if min_slack > self.config.floor_slack_ms else 0.0
