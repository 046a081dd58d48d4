"""Tick features: equal to neurokit2's hrv_time on the same windows, agree with pyhrv's
independent report, validity rules, and the wall-clock tick grid."""

from __future__ import annotations

import neurokit2 as nk  # a test dependency: imported, never skipped (a skip would hide a broken install)
import numpy as np
import pandas as pd
import pytest

from attune.signals.artifacts import BeatCleaner, NNBatch
from attune.signals.features import (
    FeatureConfig,
    FeatureStream,
    features_compute,
    hrv_window,
)

START_MS = 1_700_000_000_000


def _clean(rr: np.ndarray, epoch: np.ndarray | None = None) -> NNBatch:
    epoch = (START_MS + np.cumsum(rr)).astype(np.int64) if epoch is None else epoch
    cl = BeatCleaner()
    parts = [cl.push(epoch, rr, np.ones(rr.size, dtype=np.int64), np.zeros(rr.size, dtype=np.int64)), cl.finish()]
    cat = {f: np.concatenate([getattr(p, f) for p in parts]) for f in ("end_ms", "nn_ms", "run", "corrected", "n_artifacts")}
    return NNBatch(cat["end_ms"], cat["nn_ms"], cat["run"], cat["corrected"], cat["n_artifacts"], epoch, int(epoch[-1]))


