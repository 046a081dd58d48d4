"""Beat times reconstructed from RR sums and arrival stamps.

The FatMaxxer log (Polar H10 on an Android phone, 102 min of walking/running) stamps the
first RR of each notification with the phone's arrival time and the following ones with
``+RR`` — so the notifications, their arrival times and their RR values can be recovered
exactly and replayed through the same clock the live recorder uses.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from attune.ingest.timestamps import BeatClock, ClockConfig

MS = 1_000_000  # ns per ms


def _fatmaxxer_packets(shared_data: Path) -> list[tuple[int, list[float]]]:
    path = next((shared_data / "polar_h10_exercise").glob("*.rr.csv"))
    rows = np.genfromtxt(path, delimiter=",", skip_header=1, usecols=(0, 1), dtype=np.int64)
    rows = rows[~np.any(rows < 0, axis=1)]
    t, rr = rows[:, 0], rows[:, 1]
    # a row continues the previous notification when it is stamped exactly one RR later
    starts = np.r_[0, np.nonzero(t[1:] - t[:-1] != rr[:-1])[0] + 1]
    ends = np.r_[starts[1:], len(t)]
    return [(int(t[s]), [float(v) for v in rr[s:e]]) for s, e in zip(starts, ends, strict=True)]


def test_fatmaxxer_beats_stay_within_bounds(shared_data: Path) -> None:
    packets = _fatmaxxer_packets(shared_data)
    assert len(packets) > 6000 and sum(len(p[1]) for p in packets) == 11463
    config = ClockConfig()
    clock = BeatClock(config)
    lags, segments, times, rr_all, seg_of = [], [], [], [], []
    for arrival_ms, rr in packets:
        stamped = clock.stamp(arrival_ms * MS, arrival_ms * MS, rr)
        if stamped.new_segment:
            segments.append(stamped.new_segment)
        newest = stamped.beat_mono_ms[-1]
        lags.append(arrival_ms - newest)
        times.extend(stamped.beat_mono_ms)
        rr_all.extend(rr)
        seg_of.extend([len(segments)] * len(rr))
    lags_a, times_a, rr_a, seg_a = map(np.asarray, (lags, times, rr_all, seg_of))

    # 1. the newest beat of each notification is never after its arrival ...
    assert lags_a.min() >= -1e-3
    # ... and never more than the lag bound before it
    assert lags_a.max() <= config.max_lag_ms
    # the phone's delivery jitter is large (up to ~2 s); the median lag is under a second
    assert np.median(lags_a) < 1000

    # 2. within a segment beats are in order and one RR apart, except where the anchor
    #    moved, and each move is bounded
    same = seg_a[1:] == seg_a[:-1]
    spacing_error = (np.diff(times_a) - rr_a[1:])[same]
    assert np.all(np.diff(times_a)[same] > 0)
    moved = np.abs(spacing_error) > 1e-6
    assert np.abs(spacing_error).max() <= config.max_lead_ms
    assert moved.mean() < 0.01  # fewer than 1 % of beats sit next to an anchor move

    # 3. the recording stays essentially one chain: the few breaks are explained
    assert segments[0] == "start"
    assert len(segments) <= 5, segments
    print(f"\nFatMaxxer replay: {len(packets)} notifications, {len(rr_all)} beats, "
          f"segments {segments}, lag p50 {np.median(lags_a):.0f} ms, "
          f"p99 {np.percentile(lags_a, 99):.0f} ms, max {lags_a.max():.0f} ms, "
          f"anchor moves {int(moved.sum())}")


def test_exact_chain_with_constant_latency() -> None:
    clock = BeatClock()
    rr = [800.0, 812.5, 790.0, 805.0] * 30
    t_true = np.cumsum(rr) + 10_000.0
    for i, beat_t in enumerate(t_true):
        arrival = beat_t + 120.0  # 120 ms delivery latency, constant
        stamped = clock.stamp(int(arrival * MS), int((arrival + 1e12) * MS), [rr[i]])
        # constant latency: the first anchor is 120 ms late and stays so (we cannot know
        # latency from arrivals alone); spacing is exact
        assert stamped.beat_mono_ms[0] == pytest.approx(beat_t + 120.0)
        assert stamped.beat_epoch_ms[0] == math.floor(beat_t + 120.0 + 1e12)


def test_early_arrival_pulls_anchor_back_and_missing_beats_break_chain() -> None:
    clock = BeatClock()
    s = clock.stamp(10_000 * MS, 10_000 * MS, [1000.0])
    assert s.new_segment == "start" and s.beat_mono_ms == (10_000.0,)
    # next beat 1000 ms later but it arrives 200 ms "early": the anchor moves back
    s = clock.stamp(10_800 * MS, 10_800 * MS, [1000.0])
    assert s.new_segment is None and s.anchor_shift_ms == pytest.approx(-200.0)
    assert s.beat_mono_ms == (10_800.0,)
    # 8 s pass with a single 1 s RR reported: beats are missing, a new segment starts
    s = clock.stamp(18_800 * MS, 18_800 * MS, [1000.0])
    assert s.new_segment == "lag" and s.beat_mono_ms == (18_800.0,)


def test_wall_clock_step_starts_segment_without_bending_spacing() -> None:
    clock = BeatClock()
    clock.stamp(1_000 * MS, 5_000_000 * MS, [1000.0])
    s = clock.stamp(2_000 * MS, 5_001_000 * MS, [1000.0])
    assert s.new_segment is None and s.beat_epoch_ms == (5_001_000,)
    # NTP steps the wall clock back an hour: a new segment, on the new offset
    s = clock.stamp(3_000 * MS, (5_002_000 - 3_600_000) * MS, [1000.0])
    assert s.new_segment == "clock"
    assert s.beat_epoch_ms == (5_002_000 - 3_600_000,)


def test_slow_strap_clock_is_corrected_forward() -> None:
    """A strap whose clock runs 0.1 % slow: RR sums fall behind arrivals; the rolling
    floor moves the anchor forward so lag stays bounded instead of growing all day."""
    clock = BeatClock()
    lags = []
    t = 0.0
    for _ in range(4 * 3600):  # 4 h at 60 bpm
        t += 1000.0
        reported = 1000.0 * 0.999
        s = clock.stamp(int((t + 50) * MS), int((t + 50) * MS), [reported])
        assert s.new_segment in (None, "start")
        lags.append(t + 50 - s.beat_mono_ms[-1])
    assert max(lags) <= ClockConfig().floor_slack_ms + 100  # no drift beyond the floor
