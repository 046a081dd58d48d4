"""Breathing seen in the heart rate: breathing rate, RSA amplitude and coherence per tick.

The heart speeds up on the in-breath and slows on the out-breath (respiratory sinus
arrhythmia, RSA); breathing slowly at about 6 breaths/min makes this swing large and
regular (resonance with the baroreflex). From the cleaned intervals of the last
:attr:`BreathingConfig.window_ms` (64 s) before each 5 s tick:

1. **Resampling** (:func:`hr_resample_windows`): the instantaneous heart rate of each
   interval, ``60000 / nn_ms`` bpm placed at the interval's end, linearly interpolated at
   4 Hz (256 samples, at ``t - 64 s + k * 250 ms``, k = 0..255). Linear rather than cubic:
   it never overshoots the beats (so a peak-to-trough swing is one between real beats),
   and each sample depends only on the two beats around it, so a tick computed from a
   live buffer equals the tick computed from a whole day. The price: it damps an
   oscillation of frequency f by sinc^2(f * RR) (at 60 bpm: 0.97 at 6/min, 0.81 at
   15/min, 0.57 at 24/min), so fast breathing shows less in the spectrum than it is
   (RSA itself is measured on the beats, not on the interpolated series).
2. **Spectrum** (:func:`hr_spectrum`, :func:`hr_psd`): linear trend removed, periodic
   Hann taper, periodogram zero-padded to 1024 points (0.0039 Hz grid, 0.23 breaths/min).
   This is ``neurokit2.signal_psd(x, sampling_rate=4, method="fft", n=1024,
   normalize=False)`` of the tapered window ``x`` (a test checks the equality on real
   windows); it is written here with numpy because one ``signal_psd`` call (and its
   pandas frame) per tick costs ~0.6 ms, ~10 s for a day of ticks, and importing
   neurokit2 2.4 s at every start. One FFT per window serves the spectrum (the taper is
   applied as a convolution of the spectrum) and the band-pass of the RSA cycles.
3. **Measures**:

   * ``breath_rate_per_min`` (:func:`breath_rate_from_psd`): frequency of the largest
     spectral peak (a local maximum: power rising towards 0.04 Hz from slower drift is
     not a peak; none: NaN) in 0.04-0.4 Hz (2.4-24 breaths/min: the Task Force's LF + HF
     bands, from the slowest paced breathing to fast resting breathing; above 0.4 Hz the
     beats themselves sample the oscillation too sparsely), refined by a parabola
     through the peak bin and its neighbours, x 60. At rest the largest HR oscillation is often the
     ~0.1 Hz baroreflex rhythm, not the breath: the value is the *dominant HR
     oscillation*, which equals the breathing rate when breathing is slow and regular.
     (Above half the heart rate, e.g. > 0.4 Hz at 48 bpm, the beats cannot show it.)
   * ``coherence`` (:func:`coherence_from_psd`): HeartMath-style, the power within
     +-0.03 Hz of the largest peak (local maximum) in 0.04-0.26 Hz divided by the total
     power in 0.0033-0.4 Hz, 0..1 (0 without a peak in 0.04-0.26 Hz). HeartMath
     integrates a 0.030 Hz wide window; with the Hann taper a pure oscillation spreads
     over +-0.031 Hz, so the window here is the taper's main lobe (a pure sinusoid
     scores 0.996; with HeartMath's width it would score 0.86).
   * ``rsa_bpm`` (:func:`rsa_from_cycles`): breath cycles are found in the HR itself: the
     detrended 4 Hz HR is band-passed (FFT mask) to ``[f/1.5, 1.5 f]`` around the
     dominant frequency ``f`` and each upward zero crossing starts a cycle. For every
     complete cycle in the window, the largest minus the smallest beat HR whose interval
     ends inside it (the peak-valley swing, at least 2 beats); the mean over the cycles.

A tick's window is **usable** when it holds at least ``min_beats`` intervals covering at
least ``min_coverage`` of the 64 s, at most ``max_artifact_fraction`` of them detected
artifacts, and no two successive beats (nor the window edges and their nearest beat) are
more than ``max_gap_ms`` apart; otherwise all three values are NaN (None in a Tick). RSA
is also NaN when no complete cycle fits in the window.

References
----------
* McCraty, R., Atkinson, M., Tomasino, D., & Bradley, R. T. (2009). The coherent heart:
  heart-brain interactions, psychophysiological coherence, and the emergence of
  system-wide order. Integral Review, 5(2), 10-115 (coherence ratio: 64 s window,
  peak in 0.04-0.26 Hz, 0.030 Hz wide, total power 0.0033-0.4 Hz).
* Lehrer, P. M., & Gevirtz, R. (2014). Heart rate variability biofeedback: how and why
  does it work? Frontiers in Psychology, 5, 756.
* Grossman, P., van Beek, J., & Wientjes, C. (1990). A comparison of three quantification
  methods for estimation of respiratory sinus arrhythmia. Psychophysiology, 27(6), 702-714
  (peak-valley RSA).
* Task Force of the ESC and NASPE (1996). Heart rate variability: standards of
  measurement, physiological interpretation and clinical use. Circulation, 93(5), 1043-1065.
* Makowski, D., et al. (2021). NeuroKit2: A Python toolbox for neurophysiological signal
  processing. Behavior Research Methods, 53(4), 1689-1696 (``signal_psd``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BreathingConfig:
    """Window, resampling, bands and validity rules (see the module docstring)."""

    window_ms: int = 64_000
    sample_ms: int = 250  # 4 Hz resampling
    n_fft: int = 1024  # zero-padded periodogram: 4 Hz / 1024 = 0.0039 Hz grid
    rate_band_hz: tuple[float, float] = (0.04, 0.4)
    peak_band_hz: tuple[float, float] = (0.04, 0.26)
    peak_halfwidth_hz: float = 0.03
    total_band_hz: tuple[float, float] = (0.0033, 0.4)
    cycle_band_ratio: float = 1.5  # RSA cycles: band-pass [f / ratio, f * ratio]
    min_beats: int = 32
    min_coverage: float = 0.9
    max_gap_ms: int = 3_000
    max_artifact_fraction: float = 0.05

    def __post_init__(self) -> None:
        if self.window_ms % self.sample_ms or self.n_fft < self.n_samples or self.n_fft % 2:
            raise ValueError("window_ms must be a multiple of sample_ms, n_fft even and >= the samples")

    @property
    def n_samples(self) -> int:
        return self.window_ms // self.sample_ms

    @property
    def sampling_rate_hz(self) -> float:
        return 1000.0 / self.sample_ms

    @property
    def max_frequency_hz(self) -> float:
        """The highest frequency any measure looks at."""
        return max(self.rate_band_hz[1], self.total_band_hz[1], self.peak_band_hz[1] + self.peak_halfwidth_hz)

    @property
    def reach_ms(self) -> int:
        """How far before a tick its intervals are needed (the window plus one gap)."""
        return self.window_ms + self.max_gap_ms


@dataclass
class BreathingTicks:
    """Breathing measures of consecutive ticks (NaN where the window does not allow them)."""

    breath_rate_per_min: np.ndarray
    rsa_bpm: np.ndarray
    coherence: np.ndarray
    valid: np.ndarray  # bool: the window was usable


def hr_resample_windows(
    tick_ms: np.ndarray, end_ms: np.ndarray, hr_bpm: np.ndarray, last: np.ndarray,
    config: BreathingConfig = BreathingConfig(),
) -> np.ndarray:
    """Beat heart rate linearly interpolated on each tick's 4 Hz grid.

    Parameters
    ----------
    tick_ms : int array (n,), increasing
        Tick times (Unix ms); row i samples ``tick_ms[i] - window_ms + k * sample_ms``,
        k = 0 .. n_samples - 1. A beat at or before each row's first sample must be given.
    end_ms, hr_bpm : arrays
        Beat times (interval ends, Unix ms, increasing) and their heart rate (bpm).
    last : int array (n,)
        Index of each row's last beat (at or before its tick): later samples hold its value.

    Returns
    -------
    array (n, n_samples)
        Heart rate in bpm.
    """
    t = np.asarray(tick_ms, dtype=np.int64)
    step, n = config.sample_ms, config.n_samples
    # Every row's samples are multiples of sample_ms in Unix time: interpolate each grid
    # time once (per stretch of overlapping rows) and gather the rows from it. A sample
    # depends only on the two beats around it, so the rows equal a per-row computation.
    first = t - config.window_ms
    new_group = np.r_[True, first[1:] - first[:-1] > (n - 1) * step]
    group = np.cumsum(new_group) - 1
    g_lo = first[new_group]
    g_hi = np.r_[first[np.flatnonzero(new_group)[1:] - 1], first[-1]] + (n - 1) * step
    sizes = (g_hi - g_lo) // step + 1
    offset = np.r_[0, np.cumsum(sizes)[:-1]]
    grid = np.repeat(g_lo - offset * step, sizes) + step * np.arange(int(sizes.sum()), dtype=np.int64)
    j = np.maximum(np.searchsorted(end_ms, grid, side="right") - 1, 0)  # beat at or before
    j1 = np.minimum(j + 1, end_ms.size - 1)
    x0, x1, y0, y1 = end_ms[j], end_ms[j1], hr_bpm[j], hr_bpm[j1]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = (grid - x0) / (x1 - x0)
    series = np.where((j1 > j) & (grid >= x0), y0 + frac * (y1 - y0), y0)
    index = (offset[group] + (first - g_lo[group]) // step)[:, None] + np.arange(n)[None, :]
    rows = series[index]
    sample_ms = first[:, None] + step * np.arange(n, dtype=np.int64)[None, :]
    # after the row's last beat: hold it (the next beat lies beyond the tick)
    return np.where(sample_ms > end_ms[last][:, None], hr_bpm[last][:, None], rows)


def _row_sum(x: np.ndarray) -> np.ndarray:
    """Sum of each row of a 2-D array, shape (rows, 1). ``x.sum(axis=1)`` may add a row in
    another order when there are several rows; ``reduceat`` sums each row on its own, so
    a tick's numbers do not depend on how many ticks are computed together."""
    x = np.ascontiguousarray(x)
    if x.shape[0] == 0:
        return np.zeros((0, 1), dtype=x.dtype)
    return np.add.reduceat(x.ravel(), np.arange(0, x.size, x.shape[1]))[:, None]


