"""Artifact detection and correction of RR intervals (Lipponen & Tarvainen, 2019).

Detection uses the decision rules of :func:`neurokit2.signal_fixpeaks` (``method="kubios"``),
rewritten with numpy so that

* every beat's decision depends only on beats ``[i - lookback, i + lookahead]`` of its own
  *run* (a stretch of consecutive usable beats of one segment), and
* the rolling threshold windows may be trailing instead of centred, so the live pipeline
  needs :attr:`ArtifactConfig.lookahead_beats` future beats (5 by default) instead of
  the 50 a centred 91-beat window needs.

``threshold_lookahead_beats=45, premature_ratio=None`` reproduces neurokit2's single pass
exactly away from the ends of a series (the tests check this on real recordings).

Three departures from neurokit2, each measured on real data (see docs/activation.md):

1. **Which peak moves.** For a premature beat the rules label the long compensatory
   interval; neurokit2 then moves the peak that *ends* it (a normal beat) and leaves the
   premature one in place. Here the misplaced peak is the one flanked by the larger
   successive difference.
2. **A fixed-ratio premature-beat rule** (``premature_ratio``, after Malik et al., 1989):
   a beat more than 20 % shorter than its predecessor *and* followed by one more than
   20 % longer is ectopic. The published thresholds adapt to the local spread, so when
   one beat in three is premature (trigeminy) nothing stands out and nothing is found.
3. **Two bounded passes** instead of "repeat until the count stops falling" (a criterion
   over the whole recording, which no live pipeline can evaluate): the second pass finds
   what the first one's corrections uncovered.

Because every step is local, :class:`BeatCleaner` gives the same output whether beats are
pushed one at a time, in packets or all at once; the batch analysis pushes everything.

References
----------
* Lipponen, J. A., & Tarvainen, M. P. (2019). A robust algorithm for heart rate
  variability time series artefact correction using novel beat classification. Journal of
  Medical Engineering & Technology, 43(3), 173-181. https://doi.org/10.1080/03091902.2019.1640306
* Malik, M., Farrell, T., Cripps, T., & Camm, A. J. (1989). Heart rate variability in
  relation to prognosis after myocardial infarction: selection of optimal processing
  techniques. European Heart Journal, 10(12), 1060-1074.
* Makowski, D., et al. (2021). NeuroKit2: A Python toolbox for neurophysiological signal
  processing. Behavior Research Methods, 53(4), 1689-1696.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.indexers import BaseIndexer

from attune.ingest.plausibility import EXCLUDED, BeatFlag

# Beat labels (one per usable beat and pass).
NORMAL = 0
ECTOPIC = 1
MISSED = 2
EXTRA = 3
LONGSHORT = 4
UNASSESSED = 5  # in a run too short to judge: kept out of HRV, like an excluded beat
LABEL_NAMES = ("normal", "ectopic", "missed", "extra", "longshort", "unassessed")

# Beats of context either side that correcting one interval can depend on: moving a peak
# compares the jumps on both sides of it, and a merge can put a neighbour one beat further.
CORRECTION_CONTEXT_BEATS = 3


@dataclass(frozen=True)
class ArtifactConfig:
    """Parameters of artifact detection and correction.

    ``c1``, ``c2``, ``alpha``, the 91-beat threshold window and the 11-beat median filter
    are the published values (and neurokit2's defaults). ``threshold_lookahead_beats``
    places the 91-beat window: 0 = trailing (the default, for low live latency),
    45 = centred (neurokit2). ``premature_ratio`` enables the fixed-ratio premature-beat
    rule (``None`` disables it). Runs shorter than ``min_run_beats`` cannot be judged and
    are left out of HRV. ``passes``: how many times detection and correction are applied.
    """

    c1: float = 0.13
    c2: float = 0.17
    alpha: float = 5.2
    threshold_window_beats: int = 91
    threshold_lookahead_beats: int = 0
    median_window_beats: int = 11
    premature_ratio: float | None = 0.2
    min_run_beats: int = 5
    passes: int = 2

    def __post_init__(self) -> None:
        if self.median_window_beats % 2 != 1 or self.median_window_beats < 3:
            raise ValueError("median_window_beats must be odd and >= 3")
        if not 0 <= self.threshold_lookahead_beats < self.threshold_window_beats:
            raise ValueError("threshold_lookahead_beats must be in [0, threshold_window_beats)")
        if self.min_run_beats < 5:
            raise ValueError("min_run_beats must be >= 5 (the rules look two beats each way)")
        if self.passes < 1:
            raise ValueError("passes must be >= 1")

    @property
    def lookahead_beats(self) -> int:
        """Future beats of the same run needed before a beat's label is final (one pass).

        The label of beat k reads dRR up to k+3 (S22 of a dragged k+1) and mRR at k, whose
        threshold window reaches ``threshold_lookahead_beats`` ahead, each through an
        11-beat median reaching 5 beats further.
        """
        return self.threshold_lookahead_beats + max(4, self.median_window_beats // 2)

    @property
    def lookback_beats(self) -> int:
        """Past beats of the same run a label can depend on (with margin)."""
        return self.threshold_window_beats + self.median_window_beats + 4

    @property
    def latency_beats(self) -> int:
        """Beats that must follow a beat (in its run) before its cleaned value is final."""
        return self.passes * (self.lookahead_beats + CORRECTION_CONTEXT_BEATS)


# -- the classifier ---------------------------------------------------------------------------
class _Bounds(BaseIndexer):
    """Explicit per-position window bounds for pandas' public rolling API."""

    def __init__(self, start: np.ndarray, end: np.ndarray) -> None:
        super().__init__()
        self._start = start
        self._end = end

    def get_window_bounds(self, num_values=0, min_periods=None, center=None, closed=None, step=None):
        return self._start, self._end


try:  # the skiplist kernels behind Series.rolling(...).quantile/median
    from pandas._libs.window.aggregations import roll_median_c as _roll_median
    from pandas._libs.window.aggregations import roll_quantile as _roll_quantile
except ImportError:  # pragma: no cover - a pandas that moved them: same kernels, slower path
    _roll_median = _roll_quantile = None


def _rolling(values: np.ndarray, start: np.ndarray, end: np.ndarray, q: float | None) -> np.ndarray:
    """Rolling quantile (``q``) or median (``q=None``) over ``values[start[i]:end[i]]``.

    pandas keeps each window in a skiplist, so every result is an exact order statistic
    of its window, whatever lies outside it: the basis of chunk-independent output. The
    kernels are called directly because the public API re-validates a custom window
    indexer on every call (0.5 ms, which dominated a live push).
    """
    if _roll_quantile is not None:
        if q is None:
            return np.asarray(_roll_median(values, start, end, 1))
        return np.asarray(_roll_quantile(values, start, end, 1, q, "linear"))
    roll = pd.Series(values).rolling(_Bounds(start, end), min_periods=1)
    out = roll.median() if q is None else roll.quantile(q)
    return out.to_numpy()


# Above this many windows the two quartiles of a threshold are computed side by side: the
# pandas kernels release the GIL, so a second core halves the largest cost of a batch
# analysis; a live push (a few windows) is not worth a thread hand-off.
_PARALLEL_MIN_WINDOWS = 4096
_quartile_worker: ThreadPoolExecutor | None = None


def _threshold(values: np.ndarray, start: np.ndarray, end: np.ndarray, alpha: float) -> np.ndarray:
    """Time-varying threshold: ``alpha`` times the quartile deviation of ``|values|``."""
    global _quartile_worker
    a = np.abs(values)
    if start.size < _PARALLEL_MIN_WINDOWS or _roll_quantile is None:
        return alpha * (_rolling(a, start, end, 0.75) - _rolling(a, start, end, 0.25)) / 2.0
    if _quartile_worker is None:
        _quartile_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="attune-quartile")
    upper = _quartile_worker.submit(_rolling, a, start, end, 0.75)
    lower = _rolling(a, start, end, 0.25)
    return alpha * (upper.result() - lower) / 2.0


