"""The personal baseline: where this person's heart rate and vagal tone sit when quiet.

Robust centre (median) and spread (1.4826 x MAD) of HR (60 s), fast HR (10 s) and
lnRMSSD (60 s), from *quiet, valid* ticks only (the scorer decides which; never ticks of
an activation episode or of exertion and its recovery), per time-of-day bin (6 bins of
4 h, local time), over a rolling window of days (14).

Memory is bounded and the state is mergeable: each local day keeps one histogram per
time-of-day bin and quantity (HR in 0.25 bpm bins, lnRMSSD in 0.01 bins), so a day costs
the same whether 100 or 17 000 ticks went in, and dropping a day is dropping its row.

Estimates change only at **update points**, the ticks that start a new 15-minute slot of
Unix time: live and batch analyses of the same ticks therefore see the same baseline at
every tick. Between update points new quiet ticks only accumulate.

Cold start: estimates blend population priors with what has been learned, weighted by
calibration progress ``p = min(1, quiet ticks / calibration_ticks)``; until ``p = 1`` the
state shown is ``calibrating``. A time-of-day bin with little data of its own leans on the
pooled estimate of all bins.

Priors (population, seated/supine rest): HR 72 bpm, the adult mean resting pulse in
NHANES 1999-2008 (Ostchega et al., 2011); RMSSD 42 ms (lnRMSSD 3.74), the pooled mean of
44 short-term studies (Nunan et al., 2010). Prior spreads are deliberately wide (8 bpm,
0.5 ln units) so that a cold start rarely calls anything activated.

References
----------
* Ostchega, Y., Porter, K. S., Hughes, J., Dillon, C. F., & Nwankwo, T. (2011). Resting
  pulse rate reference data for children, adolescents, and adults: United States,
  1999-2008. National Health Statistics Reports, 41.
* Nunan, D., Sandercock, G. R. H., & Brodie, D. A. (2010). A quantitative systematic
  review of normal values for short-term heart rate variability in healthy adults.
  Pacing and Clinical Electrophysiology, 33(11), 1407-1417.
* Leys, C., Ley, C., Klein, O., Bernard, P., & Licata, L. (2013). Detecting outliers: Do
  not use standard deviation around the mean, use absolute deviation around the median.
  Journal of Experimental Social Psychology, 49(4), 764-766.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, tzinfo

import numpy as np

from attune.timeutil import tz_offset_ms

MAD_TO_SD = 1.4826  # MAD of a normal distribution times this is its SD


@dataclass(frozen=True)
class Quantity:
    """A baselined quantity: histogram range and resolution, prior, minimum spread."""

    name: str
    lo: float
    hi: float
    width: float
    prior_centre: float
    prior_spread: float
    min_spread: float

    @property
    def n_bins(self) -> int:
        return round((self.hi - self.lo) / self.width)


QUANTITIES = (
    Quantity("hr_bpm", 20.0, 240.0, 0.25, 72.0, 8.0, 2.0),
    Quantity("hr_fast_bpm", 20.0, 240.0, 0.25, 72.0, 10.0, 2.5),
    Quantity("ln_rmssd", 0.0, 7.0, 0.01, 3.74, 0.5, 0.15),
)
HR, HR_FAST, LN_RMSSD = range(3)


@dataclass(frozen=True)
class BaselineConfig:
    """Rolling window, time-of-day bins, update cadence and calibration requirement."""

    days: int = 14
    tod_bins: int = 6  # 24 h / 6 = 4 h each, local time
    update_every_ms: int = 15 * 60_000
    calibration_ticks: int = 720  # 1 h of quiet valid 5 s ticks
    bin_full_ticks: int = 240  # 20 min of a bin's own data for it to stand alone


@dataclass(frozen=True)
class Estimate:
    """Baseline in force for one time-of-day bin (centre and spread per quantity)."""

    hr_bpm: float
    hr_spread_bpm: float
    hr_fast_bpm: float
    hr_fast_spread_bpm: float
    ln_rmssd: float
    ln_rmssd_spread: float
    progress: float  # calibration progress 0..1
    n_ticks: int  # quiet ticks behind this bin's own estimate


def _median_mad(counts: np.ndarray, q: Quantity) -> tuple[float, float]:
    """Median and MAD from a histogram (linear interpolation inside the median bin)."""
    med, mad = _median_mad_rows(np.asarray(counts)[None, :], np.array([q.lo]), np.array([q.width]))
    return med[0], mad[0]


def _median_mad_rows(counts: np.ndarray, lo: np.ndarray, width: np.ndarray) -> tuple[list[float], list[float]]:
    """:func:`_median_mad` of each row of ``counts`` (rows x bins; row ``r`` has bins of
    ``width[r]`` from ``lo[r]``), NaN for an empty row.

    One vectorised call per update instead of one per bin and quantity (numpy's per-call
    overhead dominated); every element goes through the same float operations as the
    one-histogram formula, so the results are equal.
    """
    counts = np.asarray(counts, dtype=np.int64)
    n_rows = counts.shape[0]
    rows = np.arange(n_rows)
    n = counts.sum(axis=1)
    # only bins counted in some row: an empty bin is never where a cumulative count first
    # reaches half, so leaving it out changes nothing (and a day fills few of the bins)
    used = np.flatnonzero(counts.any(axis=0))
    if used.size == 0:
        return [math.nan] * n_rows, [math.nan] * n_rows
    counts = counts[:, used]
    lo, width = lo[:, None], width[:, None]
    cum = np.cumsum(counts, axis=1)
    half = n / 2.0
    i = np.minimum((cum < half[:, None]).sum(axis=1), used.size - 1)  # searchsorted, side="left"
    before = np.where(i > 0, cum[rows, i - 1], 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        median = lo[:, 0] + width[:, 0] * (used[i] + (half - before) / counts[rows, i])
    centres = lo + width * (used[None, :] + 0.5)
    dist = np.abs(centres - median[:, None])
    order = np.argsort(dist, axis=1, kind="stable")
    j = np.minimum((np.cumsum(np.take_along_axis(counts, order, axis=1), axis=1) < half[:, None]).sum(axis=1),
                   used.size - 1)
    mad = np.take_along_axis(dist, order, axis=1)[rows, j]
    empty = n == 0
    median[empty] = np.nan
    mad[empty] = np.nan
    return median.tolist(), mad.tolist()


@dataclass
class Baseline:
    """Rolling per-day, per-time-of-day histograms and the estimates in force.

    Use :meth:`add` for each quiet valid tick, :meth:`update_due` / :meth:`update` at
    update points, :meth:`estimate` to read the baseline for a tick.
    """

    config: BaselineConfig = field(default_factory=BaselineConfig)
    tz: tzinfo = UTC
    _days: dict[int, np.ndarray] = field(default_factory=dict)
    _estimates: list[Estimate] = field(default_factory=list)
    _slot: int | None = None  # 15-min slot of the last update
    _offsets: dict[int, int] = field(default_factory=dict)  # slot -> local-time offset (ms)
    _pending: list[tuple[int, float, float, float]] = field(default_factory=list)  # added, not yet counted

    def __post_init__(self) -> None:
        self._layout = np.cumsum([0] + [q.n_bins for q in QUANTITIES])
        # (lo, width, last bin, column offset) per quantity, for the per-tick add
        self._bins = [(q.lo, q.width, q.n_bins - 1, int(self._layout[k])) for k, q in enumerate(QUANTITIES)]
        self._lo = np.array([q.lo for q in QUANTITIES])
        self._width = np.array([q.width for q in QUANTITIES])
        self._estimates = [self._prior(0.0)] * self.config.tod_bins

    # -- placement ---------------------------------------------------------------------
    def _offset_ms(self, epoch_ms: int) -> int:
        """Local-time offset of a tick's 15-min slot (DST changes fall on slot bounds)."""
        slot = epoch_ms // self.config.update_every_ms
        off = self._offsets.get(slot)
        if off is None:
            if len(self._offsets) > 64:
                self._offsets.clear()
            off = self._offsets[slot] = tz_offset_ms(slot * self.config.update_every_ms, self.tz)
        return off

    def day_of(self, epoch_ms: int) -> int:
        """Local day number (days since 1970-01-01 in local time)."""
        return (epoch_ms + self._offset_ms(epoch_ms)) // 86_400_000

    def tod_bin_of(self, epoch_ms: int) -> int:
        """Time-of-day bin (0 = the bin starting at local midnight)."""
        hour = ((epoch_ms + self._offset_ms(epoch_ms)) // 3_600_000) % 24
        return int(hour * self.config.tod_bins // 24)

    # -- data ----------------------------------------------------------------------------
    def add(self, epoch_ms: int, hr_bpm: float, hr_fast_bpm: float, ln_rmssd: float) -> None:
        """Count one quiet valid tick (NaN values are skipped per quantity)."""
        # counted in bulk when the histograms are next read (counts do not depend on order);
        # one numpy update per tick cost more than the rest of the tick's analysis
        self._pending.append((epoch_ms, hr_bpm, hr_fast_bpm, ln_rmssd))

    def _flush(self) -> None:
        """Count the ticks :meth:`add` queued, each exactly as one by one: the same
        local-time slot offsets and the same bin arithmetic (``//`` on floats)."""
        if not self._pending:
            return
        cfg = self.config
        t_list, hr, hr_fast, ln = zip(*self._pending, strict=True)
        self._pending = []
        t = np.array(t_list, dtype=np.int64)
        slots, inverse = np.unique(t // cfg.update_every_ms, return_inverse=True)
        offsets = np.array([self._offset_ms(int(s) * cfg.update_every_ms) for s in slots], dtype=np.int64)
        local = t + offsets[inverse]
        day = local // 86_400_000
        tod = (local // 3_600_000) % 24 * cfg.tod_bins // 24
        cols = []
        for (lo, width, last, col), x in zip(self._bins, (hr, hr_fast, ln), strict=True):
            x = np.array(x, dtype=float)
            ok = ~np.isnan(x)
            cols.append((ok, col + np.clip(np.floor_divide(x[ok] - lo, width).astype(np.int64), 0, last)))
        for d in np.unique(day).tolist():
            rows = self._days.get(d)
            if rows is None:
                rows = self._days[d] = np.zeros((cfg.tod_bins, self._layout[-1]), dtype=np.int32)
            on_day = day == d
            for ok, index in cols:
                np.add.at(rows, (tod[ok & on_day], index[on_day[ok]]), 1)

    def add_many(self, epoch_ms: np.ndarray, hr: np.ndarray, hr_fast: np.ndarray, ln: np.ndarray) -> None:
        """Count many quiet ticks at once (rebuilding from stored ticks); same as
        calling :meth:`add` for each."""
        self._flush()
        cfg = self.config
        t = np.asarray(epoch_ms, dtype=np.int64)
        if t.size == 0:
            return
        slots, inverse = np.unique(t // cfg.update_every_ms, return_inverse=True)
        offsets = np.array([tz_offset_ms(int(s) * cfg.update_every_ms, self.tz) for s in slots])[inverse]
        local = t + offsets
        day = local // 86_400_000
        tod = ((local // 3_600_000) % 24) * cfg.tod_bins // 24
        for d in np.unique(day).tolist():
            rows = self._days.get(d)
            if rows is None:
                rows = self._days[d] = np.zeros((cfg.tod_bins, self._layout[-1]), dtype=np.int32)
            on_day = day == d
            for k, (q, x) in enumerate(zip(QUANTITIES, (hr, hr_fast, ln), strict=True)):
                x = np.asarray(x, dtype=float)[on_day]
                ok = ~np.isnan(x)
                i = np.clip(np.floor((x[ok] - q.lo) / q.width).astype(np.int64), 0, q.n_bins - 1)
                np.add.at(rows, (tod[on_day][ok], self._layout[k] + i), 1)

    # -- estimates -----------------------------------------------------------------------
    def update_due(self, epoch_ms: int) -> bool:
        return self._slot is None or epoch_ms // self.config.update_every_ms != self._slot

    def update(self, epoch_ms: int) -> None:
        """Recompute estimates from the last ``days`` local days (an update point)."""
        self._flush()
        cfg = self.config
        self._slot = epoch_ms // cfg.update_every_ms
        today = self.day_of(epoch_ms)
        for day in [d for d in self._days if d <= today - cfg.days]:
            del self._days[day]
        if not self._days:
            self._estimates = [self._prior(0.0)] * cfg.tod_bins
            return
        per_bin = np.sum(list(self._days.values()), axis=0)  # (tod_bins, layout)
        pooled = per_bin.sum(axis=0)
        n_pooled = int(pooled[: self._layout[1]].sum())
        progress = min(1.0, n_pooled / cfg.calibration_ticks)
        # every histogram of the update in one call: per quantity, row b is bin b and row
        # tod_bins all bins pooled; quantities side by side, shorter ones padded with empty bins
        width_max = max(q.n_bins for q in QUANTITIES)
        hist = np.zeros((len(QUANTITIES), cfg.tod_bins + 1, width_max), dtype=np.int64)
        for k, q in enumerate(QUANTITIES):
            cols = slice(self._layout[k], self._layout[k + 1])
            hist[k, :-1, : q.n_bins] = per_bin[:, cols]
            hist[k, -1, : q.n_bins] = pooled[cols]
        per_row = np.repeat(np.arange(len(QUANTITIES)), cfg.tod_bins + 1)
        meds, mads = _median_mad_rows(hist.reshape(-1, width_max), self._lo[per_row], self._width[per_row])
        stats = [(meds[k * (cfg.tod_bins + 1) : (k + 1) * (cfg.tod_bins + 1)],
                  mads[k * (cfg.tod_bins + 1) : (k + 1) * (cfg.tod_bins + 1)]) for k in range(len(QUANTITIES))]
        estimates = []
        for b in range(cfg.tod_bins):
            n_b = int(per_bin[b, : self._layout[1]].sum())
            w_bin = min(1.0, n_b / cfg.bin_full_ticks)
            values: list[float] = []
            for k, q in enumerate(QUANTITIES):
                meds, mads = stats[k]
                med_p, mad_p = meds[-1], mads[-1]
                if math.isnan(med_p):
                    centre, spread = q.prior_centre, q.prior_spread
                else:
                    med_b, mad_b = meds[b], mads[b]
                    if math.isnan(med_b):
                        med_b, mad_b = med_p, mad_p
                    personal_c = w_bin * med_b + (1 - w_bin) * med_p
                    personal_s = max(MAD_TO_SD * (w_bin * mad_b + (1 - w_bin) * mad_p), q.min_spread)
                    centre = progress * personal_c + (1 - progress) * q.prior_centre
                    spread = progress * personal_s + (1 - progress) * q.prior_spread
                values += [centre, spread]
            estimates.append(Estimate(*values, progress=progress, n_ticks=n_b))
        self._estimates = estimates

    def estimate(self, epoch_ms: int) -> Estimate:
        """The baseline in force for a tick (as of the last update point)."""
        return self._estimates[self.tod_bin_of(epoch_ms)]

    def estimates(self) -> list[Estimate]:
        """Estimates of every time-of-day bin (bin 0 starts at local midnight)."""
        return list(self._estimates)

    def copy(self, config: BaselineConfig | None = None) -> Baseline:
        """The same counted ticks, estimates not yet computed (e.g. to reuse what one
        analysis learned as the starting point of another)."""
        self._flush()
        other = Baseline(config or self.config, self.tz)
        other._days = {day: rows.copy() for day, rows in self._days.items()}
        return other

    @property
    def progress(self) -> float:
        return self._estimates[0].progress

    @property
    def days_held(self) -> int:
        self._flush()
        return len(self._days)

    def _prior(self, progress: float) -> Estimate:
        vals: list[float] = []
        for q in QUANTITIES:
            vals += [q.prior_centre, q.prior_spread]
        return Estimate(*vals, progress=progress, n_ticks=0)
