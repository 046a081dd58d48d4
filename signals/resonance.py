"""The resonance-frequency finder: which slow breathing rate makes this person's heart swing most.

The standard protocol (Lehrer, Vaschillo & Vaschillo, 2000; Lehrer et al., 2013; Shaffer &
Meehan, 2020): breathe with a pacer for a few minutes each at 6.5, 6, 5.5, 5 and 4.5
breaths/min, then pick the rate at which the heart-rate oscillation is largest (the
baroreflex resonates; Vaschillo et al., 2002). Here:

* :func:`resonance_step_compute` measures one step from its beats: the first
  ``settle_s`` of the step are left out (the breath and the heart take a few breaths to
  follow a new pace), and the rest is one window analysed by :mod:`signals.breathing`'s
  own resampling, periodogram, breathing-rate, coherence and RSA functions (the window
  is the step, not 64 s). It adds the **peak power**: the heart-rate variance (bpm²)
  within ±``peak_halfwidth_hz`` of the pacer's frequency, from the same periodogram
  scaled by Parseval so that it does not depend on the window's length.
* A step is **unusable** (left out of the choice, with its reason) when its window does
  not pass :mod:`signals.breathing`'s rules (too few clean beats, gaps, artifacts), has
  no complete breath cycle, or when the heart did not follow the pacer: the rate it
  shows is more than ``max_off_per_min`` from the pacer's.
* :func:`resonance_select` picks among the usable steps the one with the largest mean of
  its RSA amplitude and peak power, each as a share of the largest over the usable steps
  (so when the two criteria disagree, the step that is nearer the top on both wins; on a
  tie the larger RSA, then the rate nearer 6/min). With fewer than ``min_usable`` usable
  steps it picks nothing: it could not tell.

docs/breathing.md ("Finding your rate") states the same with the choices' sources.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from attune.signals.artifacts import BeatCleaner
from attune.signals.breathing import (
    BreathingConfig,
    breathing_compute,
    hann_periodic,
    hr_psd,
    hr_resample_windows,
    hr_spectrum,
    signal_detrend_linear,
)

RESONANCE_PROTOCOL_PER_MIN: tuple[float, ...] = (6.5, 6.0, 5.5, 5.0, 4.5)


@dataclass(frozen=True)
class ResonanceConfig:
    """How steps are measured and a rate is chosen (see the module docstring)."""

    settle_s: float = 15.0          # left out at each step's start (~1.5 breaths at 6/min)
    min_window_s: float = 15.0      # a shorter analysed window is unusable
    max_off_per_min: float = 0.75   # the heart shows a rate this far from the pacer's: did not follow
    min_usable: int = 3             # fewer usable steps: could not tell
    beats_per_s_min: float = 0.5    # signals.breathing's 32 beats per 64 s, for any window length
    breathing: BreathingConfig = field(default_factory=BreathingConfig)


@dataclass(frozen=True)
class ResonanceStep:
    """The figures of one step (None where not measured). ``usable`` says whether the
    step takes part in the choice; ``reason`` why not."""

    rate_per_min: float
    n_beats: int
    window_s: float
    rsa_bpm: float | None
    peak_power_bpm2: float | None
    coherence: float | None
    breath_rate_per_min: float | None  # the rate the heart showed
    usable: bool
    reason: str | None = None


@dataclass(frozen=True)
class ResonanceChoice:
    """The chosen rate (None: could not tell), why, and each step's score (None: unusable)."""

    rate_per_min: float | None
    reason: str
    scores: tuple[float | None, ...]