def _reflect(index: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Reflect indices outside ``[first, last]`` (numpy's ``pad(mode='reflect')``)."""
    index = np.where(index < first, 2 * first - index, index)
    return np.where(index > last, 2 * last - index, index)


@dataclass
class _Subspaces:
    """Per-beat quantities of the classifier (Lipponen & Tarvainen 2019, section 2)."""

    rr: np.ndarray  # RR (ms)
    rr_prev: np.ndarray  # RR of the previous beat of the run (NaN at a run's start)
    rr_next: np.ndarray  # RR of the next beat of the run (NaN at a run's end)
    nd: np.ndarray  # dRR / th1 (S11); NaN where th1 == 0
    s12: np.ndarray
    s22: np.ndarray
    medrr: np.ndarray  # 11-beat median RR (ms)
    th2: np.ndarray  # threshold of mRR (ms)
    nm: np.ndarray  # mRR / th2; NaN where th2 == 0


def _subspaces(
    rr: np.ndarray,
    run_first: np.ndarray,
    run_last: np.ndarray,
    c: ArtifactConfig,
    lo: int = 0,
    hi: int | None = None,
) -> _Subspaces:
    """Compute the classifier's inputs, each beat from its own run only.

    Only what labels of beats ``lo..hi-1`` depend on is computed (elsewhere NaN): live,
    that is a few beats, not the whole buffer.
    """
    n = rr.size
    hi = n if hi is None else hi
    idx = np.arange(n)
    back = c.threshold_window_beats - 1 - c.threshold_lookahead_beats
    half = c.median_window_beats // 2
    # labels read nd at k-1 .. k+3 (S12, S22, the drag test) and mRR, th2 at k, k+1
    a = max(0, lo - 2)
    b = min(n, hi + 4)
    r = slice(a, b)
    k = idx[r]
    win_start = np.maximum(run_first[r], k - back).astype(np.int64)
    win_end = (np.minimum(run_last[r], k + c.threshold_lookahead_beats) + 1).astype(np.int64)
    # mRR is needed over the threshold windows of a..b
    ma = max(0, a - back)
    mr = slice(ma, b)
    mk = idx[mr]
    med_start = np.maximum(run_first[mr], mk - half).astype(np.int64)
    med_end = (np.minimum(run_last[mr], mk + half) + 1).astype(np.int64)
    nd = np.full(n, np.nan)
    s12 = np.full(n, np.nan)
    s22 = np.full(n, np.nan)
    medrr = np.full(n, np.nan)
    th2 = np.full(n, np.nan)
    nm = np.full(n, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        drrs = np.zeros(n)
        drrs[1:] = rr[1:] - rr[:-1]
        drrs[idx == run_first] = 0.0  # no predecessor in the run
        th1 = _threshold(drrs, win_start, win_end, c.alpha)
        nd[r] = np.where(th1 != 0, drrs[r] / th1, np.nan)
        prev1 = nd[_reflect(k - 1, run_first[r], run_last[r])]
        next1 = nd[_reflect(k + 1, run_first[r], run_last[r])]
        next2 = nd[_reflect(k + 2, run_first[r], run_last[r])]
        d = nd[r]
        s12[r] = np.where(d > 0, np.maximum(prev1, next1), np.where(d < 0, np.minimum(prev1, next1), 0.0))
        s22[r] = np.where(d >= 0, np.minimum(next1, next2), np.where(d < 0, np.maximum(next1, next2), 0.0))
        medrr[mr] = _rolling(rr, med_start, med_end, None)
        mrrs = rr - medrr
        mrrs = np.where(mrrs < 0, 2.0 * mrrs, mrrs)  # short beats count double (as published)
        th2[r] = _threshold(mrrs, win_start, win_end, c.alpha)
        nm[r] = np.where(th2[r] != 0, mrrs[r] / th2[r], np.nan)
    rr_next = np.full(n, np.nan)
    rr_next[:-1] = np.where(idx[:-1] < run_last[:-1], rr[1:], np.nan)
    rr_prev = np.full(n, np.nan)
    rr_prev[1:] = np.where(idx[1:] > run_first[1:], rr[:-1], np.nan)
    return _Subspaces(rr, rr_prev, rr_next, nd, s12, s22, medrr, th2, nm)


def _labels_at(
    sub: _Subspaces,
    pos: np.ndarray,
    range_start: np.ndarray,
    range_primary: np.ndarray,
    run_last: np.ndarray,
    c: ArtifactConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels of the beats at ``pos`` (sorted; contiguous ranges, each within one run).

    ``range_start[j]`` marks the first position of a range and ``range_primary[j]`` says
    whether that beat is examined on its own (it is not when the previous beat, in an
    earlier call, already examined it as its second candidate).
    Returns ``(labels, primary, drags)`` at ``pos``.
    """
    n = sub.rr.size
    with np.errstate(invalid="ignore"):
        d, s1, s2, m = sub.nd[pos], sub.s12[pos], sub.s22[pos], sub.nm[pos]
        # neurokit2 tests `abs(drrs) <= 1` for a normal beat, so an undefined dRR (zero
        # threshold) is not normal and goes on to the other tests: keep that.
        suspect = ~(np.abs(d) <= 1)
        eq1 = (d > 1) & (s1 < -c.c1 * d - c.c2)
        eq2 = (d < -1) & (s1 > -c.c1 * d + c.c2)
        ectopic = suspect & (eq1 | eq2)
        eq3 = (d > 1) & (s2 < -1)  # long
        eq4 = np.abs(m) > 3  # long or short
        eq5 = (d < -1) & (s2 > 1)  # short
        medrr, th2, rr = sub.medrr[pos], sub.th2[pos], sub.rr[pos]
        eq6 = np.abs(rr / 2 - medrr) < th2  # missed: half of it is a normal beat
        eq7 = np.abs(rr + sub.rr_next[pos] - medrr) < th2  # extra: with the next, a normal beat
        candidate = np.where(
            ~(eq3 | eq4 | eq5), NORMAL,
            np.where(eq5 & eq7, EXTRA, np.where(eq3 & eq6, MISSED, LONGSHORT)),
        )
        # Examined on its own only up to the third-last beat of its run (neurokit2:
        # `while i < rr.size - 2`). A suspect, non-ectopic beat examined on its own also
        # examines the next beat when |dRR[k+1]| < |dRR[k+2]|; the scan then skips it.
        examinable = pos <= run_last[pos] - 3
        k1 = np.minimum(pos + 1, n - 1)
        k2 = np.minimum(pos + 2, n - 1)
        drags = examinable & suspect & ~ectopic & (np.abs(sub.nd[k1]) < np.abs(sub.nd[k2]))
    # primary[j] (examined on its own) is given at a range start, True after a beat that
    # does not drag, and alternates along a streak of dragging beats: solve the recurrence
    # p[j+1] = not (p[j] and drags[j]) from the index where the current streak began.
    count = pos.size
    j = np.arange(count)
    reset = np.ones(count, dtype=bool)
    if count > 1:
        reset[1:] = range_start[1:] | ~drags[:-1]
    base = np.where(range_start, range_primary, True)
    began = np.where(reset, j, 0)
    np.maximum.accumulate(began, out=began)
    primary = base[began] ^ ((j - began) % 2 == 1)
    own = np.where(~examinable | ~suspect, NORMAL, np.where(ectopic, ECTOPIC, candidate))
    labels = np.where(primary, own, candidate).astype(np.int8)
    if c.premature_ratio is not None:
        # fixed-ratio rule for beats the adaptive rules call normal (see module notes)
        p = c.premature_ratio
        with np.errstate(invalid="ignore"):
            premature = (rr < (1 - p) * sub.rr_prev[pos]) & (sub.rr_next[pos] > (1 + p) * rr)
        labels[(labels == NORMAL) & premature] = ECTOPIC
    return labels, primary, drags


def artifacts_classify(rr_ms: np.ndarray, config: ArtifactConfig = ArtifactConfig()) -> np.ndarray:
    """Label each beat of one uninterrupted RR series (one detection pass).

    Parameters
    ----------
    rr_ms : array
        RR intervals in milliseconds, one run (no gaps, no excluded beats).
    config : ArtifactConfig

    Returns
    -------
    labels : int8 array
        :data:`NORMAL`, :data:`ECTOPIC`, :data:`MISSED`, :data:`EXTRA` or
        :data:`LONGSHORT` per beat; all :data:`UNASSESSED` if the series is shorter than
        ``config.min_run_beats``.

    Notes
    -----
    Figure 1 of Lipponen & Tarvainen (2019) as neurokit2's ``_find_artifacts`` applies
    it: dRR normalised by a rolling threshold (S11) and its neighbours (S12, S22), the
    deviation from an 11-beat median (mRR), and the missed/extra tests against that
    median; plus, if enabled, the fixed-ratio premature-beat rule.

    Examples
    --------
    >>> t = np.arange(120)
    >>> rr = np.round(850 + 40 * np.sin(2 * np.pi * t / 4.5))  # respiratory sinus arrhythmia
    >>> rr[60], rr[61] = 575.0, rr[60] + rr[61] - 575.0  # a premature beat and its pause
    >>> [LABEL_NAMES[k] for k in artifacts_classify(rr)[59:63]]
    ['normal', 'ectopic', 'ectopic', 'normal']
    """
    rr = np.asarray(rr_ms, dtype=float)
    if rr.size < config.min_run_beats:
        return np.full(rr.size, UNASSESSED, dtype=np.int8)
    first = np.zeros(rr.size, dtype=np.int64)
    last = np.full(rr.size, rr.size - 1, dtype=np.int64)
    sub = _subspaces(rr, first, last, config)
    pos = np.arange(rr.size)
    start = pos == 0
    labels, _, _ = _labels_at(sub, pos, start, start.copy(), last, config)
    return labels


# -- the correction ---------------------------------------------------------------------------
@dataclass
class _Corrected:
    nn: np.ndarray  # corrected intervals (ms)
    shift: np.ndarray  # how far each interval's end moved from its source beat's time (ms)
    source: np.ndarray  # index of the beat whose time ends each interval
    changed: np.ndarray  # value differs from the source beat's RR (merged, split or moved)
    n_art: np.ndarray  # artifacts detected in this pass, counted on the interval they end
    merged: np.ndarray  # the interval absorbed the beat before its source (extra beat)


def _intervals_correct(rr_ms: np.ndarray, labels: np.ndarray, run_last: np.ndarray) -> _Corrected:
    """Correct labelled beats of several runs laid end to end.

    1. An extra beat is merged into the next interval (its peak deleted).
    2. A missed beat is split into two equal intervals (a peak inserted).
    3. For an ectopic or long/short beat, the misplaced peak moves to the midpoint of its
       neighbours. A misplaced peak lengthens one of its two intervals and shortens the
       other, so it is the peak flanked by the larger successive difference: the one
       before the labelled interval or the one after it. A label on a beat absorbed by a
       merge is ignored: the removed extra beat caused it.

    Moving the peak that ends interval ``x`` changes ``nn[x]`` by ``+d`` and ``nn[x+1]``
    by ``-d``, ``d = (nn[x+1] - nn[x]) / 2``, computed from uncorrected neighbours (as
    neurokit2 moves all peaks of one kind at once). Each result depends on at most three
    beats either side, and untouched beats keep their exact RR.
    """
    n = rr_ms.size
    idx = np.arange(n)
    is_extra = labels == EXTRA
    extra_prev = np.zeros(n, dtype=bool)
    extra_prev[1:] = is_extra[:-1] & (idx[:-1] < run_last[:-1])
    # a beat already absorbed by an extra predecessor is not merged on (bounds the
    # dependency; consecutive extra beats practically do not occur)
    merge = is_extra & ~extra_prev & (idx < run_last)
    absorbed = np.zeros(n, dtype=bool)
    absorbed[1:] = merge[:-1]
    value = rr_ms.copy()
    value[1:] += np.where(absorbed[1:], rr_ms[:-1], 0.0)
    split = labels == MISSED
    counts = np.where(merge | (labels == UNASSESSED), 0, np.where(split, 2, 1))
    source = np.repeat(idx, counts)
    m = source.size
    nn = value[source] / np.where(split[source], 2.0, 1.0)
    last_of_source = np.ones(m, dtype=bool)
    last_of_source[:-1] = source[:-1] != source[1:]
    shift = np.where(last_of_source, 0.0, -nn)  # the first half of a split ends early
    has_next = np.zeros(m, dtype=bool)
    has_next[:-1] = ~(last_of_source[:-1] & (source[:-1] == run_last[source[:-1]]))
    has_prev = np.zeros(m, dtype=bool)
    has_prev[1:] = has_next[:-1]
    lab = labels[source]
    misplaced = ((lab == ECTOPIC) | (lab == LONGSHORT)) & last_of_source & ~absorbed[source]
    if m and misplaced.any():
        nxt = np.concatenate((nn[1:], nn[-1:]))
        prv = np.concatenate((nn[:1], nn[:-1]))
        jump_before = np.where(has_prev, np.abs(nn - prv), -1.0)
        jump_after = np.where(has_next, np.abs(nxt - nn), -1.0)
        take_before = misplaced & (jump_before > jump_after)
        take_after = misplaced & ~take_before & has_next
        moved = take_after.copy()  # moved[x]: the peak ending interval x moves
        moved[:-1] |= take_before[1:]
        delta = np.where(moved, (nxt - nn) / 2.0, 0.0)
        prev_delta = np.zeros(m)
        prev_delta[1:] = delta[:-1]
        nn = nn + delta - prev_delta
        shift = shift + delta
    changed = nn != rr_ms[source]
    # each artifact is counted once, on the interval ending where it ended (for a merged
    # extra beat: on the merged interval)
    per_beat = np.zeros(n, dtype=np.int64)
    labelled = (labels != NORMAL) & (labels != UNASSESSED)
    np.add.at(per_beat, np.where(merge, idx + 1, idx)[labelled], 1)
    n_art = np.where(last_of_source, per_beat[source], 0)
    return _Corrected(nn, shift, source, changed, n_art, absorbed[source] & last_of_source)


def rr_clean(
    rr_ms: np.ndarray, config: ArtifactConfig = ArtifactConfig()
) -> tuple[np.ndarray, np.ndarray, int]:
    """Detect and correct artifacts in one uninterrupted RR series (all passes).

    Parameters
    ----------
    rr_ms : array
        RR intervals in milliseconds (one run: no gaps, no excluded beats).
    config : ArtifactConfig

    Returns
    -------
    nn_ms : array
        Corrected (normal-to-normal) intervals in ms; the count can differ from the input
        (extra beats merged, missed beats split).
    corrected : bool array
        Per output interval: its value is not a measured RR (merged, split or moved).
        Successive differences touching such an interval carry no beat-to-beat
        information and are left out of RMSSD (:func:`attune.signals.features.hrv_window`).
    n_artifacts : int
        Artifacts detected over all passes.

    Examples
    --------
    >>> t = np.arange(120)
    >>> rr = np.round(850 + 40 * np.sin(2 * np.pi * t / 4.5))
    >>> rr[60], rr[61] = 575.0, rr[60] + rr[61] - 575.0
    >>> nn, corrected, n_art = rr_clean(rr)
    >>> float(nn[60]), float(nn[61]), int(corrected.sum()), n_art
    (860.5, 860.5, 2, 2)
    """
    nn = np.asarray(rr_ms, dtype=float)
    corrected = np.zeros(nn.size, dtype=bool)
    total = 0
    for _ in range(config.passes):
        labels = artifacts_classify(nn, config)
        out = _intervals_correct(nn, labels, np.full(nn.size, nn.size - 1, dtype=np.int64))
        corrected = out.changed | corrected[out.source]
        total += int(out.n_art.sum())
        nn = out.nn
        if nn.size < config.min_run_beats:
            break
    return nn, corrected, total


# -- streaming ------------------------------------------------------------------------------
@dataclass
class NNBatch:
    """Cleaned intervals leaving a :class:`BeatCleaner`, in time order.

    ``end_ms`` (int64 Unix ms) is when each interval ends, ``nn_ms`` its length, ``run``
    the run it belongs to (successive differences only within a run), ``corrected``
    whether its value was changed by correction, ``n_artifacts`` how many detected
    artifacts it absorbs. ``raw_ms`` are the times of the beats accepted by this push
    (usable or not). ``horizon_ms``: every interval ending at or before it has now been
    delivered.
    """

    end_ms: np.ndarray
    nn_ms: np.ndarray
    run: np.ndarray
    corrected: np.ndarray
    n_artifacts: np.ndarray
    raw_ms: np.ndarray
    horizon_ms: int | None

    @classmethod
    def empty(cls, horizon_ms: int | None = None) -> NNBatch:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, np.zeros(0), z, np.zeros(0, dtype=bool), z, z, horizon_ms)

    def __len__(self) -> int:
        return int(self.nn_ms.size)


@dataclass
class _Items:
    """Intervals flowing between passes."""

    end_ms: np.ndarray
    rr: np.ndarray
    run: np.ndarray
    corrected: np.ndarray
    n_art: np.ndarray

    @classmethod
    def empty(cls) -> _Items:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, np.zeros(0), z, np.zeros(0, dtype=bool), z)

    def concat(self, other: _Items) -> _Items:
        return _Items(*(np.concatenate((a, b)) for a, b in zip(self._fields(), other._fields(), strict=True)))

    def take(self, index) -> _Items:
        return _Items(*(a[index] for a in self._fields()))

    def _fields(self) -> tuple[np.ndarray, ...]:
        return (self.end_ms, self.rr, self.run, self.corrected, self.n_art)

    def __len__(self) -> int:
        return int(self.rr.size)


class _CleanPass:
    """One streaming detection + correction pass over runs of intervals.

    Holds the tail of the open run: enough beats back for the rolling windows
    (``lookback_beats``) and the beats still waiting for ``lookahead_beats`` successors.
    """

    def __init__(self, config: ArtifactConfig, drop_short_runs: bool) -> None:
        self.config = config
        self.drop_short_runs = drop_short_runs
        self._buf = _Items.empty()
        self._labels = np.zeros(0, dtype=np.int8)  # labels of buf[:len(labels)]
        self._n_emitted = 0
        self._primary_next = True
        self.last_delivered_ms: int | None = None  # input time of the last item emitted

    def held(self) -> int:
        return len(self._buf)

    def push(self, items: _Items, open_run: int | None) -> _Items:
        """Add items; runs other than ``open_run`` are complete. Return final intervals."""
        cfg = self.config
        nb = len(self._buf)
        w = self._buf.concat(items) if nb else items
        n = len(w)
        if n == 0:
            return _Items.empty()
        change = np.ones(n, dtype=bool)
        change[1:] = w.run[1:] != w.run[:-1]
        first_pos = np.flatnonzero(change)
        last_pos = np.empty_like(first_pos)
        last_pos[:-1] = first_pos[1:] - 1
        last_pos[-1] = n - 1
        which = np.cumsum(change) - 1
        run_first = first_pos[which]
        run_last = last_pos[which]
        n_runs = first_pos.size
        closed = np.ones(n_runs, dtype=bool)
        closed[-1] = open_run is None or int(w.run[-1]) != open_run
        buffered = np.zeros(n_runs, dtype=bool)
        buffered[0] = nb > 0  # run 0 is the buffered run (closed if new items start another)

        lo = first_pos.copy()
        if buffered[0]:
            lo[0] = self._labels.size
        hi = np.where(closed, last_pos + 1, np.maximum(lo, last_pos + 1 - cfg.lookahead_beats))
        # (a buffered run is never short: it only gets labels, or is trimmed, once long)
        short = closed & (last_pos - first_pos + 1 < cfg.min_run_beats)
        labels = np.full(n, -1, dtype=np.int8)
        if buffered[0]:
            labels[: lo[0]] = self._labels
        for r in np.flatnonzero(short):
            labels[first_pos[r] : last_pos[r] + 1] = UNASSESSED if self.drop_short_runs else NORMAL
        p_next = self._primary_next if (not closed[-1] and buffered[-1]) else True
        todo = np.flatnonzero(~short & (hi > lo))
        if todo.size:
            sub = _subspaces(w.rr, run_first, run_last, cfg, int(lo[todo[0]]), int(hi[todo[-1]]))
            sizes = hi[todo] - lo[todo]
            pos = np.concatenate([np.arange(lo[r], hi[r]) for r in todo])
            starts_at = np.zeros(sizes.size, dtype=np.int64)
            starts_at[1:] = np.cumsum(sizes)[:-1]
            range_start = np.zeros(pos.size, dtype=bool)
            range_start[starts_at] = True
            range_primary = np.zeros(pos.size, dtype=bool)
            range_primary[starts_at] = np.where(buffered[todo], self._primary_next, True)
            lab, primary, drags = _labels_at(sub, pos, range_start, range_primary, run_last, cfg)
            labels[pos] = lab
            if not closed[-1] and todo[-1] == n_runs - 1:
                p_next = not (primary[-1] and drags[-1])

        # emit closed runs entirely, the open run up to hi - context
        emit_lo = first_pos.copy()
        if buffered[0]:
            emit_lo[0] = self._n_emitted
        emit_hi = np.where(closed, last_pos + 1, hi - CORRECTION_CONTEXT_BEATS)
        emit_hi = np.maximum(emit_hi, emit_lo)
        n_known = n if closed[-1] else int(hi[-1])  # the open run's unlabelled tail waits
        known_last = np.minimum(run_last[:n_known], n_known - 1)
        cor = _intervals_correct(w.rr[:n_known], labels[:n_known], known_last)
        emit_mask = np.zeros(n, dtype=bool)
        for r in range(n_runs):
            emit_mask[emit_lo[r] : emit_hi[r]] = True
        take = emit_mask[cor.source]
        src = cor.source[take]
        # carry what earlier passes did: corrected flags and artifact counts (a merged
        # interval also inherits those of the interval it absorbed)
        last_of_source = np.ones(cor.source.size, dtype=bool)
        last_of_source[:-1] = cor.source[:-1] != cor.source[1:]
        before = np.maximum(cor.source - 1, 0)
        art_in = np.where(last_of_source, w.n_art[cor.source], 0) + np.where(cor.merged, w.n_art[before], 0)
        corrected_in = w.corrected[cor.source] | (cor.merged & w.corrected[before])
        out = _Items(
            w.end_ms[src] + np.rint(cor.shift[take]).astype(np.int64),
            cor.nn[take],
            w.run[src],
            (cor.changed | corrected_in)[take],
            (cor.n_art + art_in)[take],
        )
        # the input time of the last emitted item (outputs still to come end after it)
        emitted_upto = int(emit_hi[-1]) if not closed[-1] else n
        if emitted_upto > 0:
            self.last_delivered_ms = int(w.end_ms[emitted_upto - 1])

        if not closed[-1]:
            f = int(first_pos[-1])
            keep_from = max(f, min(int(hi[-1]) - cfg.lookback_beats, int(emit_hi[-1]) - CORRECTION_CONTEXT_BEATS))
            self._buf = w.take(slice(keep_from, n))
            self._labels = labels[keep_from : int(hi[-1])].copy()
            self._n_emitted = int(emit_hi[-1]) - keep_from
            self._primary_next = bool(p_next)
        else:
            self._buf = _Items.empty()
            self._labels = np.zeros(0, dtype=np.int8)
            self._n_emitted = 0
            self._primary_next = True
        return out


class BeatCleaner:
    """Streaming artifact correction with bounded lookahead and bounded memory.

    Feed beats with :meth:`push` in arrival order; each call returns the cleaned
    intervals that became final. :meth:`finish` ends the stream. The output does not
    depend on how the input was split into calls.

    A *run* (the unit of artifact detection and of successive differences) ends at a new
    segment, before a beat flagged ``AFTER_GAP`` (its predecessor is missing) and around
    beats flagged :data:`attune.ingest.plausibility.EXCLUDED`, which never enter HRV.
    Beats not later than their predecessor (a clock step back) are dropped.

    Latency: a beat's cleaned interval is final once :attr:`ArtifactConfig.latency_beats`
    more beats of its run have arrived (16 with the defaults, about 14 s at 70 bpm), or at
    once when its run ends.
    """

    def __init__(self, config: ArtifactConfig = ArtifactConfig()) -> None:
        self.config = config
        self._passes = [_CleanPass(config, drop_short_runs=(i == 0)) for i in range(config.passes)]
        self._last_epoch = np.iinfo(np.int64).min
        self._last_segment: int | None = None
        self._last_usable = False
        self._runs = 0  # runs started so far; run ids are 1, 2, ...
        self._last_raw_ms: int | None = None
        self.horizon_ms: int | None = None
        self.beats_accepted = 0
        self.beats_dropped = 0

    @property
    def held_beats(self) -> int:
        """Beats held in memory across all passes (bounded by lookback + lookahead)."""
        return sum(p.held() for p in self._passes)

    def push(
        self,
        epoch_ms: np.ndarray,
        rr_ms: np.ndarray,
        segment_id: np.ndarray,
        flags: np.ndarray,
    ) -> NNBatch:
        """Add beats (equal-length arrays, arrival order); return the intervals now final."""
        epoch = np.asarray(epoch_ms, dtype=np.int64)
        rr = np.asarray(rr_ms, dtype=float)
        seg = np.asarray(segment_id, dtype=np.int64)
        fl = np.asarray(flags, dtype=np.int64)
        if not (epoch.shape == rr.shape == seg.shape == fl.shape):
            raise ValueError("epoch_ms, rr_ms, segment_id and flags must have the same length")
        if epoch.size == 0:
            return NNBatch.empty(self.horizon_ms)
        # beats must move time forward; a clock step back would scramble every window
        prior_max = np.maximum.accumulate(np.concatenate(([self._last_epoch], epoch)))[:-1]
        keep = epoch > prior_max
        if not keep.all():
            self.beats_dropped += int((~keep).sum())
            epoch, rr, seg, fl = epoch[keep], rr[keep], seg[keep], fl[keep]
            if epoch.size == 0:
                return NNBatch.empty(self.horizon_ms)
        self.beats_accepted += int(epoch.size)
        with np.errstate(invalid="ignore"):
            usable = ((fl & int(EXCLUDED)) == 0) & np.isfinite(rr) & (rr > 0)
        prev_seg = np.empty_like(seg)
        prev_seg[0] = seg[0] if self._last_segment is None else self._last_segment
        prev_seg[1:] = seg[:-1]
        prev_usable = np.empty_like(usable)
        prev_usable[0] = self._last_usable
        prev_usable[1:] = usable[:-1]
        new_run = usable & ((seg != prev_seg) | ((fl & int(BeatFlag.AFTER_GAP)) != 0) | ~prev_usable)
        run_no = self._runs + np.cumsum(new_run)
        self._runs = int(run_no[-1])
        self._last_epoch = int(epoch[-1])
        self._last_segment = int(seg[-1])
        self._last_usable = bool(usable[-1])
        self._last_raw_ms = int(epoch[-1])
        items = _Items(epoch[usable], rr[usable], run_no[usable],
                       np.zeros(int(usable.sum()), dtype=bool), np.zeros(int(usable.sum()), dtype=np.int64))
        open_run = self._runs if self._last_usable else None
        return self._through(items, open_run, epoch)

    def finish(self) -> NNBatch:
        """End of stream: close the open run and deliver every remaining interval."""
        self._last_usable = False
        return self._through(_Items.empty(), None, np.zeros(0, dtype=np.int64))

    def _through(self, items: _Items, open_run: int | None, raw: np.ndarray) -> NNBatch:
        for p in self._passes:
            items = p.push(items, open_run)
        self._horizon_update()
        return NNBatch(items.end_ms, items.rr, items.run, items.corrected, items.n_art, raw, self.horizon_ms)

    def _horizon_update(self) -> None:
        # Every future interval ends after the input time of the last item the last pass
        # emitted (a moved peak stays between its neighbours). When nothing is held
        # anywhere, everything up to the last beat is accounted for.
        last = self._passes[-1]
        if all(p.held() == 0 for p in self._passes):
            h = self._last_raw_ms
        else:
            h = last.last_delivered_ms
        if h is not None:
            self.horizon_ms = h if self.horizon_ms is None else max(self.horizon_ms, h)
