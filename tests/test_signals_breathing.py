"""Breathing rate, RSA amplitude and coherence (attune.signals.breathing): known
oscillations recovered, windows that do not allow them refused, the spectrum equal to
neurokit2's, live = batch, and the measures on real recordings (skipped without them)."""

from __future__ import annotations

import csv
import importlib.util
import inspect
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from attune.db import db_connect, db_transaction
from attune.signals.artifacts import BeatCleaner
from attune.signals.baseline import BaselineConfig
from attune.signals.batch import analysis_run
from attune.signals.breathing import (
    BreathingConfig,
    breath_rate_from_psd,
    breathing_compute,
    coherence_from_psd,
    hann_periodic,
    hr_psd,
    hr_resample_windows,
    hr_spectrum,
    signal_detrend_linear,
)
from attune.signals.events import Tick
from attune.signals.features import FeatureStream, TickFeatures
from attune.signals.pipeline import AnalysisConfig, Analyzer
from attune.signals.simulate import BreathingProfile, day_simulate, morning_ms, rr_with_rsa
from attune.signals.storage import events_write, ticks_read_since

T0_MS = 1_772_000_000_000  # a multiple of the 5 s tick
QUICK_CALIBRATION = AnalysisConfig(baseline=BaselineConfig(calibration_ticks=12, bin_full_ticks=6))


