"""The personal baseline: robust statistics, cold start, time of day, rolling days,
deterministic update points and persistence."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pytest

from attune.signals.baseline import (
    MAD_TO_SD,
    QUANTITIES,
    Baseline,
    BaselineConfig,
    _median_mad,
    _median_mad_rows,
)

DAY_MS = 86_400_000
MONDAY_UTC = 1_772_409_600_000  # 2026-03-02T00:00:00Z


def _fill(b: Baseline, start_ms: int, n: int, hr: float, sd: float = 3.0, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for k in range(n):
        x = hr + rng.normal(0, sd)
        b.add(start_ms + 5000 * k, x, x + rng.normal(0, 1), 3.8 + rng.normal(0, 0.3))


def test_histogram_median_and_mad_match_numpy():
    rng = np.random.default_rng(1)
    x = rng.normal(64, 4, 5000)
    q = QUANTITIES[0]
    counts = np.bincount(np.clip(((x - q.lo) // q.width).astype(int), 0, q.n_bins - 1), minlength=q.n_bins)
    med, mad = _median_mad(counts, q)
    assert med == pytest.approx(np.median(x), abs=q.width)
    assert mad == pytest.approx(np.median(np.abs(x - np.median(x))), abs=q.width)


def test_cold_start_uses_priors_and_reports_progress():
    b = Baseline(BaselineConfig(calibration_ticks=720))
    b.update(MONDAY_UTC)
    est = b.estimate(MONDAY_UTC)
    assert (est.hr_bpm, est.ln_rmssd, est.progress) == (72.0, 3.74, 0.0)
    _fill(b, MONDAY_UTC, 360, hr=58)
    b.update(MONDAY_UTC + 3_600_000)
    half = b.estimate(MONDAY_UTC + 3_600_000)
    assert half.progress == pytest.approx(0.5)
    assert 58 < half.hr_bpm < 72  # half-way from the prior to this person
    _fill(b, MONDAY_UTC + 1_800_000, 360, hr=58, seed=1)
    b.update(MONDAY_UTC + 7_200_000)
    full = b.estimate(MONDAY_UTC + 7_200_000)
    assert full.progress == 1.0
    assert full.hr_bpm == pytest.approx(58, abs=0.5)
    assert full.hr_spread_bpm == pytest.approx(3.0, rel=0.15)


def test_estimates_change_only_at_update_points():
    b = Baseline(BaselineConfig(calibration_ticks=10))
    b.update(MONDAY_UTC)
    _fill(b, MONDAY_UTC, 200, hr=60)
    t = MONDAY_UTC + 5 * 60_000  # same 15-min slot
    assert not b.update_due(t)
    assert b.estimate(t).hr_bpm == 72.0
    assert b.update_due(MONDAY_UTC + 15 * 60_000)


def test_time_of_day_bins_and_pooling():
    cfg = BaselineConfig(calibration_ticks=100, bin_full_ticks=100)
    b = Baseline(cfg, ZoneInfo("Europe/Berlin"))
    morning = MONDAY_UTC + 6 * 3_600_000  # 07:00 in Berlin (UTC+1 in March before DST)
    evening = MONDAY_UTC + 18 * 3_600_000  # 19:00
    _fill(b, morning, 300, hr=56)
    _fill(b, evening, 300, hr=70, seed=2)
    b.update(evening + 2 * 3_600_000)
    assert b.estimate(morning).hr_bpm == pytest.approx(56, abs=1)
    assert b.estimate(evening).hr_bpm == pytest.approx(70, abs=1)
    night = MONDAY_UTC + 1 * 3_600_000  # a bin without data leans on the pooled estimate
    assert 56 < b.estimate(night).hr_bpm < 70


def test_rolling_window_forgets_old_days():
    b = Baseline(BaselineConfig(days=3, calibration_ticks=10))
    _fill(b, MONDAY_UTC, 100, hr=80)
    _fill(b, MONDAY_UTC + 2 * DAY_MS, 100, hr=60)
    b.update(MONDAY_UTC + 2 * DAY_MS + 3_600_000)
    assert b.days_held == 2
    assert 60 < b.estimate(MONDAY_UTC + 2 * DAY_MS).hr_bpm < 80
    b.update(MONDAY_UTC + 3 * DAY_MS + 3_600_000)  # day 0 is now 3 days back
    assert b.days_held == 1
    assert b.estimate(MONDAY_UTC + 3 * DAY_MS).hr_bpm == pytest.approx(60, abs=1)


def test_bulk_rebuild_equals_tick_by_tick_across_dst():
    tz = ZoneInfo("Europe/Berlin")
    start = 1_774_738_800_000 - 6 * 3_600_000  # 2026-03-29 00:00 UTC-ish: DST starts 01:00 UTC
    t = start + 5000 * np.arange(6000)
    rng = np.random.default_rng(4)
    hr = rng.normal(62, 3, t.size)
    hrf = hr + rng.normal(0, 1, t.size)
    hrf[::50] = np.nan
    ln = rng.normal(3.9, 0.3, t.size)
    one = Baseline(BaselineConfig(calibration_ticks=100), tz)
    for args in zip(t.tolist(), hr, hrf, ln, strict=True):
        one.add(*args)
    bulk = Baseline(BaselineConfig(calibration_ticks=100), tz)
    bulk.add_many(t, hr, hrf, ln)
    end = int(t[-1])
    one.update(end)
    bulk.update(end)
    assert one.estimates() == bulk.estimates()
    assert one.tod_bin_of(1_774_746_000_000) == 0  # 01:00 UTC = 03:00 CEST: still night bin


def test_min_spread_floor():
    b = Baseline(BaselineConfig(calibration_ticks=10))
    for k in range(200):
        b.add(MONDAY_UTC + 5000 * k, 60.0, 60.0, 3.8)  # a perfectly flat (suspicious) signal
    b.update(MONDAY_UTC + 3_600_000)
    est = b.estimate(MONDAY_UTC)
    assert est.hr_spread_bpm >= 2.0 and est.ln_rmssd_spread >= 0.15
    assert MAD_TO_SD == pytest.approx(1.4826)


def _median_mad_reference(counts: np.ndarray, q) -> tuple[float, float]:
    """The one-histogram formula as it was before updates were vectorised (issue 11)."""
    n = counts.sum()
    if n == 0:
        return np.nan, np.nan
    cum = np.cumsum(counts)
    half = n / 2.0
    i = int(np.searchsorted(cum, half))
    before = cum[i - 1] if i else 0
    median = q.lo + q.width * (i + (half - before) / counts[i])
    centres = q.lo + q.width * (np.arange(counts.size) + 0.5)
    dist = np.abs(centres - median)
    order = np.argsort(dist, kind="stable")
    j = int(np.searchsorted(np.cumsum(counts[order]), half))
    return float(median), float(dist[order][j])


def test_vectorised_median_mad_equals_the_formula_exactly():
    # all quantities in one call, padded rows, empty rows, sparse and single-bin histograms
    rng = np.random.default_rng(7)
    width_max = max(q.n_bins for q in QUANTITIES)
    rows, los, widths, expected = [], [], [], []
    for q in QUANTITIES:
        for kind in range(40):
            counts = np.zeros(q.n_bins, dtype=np.int64)
            if kind % 10 == 1:
                counts[rng.integers(q.n_bins)] = rng.integers(1, 5)
            elif kind % 10 != 0:
                centre, spread = rng.integers(q.n_bins), rng.integers(1, 60)
                idx = np.clip(rng.normal(centre, spread, rng.integers(1, 400)).astype(int), 0, q.n_bins - 1)
                np.add.at(counts, idx, 1)
            rows.append(np.pad(counts, (0, width_max - q.n_bins)))
            los.append(q.lo)
            widths.append(q.width)
            expected.append(_median_mad_reference(counts, q))
    meds, mads = _median_mad_rows(np.array(rows), np.array(los), np.array(widths))
    got = list(zip(meds, mads, strict=True))
    for (m, d), (em, ed) in zip(got, expected, strict=True):
        assert (m == em or (np.isnan(m) and np.isnan(em))) and (d == ed or (np.isnan(d) and np.isnan(ed)))


def test_queued_adds_count_exactly_as_one_by_one():
    """Baseline.add queues ticks and counts them in bulk; the histograms equal those of
    the per-tick formula it replaced (bin edges, NaN, out of range, a DST change)."""
    zone = ZoneInfo("Europe/Berlin")
    b = Baseline(BaselineConfig(), zone)
    reference: dict[int, np.ndarray] = {}
    rng = np.random.default_rng(3)
    start = 1_774_740_000_000  # 2026-03-28T23:20Z: the night Berlin moves to summer time
    for k in range(3000):
        t = start + 5000 * k
        hr = float(rng.choice([20.0 + 0.25 * rng.integers(0, 900), rng.uniform(10, 260), np.nan]))
        vals = (hr, hr + float(rng.normal(0, 2)), float(rng.choice([0.01 * rng.integers(0, 720), rng.uniform(-1, 8)])))
        b.add(t, *vals)
        local = t + b._offset_ms(t)
        rows = reference.setdefault(local // DAY_MS, np.zeros((b.config.tod_bins, b._layout[-1]), dtype=np.int32))
        row = rows[(local // 3_600_000) % 24 * b.config.tod_bins // 24]
        for (lo, width, last, col), x in zip(b._bins, vals, strict=True):
            if not np.isnan(x):
                row[col + min(max(int((x - lo) // width), 0), last)] += 1
    assert b.days_held == len(reference)
    assert all(np.array_equal(b._days[d], reference[d]) for d in reference)
