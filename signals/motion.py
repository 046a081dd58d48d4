"""Motion features from a tri-axial chest accelerometer on the 5 s wall-clock tick grid.

Input: samples ``x, y, z`` in mg *including gravity* (1 g = 1000 mg), at any rate from
12.5 to 200 Hz, with sample times in Unix ms (``epoch_ms``, increasing). Output: one row
per tick on the same grid as :mod:`attune.signals.features` (tick times are multiples of
``tick_ms`` in Unix time; a tick at ``t`` summarises the samples in ``(t - window, t]``):

* ``activity_mg`` -- mean amplitude deviation (MAD) of the resultant acceleration over
  the 5 s tick: ``mean(| r_i - mean(r) |)`` with ``r_i = |a_i|`` (Vähä-Ypyä et al. 2015,
  who validated it on 6 s epochs; on the Hexoskin chest sessions in ../shared/data rest
  has a median of 9 mg, walking 300 mg, jogging 790 mg). Subtracting the tick mean of ``r`` is the high-pass (a 5 s boxcar, first zero at
  0.2 Hz): it removes gravity *without* assuming the sensor's gain is exact (a 3 % gain
  error moves ENMO by 30 mg at rest but MAD by 3 %) and, being taken on the magnitude,
  it does not count a slow change of orientation as movement.
* ``enmo_mg`` -- ENMO, ``mean(max(|a_i| - 1000, 0))`` (van Hees et al. 2013), kept for
  comparison with the published cut-points; it needs a gain-calibrated sensor.
* ``gravity_mg`` -- the mean acceleration vector of the tick (the same 5 s boxcar as a
  low-pass): the direction of gravity in sensor axes.
* ``tilt_deg`` and ``posture`` -- the angle between that gravity direction and the
  wearer's upright reference, classified as :class:`Posture` (upright < 30° <= reclined
  < 60° <= lying). The reference is learnt per wearer from walking (see
  :func:`upright_reference`): while a person walks the torso is upright, whatever the
  strap's position or rotation on the chest.
* ``cadence_spm`` -- step cadence (steps/min) from the autocorrelation of the resultant
  over the 10 s ``(t - 10 s, t]``: the step period is the best autocorrelation peak with
  a lag of 1/3.5 to 1/1.2 s (Moe-Nilssen & Helbostad 2004 use the same first-peak = step,
  second-peak = stride reading of trunk acceleration). 0 when the tick is valid but shows
  no step rhythm or when the tick's activity is under ``min_step_activity_mg``; NaN when
  the window is not covered. ``step_periodicity`` is the
  autocorrelation at that peak (1 = perfectly periodic).
* posture-change events -- :func:`posture_events`: a change of posture class held for at
  least ``min_dwell_ticks`` ticks on both sides.

Coverage follows features.py: a tick is *valid* when its window holds at least
``min_coverage`` of the samples the nominal rate (the median sample interval) promises;
otherwise its features are NaN and its posture is ``unknown``.

Live = batch: every per-tick number depends only on the samples inside that tick's own
window (sums by ``numpy.add.reduceat`` per window, never running sums; no IIR filter
state), so a live form only has to keep the last ``cadence_window_ms`` of samples and
emit tick ``t`` once a sample at or after ``t`` arrived, passing the device's configured
``rate_hz`` (a short buffer's median interval could differ). The one cross-tick quantity, the
upright reference, is learnt from walking ticks; live it would be fixed from past days
(or updated from finished walks) and passed as ``upright_ref``.

References
----------
* Vähä-Ypyä, H., Vasankari, T., Husu, P., Suni, J., & Sievänen, H. (2015). A universal,
  accurate intensity-based classification of different physical activities using raw
  data of accelerometer. Clinical Physiology and Functional Imaging, 35(1), 64-70.
* van Hees, V. T., et al. (2013). Separating movement and gravity components in an
  acceleration signal and implications for the assessment of human daily physical
  activity. PLoS ONE, 8(4), e61691.
* Moe-Nilssen, R., & Helbostad, J. L. (2004). Estimation of gait cycle characteristics by
  trunk accelerometry. Journal of Biomechanics, 37(1), 121-126.
* Fortune, E., Lugade, V., & Kaufman, K. R. (2014). Posture and movement classification:
  the comparison of tri-axial accelerometer numbers and anatomical placement. Journal of
  Biomechanical Engineering, 136(5), 051003 (trunk-angle posture from the gravity vector).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

G_MG = 1000.0


class Posture(StrEnum):
    """Posture of a tick from the torso's angle to the wearer's upright reference; the
    values are the strings to store and publish."""

    UPRIGHT = "upright"
    RECLINED = "reclined"
    LYING = "lying"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class MotionConfig:
    """Tick grid, windows and thresholds (angles in degrees, accelerations in mg)."""

    tick_ms: int = 5_000
    cadence_window_ms: int = 10_000
    min_coverage: float = 0.8
    upright_max_deg: float = 30.0
    lying_min_deg: float = 60.0
    step_min_hz: float = 1.2
    step_max_hz: float = 3.5
    min_step_periodicity: float = 0.4
    min_step_activity_mg: float = 30.0
    walk_min_spm: float = 70.0  # calibration: cadence of a walk (not a run, whose trunk leans)
    walk_max_spm: float = 140.0
    min_walk_ticks: int = 12  # one minute of walking before the reference is trusted

    def __post_init__(self) -> None:
        if self.tick_ms <= 0 or self.cadence_window_ms % self.tick_ms:
            raise ValueError("cadence_window_ms must be a multiple of tick_ms")
        if not 0 < self.upright_max_deg < self.lying_min_deg <= 180:
            raise ValueError("need 0 < upright_max_deg < lying_min_deg <= 180")


@dataclass
class MotionTicks:
    """Motion features of consecutive ticks (arrays of equal length)."""

    epoch_ms: np.ndarray  # int64, tick time = end of the windows
    n_samples: np.ndarray  # int64, samples in the 5 s window
    coverage: np.ndarray  # samples / samples expected at the nominal rate (5 s window)
    valid: np.ndarray  # bool
    activity_mg: np.ndarray  # MAD of the resultant (NaN when invalid)
    enmo_mg: np.ndarray
    gravity_mg: np.ndarray  # (n, 3) mean acceleration vector
    tilt_deg: np.ndarray  # angle to the upright reference (NaN without a reference)
    posture: np.ndarray  # object array of Posture
    cadence_spm: np.ndarray  # steps/min over 10 s; 0 = no step rhythm; NaN = not covered
    step_periodicity: np.ndarray  # autocorrelation at the chosen step lag
    upright_ref: np.ndarray | None = None  # unit vector used for tilt_deg
    rate_hz: float = float("nan")  # nominal sample rate used (given, or found in the input)

    def __len__(self) -> int:
        return int(self.epoch_ms.size)


def _window_sum(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``sum(x[lo[i]:hi[i]], axis=0)`` for every i, each from its own window only."""
    shape = (lo.size,) + x.shape[1:]
    if x.shape[0] == 0 or lo.size == 0:
        return np.zeros(shape)
    padded = np.concatenate((x, np.zeros((1,) + x.shape[1:])))
    index = np.empty(2 * lo.size, dtype=np.int64)
    index[0::2] = lo
    index[1::2] = hi
    sums = np.add.reduceat(padded, index, axis=0)[0::2]
    empty = (hi <= lo).reshape((-1,) + (1,) * (x.ndim - 1))
    return np.where(empty, 0.0, sums)