def _beats(rate_per_min: float, swing_bpm: float, minutes: float = 5.0, mean_hr: float = 62.0,
           noise_bpm: float = 0.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Beats whose heart rate oscillates at ``rate_per_min`` with a peak-to-trough swing
    ``swing_bpm`` (RSA): each beat's interval follows the HR at the time it starts."""
    rng = np.random.default_rng(seed)
    t, ends, rrs = 0.0, [], []
    while t < minutes * 60_000:
        hr = mean_hr + swing_bpm / 2 * np.sin(2 * np.pi * rate_per_min / 60 * t / 1000) + rng.normal(0, noise_bpm)
        rr = 60_000 / hr
        t += rr
        ends.append(t)
        rrs.append(rr)
    return T0_MS + np.round(ends).astype(np.int64), np.array(rrs)


def _ticks(end_ms: np.ndarray) -> np.ndarray:
    return np.arange((end_ms[0] // 5000 + 14) * 5000, end_ms[-1], 5000, dtype=np.int64)


@pytest.mark.parametrize("rate", [4.5, 5.0, 5.5, 6.0, 6.5, 10.0, 15.0])
def test_known_breathing_rate_swing_and_coherence_are_recovered(rate):
    end, rr = _beats(rate, swing_bpm=12.0)
    b = breathing_compute(_ticks(end), end, rr, np.zeros(rr.size))
    assert b.valid.all()
    assert np.abs(b.breath_rate_per_min - rate).max() < 0.25  # the target is 0.5
    # peak-valley of noisy beats: the 12 bpm swing plus ~2 noise sd; fewer beats per
    # cycle at 15/min (4 s cycles) catch the extremes less often
    assert np.median(b.rsa_bpm) == pytest.approx(12.0, abs=1.5)
    assert np.min(b.coherence) > 0.9


def test_rsa_grows_with_the_swing_and_random_hr_is_incoherent():
    small = breathing_compute(_ticks(_beats(6.0, 4.0)[0]), *_beats(6.0, 4.0), np.zeros(_beats(6.0, 4.0)[1].size))
    large = breathing_compute(_ticks(_beats(6.0, 20.0)[0]), *_beats(6.0, 20.0), np.zeros(_beats(6.0, 20.0)[1].size))
    assert np.median(large.rsa_bpm) > 3 * np.median(small.rsa_bpm)
    end, rr = _beats(6.0, 0.0, noise_bpm=3.0)  # no oscillation, only beat-to-beat noise
    noise = breathing_compute(_ticks(end), end, rr, np.zeros(rr.size))
    assert noise.valid.all() and np.median(noise.coherence) < 0.3


def test_windows_that_do_not_allow_the_measures_give_nan():
    end, rr = _beats(6.0, 12.0, minutes=6)
    ticks = _ticks(end)
    cfg = BreathingConfig()
    # a 5 s hole in the beats (a dropout): every window that contains it is refused
    hole = (end > T0_MS + 180_000) & (end <= T0_MS + 185_000)
    b = breathing_compute(ticks, end[~hole], rr[~hole], np.zeros(int((~hole).sum())))
    touching = (ticks > T0_MS + 180_000) & (ticks - cfg.window_ms < T0_MS + 185_000)  # the hole in the window
    assert not b.valid[touching].any() and np.isnan(b.coherence[touching]).all()
    assert np.isnan(b.rsa_bpm[touching]).all() and np.isnan(b.breath_rate_per_min[touching]).all()
    assert b.valid[ticks > T0_MS + 185_000 + cfg.reach_ms].all()
    # too many detected artifacts in the window
    art = np.zeros(rr.size)
    art[(end > T0_MS + 100_000) & (end < T0_MS + 130_000)] = 1
    b = breathing_compute(ticks, end, rr, art)
    assert not b.valid[(ticks > T0_MS + 130_000) & (ticks < T0_MS + 160_000)].any()
    # the first minute: not 64 s of beats yet
    early = np.arange(T0_MS + 5_000, T0_MS + 65_000, 5_000, dtype=np.int64)
    assert not breathing_compute(early, end, rr, np.zeros(rr.size)).valid.any()
    # no beats at all
    assert not breathing_compute(ticks, end[:0], rr[:0], rr[:0]).valid.any()


def _real_windows(shared_data: Path, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Detrended 4 Hz windows of the p37 ECG (sitting through paced breathing)."""
    with open(shared_data / "labeled_conditions_p37/vu_ams_ecg_rr_labeled.csv", newline="") as f:
        rows = [(int(r["epoch_ms"]), float(r["rr_ms"])) for r in csv.DictReader(f)]
    epoch, rr = (np.array(c) for c in zip(*rows, strict=True))
    cleaner = BeatCleaner()
    nn = [cleaner.push(epoch, rr, np.ones(rr.size, dtype=np.int64), np.zeros(rr.size, dtype=np.int64)),
          cleaner.finish()]
    end = np.concatenate([b.end_ms for b in nn])
    nn_ms = np.concatenate([b.nn_ms for b in nn])
    ticks = np.linspace(end[0] + 70_000, end[-1], n).astype(np.int64) // 5000 * 5000
    last = np.searchsorted(end, ticks, side="right") - 1
    detrended = signal_detrend_linear(hr_resample_windows(ticks, end, 60_000 / nn_ms, last))
    return ticks, detrended


def test_spectrum_equals_neurokit2_signal_psd_on_real_windows(shared_data):
    nk = pytest.importorskip("neurokit2")
    import scipy.signal

    cfg = BreathingConfig()
    assert {"sampling_rate", "method", "normalize", "min_frequency"} <= set(inspect.signature(nk.signal_psd).parameters)
    window = hann_periodic(cfg.n_samples)
    assert np.allclose(window, scipy.signal.get_window("hann", cfg.n_samples), rtol=0, atol=1e-15)
    _, detrended = _real_windows(shared_data)
    frequency, power = hr_psd(hr_spectrum(detrended, cfg), cfg)
    nk_power = []
    for row in detrended:
        psd = nk.signal_psd(window * row, sampling_rate=cfg.sampling_rate_hz, method="fft", n=cfg.n_fft,
                            normalize=False, min_frequency=0)
        f_nk = psd["Frequency"].to_numpy()[: frequency.size]
        assert np.array_equal(f_nk, frequency)
        nk_power.append(psd["Power"].to_numpy()[: frequency.size])
    nk_power = np.array(nk_power)
    # the same periodogram, to rounding (ours applies the taper in the frequency domain)
    assert np.abs(power - nk_power).max() <= 1e-9 * nk_power.max()
    # and the same measures from either
    assert np.allclose(coherence_from_psd(frequency, power, cfg), coherence_from_psd(frequency, nk_power, cfg),
                       rtol=1e-9, atol=0)
    assert np.allclose(breath_rate_from_psd(frequency, power), breath_rate_from_psd(frequency, nk_power),
                       rtol=1e-9, atol=0, equal_nan=True)


@pytest.mark.parametrize("source", ["paced", "simulated day"])
def test_breathing_is_the_same_however_the_beats_are_pushed(source):
    if source == "paced":
        end, rr = _beats(6.0, 12.0, minutes=8)
        end = np.concatenate([end, end[-1] + 30_000 + (end - end[0])])  # a second run after a 30 s dropout
        rr = np.concatenate([rr, rr])
        seg = np.ones(end.size, dtype=np.int64)
        flags = np.zeros(end.size, dtype=np.int64)
    else:  # artifacts, gaps, activations
        sim = day_simulate(morning_ms("2026-03-02"), 0.4 * 3600, seed=21, n_activations=1, n_exertions=0,
                           n_gaps=1, artifact_rate=0.01)
        end, rr, seg, flags = sim.epoch_ms, sim.rr_ms, sim.segment_id, sim.flags

    def run(step: int) -> TickFeatures:
        cleaner, stream = BeatCleaner(), FeatureStream()
        parts = [stream.push(cleaner.push(end[i : i + step], rr[i : i + step], seg[i : i + step], flags[i : i + step]))
                 for i in range(0, end.size, step)]
        parts.append(stream.push(cleaner.finish()))
        return TickFeatures.concat(parts)

    whole, beat_by_beat, packets = run(end.size), run(1), run(7)
    assert np.isfinite(whole.coherence).sum() > 0.7 * len(whole)
    for other in (beat_by_beat, packets):
        for name in ("epoch_ms", "breath_rate_per_min", "rsa_bpm", "coherence"):
            assert np.array_equal(getattr(whole, name), getattr(other, name), equal_nan=True), name


# -- real recordings -----------------------------------------------------------------------------
def _validation():
    """bench/validate_breathing.py: the same functions print the table in docs/breathing.md."""
    path = Path(__file__).resolve().parent.parent / "bench/validate_breathing.py"
    spec = importlib.util.spec_from_file_location("validate_breathing", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


MIN_VALID_TICKS = 10  # a condition's median over fewer windows is not a measure


@pytest.mark.parametrize("device", ["vu_ams_ecg", "heartmath", "kyto", "rhythm", "empatica"])
def test_p37_paced_breathing_beats_sitting_and_arithmetic(shared_data, device):
    v = _validation()
    conditions = v.p37_conditions(shared_data)
    ticks = v.p37_ticks(shared_data, device)
    breathing = ticks.during(*conditions["breathing"])
    assert breathing.n_valid >= MIN_VALID_TICKS
    # the breathing rate the heart shows is the pacer's, tick by tick
    rate = breathing.rate_per_min[np.isfinite(breathing.rate_per_min)]
    assert abs(np.median(rate) - v.P37_PACING_PER_MIN) < 0.5
    assert np.mean(np.abs(rate - v.P37_PACING_PER_MIN) < 0.5) >= 0.9
    compared = 0
    for other in ("sitting", "arithmetic"):
        s = ticks.during(*conditions[other])
        if s.n_valid < MIN_VALID_TICKS:  # the optical devices lose most of the arithmetic task
            continue
        compared += 1
        assert breathing.median("rsa_bpm") > s.median("rsa_bpm"), other
        assert breathing.median("coherence") > s.median("coherence"), other
    assert compared >= (2 if device == "vu_ams_ecg" else 1)


def test_meditation_raises_coherence_for_most_people(shared_data):
    v = _validation()
    up = []
    for person in range(1, 9):
        pre, med = v.meditation_ticks(shared_data, person, "pre"), v.meditation_ticks(shared_data, person, "med")
        assert pre.n_valid > 300 and med.n_valid > 300
        up.append(med.median("coherence") > pre.median("coherence"))
    # the data's README: low-frequency HR oscillation rises for most people, not for C7
    assert sum(up) >= 6 and not up[6]


def test_slow_breathing_recording_is_coherent_and_slow(shared_data):
    s = _validation().slow_breathing_ticks(shared_data)
    assert s.n_valid > 90
    assert 3.0 < s.median("rate_per_min") < 5.0  # README: ~3.8/min, large swings
    assert s.median("coherence") > 0.7 and s.median("rsa_bpm") > 10


# -- output: attune analyze, the tick table ---------------------------------------------------------
def _attune(*args: str) -> str:
    cmd = [sys.executable, "-m", "attune.cli", *args]
    return subprocess.run(cmd, capture_output=True, check=True, text=True).stdout


def test_analyze_json_and_csv_carry_the_breathing_measures(shared_data):
    path = shared_data / "labeled_conditions_p37/vu_ams_ecg_rr_labeled.csv"
    ticks = json.loads(_attune("analyze", str(path), "--format", "json", "--tz", "UTC", "--quiet"))["ticks"]
    keys = ("breath_rate_per_min", "rsa_bpm", "coherence")
    assert all(set(keys) <= t.keys() for t in ticks)
    assert ticks[0]["coherence"] is None  # the first tick has no 64 s of beats behind it
    start, end = (int(r["epoch_ms"]) for r in csv.DictReader(
        open(shared_data / "labeled_conditions_p37/events_with_epoch_ms.csv")) if r["conditions"] == "breathing")
    paced = [t for t in ticks if t["epoch_ms"] - 64_000 >= start and t["epoch_ms"] <= end]
    assert len(paced) == 24 and all(t["coherence"] is not None and 0 <= t["coherence"] <= 1 for t in paced)
    assert np.median([t["breath_rate_per_min"] for t in paced]) == pytest.approx(6.0, abs=0.5)
    rows = list(csv.DictReader(io.StringIO(_attune("analyze", str(path), "--format", "csv", "--tz", "UTC", "--quiet"))))
    assert len(rows) == len(ticks)
    for row, tick in zip(rows, ticks, strict=True):
        for key in keys:
            assert (row[key] == "") == (tick[key] is None)
            if tick[key] is not None:
                assert float(row[key]) == pytest.approx(tick[key], abs=0.006)


def test_tick_table_stores_and_reads_back_the_breathing_measures(tmp_path):
    end, rr = _beats(6.0, 12.0, minutes=4)
    analyzer = Analyzer(QUICK_CALIBRATION)
    events = analyzer.push(end, rr, np.ones(end.size, dtype=np.int64), np.zeros(end.size, dtype=np.int64))
    events += analyzer.finish()
    ticks = [e for e in events if isinstance(e, Tick)]
    assert sum(t.coherence is not None for t in ticks) > 20
    conn = db_connect(tmp_path / "a.sqlite")
    with db_transaction(conn):
        events_write(conn, events)
    stored = conn.execute("SELECT epoch_ms, breath_rate_per_min, rsa_bpm, coherence FROM tick ORDER BY epoch_ms").fetchall()
    assert [tuple(r) for r in stored] == [(t.epoch_ms, t.breath_rate_per_min, t.rsa_bpm, t.coherence) for t in ticks]
    assert ticks_read_since(conn, 0, limit=len(ticks)) == ticks  # as `attune serve` reads them back
    conn.close()


# -- the simulated strap breathes ---------------------------------------------------------------------
def _measures(sim) -> tuple[np.ndarray, ...]:
    result = analysis_run(sim.epoch_ms, sim.rr_ms, sim.segment_id, sim.flags)

    def col(name: str) -> np.ndarray:
        return np.array([np.nan if getattr(t, name) is None else getattr(t, name) for t in result.ticks])

    return (np.array([t.epoch_ms for t in result.ticks]), col("breath_rate_per_min"), col("rsa_bpm"),
            col("coherence"))


def test_simulated_rsa_follows_the_pacer_and_resonance_is_findable():
    protocol = (6.5, 6.0, 5.5, 5.0, 4.5)  # the resonance-frequency protocol, 3 min each
    step_s = 180.0

    def pacer(t_s: np.ndarray) -> np.ndarray:
        return np.asarray(protocol)[np.minimum((t_s // step_s).astype(int), len(protocol) - 1)]

    start = T0_MS
    sim = rr_with_rsa(start, step_s * len(protocol), pacer, seed=5)
    t, rate, rsa, coherence = _measures(sim)
    window = BreathingConfig().window_ms
    swing = []
    for i, paced in enumerate(protocol):
        # (the recording's first window lacks a beat before its start: +5 s)
        inside = (t - window >= start + i * step_s * 1000 + 5000) & (t <= start + (i + 1) * step_s * 1000)
        assert inside.sum() >= 20 and np.isfinite(rate[inside]).all()
        assert np.abs(rate[inside] - paced).max() < 0.25
        assert np.median(coherence[inside]) > 0.9
        swing.append(np.median(rsa[inside]))
    # the finder's rule (largest RSA) picks the simulated person's resonance
    assert protocol[int(np.argmax(swing))] == BreathingProfile().resonance_per_min
    # and breathing fast, far from resonance, shows a small swing
    _, fast_rate, fast_rsa, _ = _measures(rr_with_rsa(start, 300, 15.0, seed=6))
    assert np.nanmedian(fast_rate) == pytest.approx(15.0, abs=0.25)
    assert np.nanmedian(fast_rsa) < 0.4 * max(swing)
