"""Heart rate and ultra-short HRV on a wall-clock tick grid.

Every ``tick_ms`` (5 s), on grid times that are multiples of ``tick_ms`` in Unix time (so
live and batch analyses of the same beats produce the same ticks), features are computed
from the cleaned intervals that *end* in the window ``(t - window, t]``:

* ``hr_bpm`` over 60 s and ``hr_fast_bpm`` over 10 s: 60000 / mean NN.
* ``rmssd_ms`` and ``ln_rmssd`` over 60 s: root mean square of successive differences,
  using only pairs of consecutive intervals of one run, neither of them changed by
  artifact correction (an interpolated value carries no beat-to-beat information).
* ``sdnn_ms`` over 60 s (ddof = 1, as neurokit2): stored for display; not scored.

Not computed: LF/HF power and entropy measures (they need minutes of data) and pNN50 (at
60 s it moves in steps of ~1.5 % and adds nothing to RMSSD, with which it correlates
> 0.9). See docs/activation.md for the sources.

A tick is *valid* when its 60 s window is covered by usable beats for at least
``min_coverage`` of its length, at most ``max_artifact_fraction`` of its beats are
detected artifacts, and at least ``min_pairs`` successive differences are usable;
otherwise its features are withheld (``NaN``) and the tick is ``unknown``.

Sums are taken window by window (``numpy.add.reduceat``), never as differences of running
sums: each result depends only on the values inside its window, so computing a tick from
a short live buffer or from a whole day gives bit-identical numbers.

References
----------
* Task Force of the European Society of Cardiology and the North American Society of
  Pacing and Electrophysiology (1996). Heart rate variability: standards of measurement,
  physiological interpretation and clinical use. Circulation, 93(5), 1043-1065.
* Munoz, M. L., et al. (2015). Validity of (ultra-)short recordings for heart rate
  variability measurements. PLoS ONE, 10(9), e0138921.
* Shaffer, F., & Ginsberg, J. P. (2017). An overview of heart rate variability metrics
  and norms. Frontiers in Public Health, 5, 258.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from attune.signals.artifacts import NNBatch
from attune.signals.breathing import BreathingConfig, breathing_compute


@dataclass(frozen=True)
class FeatureConfig:
    """Tick grid, window lengths and validity rules."""

    tick_ms: int = 5_000
    window_ms: int = 60_000
    fast_window_ms: int = 10_000
    min_coverage: float = 0.8
    max_artifact_fraction: float = 0.05
    min_pairs: int = 20
    breathing: BreathingConfig = field(default_factory=BreathingConfig)  # 64 s window (issue 10)

    def __post_init__(self) -> None:
        if self.tick_ms <= 0 or self.window_ms % self.tick_ms or self.fast_window_ms > self.window_ms:
            raise ValueError("window_ms must be a multiple of tick_ms, fast_window_ms <= window_ms")


@dataclass
class TickFeatures:
    """Features of consecutive ticks (arrays of equal length)."""

    epoch_ms: np.ndarray  # int64, tick time = end of the windows
    n_nn: np.ndarray  # int64, intervals in the 60 s window
    hr_bpm: np.ndarray  # 60 s heart rate (NaN when invalid)
    hr_fast_bpm: np.ndarray  # 10 s heart rate (NaN when its window is not covered)
    rmssd_ms: np.ndarray
    ln_rmssd: np.ndarray  # natural log of RMSSD in ms
    sdnn_ms: np.ndarray
    coverage: np.ndarray  # fraction of the 60 s window covered by usable intervals
    artifact_fraction: np.ndarray  # detected artifacts / intervals in the window
    valid: np.ndarray  # bool
    # breathing in the HR over 64 s (attune.signals.breathing; NaN where not allowed)
    breath_rate_per_min: np.ndarray
    rsa_bpm: np.ndarray
    coherence: np.ndarray

    @classmethod
    def empty(cls) -> TickFeatures:
        z = np.zeros(0)
        zi = np.zeros(0, dtype=np.int64)
        return cls(zi, zi, z, z, z, z, z, z, z, np.zeros(0, dtype=bool), z, z, z)

    @classmethod
    def concat(cls, parts: list[TickFeatures]) -> TickFeatures:
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)))

    def __len__(self) -> int:
        return int(self.epoch_ms.size)


def _window_sum(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``sum(x[lo[i]:hi[i]])`` for every i, each computed from its own window only."""
    out = np.zeros(lo.size)
    if x.size == 0 or lo.size == 0:
        return out
    padded = np.concatenate((x, [0.0]))  # lets hi == len(x) be a valid reduceat index
    index = np.empty(2 * lo.size, dtype=np.int64)
    index[0::2] = lo
    index[1::2] = hi
    sums = np.add.reduceat(padded, index)[0::2]
    return np.where(hi > lo, sums, 0.0)


