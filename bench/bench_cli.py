"""Benchmark of the command line as a user feels it (a script, not a test).

Whole processes, each run several times (the median is printed, the machine is shared):

* ``python -c pass``                 — the floor: interpreter start-up
* ``attune --help``                  — goal < 0.3 s
* ``attune analyze FILE``            — a 24 h RR file (PhysioNet nsr2db nsr001, ~106k beats),
                                       JSON to a file; goal < 1.0 s
* imports                           — what ``attune analyze`` imports before reading a byte
                                       (numpy, pandas, rich, attune), as a process
* in-process analysis only           — :func:`attune.signals.batch.analysis_beats` on the
                                       file already read (what no start-up work can remove)
* naive neurokit2 re-analysis        — the baseline of ``bench/bench_analyze.py``:
                                       ``neurokit2.hrv_time`` on every 60 s window at a 5 s
                                       cadence, plus importing neurokit2 (timed on
                                       ``--naive-windows`` windows and extrapolated)

    python bench/bench_cli.py [--data DIR] [--repeat 7] [--naive-windows 300]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FILE_24H = "physionet_24h/nsr2db_nsr001_rr_secs.txt"


def _attune() -> list[str]:
    script = Path(sys.executable).parent / "attune"  # the installed console script, as a user runs it
    return [str(script)] if script.exists() else [sys.executable, "-m", "attune.cli"]


def _children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


# A user's Python caches compiled modules (__pycache__); some sandboxes and CI images set
# PYTHONDONTWRITEBYTECODE, which makes every run recompile attune's own ~15k lines (~0.1 s).
# The commands are timed as a user runs them: caching on, after one warm-up run.
USER_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def process_median_s(cmd: list[str], repeat: int) -> tuple[float, list[float], float]:
    """Median wall time of ``cmd`` as a whole process, its standard output going to a
    file as in ``attune analyze FILE > out.json``; the runs; and the median CPU time
    (user + system), which other processes on the machine disturb less."""
    runs, cpu = [], []
    with tempfile.TemporaryFile() as out:
        subprocess.run(cmd, stdout=out, stderr=subprocess.DEVNULL, check=True, env=USER_ENV)  # warm the caches
        for _ in range(repeat):
            out.seek(0)
            out.truncate()
            c, t = _children_cpu_s(), time.perf_counter()
            subprocess.run(cmd, stdout=out, stderr=subprocess.DEVNULL, check=True, env=USER_ENV)
            runs.append(time.perf_counter() - t)
            cpu.append(_children_cpu_s() - c)
    return statistics.median(runs), runs, statistics.median(cpu)


def analysis_only_s(path: Path, repeat: int) -> float:
    from attune.signals.batch import analysis_beats, beats_from_file

    beats = beats_from_file(path)
    runs = []
    for _ in range(max(1, repeat // 2)):
        t = time.perf_counter()
        analysis_beats(beats)
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def naive_s(path: Path, windows: int, repeat: int) -> tuple[float, int]:
    """neurokit2 ``hrv_time`` on every 60 s window at a 5 s cadence (extrapolated from
    ``windows`` evenly spread ones) plus neurokit2's import as a process."""
    import neurokit2 as nk
    import numpy as np

    from attune.ingest.formats import rr_file_read

    import_s, _, _ = process_median_s([sys.executable, "-c", "import neurokit2"], max(1, repeat // 2))
    rr = rr_file_read(path).rr_ms
    end_ms = np.cumsum(rr)
    ticks = np.arange(60_000, end_ms[-1], 5_000)
    lo = np.searchsorted(end_ms, ticks - 60_000, side="right")
    hi = np.searchsorted(end_ms, ticks, side="right")
    order = np.linspace(0, ticks.size - 1, min(windows, ticks.size)).astype(int)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in order:
            if hi[i] - lo[i] >= 3:
                nk.hrv_time({"RRI": rr[lo[i]:hi[i]], "RRI_Time": end_ms[lo[i]:hi[i]] / 1000.0})
    loop_s = (time.perf_counter() - t) * ticks.size / order.size
    return import_s + loop_s, int(ticks.size)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("ATTUNE_DATA_DIR", REPO.parent / "shared/data")))
    parser.add_argument("--repeat", type=int, default=7, help="runs of each process (median printed)")
    parser.add_argument("--naive-windows", type=int, default=300, help="neurokit2 windows timed (then extrapolated)")
    args = parser.parse_args(argv)
    path = args.data / FILE_24H
    if not path.is_file():
        print(f"real data not found at {path} (set ATTUNE_DATA_DIR)", file=sys.stderr)
        return 2

    floor, floor_runs, floor_cpu = process_median_s([sys.executable, "-c", "pass"], args.repeat)
    helps, help_runs, help_cpu = process_median_s([*_attune(), "--help"], args.repeat)
    analyze, analyze_runs, analyze_cpu = process_median_s([*_attune(), "analyze", str(path)], args.repeat)
    # what `attune analyze FILE` imports before it reads a byte (numpy, pandas, rich, attune)
    imports, _, imports_cpu = process_median_s(
        [sys.executable, "-c", "import attune.cli, attune.signals.batch, attune.ingest.exchange, rich.console"],
        args.repeat)
    inner = analysis_only_s(path, args.repeat)
    naive, windows = naive_s(path, args.naive_windows, args.repeat)

    def runs(r: list[float]) -> str:
        return ", ".join(f"{x:.2f}" for x in r)

    print(f"== whole processes, median of {args.repeat} (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print(f"python -c pass          {floor:6.3f} s (cpu {floor_cpu:.3f})   [{runs(floor_runs)}]")
    print(f"attune --help           {helps:6.3f} s (cpu {help_cpu:.3f})   [{runs(help_runs)}]   "
          f"{helps / floor:4.1f}x python start-up   (goal < 0.3 s: {'OK' if helps < 0.3 else 'MISSED'})")
    print(f"attune analyze 24 h     {analyze:6.3f} s (cpu {analyze_cpu:.3f})   [{runs(analyze_runs)}]   "
          f"{analyze / floor:4.1f}x python start-up   (goal < 1.0 s: {'OK' if analyze < 1.0 else 'MISSED'})")
    print(f"  of which imports      {imports:6.3f} s (cpu {imports_cpu:.3f})   (start-up included: numpy, pandas, rich, attune)")
    print(f"  of which the analysis {inner:6.3f} s   (in-process, file already read: {inner / analyze:.0%} of the process)")
    print(f"naive neurokit2         {naive:6.1f} s   (hrv_time on {windows:,} windows, from {min(args.naive_windows, windows)}"
          f" timed, + import)   attune analyze is {naive / analyze:.0f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
