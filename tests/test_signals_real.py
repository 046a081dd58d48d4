"""Real recordings: labelled conditions (ECG reference), exercise, and 24 h Holter files
analysed end to end."""

from __future__ import annotations

from collections import Counter
from datetime import UTC

import numpy as np
import pandas as pd
import pytest

from attune.signals.batch import analysis_file
from attune.signals.events import State

CONDITIONS = ("sitting", "arithmetic", "recovery", "standing", "breathing", "neurotask", "walking", "biking")


@pytest.fixture(scope="module")
def p37(request):
    shared_data = request.getfixturevalue("shared_data")
    folder = shared_data / "labeled_conditions_p37"
    result, beats = analysis_file(folder / "vu_ams_ecg_rr_labeled.csv", tz=UTC)
    events = pd.read_csv(folder / "events_with_epoch_ms.csv").pivot(index="conditions", columns="datapoint",
                                                                     values="epoch_ms")
    return result, events, beats


def _during(ticks, start, end, skip_ms=60_000):
    # skip the first minute of a condition: its 60 s windows still hold the one before
    return [t for t in ticks if start + skip_ms <= t.epoch_ms <= end]


def test_labelled_conditions_report(p37):
    """Per condition, the ticks report the heart rate the ECG-derived beats give, and the
    conditions differ as physiology says they should; the one episode is at standing up."""
    result, events, beats = p37

    def med(xs: list[float]) -> float:
        return float(np.median(xs)) if xs else float("nan")

    print(f"\n{'condition':11s} {'ticks':>5s} {'HR':>6s} {'beatsHR':>7s} {'lnRMSSD':>7s} {'score':>6s}  states")
    hr, ln = {}, {}
    for c in CONDITIONS:
        start, end = events.loc[c, "start"], events.loc[c, "end"]
        ticks = _during(result.ticks, start, end)
        valid = [t for t in ticks if t.score is not None]
        hr[c], ln[c] = med([t.hr_bpm for t in valid]), med([t.ln_rmssd for t in valid])
        # the reference: heart rate straight from the clean beats the ticks' 60 s windows cover
        inside = (beats.epoch_ms >= start) & (beats.epoch_ms <= end) & (beats.flags == 0)
        beats_hr = 60_000 / float(np.median(beats.rr_ms[inside]))
        print(f"{c:11s} {len(ticks):5d} {hr[c]:6.1f} {beats_hr:7.1f} {ln[c]:7.2f} "
              f"{med([t.score for t in valid]):6.2f}  {dict(Counter(t.state for t in ticks).most_common())}")
        assert len(ticks) >= 20 and len(valid) >= len(ticks) / 2, c  # ~2 min of 5 s ticks, mostly valid
        assert np.isfinite([hr[c], ln[c]]).all(), c
        assert abs(hr[c] - beats_hr) <= 0.03 * beats_hr, (c, hr[c], beats_hr)
    # posture and exertion raise heart rate and lower vagal HRV; slow breathing raises it
    assert hr["sitting"] < hr["standing"] < hr["walking"] < hr["biking"]
    assert ln["sitting"] > ln["standing"] > ln["biking"] and ln["walking"] > ln["biking"]
    assert ln["breathing"] > ln["sitting"]
    located = []
    for ep in result.episodes:
        inside = [c for c in CONDITIONS if events.loc[c, "start"] - 60_000 <= ep.onset_ms <= events.loc[c, "end"]]
        print(f"episode at {inside or 'a transition'}: peak {ep.peak_score:.1f}, ΔHR {ep.delta_hr_bpm:+.1f} bpm, "
              f"ΔlnRMSSD {ep.delta_ln_rmssd:+.2f}, {ep.duration_s:.0f} s")
        assert ep.delta_hr_bpm > 0 and ep.delta_ln_rmssd < 0  # an activation: HR up, HRV down
        located += inside
    assert located == ["standing"]