def hrv_window(
    nn_ms: np.ndarray, corrected: np.ndarray | None = None, run: np.ndarray | None = None
) -> dict[str, float]:
    """HR and time-domain HRV of one window of cleaned intervals.

    Parameters
    ----------
    nn_ms : array
        Cleaned intervals (ms) in time order.
    corrected : bool array, optional
        Intervals changed by artifact correction: successive differences touching them
        are left out of RMSSD (they still count for mean NN and HR).
    run : int array, optional
        Run of each interval: differences are only taken within a run.

    Returns
    -------
    dict
        ``mean_nn_ms``, ``hr_bpm``, ``rmssd_ms``, ``ln_rmssd``, ``sdnn_ms`` (ddof = 1),
        ``n_pairs``; NaN where undefined.

    Examples
    --------
    >>> out = hrv_window(np.array([800.0, 820.0, 790.0, 810.0]))
    >>> round(out["hr_bpm"], 2), round(out["rmssd_ms"], 2)
    (74.53, 23.8)
    """
    nn = np.asarray(nn_ms, dtype=float)
    n = nn.size
    corrected = np.zeros(n, dtype=bool) if corrected is None else np.asarray(corrected, dtype=bool)
    run = np.zeros(n, dtype=np.int64) if run is None else np.asarray(run)
    ok = (run[1:] == run[:-1]) & ~corrected[1:] & ~corrected[:-1]
    d = np.diff(nn)[ok]
    mean = float(np.mean(nn)) if n else np.nan
    rmssd = float(np.sqrt(np.mean(d**2))) if d.size else np.nan
    return {
        "mean_nn_ms": mean,
        "hr_bpm": 60_000.0 / mean if n else np.nan,
        "rmssd_ms": rmssd,
        "ln_rmssd": float(np.log(rmssd)) if d.size and rmssd > 0 else np.nan,
        "sdnn_ms": float(np.std(nn, ddof=1)) if n > 1 else np.nan,
        "n_pairs": int(d.size),
    }


def features_compute(
    tick_ms: np.ndarray,
    end_ms: np.ndarray,
    nn_ms: np.ndarray,
    run: np.ndarray,
    corrected: np.ndarray,
    n_artifacts: np.ndarray,
    config: FeatureConfig = FeatureConfig(),
) -> TickFeatures:
    """Features of the ticks ``tick_ms`` from cleaned intervals (vectorised).

    The intervals must include every interval ending in each tick's 60 s window, and in
    the ``breathing.reach_ms`` (67 s) before it for the breathing measures.
    """
    t = np.asarray(tick_ms, dtype=np.int64)
    end = np.asarray(end_ms, dtype=np.int64)
    nn = np.asarray(nn_ms, dtype=float)
    lo = np.searchsorted(end, t - config.window_ms, side="right")
    hi = np.searchsorted(end, t, side="right")
    n = hi - lo
    total = _window_sum(nn, lo, hi)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n
        coverage = np.minimum(total / config.window_ms, 1.0)
        artifact_fraction = np.where(n > 0, _window_sum(n_artifacts.astype(float), lo, hi) / n, 1.0)
        # successive differences: pair j joins intervals j-1 and j
        ok = np.zeros(nn.size, dtype=bool)
        if nn.size > 1:
            ok[1:] = (run[1:] == run[:-1]) & ~corrected[1:] & ~corrected[:-1]
        d2 = np.zeros(nn.size)
        d2[1:] = np.diff(nn) ** 2
        d2 = np.where(ok, d2, 0.0)
        pair_lo = np.minimum(lo + 1, hi)
        n_pairs = _window_sum(ok.astype(float), pair_lo, hi)
        rmssd = np.sqrt(_window_sum(d2, pair_lo, hi) / n_pairs)
        # SDNN: deviations from each window's own mean, window by window
        sdnn = np.full(t.size, np.nan)
        multi = n > 1
        if multi.any():
            lo_m, n_m, mean_m = lo[multi], n[multi], mean[multi]
            starts = np.r_[0, np.cumsum(n_m)[:-1]]
            flat = np.arange(int(n_m.sum())) - np.repeat(starts - lo_m, n_m)
            dev = nn[flat] - np.repeat(mean_m, n_m)
            ss = _window_sum(dev * dev, starts, starts + n_m)
            sdnn[multi] = np.sqrt(ss / (n_m - 1))
        # fast heart rate
        lo_f = np.searchsorted(end, t - config.fast_window_ms, side="right")
        total_f = _window_sum(nn, lo_f, hi)
        fast_ok = total_f >= config.min_coverage * config.fast_window_ms
        hr_fast = np.where(fast_ok, 60_000.0 / (total_f / (hi - lo_f)), np.nan)
        valid = (
            (coverage >= config.min_coverage)
            & (artifact_fraction <= config.max_artifact_fraction)
            & (n_pairs >= config.min_pairs)
            & (rmssd > 0)
        )
        hr = np.where(valid, 60_000.0 / mean, np.nan)
        rmssd = np.where(valid, rmssd, np.nan)
        ln_rmssd = np.log(rmssd)
        sdnn = np.where(valid, sdnn, np.nan)
    breath = breathing_compute(t, end, nn, n_artifacts, config.breathing)
    return TickFeatures(t, n.astype(np.int64), hr, hr_fast, rmssd, ln_rmssd, sdnn,
                        np.nan_to_num(coverage), artifact_fraction, valid,
                        breath.breath_rate_per_min, breath.rsa_bpm, breath.coherence)


