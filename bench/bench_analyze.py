"""Benchmark of the signal pipeline (a script, not a test).

1. Re-analysis of a 24 h Holter record (PhysioNet nsr2db nsr001, ~106k beats): our batch
   analysis against the naive approach — ``neurokit2.hrv_time`` on every 60 s window at
   the same 5 s cadence — in the same run, asserting the features are the same numbers.
2. Live: a simulated 24 h stream pushed in strap-sized packets; cost per tick (p50/p99
   per hour of the day) and memory (tracemalloc current per hour, and peak) — both must
   stay flat. Then the same stream with a 25 Hz accelerometer (issue 8: still, with a
   walking bounce during the simulated exertions) pushed in H10-sized frames of 36
   samples between the beat packets: per-tick cost with motion against without.

    python bench/bench_analyze.py [--data DIR] [--hours 24] [--naive-windows N]

``--naive-windows`` times the naive approach on N evenly spread windows and extrapolates
(default: all windows, which takes a minute or two).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

from attune.ingest.events import AccSamples
from attune.signals.artifacts import BeatCleaner
from attune.signals.batch import analysis_run
from attune.signals.events import Tick
from attune.signals.features import FeatureStream
from attune.signals.pipeline import Analyzer
from attune.signals.simulate import day_simulate, morning_ms

REPO = Path(__file__).resolve().parent.parent


def _holter(data: Path) -> tuple[np.ndarray, ...]:
    from attune.ingest.formats import rr_file_read

    rr = rr_file_read(data / "physionet_24h/nsr2db_nsr001_rr_secs.txt").rr_ms
    epoch = (946_684_800_000 + np.cumsum(rr)).astype(np.int64)
    flags = np.where((rr < 250) | (rr > 2500), 1, 0).astype(np.int64)
    return epoch, rr, np.ones(rr.size, dtype=np.int64), flags


def bench_reanalysis(data: Path, naive_windows: int | None) -> None:
    import neurokit2 as nk

    epoch, rr, seg, flags = _holter(data)
    print(f"== re-analysis: nsr001, {rr.size:,} beats, {(epoch[-1] - epoch[0]) / 3.6e6:.1f} h")
    analysis_run(epoch, rr, seg, flags)  # warm caches and imports
    runs = []
    for _ in range(3):
        gc.collect()
        t = time.perf_counter()
        result = analysis_run(epoch, rr, seg, flags)
        runs.append(time.perf_counter() - t)
    ours = min(runs)
    # the feature stage alone, for a like-for-like comparison with hrv_time
    cleaner = BeatCleaner()
    nn = [cleaner.push(epoch, rr, seg, flags), cleaner.finish()]
    t = time.perf_counter()
    stream = FeatureStream()
    feats = [stream.push(b) for b in nn]
    ours_features = time.perf_counter() - t
    end = np.concatenate([b.end_ms for b in nn])
    nn_ms = np.concatenate([b.nn_ms for b in nn])
    corrected = np.concatenate([b.corrected for b in nn])
    ticks = np.concatenate([f.epoch_ms for f in feats])
    hr = np.concatenate([f.hr_bpm for f in feats])
    rmssd = np.concatenate([f.rmssd_ms for f in feats])
    sdnn = np.concatenate([f.sdnn_ms for f in feats])
    valid = np.concatenate([f.valid for f in feats])
    print(f"ours: {ours:.3f} s for everything (cleaning, {ticks.size:,} ticks, baseline, states, episodes; "
          f"best of 3: {', '.join(f'{r:.3f}' for r in runs)}); feature stage alone {ours_features:.3f} s")

    # naive: neurokit2.hrv_time on every window, corrected intervals masked as missing
    # (with their times neurokit2 then leaves out the differences touching them, as we do)
    lo = np.searchsorted(end, ticks - 60_000, side="right")
    hi = np.searchsorted(end, ticks, side="right")
    order = np.arange(ticks.size)
    if naive_windows is not None and naive_windows < ticks.size:
        order = np.linspace(0, ticks.size - 1, naive_windows).astype(int)
    checked = {"HR": 0, "RMSSD": 0, "SDNN": 0}
    worst = {"HR": 0.0, "RMSSD": 0.0, "SDNN": 0.0}
    skipped = 0
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in order:
            window = nn_ms[lo[i] : hi[i]].copy()
            masked = corrected[lo[i] : hi[i]]
            window[masked] = np.nan
            if np.isfinite(window).sum() < 3:
                skipped += 1
                continue
            out = nk.hrv_time({"RRI": window, "RRI_Time": end[lo[i] : hi[i]] / 1000.0}).iloc[0]
            if not valid[i]:
                continue
            pairs = [("RMSSD", rmssd[i], out["HRV_RMSSD"])]
            if not masked.any():  # mean NN and SDNN include corrected intervals on our side
                pairs += [("HR", hr[i], 60_000 / out["HRV_MeanNN"]), ("SDNN", sdnn[i], out["HRV_SDNN"])]
            for name, a, b in pairs:
                rel = abs(a / b - 1)
                worst[name] = max(worst[name], rel)
                checked[name] += 1
                assert rel < 1e-9, (name, int(ticks[i]), a, b)
    naive = (time.perf_counter() - t) * ticks.size / order.size
    what = "all" if order.size == ticks.size else f"{order.size} of"
    print(f"naive: {naive:.1f} s for hrv_time on {what} {ticks.size:,} windows"
          + ("" if order.size == ticks.size else " (extrapolated)") + f"; {skipped} windows too empty to call")
    print("identical features: " + ", ".join(f"{k} {checked[k]:,} windows, max rel diff {worst[k]:.1e}" for k in checked))
    print(f"ratio: {naive / ours:.0f}x faster end to end, {naive / ours_features:.0f}x for the feature stage "
          f"(goal: < 1 s and >= 50x) -> {'OK' if ours < 1.0 and naive / ours >= 50 else 'MISSED'}")
    print(f"result: {len(result.ticks):,} ticks, {len(result.episodes)} episodes")


def _motion_day(sim) -> AccSamples:
    """25 Hz chest motion for a simulated day: gravity + 4 mg noise, and a 1.9 Hz step
    bounce of 250 mg during every simulated exertion."""
    t0 = int(sim.epoch_ms[0]) - 20_000
    t = t0 + np.arange(0, int(sim.epoch_ms[-1]) + 5_000 - t0, 40, dtype=np.int64)
    xyz = np.random.default_rng(1).normal(0, 4, (t.size, 3))
    xyz[:, 1] -= 1000.0
    for e in sim.exertions():
        m = (t >= e.onset_ms) & (t < e.plateau_end_ms)
        xyz[m, 1] -= 250 * np.sin(2 * np.pi * 1.9 * (t[m] - e.onset_ms) / 1000)
    return AccSamples(t, np.rint(xyz).astype(np.int16), 25.0)


def bench_live(hours: float) -> None:
    start = morning_ms("2026-03-02", hour=0.0)
    sim = day_simulate(start, hours * 3600, seed=7, n_activations=int(12 * hours / 24) + 1,
                       n_exertions=max(1, int(3 * hours / 24)), n_gaps=max(1, int(2 * hours / 24)))
    n = len(sim)
    sizes = np.where(sim.rr_ms > 650, 1, 2)  # a strap packet carries 1 RR, 2 at higher rates
    print(f"\n== live: simulated {hours:g} h, {n:,} beats, packets of 1-2 RR")

    def stream(trace: bool, acc: AccSamples | None = None):
        a = Analyzer()
        i = 0
        j = 0  # next ACC frame (36 samples, as an H10 sends them at 25 Hz)
        per_tick: dict[int, list[float]] = {}
        per_push: dict[int, list[float]] = {}
        mem: dict[int, int] = {}
        held: dict[int, tuple[int, int]] = {}
        spent = 0.0
        while i < n:
            k = int(sizes[i])
            t0 = time.perf_counter()
            events = []
            if acc is not None:  # the frames that arrived before this packet
                stop = int(np.searchsorted(acc.epoch_ms, sim.epoch_ms[min(i + k, n) - 1], side="right"))
                while j + 36 <= stop:
                    events += a.push_motion(AccSamples(acc.epoch_ms[j:j + 36], acc.xyz_mg[j:j + 36], 25.0))
                    j += 36
            events += a.push(sim.epoch_ms[i : i + k], sim.rr_ms[i : i + k], sim.segment_id[i : i + k],
                             sim.flags[i : i + k])
            dt = time.perf_counter() - t0
            hour = int((sim.epoch_ms[i] - start) // 3_600_000)
            if not trace:  # the memory pass keeps no per-packet records of its own
                per_push.setdefault(hour, []).append(dt)
                spent += dt
                n_ticks = sum(isinstance(e, Tick) for e in events)
                if n_ticks:
                    per_tick.setdefault(hour, []).extend([spent / n_ticks] * n_ticks)
                    spent = 0.0
            if hour not in mem:
                mem[hour] = tracemalloc.get_traced_memory()[0] if trace else 0
                held[hour] = (a.cleaner.held_beats, a.features._nn.size)
            i += k
        a.finish()
        return per_tick, per_push, mem, held

    per_tick, per_push, _, held = stream(trace=False)
    print("hour  packets  tick p50 (ms)  tick p99 (ms)  packet p50 (ms)  packet p99 (ms)  held beats / intervals")
    for h in sorted(per_tick):
        pt, pp = np.asarray(per_tick[h]) * 1e3, np.asarray(per_push[h]) * 1e3
        print(f"{h:4d}  {len(pp):7,d}  {np.percentile(pt, 50):13.2f}  {np.percentile(pt, 99):13.2f}  "
              f"{np.percentile(pp, 50):15.3f}  {np.percentile(pp, 99):15.3f}  {held[h][0]:5d} / {held[h][1]:5d}")
    all_tick = np.concatenate([np.asarray(v) for v in per_tick.values()]) * 1e3
    print(f"all day: per tick p50 {np.percentile(all_tick, 50):.2f} ms, p99 {np.percentile(all_tick, 99):.2f} ms "
          f"(a tick covers 5 s of data)")

    acc = _motion_day(sim)
    per_tick_m, _, _, _ = stream(trace=False, acc=acc)
    all_m = np.concatenate([np.asarray(v) for v in per_tick_m.values()]) * 1e3
    print(f"with a 25 Hz accelerometer ({len(acc):,} samples in 36-sample frames): per tick p50 "
          f"{np.percentile(all_m, 50):.2f} ms, p99 {np.percentile(all_m, 99):.2f} ms; "
          f"p99 ratio with/without motion {np.percentile(all_m, 99) / np.percentile(all_tick, 99):.2f}")

    tracemalloc.start()
    _, _, mem, _ = stream(trace=True)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    hours_seen = sorted(mem)
    print("memory (tracemalloc, current at the start of each hour, KiB): "
          + " ".join(f"{mem[h] / 1024:.0f}" for h in hours_seen))
    print(f"tracemalloc peak {peak / 1024:.0f} KiB, at the end {current / 1024:.0f} KiB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("ATTUNE_DATA_DIR", REPO.parent / "shared/data")))
    parser.add_argument("--hours", type=float, default=24.0, help="length of the simulated live stream")
    parser.add_argument("--naive-windows", type=int, help="time the naive approach on this many windows only")
    parser.add_argument("--skip-live", action="store_true")
    args = parser.parse_args(argv)
    if not (args.data / "physionet_24h").is_dir():
        print(f"real data not found at {args.data} (set ATTUNE_DATA_DIR)", file=sys.stderr)
        return 2
    bench_reanalysis(args.data, args.naive_windows)
    if not args.skip_live:
        bench_live(args.hours)
    return 0


if __name__ == "__main__":
    sys.exit(main())
