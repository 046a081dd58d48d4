"""Activation score and the state machine that turns it into steady states.

Score (per valid tick), from z-scores against the personal baseline of the tick's
time-of-day bin::

    z_hr  = ((1 - f) * (HR60 - c_HR) / s_HR + f * (HR10 - c_HR10) / s_HR10)
    z_ln  = (c_ln - lnRMSSD60) / s_ln          # positive when vagal tone is *below* baseline
    score = w * z_hr + (1 - w) * z_ln

The 10 s heart rate (share ``f``) gives a fast onset; the 60 s lnRMSSD confirms that the
rise comes with vagal withdrawal. A score of 1.5 means "as far above the person's quiet
level as 1.5 of their typical quiet fluctuations".

States (hysteresis: entering needs more than staying; dwell: a condition must hold for
consecutive ticks):

``settled``
    the quiet default.
``activated``
    score >= ``activate_score`` for ``activate_dwell_s`` *and* at least ``rise_score``
    above the median score of the minutes before (``rise_reference_s`` ago up to
    ``rise_gap_s`` ago): an activation spike is abrupt, while slow drifts of heart rate
    (posture, digestion, warmth) reach the same levels over tens of minutes. A score at
    or above ``high_score`` enters without that test (nothing drifts that far).
``high``
    score >= ``high_score`` for ``high_dwell_s`` (back to activated below
    ``high_exit_score``).
``recovering``
    after activation, once the score stays below ``release_score`` for
    ``release_dwell_s``; settled when it stays below ``settle_score`` for
    ``settle_dwell_s``; activated again (same episode) if it climbs back.
``physical``
    exertion, not emotion: for ``physical_dwell_s`` the 60 s HR is at least
    ``physical_hr_bpm`` above baseline, or at least ``physical_hr_vagal_bpm`` above it with
    lnRMSSD at least ``-physical_ln_drop`` below (vagal tone nearly gone, as in walking). Left
    after ``physical_exit_dwell_s`` without it, into ``recovering``, which after exertion
    only ever returns to settled (post-exercise tachycardia is not an emotion), at the
    latest after ``physical_recovery_max_s``. With the body's movement known (an
    accelerometer, see :mod:`attune.signals.additional_hr`) the caller decides exertion
    from the movement itself (``step(..., exert=...)``) and scores HR above what the
    movement predicts (:func:`score_motion`).

The two data states are decided outside the machine: ``unknown`` (the tick is not
valid) and ``calibrating`` (the baseline is not yet personal). The machine holds its
state through short runs of invalid ticks and starts afresh after ``gap_reset_s``.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

from attune.signals.additional_hr import Expected
from attune.signals.baseline import Estimate
from attune.signals.events import State

# the per-tick code compares states often, and an Enum member lookup costs ~0.25 µs on
# Python 3.11 (about 6 % of a batch analysis): the members are read once, here
SETTLED, ACTIVATED, HIGH, RECOVERING, PHYSICAL = State.SETTLED, State.ACTIVATED, State.HIGH, State.RECOVERING, State.PHYSICAL


@dataclass(frozen=True)
class ScoreConfig:
    """Weights of the activation score."""

    hr_weight: float = 0.5  # w: heart rate vs vagal tone
    fast_share: float = 0.5  # f: share of the 10 s heart rate in the HR term


@dataclass(frozen=True)
class StateConfig:
    """Thresholds (score units) and dwell times (s) of the state machine."""

    activate_score: float = 1.5
    activate_dwell_s: float = 10.0
    rise_score: float = 2.0
    rise_reference_s: float = 300.0
    rise_gap_s: float = 45.0
    high_score: float = 3.0
    high_dwell_s: float = 15.0
    high_exit_score: float = 2.5
    release_score: float = 1.0
    release_dwell_s: float = 20.0
    settle_score: float = 0.5
    settle_dwell_s: float = 30.0
    physical_hr_bpm: float = 25.0
    physical_hr_vagal_bpm: float = 12.0
    physical_ln_drop: float = 0.9
    physical_dwell_s: float = 60.0
    physical_exit_dwell_s: float = 60.0
    physical_recovery_max_s: float = 1200.0
    gap_reset_s: float = 60.0


class Scored(NamedTuple):
    """A valid tick compared with the baseline (a named tuple: one is made per valid tick,
    five times faster than a frozen dataclass)."""

    score: float
    z_hr: float
    z_ln_rmssd: float
    hr_excess_bpm: float  # 60 s HR minus baseline
    ln_rmssd_delta: float  # lnRMSSD minus baseline (negative = below)


def score_compute(
    hr_bpm: float, hr_fast_bpm: float, ln_rmssd: float, baseline: Estimate, config: ScoreConfig = ScoreConfig()
) -> Scored:

    """Activation score of one valid tick (see the module docstring).

    Parameters
    ----------
    hr_bpm, hr_fast_bpm : float
        Heart rate over 60 s and 10 s (bpm); a NaN fast HR falls back to the 60 s one.
    ln_rmssd : float
        Natural log of RMSSD (ms) over 60 s.
    baseline : Estimate
        The baseline in force for this tick.

    Examples
    --------
    >>> est = Estimate(65, 4, 65, 5, 3.7, 0.3, 1.0, 1000)
    >>> round(score_compute(75, 77, 3.2, est).score, 2)
    2.06
    """
    z60 = (hr_bpm - baseline.hr_bpm) / baseline.hr_spread_bpm
    if math.isnan(hr_fast_bpm):
        z10 = z60
    else:
        z10 = (hr_fast_bpm - baseline.hr_fast_bpm) / baseline.hr_fast_spread_bpm
    f = config.fast_share
    z_hr = (1 - f) * z60 + f * z10
    z_ln = (baseline.ln_rmssd - ln_rmssd) / baseline.ln_rmssd_spread
    w = config.hr_weight
    return Scored(w * z_hr + (1 - w) * z_ln, z_hr, z_ln, hr_bpm - baseline.hr_bpm, ln_rmssd - baseline.ln_rmssd)


def score_motion(
    hr_bpm: float, hr_fast_bpm: float, ln_rmssd: float, baseline: Estimate, expected: Expected,
    config: ScoreConfig = ScoreConfig(),
) -> Scored:
    """Activation score of a valid tick whose movement is known: heart rate above what the
    movement predicts (*additional heart rate*) and lnRMSSD below its expectation, each
    in units of the quiet spread widened by the expectation's uncertainty
    (:class:`attune.signals.additional_hr.Expected`). ``hr_excess_bpm`` and
    ``ln_rmssd_delta`` of the result are relative to the expectation. A still tick's
    expectation is zero: the result equals :func:`score_compute`.

    Examples
    --------
    >>> est = Estimate(65, 4, 65, 5, 3.7, 0.3, 1.0, 1000)
    >>> s = score_motion(85, 87, 3.2, est, Expected(20.0, 6.0, -0.5, 0.25))
    >>> round(s.score, 2), s.hr_excess_bpm
    (0.06, 0.0)
    """
    if expected.spread_bpm == 0.0 and expected.excess_bpm == 0.0:
        return score_compute(hr_bpm, hr_fast_bpm, ln_rmssd, baseline, config)
    hr_c = baseline.hr_bpm + expected.excess_bpm
    z60 = (hr_bpm - hr_c) / math.hypot(baseline.hr_spread_bpm, expected.spread_bpm)
    if math.isnan(hr_fast_bpm):
        z10 = z60
    else:
        z10 = (hr_fast_bpm - baseline.hr_fast_bpm - expected.excess_bpm) / math.hypot(
            baseline.hr_fast_spread_bpm, expected.spread_bpm)
    f = config.fast_share
    z_hr = (1 - f) * z60 + f * z10
    ln_c = baseline.ln_rmssd + expected.ln_delta
    z_ln = (ln_c - ln_rmssd) / math.hypot(baseline.ln_rmssd_spread, expected.ln_spread)
    w = config.hr_weight
    return Scored(w * z_hr + (1 - w) * z_ln, z_hr, z_ln, hr_bpm - hr_c, ln_rmssd - ln_c)


class StateMachine:
    """Hysteresis and dwell over scored ticks; one instance per stream.

    :meth:`step` returns the state after the tick. ``run_start_ms`` of the condition
    that caused the last transition is kept in :attr:`transition_from_ms` (e.g. when
    the score first fell below ``settle_score`` for an episode that just settled).
    """

    def __init__(self, config: StateConfig = StateConfig(), tick_ms: int = 5000) -> None:
        self.config = config
        self.tick_ms = tick_ms
        c = config
        self._need = {
            "activate": self._ticks(c.activate_dwell_s), "high": self._ticks(c.high_dwell_s),
            "high_exit": self._ticks(c.high_dwell_s), "release": self._ticks(c.release_dwell_s),
            "settle": self._ticks(c.settle_dwell_s), "exert": self._ticks(c.physical_dwell_s),
            "rest": self._ticks(c.physical_exit_dwell_s),
        }
        self.reset()

    def _ticks(self, seconds: float) -> int:
        return max(1, math.ceil(seconds * 1000 / self.tick_ms))

    def reset(self) -> None:
        """Forget everything (after a gap): back to settled, no runs."""
        self.state = SETTLED
        self.after_physical = False
        self.entered_ms: int | None = None
        self.transition_from_ms: int | None = None
        self._runs = dict.fromkeys(self._need, 0)
        self._run_start: dict[str, int | None] = dict.fromkeys(self._need)
        self._last_valid_ms: int | None = None
        self._recent: deque[tuple[int, float]] = deque()  # (epoch_ms, score) of valid ticks

    def rise(self, epoch_ms: int, score: float) -> float:
        """Score now minus the median score between ``rise_reference_s`` and
        ``rise_gap_s`` ago (0 if there is no such tick)."""
        c = self.config
        old = [s for t, s in self._recent if t <= epoch_ms - c.rise_gap_s * 1000]
        if not old:
            return 0.0
        old.sort()
        m = len(old)
        median = old[m // 2] if m % 2 else 0.5 * (old[m // 2 - 1] + old[m // 2])
        return score - median

    def gap_exceeded(self, epoch_ms: int) -> bool:
        """True if the last valid tick is older than ``gap_reset_s``."""
        return self._last_valid_ms is not None and epoch_ms - self._last_valid_ms > self.config.gap_reset_s * 1000

    def exertion(self, s: Scored) -> bool:
        c = self.config
        return s.hr_excess_bpm >= c.physical_hr_bpm or (
            s.hr_excess_bpm >= c.physical_hr_vagal_bpm and s.ln_rmssd_delta <= -c.physical_ln_drop
        )

    def step(self, epoch_ms: int, s: Scored | None, exert: bool | None = None) -> State:
        """Advance by one tick (``s`` is None for an invalid tick); return the state.
        ``exert`` overrides the heart-rate exertion rule (movement known: it says)."""
        if s is None:
            return self.state  # hold; the caller resets after a long gap
        self._last_valid_ms = epoch_ms
        c = self.config
        while self._recent and self._recent[0][0] < epoch_ms - c.rise_reference_s * 1000:
            self._recent.popleft()
        self._recent.append((epoch_ms, s.score))
        if exert is None:
            exert = self.exertion(s)
        score = s.score
        cond = (
            ("activate", score >= c.activate_score),
            ("high", score >= c.high_score),
            ("high_exit", score < c.high_exit_score),
            ("release", score < c.release_score),
            ("settle", score < c.settle_score),
            ("exert", exert),
            ("rest", not exert),
        )
        runs, starts = self._runs, self._run_start
        for name, holds in cond:
            if holds:
                if runs[name] == 0:
                    starts[name] = epoch_ms
                runs[name] += 1
            elif runs[name]:
                runs[name] = 0
                starts[name] = None
        need = self._need

        def done(name: str) -> bool:  # the condition has held for its dwell
            return runs[name] >= need[name]

        st = self.state
        new = st
        if st != PHYSICAL and done("exert"):
            new = PHYSICAL
        elif st == PHYSICAL:
            if done("rest"):
                new = RECOVERING
                self.after_physical = True
        elif st == SETTLED:
            # a spike must be abrupt; a score already at `high` needs no proof of that
            if done("activate") and (s.score >= c.high_score or self.rise(epoch_ms, s.score) >= c.rise_score):
                new = ACTIVATED
        elif st == ACTIVATED:
            if done("high"):
                new = HIGH
            elif done("release"):
                new = RECOVERING
        elif st == HIGH:
            if done("release"):
                new = RECOVERING
            elif done("high_exit"):
                new = ACTIVATED
        elif st == RECOVERING:
            in_state_s = (epoch_ms - (self.entered_ms or epoch_ms)) / 1000
            if self.after_physical:
                if done("settle") or in_state_s >= c.physical_recovery_max_s:
                    new = SETTLED
            elif done("activate"):
                new = ACTIVATED
            elif done("settle"):
                new = SETTLED
        if new != st:
            trigger = {PHYSICAL: "exert", RECOVERING: "release" if st != PHYSICAL else "rest",
                       SETTLED: "settle", ACTIVATED: "activate" if st != HIGH else "high_exit",
                       HIGH: "high"}[new]
            self.transition_from_ms = self._run_start[trigger] or epoch_ms
            self.state = new
            self.entered_ms = epoch_ms
            if new == SETTLED:
                self.after_physical = False
        return self.state