class FeatureStream:
    """Turns cleaned intervals into tick features as soon as each tick is final.

    A tick ``t`` is computed once every interval ending at or before ``t`` has been
    delivered (the cleaner's horizon), and only if at least one beat (usable or not)
    lies in its window; longer stretches without any beat produce no ticks at all.
    Memory: the last ``window_ms`` of intervals and beat times (``breathing.reach_ms`` of
    intervals when that is longer).
    """

    def __init__(self, config: FeatureConfig = FeatureConfig()) -> None:
        self.config = config
        self._next_tick: int | None = None
        z = np.zeros(0, dtype=np.int64)
        self._end, self._nn, self._run = z, np.zeros(0), z
        self._corrected, self._art = np.zeros(0, dtype=bool), z
        self._raw = z

    def push(self, batch: NNBatch) -> TickFeatures:
        """Add intervals (and beat times) from the cleaner; return newly final ticks."""
        cfg = self.config
        if batch.raw_ms.size:
            self._raw = np.concatenate((self._raw, batch.raw_ms))
            if self._next_tick is None:
                self._next_tick = -(-int(batch.raw_ms[0]) // cfg.tick_ms) * cfg.tick_ms
        if len(batch):
            self._end = np.concatenate((self._end, batch.end_ms))
            self._nn = np.concatenate((self._nn, batch.nn_ms))
            self._run = np.concatenate((self._run, batch.run))
            self._corrected = np.concatenate((self._corrected, batch.corrected))
            self._art = np.concatenate((self._art, batch.n_artifacts))
        if batch.horizon_ms is None or self._next_tick is None:
            return TickFeatures.empty()
        ticks = self._ticks_due(batch.horizon_ms)
        out = TickFeatures.empty()
        if ticks.size:
            out = features_compute(ticks, self._end, self._nn, self._run, self._corrected, self._art, cfg)
            self._next_tick = int(ticks[-1]) + cfg.tick_ms
        elif batch.horizon_ms >= self._next_tick:
            self._next_tick = (batch.horizon_ms // cfg.tick_ms + 1) * cfg.tick_ms
        self._trim()
        return out

    def _ticks_due(self, horizon_ms: int) -> np.ndarray:
        """Grid times in [next tick, horizon] whose window holds at least one beat."""
        cfg = self.config
        last = (horizon_ms // cfg.tick_ms) * cfg.tick_ms
        if last < self._next_tick:
            return np.zeros(0, dtype=np.int64)
        raw = self._raw[self._raw <= horizon_ms]
        if raw.size == 0:
            return np.zeros(0, dtype=np.int64)
        # a beat at r makes ticks ceil(r) .. r + window non-empty: merge those spans
        first = -(-raw // cfg.tick_ms) * cfg.tick_ms
        stop = (raw + cfg.window_ms - 1) // cfg.tick_ms * cfg.tick_ms  # last t with t - window < r
        gap = np.flatnonzero(first[1:] > stop[:-1] + cfg.tick_ms) + 1
        span_lo = first[np.r_[0, gap]]
        span_hi = stop[np.r_[gap - 1, raw.size - 1]]
        span_lo = np.maximum(span_lo, self._next_tick)
        span_hi = np.minimum(span_hi, last)
        keep = span_hi >= span_lo
        if not keep.any():
            return np.zeros(0, dtype=np.int64)
        parts = [np.arange(a, b + 1, cfg.tick_ms, dtype=np.int64) for a, b in zip(span_lo[keep], span_hi[keep], strict=True)]
        return np.concatenate(parts)

    def _trim(self) -> None:
        start = self._next_tick - self.config.window_ms
        k = int(np.searchsorted(self._end, min(start, self._next_tick - self.config.breathing.reach_ms), side="right"))
        if k:
            self._end, self._nn, self._run = self._end[k:], self._nn[k:], self._run[k:]
            self._corrected, self._art = self._corrected[k:], self._art[k:]
        r = int(np.searchsorted(self._raw, start, side="right"))
        if r:
            self._raw = self._raw[r:]