@pytest.mark.parametrize("condition", ["walking", "biking"])
def test_walking_and_biking_are_physical(p37, condition):
    result, events, _ = p37
    start, end = events.loc[condition, "start"], events.loc[condition, "end"]
    ticks = [t for t in _during(result.ticks, start, end) if t.state != State.UNKNOWN]
    states = Counter(t.state for t in ticks)
    assert states[State.PHYSICAL] / len(ticks) >= 0.6, states
    # ... and exertion never prompts a tag, nor is it reported as an episode
    assert not [e for e in result.episodes if start - 60_000 <= e.onset_ms <= end]
    assert not [e for e in result.discarded if start - 60_000 <= e.onset_ms <= end]


@pytest.mark.parametrize("condition", ["sitting", "recovery", "breathing", "neurotask"])
def test_quiet_conditions_are_settled(p37, condition):
    result, events, _ = p37
    ticks = [t for t in _during(result.ticks, events.loc[condition, "start"], events.loc[condition, "end"])
             if t.state != State.UNKNOWN]
    assert Counter(t.state for t in ticks)[State.SETTLED] / len(ticks) >= 0.8


def test_exercise_recording_is_mostly_physical(shared_data):
    result, beats = analysis_file(shared_data / "polar_h10_exercise/FatMaxOptimiser.20210606_161059.rr.csv", tz=UTC)
    known = [t for t in result.ticks if t.state != State.UNKNOWN]
    states = Counter(t.state for t in known)
    print(f"FatMaxxer walk/run, {len(beats.rr_ms)} beats in {len(set(beats.segment_id.tolist()))} segments: "
          f"{dict(states.most_common())}, {len(result.episodes)} episodes")
    assert states[State.PHYSICAL] / len(known) >= 0.5
    assert len(result.episodes) <= 3


@pytest.mark.parametrize("name", [
    "nsr2db_nsr001_rr_secs.txt", "nsr2db_nsr002_rr_secs.txt", "nsr2db_nsr003_rr_secs.txt",
    "nsr2db_nsr004_rr_secs.txt", "chf2db_chf201_rr_secs.txt", "rr_healthy_subjects_000_ms.txt",
    "rr_healthy_subjects_003_ms.txt",
])
def test_24h_holter_end_to_end(shared_data, name):
    result, beats = analysis_file(shared_data / "physionet_24h" / name)
    span_s = (beats.epoch_ms[-1] - beats.epoch_ms[0]) / 1000
    states = Counter(t.state for t in result.ticks)
    excluded = int((beats.flags != 0).sum())
    print(f"{name}: {len(beats.rr_ms)} beats over {span_s / 3600:.1f} h, {excluded} flagged at ingest, "
          f"{len(result.ticks)} ticks, {states[State.UNKNOWN] / len(result.ticks):.0%} unknown, "
          f"{len(result.episodes)} episodes")
    assert len(result.ticks) >= 0.95 * span_s / 5
    assert all(t.epoch_ms % 5000 == 0 for t in result.ticks[:100])
    scores = [t.score for t in result.ticks if t.score is not None]
    assert scores and np.all(np.isfinite(scores))
    for e in result.episodes:
        assert e.onset_ms <= e.peak_ms <= e.end_ms and 0 <= e.quality <= 1


def test_gap_in_holter_is_not_bridged(shared_data):
    # nsr003 has a 37 s gap: one RR of ~37 s, out of range, excluded, so no 60 s window
    # across it is valid and no successive difference spans it
    result, beats = analysis_file(shared_data / "physionet_24h/nsr2db_nsr003_rr_secs.txt")
    k = int(np.argmax(beats.rr_ms))
    assert beats.rr_ms[k] > 30_000 and beats.flags[k] != 0
    gap_end = beats.epoch_ms[k]
    across = [t for t in result.ticks if gap_end - 30_000 < t.epoch_ms <= gap_end + 5_000]
    assert across and all(t.state == State.UNKNOWN for t in across)


def test_frequent_ectopy_is_unknown_not_a_guess(shared_data):
    result, _ = analysis_file(shared_data / "polar_h10_ectopic/polar_h10_rr_only.csv", tz=UTC)
    assert result.ticks and all(t.state == State.UNKNOWN for t in result.ticks)
    assert max(t.artifact_fraction for t in result.ticks) > 0.25