def test_tick_values_equal_neurokit_hrv_time(shared_data):
    d = pd.read_csv(shared_data / "labeled_conditions_p37/vu_ams_ecg_rr_labeled.csv")
    nn = _clean(d.rr_ms.to_numpy(float), d.epoch_ms.to_numpy(np.int64))
    ticks = np.arange(-(-int(nn.end_ms[0]) // 5000) * 5000 + 60_000, int(nn.end_ms[-1]), 5000)
    f = features_compute(ticks, nn.end_ms, nn.nn_ms, nn.run, nn.corrected, nn.n_artifacts)
    compared = with_corrections = 0
    for i in np.flatnonzero(f.valid)[::5]:
        w = (nn.end_ms > ticks[i] - 60_000) & (nn.end_ms <= ticks[i])
        window, corrected = nn.nn_ms[w], nn.corrected[w]
        if corrected.any():
            # interpolated intervals stay out of RMSSD: check against the reference code
            ref = hrv_window(window, corrected, nn.run[w])
            assert f.rmssd_ms[i] == pytest.approx(ref["rmssd_ms"], rel=1e-12)
            with_corrections += 1
            continue
        theirs = nk.hrv_time({"RRI": window}).iloc[0]
        assert f.hr_bpm[i] == pytest.approx(60_000 / theirs["HRV_MeanNN"], rel=1e-6)
        assert f.rmssd_ms[i] == pytest.approx(theirs["HRV_RMSSD"], rel=1e-6)
        assert f.ln_rmssd[i] == pytest.approx(np.log(theirs["HRV_RMSSD"]), rel=1e-6)
        assert f.sdnn_ms[i] == pytest.approx(theirs["HRV_SDNN"], rel=1e-6)
        compared += 1
    print(f"{compared} windows equal to neurokit2.hrv_time, {with_corrections} with corrections checked")
    assert compared >= 50


def test_whole_series_agrees_with_pyhrv_report(shared_data):
    # pyhrv 0.5 report for its own sample (4684 NN, 60 min), rounded to 3 decimals
    nni = pd.read_csv(shared_data / "pyhrv_reference/SampleNNISeriesLong_ms.csv")["nni_ms"].to_numpy(float)
    ours = hrv_window(nni)
    assert ours["mean_nn_ms"] == pytest.approx(768.438, abs=5e-4)
    assert ours["rmssd_ms"] == pytest.approx(60.523, abs=5e-4)
    # SDNN with ddof=1 (neurokit2 and pyhrv); the population SD would be 85.348
    assert ours["sdnn_ms"] == pytest.approx(85.357, abs=5e-4)
    assert np.std(nni) == pytest.approx(85.348, abs=5e-4)
    d = np.diff(nni)
    # SDSD: pyhrv takes the SD (ddof=1) of *absolute* successive differences (43.391);
    # the Task Force / neurokit2 SDSD is the SD of the signed differences (~= RMSSD)
    assert np.std(np.abs(d), ddof=1) == pytest.approx(43.391, abs=5e-4)
    assert np.std(d, ddof=1) == pytest.approx(ours["rmssd_ms"], rel=2e-4)
    # pNN50: pyhrv divides by the number of differences, neurokit2 by the number of
    # intervals (28.565 %)
    assert (np.abs(d) > 50).sum() / d.size * 100 == pytest.approx(28.571, abs=5e-4)


def test_cleaning_leaves_a_clean_series_nearly_untouched(shared_data):
    nni = pd.read_csv(shared_data / "pyhrv_reference/SampleNNISeriesLong_ms.csv")["nni_ms"].to_numpy(float)
    nn = _clean(nni)
    cleaned = hrv_window(nn.nn_ms, nn.corrected)
    print(f"pyhrv sample: {nn.corrected.mean():.1%} intervals corrected, RMSSD {cleaned['rmssd_ms']:.2f} "
          f"(raw 60.52), mean NN {cleaned['mean_nn_ms']:.2f} (raw 768.44)")
    assert cleaned["mean_nn_ms"] == pytest.approx(768.438, rel=2e-3)
    assert cleaned["rmssd_ms"] == pytest.approx(60.523, rel=0.15)


def _regular(n: int, rr: float = 800.0, jitter: float = 20.0, seed: int = 0) -> np.ndarray:
    return rr + np.random.default_rng(seed).normal(0, jitter, n)


def test_validity_needs_coverage():
    rr = _regular(400)
    end = (START_MS + np.cumsum(rr)).astype(np.int64)
    keep = (end < START_MS + 100_000) | (end > START_MS + 125_000)  # a 25 s hole
    run = np.where(end > START_MS + 125_000, 2, 1)
    t = np.array([START_MS + 95_000, START_MS + 140_000, START_MS + 200_000])
    f = features_compute(t, end[keep], rr[keep], run[keep], np.zeros(keep.sum(), bool), np.zeros(keep.sum(), int))
    assert f.valid.tolist() == [True, False, True]
    assert f.coverage[1] < 0.8 and np.isnan(f.hr_bpm[1]) and np.isnan(f.ln_rmssd[1])
    assert not np.isnan(f.hr_fast_bpm[1])  # its own 10 s window is covered


def test_validity_limits_artifacts():
    rr = _regular(200)
    end = (START_MS + np.cumsum(rr)).astype(np.int64)
    t = np.array([START_MS + 120_000])
    in_window = np.flatnonzero((end > t[0] - 60_000) & (end <= t[0]))
    for n_art, valid in ((3, True), (4, False)):  # ~75 intervals: 5 % is 3.75
        art = np.zeros(rr.size, dtype=int)
        art[in_window[:n_art * 10:10]] = 1
        f = features_compute(t, end, rr, np.ones(rr.size, int), art.astype(bool), art)
        assert bool(f.valid[0]) is valid, n_art
        assert f.artifact_fraction[0] == pytest.approx(n_art / in_window.size)


def test_rmssd_skips_pairs_across_runs_and_corrections():
    nn = np.array([800.0, 900.0, 700.0, 1000.0, 600.0])
    assert hrv_window(nn)["n_pairs"] == 4
    assert hrv_window(nn, run=np.array([1, 1, 2, 2, 2]))["n_pairs"] == 3
    only = hrv_window(nn, corrected=np.array([False, False, True, False, False]))
    assert only["n_pairs"] == 2
    assert only["rmssd_ms"] == pytest.approx(np.sqrt((100**2 + 400**2) / 2))


def test_tick_grid_is_wall_clock_and_skips_empty_windows():
    rr = _regular(300)
    epoch = START_MS + 1234 + np.cumsum(rr)
    epoch = np.r_[epoch, epoch[-1] + 600_000 + np.cumsum(rr)].astype(np.int64)  # 10 min strap off
    cl = BeatCleaner()
    stream = FeatureStream()
    seg = np.r_[np.ones(300, int), np.full(300, 2)]
    f = stream.push(cl.push(epoch, np.r_[rr, rr], seg, np.zeros(600, int)))
    f2 = stream.push(cl.finish())
    ticks = np.r_[f.epoch_ms, f2.epoch_ms]
    assert np.all(ticks % 5000 == 0)
    assert np.all(np.diff(ticks) >= 5000)
    assert ticks[0] == -(-int(epoch[0]) // 5000) * 5000
    gap = (ticks > epoch[299] + 60_000) & (ticks < epoch[300])
    assert not gap.any()  # no tick whose window holds no beat at all
    after_gap = ticks[(ticks >= epoch[300]) & (ticks < epoch[300] + 45_000)]
    assert after_gap.size > 0
    valid = np.r_[f.valid, f2.valid][np.isin(ticks, after_gap)]
    assert not valid.any()  # the first seconds after reconnecting: unknown, not a guess


def test_stream_gives_the_same_ticks_in_pieces(shared_data):
    d = pd.read_csv(shared_data / "labeled_conditions_p37/vu_ams_ecg_rr_labeled.csv")
    nn = _clean(d.rr_ms.to_numpy(float), d.epoch_ms.to_numpy(np.int64))
    whole = FeatureStream().push(nn)
    stream = FeatureStream()
    parts = []
    for k in range(0, len(nn), 37):
        sl = slice(k, k + 37)
        last = min(k + 37, len(nn)) - 1
        parts.append(stream.push(NNBatch(nn.end_ms[sl], nn.nn_ms[sl], nn.run[sl], nn.corrected[sl],
                                         nn.n_artifacts[sl], nn.raw_ms[sl], int(nn.end_ms[last]))))
    parts.append(stream.push(NNBatch.empty(int(nn.end_ms[-1]))))
    from attune.signals.features import TickFeatures

    pieces = TickFeatures.concat(parts)
    for name in ("epoch_ms", "hr_bpm", "hr_fast_bpm", "rmssd_ms", "sdnn_ms", "coverage", "valid"):
        np.testing.assert_array_equal(getattr(pieces, name), getattr(whole, name), err_msg=name)


def test_config_rejects_inconsistent_windows():
    with pytest.raises(ValueError):
        FeatureConfig(tick_ms=7000, window_ms=60_000)
