"""Additional heart rate: the heart rate (and lnRMSSD) that the body's current movement
and posture predict, learnt per person, so the activation score sees only what is left.

Ambulatory psychophysiology calls the rest *additional heart rate* (Myrtek 2004; Wilhelm
& Roth 1998): heart rate above what the concurrent physical activity, measured with a
trunk accelerometer, explains. It is what attune should offer for naming; the part that
movement explains is not an emotion.

Model, per tick with motion known (``activity`` = mean 5 s activity of the motion ticks
in the last 60 s, mg — the same 60 s the heart rate is averaged over)::

    HR_expected   = c_HR + excess(activity)
    excess(a)     = prior(a) + r_bin(a)                 # bpm above the quiet baseline
    spread(a)     = s_prior(a) * sqrt(n0 / (n0 + n_bin)) # how uncertain that expectation is
    lnRMSSD_exp.  = c_ln + ln_per_bpm * excess(a)

``prior`` is a monotone piecewise-linear curve (``prior_points``): 0 bpm while still, +12
bpm for slow walking (~100 mg), +22 for walking (~250 mg), +35 for brisk walking or
stairs (~500 mg), +55 for jogging (~800 mg). It comes from the real chest recordings of
the Hexoskin set (session 003, the one with clean rest: +17 bpm at 60-150 mg, +25 at
150-300 mg over its resting HR) and rounded down towards the textbook 10-20 bpm of
walking; its uncertainty ``s_prior`` is half the expected excess (people differ in
fitness at least that much) plus 2 bpm. ``r_bin`` is the mean of the person's own
residuals (observed HR excess minus prior) in the tick's activity bin, shrunk to 0 by
``n0`` pseudo-ticks, so the expectation moves from the population towards the person
as their own moving ticks accumulate; the uncertainty shrinks with it. The analyzer
hands a moving tick to :meth:`AdditionalHR.learn` only after the episode look-back
(180 s), and not if an episode claimed it, like the quiet ticks of the baseline.

Posture: a change from reclined or lying to upright (sit- or lie-to-stand at the chest)
is followed by an orthostatic HR rise of 10-20 bpm for up to a minute; for
``orthostatic_s`` after it the expectation is at least ``orthostatic_bpm`` (with that
much uncertainty; walking off after standing up raises HR by the larger of the two, not
their sum) and the ticks are neither learnt from nor counted into the baseline.

The score then uses HR above ``HR_expected`` and lnRMSSD below its expectation, each in
units of the quiet spread widened by the model's uncertainty (see
:func:`attune.signals.states.score_motion`). Still ticks (``activity < moving_mg``) are
scored exactly as without motion.

References
----------
* Myrtek, M. (2004). Heart and Emotion: Ambulatory Monitoring Studies in Everyday Life.
  Hogrefe & Huber.
* Wilhelm, F. H., & Roth, W. T. (1998). Using minute ventilation for ambulatory
  estimation of additional heart rate. Biological Psychology, 49(1-2), 137-150.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


@dataclass(frozen=True)
class MotionModelConfig:
    """Parameters of the motion-aware analysis (accelerations in mg, HR in bpm, times s)."""

    moving_mg: float = 60.0  # 60 s activity from which the body counts as moving
    vigorous_mg: float = 400.0  # ... and as exertion (state `physical`): a brisk walk, stairs, a jog
    activity_window_s: float = 60.0  # activity is averaged over the heart rate's 60 s window
    recovery_s: float = 60.0  # after moving, HR comes down for a minute or two: not counted
    prior_points: tuple[tuple[float, float], ...] = ((60.0, 6.0), (100.0, 12.0), (250.0, 22.0), (500.0, 35.0),
                                                    (800.0, 55.0))
    prior_spread_share: float = 0.5  # s_prior = share x excess + floor
    prior_spread_floor_bpm: float = 2.0
    ln_per_bpm: float = -0.025  # expected lnRMSSD change per bpm of expected excess
    ln_spread_share: float = 0.5
    bin_edges_mg: tuple[float, ...] = (60.0, 150.0, 300.0, 500.0)  # learning bins (moving only)
    n0_ticks: float = 60.0  # prior weight: 5 min of the person's own moving ticks
    orthostatic_s: float = 60.0
    orthostatic_bpm: float = 15.0
    high_residual_score: float = 3.0  # while moving, only a score this high may be offered
    max_motion_lag_s: float = 60.0  # hold rule: how long a beat tick waits for its motion (data time)


class Expected(NamedTuple):
    """What the current movement predicts, relative to the quiet baseline."""

    excess_bpm: float  # HR above the quiet baseline
    spread_bpm: float  # uncertainty of that (added in quadrature to the quiet HR spread)
    ln_delta: float  # lnRMSSD change (negative)
    ln_spread: float


STILL = Expected(0.0, 0.0, 0.0, 0.0)


def prior_excess_bpm(activity_mg: float, config: MotionModelConfig = MotionModelConfig()) -> float:
    """Population prior of the HR excess (bpm) at a 60 s activity (mg): piecewise linear
    through ``prior_points``, 0 below ``moving_mg``, flat past the last point.

    Examples
    --------
    >>> prior_excess_bpm(10.0), prior_excess_bpm(175.0), prior_excess_bpm(2000.0)
    (0.0, 17.0, 55.0)
    """
    if activity_mg < config.moving_mg:
        return 0.0
    pts = config.prior_points
    if activity_mg <= pts[0][0]:
        return pts[0][1]
    for (a0, e0), (a1, e1) in zip(pts, pts[1:], strict=False):
        if activity_mg <= a1:
            return e0 + (e1 - e0) * (activity_mg - a0) / (a1 - a0)
    return pts[-1][1]


@dataclass(frozen=True)
class MotionModelState:
    """What a person's motion model has learnt, to be stored and continued from: the
    upright gravity direction (unit vector, sensor axes; None until learnt) and, per
    activity bin (lower edges ``bin_edges_mg``, mg), the sum of observed minus prior HR
    excess (bpm) and the number of moving ticks learnt."""

    upright_ref: tuple[float, float, float] | None
    bin_edges_mg: tuple[float, ...]
    residual_sum: tuple[float, ...]
    n_ticks: tuple[int, ...]


class AdditionalHR:
    """Per-person expected HR excess by activity (see the module docstring). Learning is
    sequential, one tick at a time, so live and batch learn the same."""

    def __init__(self, config: MotionModelConfig = MotionModelConfig(),
                 state: MotionModelState | None = None) -> None:
        self.config = config
        n = len(config.bin_edges_mg)
        self.residual_sum = [0.0] * n
        self.n = [0] * n
        if state is not None and tuple(state.bin_edges_mg) == tuple(config.bin_edges_mg):
            self.residual_sum = [float(x) for x in state.residual_sum]
            self.n = [int(x) for x in state.n_ticks]

    def state(self, upright_ref: np.ndarray | None) -> MotionModelState:
        """The learnt curve (and the given upright reference) as a storable state."""
        up = None if upright_ref is None else tuple(float(x) for x in upright_ref)
        return MotionModelState(up, tuple(self.config.bin_edges_mg), tuple(self.residual_sum), tuple(self.n))

    def _bin(self, activity_mg: float) -> int:
        edges = self.config.bin_edges_mg
        k = 0
        for i, e in enumerate(edges):
            if activity_mg >= e:
                k = i
        return k

    def expect(self, activity_mg: float, orthostatic: bool = False) -> Expected:
        """The expectation for a tick with this 60 s activity (mg)."""
        c = self.config
        if activity_mg < c.moving_mg and not orthostatic:
            return STILL
        excess, spread = 0.0, 0.0
        if activity_mg >= c.moving_mg:
            k = self._bin(activity_mg)
            prior = prior_excess_bpm(activity_mg, c)
            w = c.n0_ticks / (c.n0_ticks + self.n[k])
            excess = prior + self.residual_sum[k] / (c.n0_ticks + self.n[k])
            spread = (c.prior_spread_share * prior + c.prior_spread_floor_bpm) * math.sqrt(w)
        if orthostatic:  # standing up and walking off raise HR together, not on top of each other
            excess = max(excess, c.orthostatic_bpm)
            spread = max(spread, c.orthostatic_bpm)
        ln_delta = c.ln_per_bpm * excess
        return Expected(excess, spread, ln_delta, c.ln_spread_share * abs(ln_delta))

    def learn(self, activity_mg: float, hr_excess_bpm: float) -> None:
        """Count a moving tick's observed HR excess over the quiet baseline (bpm)."""
        c = self.config
        if activity_mg < c.moving_mg or not math.isfinite(hr_excess_bpm):
            return
        k = self._bin(activity_mg)
        self.residual_sum[k] += hr_excess_bpm - prior_excess_bpm(activity_mg, c)
        self.n[k] += 1