def _f(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def resonance_step_compute(
    rate_per_min: float,
    epoch_ms: np.ndarray,
    rr_ms: np.ndarray,
    start_ms: int,
    end_ms: int,
    *,
    segment_id: np.ndarray | None = None,
    flags: np.ndarray | None = None,
    config: ResonanceConfig = ResonanceConfig(),
) -> ResonanceStep:
    """The figures of one finder step paced at ``rate_per_min`` over ``[start_ms, end_ms)``.

    Parameters
    ----------
    rate_per_min : float
        The pacer's rate during the step, breaths/min.
    epoch_ms, rr_ms : arrays
        The beats (Unix ms, increasing; RR in ms) of the step; beats outside the step are
        ignored. They are cleaned with :class:`~attune.signals.artifacts.BeatCleaner`.
    start_ms, end_ms : int
        The step (Unix ms); the first ``config.settle_s`` are left out, and the window
        ends at the last beat in the step.
    segment_id, flags : arrays, optional
        As stored (default: one segment, no flags).

    Returns
    -------
    ResonanceStep
        RSA amplitude (bpm, mean peak-to-trough per cycle), peak power (bpm², HR variance
        within ±0.03 Hz of the pacer), coherence (0..1) and the breathing rate the heart
        showed (breaths/min), from the window; ``usable`` False with a reason otherwise.
    """
    cfg, bc = config, config.breathing
    epoch = np.asarray(epoch_ms, dtype=np.int64)
    rr = np.asarray(rr_ms, dtype=float)
    inside = (epoch >= start_ms) & (epoch < end_ms)
    seg = np.ones(epoch.size, dtype=np.int64) if segment_id is None else np.asarray(segment_id, dtype=np.int64)
    fl = np.zeros(epoch.size, dtype=np.int64) if flags is None else np.asarray(flags, dtype=np.int64)
    epoch, rr, seg, fl = epoch[inside], rr[inside], seg[inside], fl[inside]

    def unusable(reason: str, n: int = 0, window_s: float = 0.0, **figures: float | None) -> ResonanceStep:
        return ResonanceStep(float(rate_per_min), n, window_s, figures.get("rsa"), figures.get("peak"),
                             figures.get("coherence"), figures.get("shown"), False, reason)

    if epoch.size < 2:
        return unusable("too few beats")
    cleaner = BeatCleaner()
    nn = [cleaner.push(epoch, rr, seg, fl), cleaner.finish()]
    end = np.concatenate([b.end_ms for b in nn])
    nn_ms = np.concatenate([b.nn_ms for b in nn])
    n_art = np.concatenate([b.n_artifacts for b in nn])
    first_ms = start_ms + round(cfg.settle_s * 1000)
    if end.size == 0:
        return unusable("too few clean beats")
    # the window ends at the last clean beat of the step (the last beats may not be stored yet)
    t_ms = int(end[-1])
    window_ms = (t_ms - first_ms) // bc.sample_ms * bc.sample_ms
    n_beats = int(((end > t_ms - window_ms) & (end <= t_ms)).sum()) if window_ms > 0 else 0
    if window_ms < cfg.min_window_s * 1000:
        return unusable("too short", n_beats, max(window_ms, 0) / 1000)
    n_samples = window_ms // bc.sample_ms
    n_fft = max(bc.n_fft, 1 << (n_samples - 1).bit_length())
    wcfg = BreathingConfig(
        window_ms=window_ms, sample_ms=bc.sample_ms, n_fft=n_fft, rate_band_hz=bc.rate_band_hz,
        peak_band_hz=bc.peak_band_hz, peak_halfwidth_hz=bc.peak_halfwidth_hz, total_band_hz=bc.total_band_hz,
        cycle_band_ratio=bc.cycle_band_ratio, min_beats=math.ceil(cfg.beats_per_s_min * window_ms / 1000),
        min_coverage=bc.min_coverage, max_gap_ms=bc.max_gap_ms, max_artifact_fraction=bc.max_artifact_fraction)
    window_s = window_ms / 1000
    tick = np.array([t_ms], dtype=np.int64)
    b = breathing_compute(tick, end, nn_ms, n_art, wcfg)
    if not b.valid[0]:
        return unusable("too few clean beats", n_beats, window_s)
    # peak power: the same periodogram (signals.breathing.hr_psd), as HR variance in bpm²
    last = np.array([np.searchsorted(end, t_ms, side="right") - 1])
    detrended = signal_detrend_linear(hr_resample_windows(tick, end, 60_000.0 / nn_ms, last, wcfg))
    frequency, power = hr_psd(hr_spectrum(detrended, wcfg), wcfg)
    taper = hann_periodic(n_samples)
    # Parseval: 2 · Σ_band |X_k|² / (n_fft · Σ w²) is the variance of a sine in the band
    near = np.abs(frequency - rate_per_min / 60.0) <= bc.peak_halfwidth_hz
    peak = float(2.0 * power[0, near].sum() / (n_fft * float((taper**2).sum())))
    rsa, coherence, shown = _f(b.rsa_bpm[0]), _f(b.coherence[0]), _f(b.breath_rate_per_min[0])
    figures = {"rsa": rsa, "peak": round(peak, 3), "coherence": coherence, "shown": shown}
    if shown is None or abs(shown - rate_per_min) > cfg.max_off_per_min:
        return unusable("the heart did not follow the pacer", n_beats, window_s, **figures)
    if rsa is None:
        return unusable("no complete breath cycle", n_beats, window_s, **figures)
    return ResonanceStep(float(rate_per_min), n_beats, window_s, rsa, figures["peak"], coherence, shown, True)


def resonance_select(steps: Sequence[ResonanceStep], min_usable: int = ResonanceConfig.min_usable) -> ResonanceChoice:
    """Pick the resonance rate from the finder's steps.

    Each usable step scores the mean of its RSA amplitude and its peak power, each divided
    by the largest over the usable steps (1.0: the largest on both). The highest score
    wins; a tie goes to the larger RSA, then to the rate nearer 6/min. Unusable steps
    score None. With fewer than ``min_usable`` usable steps no rate is chosen.

    Returns
    -------
    ResonanceChoice
    """
    usable = [i for i, s in enumerate(steps) if s.usable and s.rsa_bpm is not None and s.peak_power_bpm2 is not None]
    if len(usable) < min_usable:
        return ResonanceChoice(None, f"could not tell: {len(usable)} of {len(steps)} steps usable "
                               f"(at least {min_usable} needed)", tuple(None for _ in steps))
    top_rsa = max(steps[i].rsa_bpm for i in usable) or 1.0  # type: ignore[type-var]
    top_peak = max(steps[i].peak_power_bpm2 for i in usable) or 1.0  # type: ignore[type-var]
    scores: list[float | None] = [None] * len(steps)
    for i in usable:
        scores[i] = round((steps[i].rsa_bpm / top_rsa + steps[i].peak_power_bpm2 / top_peak) / 2, 4)  # type: ignore[operator]
    best = max(usable, key=lambda i: (scores[i], steps[i].rsa_bpm, -abs(steps[i].rate_per_min - 6.0)))
    by_rsa = max(usable, key=lambda i: steps[i].rsa_bpm)  # type: ignore[arg-type,return-value]
    by_peak = max(usable, key=lambda i: steps[i].peak_power_bpm2)  # type: ignore[arg-type,return-value]
    if by_rsa == by_peak:
        why = f"largest heart swing and spectral peak at {steps[best].rate_per_min:g}/min"
    else:
        why = (f"largest heart swing at {steps[by_rsa].rate_per_min:g}/min, largest spectral peak at "
               f"{steps[by_peak].rate_per_min:g}/min: {steps[best].rate_per_min:g}/min is highest on both together")
    return ResonanceChoice(steps[best].rate_per_min, f"{why} ({len(usable)} of {len(steps)} steps usable)",
                           tuple(scores))