def signal_detrend_linear(x: np.ndarray) -> np.ndarray:
    """Remove each row's least-squares line from a 2-D array (rows computed independently)."""
    k = np.arange(x.shape[-1], dtype=float)
    kc = k - k.mean()
    slope = _row_sum(x * kc) / float((kc * kc).sum())
    return x - _row_sum(x) / x.shape[-1] - slope * kc


def hann_periodic(n: int) -> np.ndarray:
    """The periodic Hann window ``0.5 - 0.5 cos(2 pi k / n)`` (scipy's ``get_window("hann", n)``)."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


FFT_BLOCK_ROWS = 16  # rows per FFT call, always (zero rows fill the last block)


def _fft_rows(transform: Callable[..., np.ndarray], x: np.ndarray, n: int, width: int, dtype: type) -> np.ndarray:
    """``transform(block, n=n, axis=1)`` over blocks of exactly :data:`FFT_BLOCK_ROWS` rows.

    numpy transforms several rows together in SIMD lanes and a leftover row alone, whose
    rounding may differ; a tick's numbers must not depend on how many ticks are computed
    together (live: one; batch: thousands). With every call the same size (a multiple of
    any SIMD width), every row takes the same path, and one call per 16 rows instead of
    one per row makes a day of ticks ~10x cheaper than a Python loop over rows.
    """
    rows = x.shape[0]
    out = np.empty((rows, width), dtype=dtype)
    block = np.zeros((FFT_BLOCK_ROWS, x.shape[1]), dtype=x.dtype)
    for i in range(0, rows, FFT_BLOCK_ROWS):
        part = x[i : i + FFT_BLOCK_ROWS]
        block[: part.shape[0]] = part
        block[part.shape[0] :] = 0
        out[i : i + part.shape[0]] = transform(block, n=n, axis=1)[: part.shape[0], :width]
    return out


def hr_spectrum(hr_detrended_bpm: np.ndarray, config: BreathingConfig = BreathingConfig()) -> np.ndarray:
    """``rfft`` of each row zero-padded to ``n_fft`` (complex, rows x (n_fft/2 + 1))."""
    x = np.atleast_2d(np.asarray(hr_detrended_bpm, dtype=float))
    return _fft_rows(np.fft.rfft, x, config.n_fft, config.n_fft // 2 + 1, complex)


@functools.cache
def _ones_spectrum(n: int, n_fft: int) -> np.ndarray:
    return np.fft.rfft(np.ones(n), n=n_fft)


def hr_psd(spectrum: np.ndarray, config: BreathingConfig = BreathingConfig()) -> tuple[np.ndarray, np.ndarray]:
    """Hann-tapered, zero-padded periodogram of each row (bpm^2, unnormalised), from the
    untapered spectrum :func:`hr_spectrum` of the detrended rows ``d``.

    Equals (to rounding) ``neurokit2.signal_psd(x, sampling_rate=4, method="fft",
    n=n_fft, normalize=False, min_frequency=0)`` of the tapered row ``x = w * d``
    (:func:`hann_periodic`), which removes the mean of ``x``, then takes ``|rfft(x, n)|^2``
    on ``linspace(0, fs/2, n/2 + 1)``. The taper is applied as a convolution of the
    spectrum (the window's cosine is ``n_fft / n_samples`` bins), so one FFT per row
    serves both this and the band-pass of :func:`rsa_from_cycles`.

    Only the bins up to :attr:`BreathingConfig.max_frequency_hz` (+ 2) are returned: the
    measures look no higher.

    Returns
    -------
    frequency_hz : array (bins,)
        The first bins of ``linspace(0, fs/2, n_fft/2 + 1)``.
    power : array (rows, bins)
    """
    n, m = config.n_samples, config.n_fft // 2 + 1
    s = config.n_fft // n
    frequency = np.linspace(0.0, config.sampling_rate_hz / 2, m)
    used = min(int(np.searchsorted(frequency, config.max_frequency_hz, side="right")) + 2, m - s)
    x = spectrum
    # X(k) for k = -s .. used - 1 + s from the one-sided spectrum (X(-k) = conj X(k))
    full = np.concatenate((np.conj(x[:, s:0:-1]), x[:, : used + s]), axis=1)
    tapered = 0.5 * full[:, s : s + used] - 0.25 * (full[:, :used] + full[:, 2 * s : 2 * s + used])
    # minus the tapered row's mean: a constant over the n samples, zero-padded
    tapered = tapered - (tapered[:, :1] / n) * _ones_spectrum(n, config.n_fft)[None, :used]
    return frequency[:used], tapered.real**2 + tapered.imag**2


def _band_peak(frequency_hz: np.ndarray, power: np.ndarray, band_hz: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Bin of the largest local maximum inside ``band_hz`` per row, and whether there is
    one: power rising towards the band's edge from outside (slow drift) is not a peak."""
    idx = np.flatnonzero((frequency_hz >= band_hz[0]) & (frequency_hz <= band_hz[1]))
    idx = idx[(idx > 0) & (idx < frequency_hz.size - 1)]
    p = power[:, idx]
    local = (p > power[:, idx - 1]) & (p >= power[:, idx + 1])
    k = np.argmax(np.where(local, p, -1.0), axis=1)
    return idx[k], local.any(axis=1)


def breath_rate_from_psd(
    frequency_hz: np.ndarray, power: np.ndarray, band_hz: tuple[float, float] = BreathingConfig.rate_band_hz
) -> np.ndarray:
    """Frequency of the largest spectral peak (local maximum) in ``band_hz``, refined by
    a parabola through it and its neighbours, breaths/min (NaN without a peak)."""
    k, found = _band_peak(frequency_hz, power, band_hz)
    rows = np.arange(power.shape[0])
    a, b, c = power[rows, k - 1], power[rows, k], power[rows, np.minimum(k + 1, power.shape[1] - 1)]
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.clip(np.nan_to_num(0.5 * (a - c) / (a - 2 * b + c)), -0.5, 0.5)
    df = frequency_hz[1] - frequency_hz[0]
    return np.where(found, (frequency_hz[k] + shift * df) * 60.0, np.nan)


def coherence_from_psd(
    frequency_hz: np.ndarray, power: np.ndarray, config: BreathingConfig = BreathingConfig()
) -> np.ndarray:
    """Power within ``peak_halfwidth_hz`` of the largest peak (local maximum) in
    ``peak_band_hz`` over the power in ``total_band_hz``, 0..1 (0 without a peak there)."""
    k, found = _band_peak(frequency_hz, power, config.peak_band_hz)
    df = frequency_hz[1] - frequency_hz[0]
    h = int(np.floor(config.peak_halfwidth_hz / df + 1e-9))
    lo, hi = config.total_band_hz
    total_band = (frequency_hz >= lo) & (frequency_hz <= hi)
    near = np.clip(k[:, None] + np.arange(-h, h + 1)[None, :], 0, frequency_hz.size - 1)
    near_power = np.where(total_band[near], power[np.arange(k.size)[:, None], near], 0.0)
    peak = np.where(found, _row_sum(near_power)[:, 0], 0.0)
    total = _row_sum(power[:, total_band])[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, peak / total, np.nan)


def rsa_from_cycles(
    tick_ms: np.ndarray, spectrum: np.ndarray, rate_per_min: np.ndarray,
    end_ms: np.ndarray, hr_bpm: np.ndarray, config: BreathingConfig = BreathingConfig(),
) -> np.ndarray:
    """Mean peak-to-trough beat HR swing (bpm) over the complete breath cycles of each window.

    Cycles: upward zero crossings of the detrended HR band-passed (a mask on its
    :func:`hr_spectrum`) to ``[f / r, f * r]`` around the row's dominant frequency
    ``f = rate / 60`` (``r = cycle_band_ratio``). Each cycle's swing is max - min of the
    beat HR ``hr_bpm`` of the beats ``end_ms`` inside it (at least 2). NaN when a row has
    no complete cycle.
    """
    n_rows, n = spectrum.shape[0], config.n_samples
    f = np.linspace(0.0, config.sampling_rate_hz / 2, spectrum.shape[1])
    # bins above the highest pass band are zero: irfft pads a shorter spectrum with zeros
    used = min(int(np.searchsorted(f, config.rate_band_hz[1] * config.cycle_band_ratio, side="right")) + 1,
               f.size)
    f = f[:used]
    f0 = np.asarray(rate_per_min, dtype=float)[:, None] / 60.0
    keep = (f[None, :] >= f0 / config.cycle_band_ratio) & (f[None, :] <= f0 * config.cycle_band_ratio)
    masked = np.where(keep, spectrum[:, :used], 0.0)
    narrow = _fft_rows(np.fft.irfft, masked, config.n_fft, n, float)
    up = (narrow[:, :-1] < 0) & (narrow[:, 1:] >= 0)
    row, col = np.nonzero(up)
    col = col + 1  # first sample at or above zero
    pair = np.flatnonzero(row[1:] == row[:-1])  # crossing pair[i] and the next one bound a cycle
    out = np.full(n_rows, np.nan)
    if pair.size == 0:
        return out
    r = row[pair]
    first = np.asarray(tick_ms, dtype=np.int64)[r] - config.window_ms
    a = np.searchsorted(end_ms, first + config.sample_ms * col[pair], side="left")
    b = np.searchsorted(end_ms, first + config.sample_ms * col[pair + 1], side="left")
    ok = b - a >= 2
    if not ok.any():
        return out
    r, a, b = r[ok], a[ok], b[ok]
    swing = _window_reduce(np.maximum, hr_bpm, a, b, -np.inf) - _window_reduce(np.minimum, hr_bpm, a, b, np.inf)
    count = np.bincount(r, minlength=n_rows)
    total = np.bincount(r, weights=swing, minlength=n_rows)  # adds in cycle order, row by row
    has = count > 0
    out[has] = total[has] / count[has]
    return out


def _window_reduce(ufunc: np.ufunc, x: np.ndarray, lo: np.ndarray, hi: np.ndarray, empty: float) -> np.ndarray:
    """``ufunc.reduce(x[lo[i]:hi[i]])`` for every i (``empty`` for an empty window), each
    from its own window only: never a difference of running sums, whose rounding would
    depend on where the buffer starts (live and batch must agree to the bit)."""
    out = np.full(lo.size, empty)
    ne = hi > lo
    if x.size == 0 or not ne.any():
        return out
    index = np.empty(2 * int(ne.sum()), dtype=np.int64)
    index[0::2], index[1::2] = lo[ne], hi[ne]
    out[ne] = ufunc.reduceat(np.concatenate((np.asarray(x, dtype=float), [empty])), index)[0::2]
    return out


def breathing_compute(
    tick_ms: np.ndarray,
    end_ms: np.ndarray,
    nn_ms: np.ndarray,
    n_artifacts: np.ndarray,
    config: BreathingConfig = BreathingConfig(),
) -> BreathingTicks:
    """Breathing rate, RSA amplitude and coherence of the ticks ``tick_ms`` (vectorised).

    Parameters
    ----------
    tick_ms : int array, increasing
        Tick times (Unix ms); each tick uses the intervals ending in ``(t - 64 s, t]``.
    end_ms, nn_ms, n_artifacts : arrays
        Cleaned intervals (:class:`~attune.signals.artifacts.NNBatch`): end times (Unix
        ms, increasing), lengths (ms), detected artifacts each absorbs. They must include
        every interval ending in ``(t - reach_ms, t]`` for each tick.

    Returns
    -------
    BreathingTicks
    """
    cfg = config
    t = np.asarray(tick_ms, dtype=np.int64)
    end = np.asarray(end_ms, dtype=np.int64)
    nn = np.asarray(nn_ms, dtype=float)
    nan = np.full(t.size, np.nan)
    out = BreathingTicks(nan, nan.copy(), nan.copy(), np.zeros(t.size, dtype=bool))
    if t.size == 0 or end.size == 0:
        return out
    reach = np.searchsorted(end, t - cfg.reach_ms, side="right")
    lo = np.searchsorted(end, t - cfg.window_ms, side="right")
    hi = np.searchsorted(end, t, side="right")
    n = hi - lo
    covered_ms = _window_reduce(np.add, nn, lo, hi, 0.0)
    artifacts = _window_reduce(np.add, n_artifacts, lo, hi, 0.0)
    gap = np.zeros(end.size)
    gap[1:] = np.diff(end)
    last = np.maximum(hi - 1, 0)
    valid = (
        (n >= cfg.min_beats)
        & (reach < lo)  # a beat within one gap before the window starts
        & (covered_ms >= cfg.min_coverage * cfg.window_ms)
        & (artifacts <= cfg.max_artifact_fraction * n)
        & (_window_reduce(np.maximum, gap, reach + 1, hi, -np.inf) <= cfg.max_gap_ms)
        & (t - end[last] <= cfg.max_gap_ms)
    )
    if not valid.any():
        return out
    tv = t[valid]
    hr = 60_000.0 / nn
    detrended = signal_detrend_linear(hr_resample_windows(tv, end, hr, last[valid], cfg))
    spectrum = hr_spectrum(detrended, cfg)
    frequency, power = hr_psd(spectrum, cfg)
    rate = breath_rate_from_psd(frequency, power, cfg.rate_band_hz)
    out.breath_rate_per_min[valid] = rate
    out.coherence[valid] = coherence_from_psd(frequency, power, cfg)
    out.rsa_bpm[valid] = rsa_from_cycles(tv, spectrum, rate, end, hr, cfg)
    out.valid[:] = valid
    return out
