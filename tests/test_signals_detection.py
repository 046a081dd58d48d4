"""Detection against ground truth on simulated days (seeds not used for tuning):
event-level precision and recall, exact live announcement latency, exertion labelled
physical. The simulator's own ground truth is checked to be physiologically real."""

from __future__ import annotations

import numpy as np
import pytest

from attune.signals.batch import analysis_run
from attune.signals.events import EpisodeAnnounced, State
from attune.signals.features import hrv_window
from attune.signals.pipeline import Analyzer
from attune.signals.simulate import (
    PersonProfile,
    day_simulate,
    days_simulate,
    morning_ms,
)

START = morning_ms("2026-03-02")
DAY2 = START + 86_400_000
SEEDS = (11, 12)  # the thresholds were tuned on seeds 1-6


@pytest.fixture(scope="module")
def days():
    out = []
    for seed in SEEDS:
        sim = days_simulate(START, 2, seed=seed)  # day 1 calibrates, day 2 is scored
        out.append((sim, analysis_run(sim.epoch_ms, sim.rr_ms, sim.segment_id, sim.flags)))
    return out


def _overlaps(a0, a1, b0, b1) -> bool:
    return a0 <= b1 and b0 <= a1


def test_precision_and_recall_on_simulated_days(days):
    tp = fp = fn = 0
    for sim, result in days:
        truth = [e for e in sim.activations() if e.onset_ms >= DAY2]
        found = [e for e in result.episodes if e.onset_ms >= DAY2]
        # a detection is right if it overlaps an activation (plateau + 1 min of recovery)
        hit = [any(_overlaps(f.onset_ms, f.end_ms, t.onset_ms, t.plateau_end_ms + 60_000) for t in truth) for f in found]
        caught = [any(_overlaps(f.onset_ms, f.end_ms, t.onset_ms, t.plateau_end_ms + 60_000) for f in found) for t in truth]
        tp += sum(hit)
        fp += len(hit) - sum(hit)
        fn += len(caught) - sum(caught)
        print(f"seed: {len(truth)} activations, {len(found)} episodes, {sum(hit)} right, "
              f"missed {[(t.delta_hr_bpm, t.rmssd_factor) for t, c in zip(truth, caught, strict=True) if not c]}")
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"event-level precision {precision:.3f}, recall {recall:.3f} ({tp} TP, {fp} FP, {fn} FN)")
    assert precision >= 0.9
    assert recall >= 0.9


def test_announcement_latency_streaming(days):
    # Results do not depend on chunking, so history goes in one push and only the minutes
    # around each onset are streamed packet by packet: the announcement's arrival time is
    # the time of the last beat pushed when it came out.
    latencies = []
    for sim, _ in days:
        a = Analyzer()
        i, n = 0, len(sim)
        for x in [t for t in sim.activations() if t.onset_ms >= DAY2]:
            j = int(np.searchsorted(sim.epoch_ms, x.onset_ms - 300_000))
            if j > i:
                a.push(sim.epoch_ms[i:j], sim.rr_ms[i:j], sim.segment_id[i:j], sim.flags[i:j])
                i = j
            got = None
            while i < n and sim.epoch_ms[i] < x.onset_ms + 240_000 and got is None:
                k = 1 if sim.rr_ms[i] > 650 else 2  # packets of 1-2 RR values, as straps send
                for e in a.push(sim.epoch_ms[i : i + k], sim.rr_ms[i : i + k], sim.segment_id[i : i + k],
                                sim.flags[i : i + k]):
                    if isinstance(e, EpisodeAnnounced) and e.episode.onset_ms <= x.plateau_end_ms:
                        got = (int(sim.epoch_ms[min(i + k, n) - 1]) - x.onset_ms) / 1000
                i += k
            if got is not None:
                latencies.append(got)
    q25, median, q75 = np.percentile(latencies, [25, 50, 75])
    print(f"onset-to-announcement latency: median {median:.1f} s (IQR {q25:.1f}-{q75:.1f} s, n={len(latencies)})")
    assert len(latencies) >= 14
    assert median < 60


def test_exertion_is_physical_not_an_episode(days):
    for sim, result in days:
        ticks = {t.epoch_ms: t.state for t in result.ticks}
        for bout in (e for e in sim.exertions() if e.onset_ms >= DAY2):
            during = [s for t, s in ticks.items() if bout.onset_ms + 120_000 <= t <= bout.plateau_end_ms]
            share = during.count(State.PHYSICAL) / len(during)
            print(f"exertion +{bout.delta_hr_bpm:.0f} bpm, {(bout.plateau_end_ms - bout.onset_ms) / 60000:.0f} min: "
                  f"{share:.0%} physical")
            assert share >= 0.9
            assert not [e for e in result.episodes
                        if _overlaps(e.onset_ms, e.end_ms, bout.onset_ms, bout.plateau_end_ms + 300_000)]


def test_simulator_ground_truth_is_physiological():
    person = PersonProfile(resting_hr_bpm=62, rmssd_ms=45)
    sim = day_simulate(START, 12 * 3600, seed=5, person=person, n_activations=10, n_exertions=1, n_gaps=0,
                       artifact_rate=0.0)
    ep, rr = sim.epoch_ms, sim.rr_ms
    busy = np.zeros(rr.size, dtype=bool)
    for e in sim.events:
        busy |= (ep >= e.onset_ms - 60_000) & (ep <= e.end_ms)
    quiet = [hrv_window(rr[s : s + 70]) for s in range(0, rr.size - 70, 70) if not busy[s : s + 70].any()]
    assert np.median([w["rmssd_ms"] for w in quiet]) == pytest.approx(45, rel=0.2)
    assert 55 < np.median([w["hr_bpm"] for w in quiet]) < 70
    d_hr, ratio = [], []
    for e in sim.activations():
        before = (ep > e.onset_ms - 240_000) & (ep < e.onset_ms - 30_000)  # events are >= 20 min apart
        during = (ep > e.onset_ms + 40_000) & (ep < e.plateau_end_ms)
        w0, w1 = hrv_window(rr[before]), hrv_window(rr[during])
        d_hr.append(w1["hr_bpm"] - w0["hr_bpm"] - e.delta_hr_bpm)
        ratio.append(w1["rmssd_ms"] / w0["rmssd_ms"] - e.rmssd_factor)
    # the slow drift moves a 4-minute reference by ~2 bpm: compare on average
    print(f"activations: measured minus specified ΔHR {np.mean(d_hr):+.1f} bpm, RMSSD ratio {np.mean(ratio):+.2f}")
    assert len(d_hr) >= 8
    assert abs(np.mean(d_hr)) < 2.0 and np.max(np.abs(d_hr)) < 7
    assert abs(np.mean(ratio)) < 0.1 and np.max(np.abs(ratio)) < 0.3