def _window_index(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(window, sample) index pairs of every sample in every window ``[lo[i], hi[i])``."""
    n = np.maximum(hi - lo, 0)
    rows = np.repeat(np.arange(lo.size), n)
    first = np.cumsum(n) - n
    return rows, np.arange(int(n.sum())) - np.repeat(first - lo, n)


def nominal_rate_hz(epoch_ms: np.ndarray) -> float:
    """Sample rate (Hz) from the median sample interval (gaps do not move the median)."""
    t = np.asarray(epoch_ms, dtype=float)
    if t.size < 2:
        return float("nan")
    dt = np.diff(t)
    dt = dt[dt > 0]
    return 1000.0 / float(np.median(dt)) if dt.size else float("nan")


def tick_grid(epoch_ms: np.ndarray, tick_ms: int = 5_000) -> np.ndarray:
    """Tick times (Unix ms, multiples of ``tick_ms``) whose 5 s window ``(t - tick, t]``
    holds samples, up to the last sample (a tick is final once a sample at ``t`` exists)."""
    t = np.asarray(epoch_ms, dtype=np.int64)
    if t.size == 0:
        return np.zeros(0, dtype=np.int64)
    ids = np.unique(-(-t // tick_ms))  # tick that holds each sample: ceil(t / tick)
    ticks = ids * tick_ms
    return ticks[ticks <= t[-1]]


def cadence_estimate(
    mag_mg: np.ndarray, rate_hz: float, mask: np.ndarray | None = None, config: MotionConfig = MotionConfig()
) -> tuple[np.ndarray, np.ndarray]:
    """Step cadence of windows of the resultant acceleration, by autocorrelation.

    Parameters
    ----------
    mag_mg : array (n_windows, n) or (n,)
        Resultant acceleration |a| (mg), evenly sampled at ``rate_hz``.
    rate_hz : float
        Sample rate (Hz).
    mask : bool array like ``mag_mg``, optional
        Which samples exist (gaps are False); the autocorrelation at each lag is the
        mean over the pairs that both exist.
    config : MotionConfig

    Returns
    -------
    cadence_spm, periodicity : arrays (n_windows,)
        Steps per minute (0 where no peak reaches ``min_step_periodicity``) and the
        normalised autocorrelation at the chosen lag.

    The step lag is the highest local maximum with a lag from 1/``step_max_hz`` to
    1/``step_min_hz`` s; if a local maximum at 0.4-0.6 of that lag reaches 70 % of its
    height, that one is the step and the first the stride (a run's stride falls inside
    the range). The lag is refined by a parabola through the peak and its neighbours.

    Examples
    --------
    >>> t = np.arange(0, 10, 1 / 25)
    >>> spm, r = cadence_estimate(1000 + 200 * np.sin(2 * np.pi * 2.0 * t), 25.0)
    >>> round(float(spm[0])), bool(r[0] > 0.9)
    (120, True)
    """
    x = np.atleast_2d(np.asarray(mag_mg, dtype=float))
    m = np.ones_like(x, dtype=bool) if mask is None else np.atleast_2d(np.asarray(mask, dtype=bool))
    n_win, n = x.shape
    out_spm = np.zeros(n_win)
    out_r = np.zeros(n_win)
    k_lo = max(int(np.floor(rate_hz / config.step_max_hz)), 1)
    k_hi = int(np.ceil(rate_hz / config.step_min_hz))
    if n_win == 0 or n < k_hi + 2:
        return np.full(n_win, np.nan), np.full(n_win, np.nan)
    mf = m.astype(float)
    count = mf.sum(axis=1, keepdims=True)
    mean = np.divide((x * mf).sum(axis=1, keepdims=True), count, out=np.zeros_like(count), where=count > 0)
    xc = np.where(m, x - mean, 0.0)
    nfft = 1 << int(np.ceil(np.log2(2 * n)))
    rxx = np.fft.irfft(np.abs(np.fft.rfft(xc, nfft, axis=1)) ** 2, nfft, axis=1)[:, : k_hi + 2]
    rmm = np.fft.irfft(np.abs(np.fft.rfft(mf, nfft, axis=1)) ** 2, nfft, axis=1)[:, : k_hi + 2]
    rmm = np.round(rmm)
    acf = np.divide(rxx, rmm, out=np.zeros_like(rxx), where=rmm > 0.5)
    var = acf[:, :1]
    acf = np.divide(acf, var, out=np.zeros_like(acf), where=var > 0)
    k = np.arange(acf.shape[1])
    peak = np.zeros_like(acf, dtype=bool)
    peak[:, 1:-1] = (acf[:, 1:-1] > acf[:, :-2]) & (acf[:, 1:-1] >= acf[:, 2:])
    in_range = (k >= k_lo) & (k <= k_hi)
    cand = np.where(peak & in_range, acf, -np.inf)
    best = np.argmax(cand, axis=1)
    best_r = cand[np.arange(n_win), best]
    # a stride peak with a step peak at about half its lag: take the step
    half = peak & in_range & (k >= 0.4 * best[:, None]) & (k <= 0.6 * best[:, None])
    half &= acf >= 0.7 * best_r[:, None]
    has_half = half.any(axis=1)
    half_k = np.argmax(np.where(half, acf, -np.inf), axis=1)
    best = np.where(has_half, half_k, best)
    rows = np.arange(n_win)
    best_r = acf[rows, best]
    y0, y1, y2 = acf[rows, best - 1], best_r, acf[rows, np.minimum(best + 1, acf.shape[1] - 1)]
    denom = y0 - 2 * y1 + y2
    shift = np.divide(0.5 * (y0 - y2), denom, out=np.zeros_like(denom), where=denom < 0)
    lag_s = (best + np.clip(shift, -0.5, 0.5)) / rate_hz
    # no local maximum in the step range (a slow drift, a single bend): no step rhythm
    has_peak = np.isfinite(cand.max(axis=1))
    ok = has_peak & np.isfinite(best_r) & (best_r >= config.min_step_periodicity)
    out_spm = np.where(ok, np.divide(60.0, lag_s, out=np.zeros_like(lag_s), where=lag_s > 0), 0.0)
    out_r = np.where(np.isfinite(best_r), best_r, 0.0)
    return out_spm, out_r


def tilt_deg(gravity_mg: np.ndarray, upright_ref: np.ndarray) -> np.ndarray:
    """Angle (degrees) between each gravity vector and the upright reference vector."""
    g = np.atleast_2d(np.asarray(gravity_mg, dtype=float))
    u = np.asarray(upright_ref, dtype=float)
    u = u / np.linalg.norm(u)
    norm = np.linalg.norm(g, axis=1)
    # an elementwise sum, not a BLAS product: the same bits for a row alone or in a batch
    cos = np.divide((g * u).sum(axis=1), norm, out=np.full(norm.shape, np.nan), where=norm > 0)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def posture_classify(tilt: np.ndarray, config: MotionConfig = MotionConfig()) -> np.ndarray:
    """:class:`Posture` of each tilt angle (degrees from upright); NaN is ``unknown``.

    Examples
    --------
    >>> [str(p) for p in posture_classify(np.array([5.0, 45.0, 88.0, np.nan]))]
    ['upright', 'reclined', 'lying', 'unknown']
    """
    a = np.asarray(tilt, dtype=float)
    out = np.full(a.shape, Posture.UNKNOWN, dtype=object)
    out[a < config.upright_max_deg] = Posture.UPRIGHT
    out[(a >= config.upright_max_deg) & (a < config.lying_min_deg)] = Posture.RECLINED
    out[a >= config.lying_min_deg] = Posture.LYING
    return out


def upright_reference(
    gravity_mg: np.ndarray, cadence_spm: np.ndarray, config: MotionConfig = MotionConfig()
) -> np.ndarray | None:
    """The wearer's upright gravity direction (unit vector, sensor axes), or None.

    Rule: ticks with a walking cadence (``walk_min_spm`` to ``walk_max_spm``; running is
    left out because the trunk leans forward) are upright. Their unit gravity vectors are
    averaged; ticks more than ``upright_max_deg`` from that mean (a stoop, a turn with a
    lean) are dropped and the mean taken again. At least ``min_walk_ticks`` ticks (1 min)
    must remain, else None (posture unknown, or pass a reference learnt earlier).
    """
    g = np.atleast_2d(np.asarray(gravity_mg, dtype=float))
    c = np.asarray(cadence_spm, dtype=float)
    norm = np.linalg.norm(g, axis=1)
    walk = (c >= config.walk_min_spm) & (c <= config.walk_max_spm) & (norm > 0) & np.isfinite(norm)
    if walk.sum() < config.min_walk_ticks:
        return None
    unit = g[walk] / norm[walk, None]
    ref = unit.mean(axis=0)
    ref /= np.linalg.norm(ref)
    keep = tilt_deg(unit, ref) < config.upright_max_deg
    if keep.sum() < config.min_walk_ticks:
        return None
    ref = unit[keep].mean(axis=0)
    return ref / np.linalg.norm(ref)


def motion_ticks(
    epoch_ms: np.ndarray,
    acc_mg: np.ndarray,
    upright_ref: np.ndarray | None = None,
    config: MotionConfig = MotionConfig(),
    rate_hz: float | None = None,
) -> MotionTicks:
    """Motion features per 5 s tick (vectorised).

    Parameters
    ----------
    epoch_ms : array (n,)
        Sample times, Unix ms, increasing (int or float).
    acc_mg : array (n, 3)
        x, y, z in mg including gravity.
    upright_ref : array (3,), optional
        The wearer's upright gravity direction; when None it is learnt from the walking
        ticks of this input (:func:`upright_reference`), and posture is ``unknown`` if
        there is not a minute of walking.
    config : MotionConfig
    rate_hz : float, optional
        Nominal sample rate (Hz), e.g. the rate the strap was configured to stream; by
        default the median sample interval of the input.

    Returns
    -------
    MotionTicks
    """
    t = np.asarray(epoch_ms, dtype=float)
    a = np.asarray(acc_mg, dtype=float).reshape(-1, 3)
    if t.size != a.shape[0]:
        raise ValueError("epoch_ms and acc_mg differ in length")
    if t.size > 1 and np.any(np.diff(t) <= 0):
        raise ValueError("epoch_ms must increase")
    cfg = config
    rate = nominal_rate_hz(t) if rate_hz is None else float(rate_hz)
    ticks = tick_grid(np.floor(t).astype(np.int64), cfg.tick_ms) if t.size else np.zeros(0, dtype=np.int64)
    lo = np.searchsorted(t, ticks - cfg.tick_ms, side="right")
    hi = np.searchsorted(t, ticks, side="right")
    n = (hi - lo).astype(np.int64)
    expected = rate * cfg.tick_ms / 1000.0 if np.isfinite(rate) else np.inf
    coverage = np.minimum(n / expected, 1.0) if ticks.size else np.zeros(0)
    valid = (coverage >= cfg.min_coverage) & (n >= 2)

    r = np.linalg.norm(a, axis=1)
    nn = np.maximum(n, 1).astype(float)
    grav = _window_sum(a, lo, hi) / nn[:, None]
    r_mean = _window_sum(r, lo, hi) / nn
    # the tick of each sample (windows do not overlap): deviation from its own tick's mean
    owner, inside = _window_index(lo, hi)
    dev = np.zeros(r.size)
    dev[inside] = np.abs(r[inside] - r_mean[owner])
    activity = _window_sum(dev, lo, hi) / nn
    enmo = _window_sum(np.maximum(r - G_MG, 0.0), lo, hi) / nn
    nan = np.full(ticks.size, np.nan)
    activity = np.where(valid, activity, nan)
    enmo = np.where(valid, enmo, nan)
    grav = np.where(valid[:, None], grav, np.nan)

    cadence, periodicity = _cadence_ticks(t, r, ticks, rate, cfg)
    cadence = np.where(valid & (activity >= cfg.min_step_activity_mg), cadence, np.where(valid, 0.0, np.nan))

    ref = upright_ref if upright_ref is not None else upright_reference(grav[valid], cadence[valid], cfg)
    if ref is not None:
        ref = np.asarray(ref, dtype=float) / np.linalg.norm(ref)
        tilt = tilt_deg(grav, ref) if ticks.size else np.zeros(0)
    else:
        tilt = nan.copy()
    return MotionTicks(
        epoch_ms=ticks,
        n_samples=n,
        coverage=coverage,
        valid=valid,
        activity_mg=activity,
        enmo_mg=enmo,
        gravity_mg=grav.reshape(-1, 3),
        tilt_deg=tilt,
        posture=posture_classify(tilt, cfg),
        cadence_spm=cadence,
        step_periodicity=periodicity,
        upright_ref=ref,
        rate_hz=rate,
    )


def _cadence_ticks(
    t: np.ndarray, r: np.ndarray, ticks: np.ndarray, rate: float, cfg: MotionConfig, chunk: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """Cadence per tick over ``(t - cadence_window, t]``: samples placed on the nominal
    rate's grid (gaps stay empty), NaN where that window is not covered."""
    n_t = ticks.size
    cad = np.full(n_t, np.nan)
    per = np.full(n_t, np.nan)
    if n_t == 0 or not np.isfinite(rate):
        return cad, per
    width = int(round(rate * cfg.cadence_window_ms / 1000.0))
    lo = np.searchsorted(t, ticks - cfg.cadence_window_ms, side="right")
    hi = np.searchsorted(t, ticks, side="right")
    covered = (hi - lo) >= cfg.min_coverage * width
    for s in range(0, n_t, chunk):
        idx = np.arange(s, min(s + chunk, n_t))
        idx = idx[covered[idx]]
        if idx.size == 0:
            continue
        x = np.zeros((idx.size, width))
        m = np.zeros((idx.size, width), dtype=bool)
        rows, samp = _window_index(lo[idx], hi[idx])
        start = ticks[idx] - cfg.cadence_window_ms
        col = np.floor((t[samp] - start[rows]) * rate / 1000.0).astype(np.int64)
        col = np.clip(col, 0, width - 1)
        x[rows, col] = r[samp]
        m[rows, col] = True
        spm, rr = cadence_estimate(x, rate, m, cfg)
        cad[idx] = spm
        per[idx] = rr
    return cad, per


@dataclass(frozen=True, slots=True)
class PostureEvent:
    """A change of posture: ``epoch_ms`` is the first tick in the new posture (its window
    holds the change)."""

    epoch_ms: int
    before: Posture
    after: Posture


def posture_events(epoch_ms: np.ndarray, posture: np.ndarray, min_dwell_ticks: int = 2) -> list[PostureEvent]:
    """Posture changes between postures held at least ``min_dwell_ticks`` ticks
    (``epoch_ms`` and ``posture`` as in :class:`MotionTicks`).

    Runs shorter than the dwell (a bend, a twist, a passing ``reclined`` on the way down)
    are passed over: upright, 1 tick reclined, lying is one change, upright -> lying, at
    the first tick after the upright run. Unknown ticks are skipped too (a gap does not
    make a change; a change across a gap is reported at the first tick after it).
    Sit-to-stand at the chest is a change to ``upright`` from ``reclined`` or ``lying``;
    a person sitting straight is already upright, so that transition shows in activity
    and cadence, not here.

    Examples
    --------
    >>> p = np.array(["lying"] * 3 + ["unknown"] + ["upright"] * 3, dtype=object)
    >>> [(e.epoch_ms, str(e.before), str(e.after)) for e in posture_events(np.arange(7) * 5000, p)]
    [(20000, 'lying', 'upright')]
    """
    p = np.asarray(posture, dtype=object)
    known = np.flatnonzero(p != Posture.UNKNOWN)
    if known.size == 0:
        return []
    seq = p[known]
    starts = np.r_[0, np.flatnonzero(seq[1:] != seq[:-1]) + 1]
    ends = np.r_[starts[1:], seq.size]  # exclusive, in ``known`` positions
    long = (ends - starts) >= min_dwell_ticks
    events: list[PostureEvent] = []
    prev_value, prev_end = None, 0
    for a, b in zip(starts[long], ends[long], strict=True):
        value = seq[a]
        if prev_value is not None and value != prev_value:
            events.append(PostureEvent(int(epoch_ms[known[prev_end]]), Posture(prev_value), Posture(value)))
        prev_value, prev_end = value, b
    return events


# -- streaming ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MotionTick:
    """The motion of one 5 s tick as the analysis uses it (see :class:`MotionStream`)."""

    epoch_ms: int
    activity_mg: float  # MAD of the resultant over the tick, mg (rounded to 0.01 mg)
    cadence_spm: float | None  # steps/min over 10 s; 0 = no step rhythm; None = 10 s not covered
    posture: Posture  # unknown until the wearer's upright reference is known


class MotionStream:
    """:func:`motion_ticks` for samples that arrive in pieces (a live strap, or a stored
    series read in chunks): push samples, get the ticks that became final.

    A tick ``t`` is final once a sample at or after ``t`` has arrived (its windows end at
    ``t``); only valid ticks (enough samples in their 5 s window) are returned: a tick
    without one is *motion-unknown*. Each number depends only on the samples inside the
    tick's own windows, computed by :func:`motion_ticks` on the last ``cadence_window_ms``
    of samples, so any chunking gives the same ticks. Activity and cadence are rounded
    (0.01 mg, 0.1 steps/min) so that the last bits of a sum or FFT, which may differ with
    the length of the arrays they were computed in, never reach a threshold decision.

    The upright reference (for posture) is learnt causally: from the first
    ``min_walk_ticks`` walking ticks of the stream (:func:`upright_reference` on the walking
    ticks seen so far), or given (learnt from an earlier day). Before it is known, posture
    is ``unknown``.

    Samples at or before the last sample already taken are dropped (counted in
    :attr:`samples_dropped`): times must increase.
    """

    def __init__(self, config: MotionConfig = MotionConfig(), upright_ref: np.ndarray | None = None) -> None:
        self.config = config
        self.upright_ref = None if upright_ref is None else np.asarray(upright_ref, float) / np.linalg.norm(upright_ref)
        self._t = np.zeros(0)
        self._a = np.zeros((0, 3))
        self._next_tick: int | None = None  # first tick not yet delivered
        self._walk_g: list[np.ndarray] = []  # gravity of walking ticks, until the reference is known
        self.known_through_ms: int | None = None  # time of the last sample taken
        self.samples_dropped = 0

    def push(self, epoch_ms: np.ndarray, xyz_mg: np.ndarray, rate_hz: float) -> list[MotionTick]:
        """Add samples (Unix ms, increasing; mg incl. gravity) streamed at ``rate_hz``;
        return the ticks that became final, in time order."""
        t = np.asarray(epoch_ms, dtype=np.int64)
        a = np.asarray(xyz_mg, dtype=float).reshape(-1, 3)
        if t.size == 0 or not rate_hz or not np.isfinite(rate_hz):
            return []
        keep = np.ones(t.size, dtype=bool)
        last = -np.inf if self.known_through_ms is None else self.known_through_ms
        # strictly increasing, and after what was taken before
        keep &= t > np.maximum.accumulate(np.r_[last, t[:-1]])
        if not keep.all():
            self.samples_dropped += int((~keep).sum())
            t, a = t[keep], a[keep]
            if t.size == 0:
                return []
        cfg = self.config
        if self._next_tick is None:
            self._next_tick = int(-(-int(t[0]) // cfg.tick_ms) * cfg.tick_ms)
        self._t = np.concatenate((self._t, t.astype(float)))
        self._a = np.concatenate((self._a, a))
        self.known_through_ms = int(t[-1])
        if self.known_through_ms < self._next_tick:
            return []  # no tick became final (an H10 frame is 1.4 s, a tick 5 s)
        mt = motion_ticks(self._t, self._a, upright_ref=np.array([0.0, 0.0, 1.0]), config=cfg, rate_hz=rate_hz)
        idx = np.flatnonzero((mt.epoch_ms >= self._next_tick) & mt.valid)
        out = self._ticks(mt.epoch_ms[idx], mt.activity_mg[idx], mt.cadence_spm[idx], mt.gravity_mg[idx])
        if mt.epoch_ms.size:
            self._next_tick = max(self._next_tick, int(mt.epoch_ms[-1]) + cfg.tick_ms)
        # keep what the next ticks' (10 s) windows can still need
        cut = int(np.searchsorted(self._t, self._next_tick - cfg.tick_ms - cfg.cadence_window_ms, side="right"))
        if cut:
            self._t, self._a = self._t[cut:], self._a[cut:]
        return out

    def _ticks(self, epoch_ms: np.ndarray, activity: np.ndarray, cadence: np.ndarray,
               gravity: np.ndarray) -> list[MotionTick]:
        """Final ticks, in order: rounded, the upright reference learnt from the walking
        ticks until it is known (sequentially: the tick that completes it is the first to
        get a posture), posture classified for the rest at once."""
        cfg = self.config
        activity = np.round(activity, 2)
        cadence = np.where(np.isfinite(cadence), np.round(cadence, 1), np.nan)
        posture = np.full(epoch_ms.size, Posture.UNKNOWN, dtype=object)
        start = 0
        if self.upright_ref is None:
            start = epoch_ms.size
            walking = np.flatnonzero((cadence >= cfg.walk_min_spm) & (cadence <= cfg.walk_max_spm))
            for j in walking.tolist():
                self._walk_g.append(gravity[j])
                if len(self._walk_g) >= cfg.min_walk_ticks:
                    g = np.array(self._walk_g)
                    self.upright_ref = upright_reference(g, np.full(len(g), cfg.walk_min_spm), cfg)
                    if self.upright_ref is not None:
                        self._walk_g = []
                        start = j
                        break
        if self.upright_ref is not None and start < epoch_ms.size:
            posture[start:] = posture_classify(tilt_deg(gravity[start:], self.upright_ref), cfg)
        return [MotionTick(t, a, None if c != c else c, Posture(p)) for t, a, c, p in
                zip(epoch_ms.tolist(), activity.tolist(), cadence.tolist(), posture.tolist(), strict=True)]
