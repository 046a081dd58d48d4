"""Breathing measures on the shared real recordings (a script, not a test; the tests in
tests/test_signals_breathing.py assert on the same functions).

    ATTUNE_DATA_DIR=/work/shared/data python bench/validate_breathing.py

Every recording goes through the whole pipeline (:func:`attune.signals.batch.analysis_run`:
cleaning, 5 s ticks); a condition's ticks are those whose 64 s window lies inside it.
Prints, per recording and condition, the median breathing rate (and its interquartile
range), RSA amplitude and coherence over the valid ticks, then the coherence at rest.
"""

from __future__ import annotations

import csv
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from attune.signals.batch import SYNTHETIC_EPOCH_MS, analysis_run
from attune.signals.breathing import BreathingConfig

WINDOW_MS = BreathingConfig().window_ms
P37_DEVICES = ("vu_ams_ecg", "heartmath", "kyto", "rhythm", "empatica")  # the ECG is the reference
P37_PACING_PER_MIN = 6.0  # not stated in the data's README; see docs/breathing.md


@dataclass
class TickSeries:
    """The breathing measures of a recording's ticks (NaN where not valid)."""

    epoch_ms: np.ndarray
    rate_per_min: np.ndarray
    rsa_bpm: np.ndarray
    coherence: np.ndarray

    def during(self, from_ms: int, to_ms: int) -> TickSeries:
        """Ticks whose whole 64 s window lies in ``[from_ms, to_ms]``."""
        m = (self.epoch_ms - WINDOW_MS >= from_ms) & (self.epoch_ms <= to_ms)
        return TickSeries(self.epoch_ms[m], self.rate_per_min[m], self.rsa_bpm[m], self.coherence[m])

    @property
    def n_valid(self) -> int:
        return int(np.isfinite(self.coherence).sum())

    def median(self, name: str) -> float:
        x = getattr(self, name)
        return float(np.nanmedian(x)) if np.isfinite(x).any() else float("nan")


def ticks_of(epoch_ms: np.ndarray, rr_ms: np.ndarray) -> TickSeries:
    """Analyse beats (one segment, no ingest flags) and collect the breathing measures."""
    epoch = np.asarray(epoch_ms, dtype=np.int64)
    rr = np.asarray(rr_ms, dtype=float)
    flags = np.where((rr < 250) | (rr > 2500), 1, 0).astype(np.int64)  # as the importer flags them
    result = analysis_run(epoch, rr, np.ones(epoch.size, dtype=np.int64), flags)

    def col(name: str) -> np.ndarray:
        return np.array([np.nan if getattr(t, name) is None else getattr(t, name) for t in result.ticks])

    return TickSeries(np.array([t.epoch_ms for t in result.ticks], dtype=np.int64),
                      col("breath_rate_per_min"), col("rsa_bpm"), col("coherence"))


def p37_conditions(data: Path) -> dict[str, tuple[int, int]]:
    """``{condition: (start_ms, end_ms)}`` of labeled_conditions_p37."""
    spans: dict[str, dict[str, int]] = {}
    with open(data / "labeled_conditions_p37/events_with_epoch_ms.csv", newline="") as f:
        for row in csv.DictReader(f):
            spans.setdefault(row["conditions"], {})[row["datapoint"]] = int(row["epoch_ms"])
    return {c: (s["start"], s["end"]) for c, s in spans.items()}


def p37_ticks(data: Path, device: str) -> TickSeries:
    with open(data / f"labeled_conditions_p37/{device}_rr_labeled.csv", newline="") as f:
        rows = [(int(float(r["epoch_ms"])), float(r["rr_ms"])) for r in csv.DictReader(f) if r["rr_ms"]]
    epoch, rr = (np.array(c) for c in zip(*rows, strict=True))
    return ticks_of(epoch, rr)


def meditation_ticks(data: Path, person: int, phase: str) -> TickSeries:
    """meditation_chi ``C{person}.{pre|med}``: ``time_s  HR_bpm`` per beat."""
    t_s, hr = np.loadtxt(data / f"meditation_chi/C{person}.{phase}", unpack=True)
    return ticks_of(SYNTHETIC_EPOCH_MS + np.round(t_s * 1000), 60_000.0 / hr)


def slow_breathing_ticks(data: Path) -> TickSeries:
    """polar_h10_slow_breathing: beat times from the cumulative RR (arrival times batch)."""
    rr = np.loadtxt(data / "polar_h10_slow_breathing/sample_data_ibi.csv", delimiter=",")[:, 1]
    return ticks_of(SYNTHETIC_EPOCH_MS + np.round(np.cumsum(rr)), rr)


def gudb_sitting_ticks(data: Path) -> dict[str, TickSeries]:
    """gudb_dev: each subject's 2 min seated recording (chest-strap ECG R-peaks)."""
    by_subject: dict[str, list[float]] = {}
    with open(data / "gudb_dev/gudb_chest_strap_rpeaks_dev.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["condition"] == "sitting":
                by_subject.setdefault(row["subject"], []).append(float(row["time_s"]))
    out = {}
    for subject, times in by_subject.items():
        t_ms = np.round(np.array(times) * 1000)
        out[subject] = ticks_of(SYNTHETIC_EPOCH_MS + t_ms[1:], np.diff(t_ms))
    return out


def _fmt(s: TickSeries) -> str:
    if s.n_valid == 0:
        return f"{len(s.epoch_ms):4d} ticks, none valid"
    q1, q3 = np.nanpercentile(s.rate_per_min, [25, 75])
    return (f"{len(s.epoch_ms):4d} ticks {s.n_valid:4d} valid  rate {s.median('rate_per_min'):5.2f}/min "
            f"(IQR {q1:5.2f}-{q3:5.2f})  RSA {s.median('rsa_bpm'):5.2f} bpm  coherence {s.median('coherence'):.3f}")


def main(data: Path) -> None:
    conditions = p37_conditions(data)
    print(f"== labeled_conditions_p37 (medians over valid ticks; pacing assumed {P37_PACING_PER_MIN:g}/min)")
    for device in P37_DEVICES:
        ticks = p37_ticks(data, device)
        print(f"-- {device}")
        for name, (a, b) in conditions.items():
            print(f"   {name:11s} {_fmt(ticks.during(a, b))}")
    print("\n== meditation_chi (before -> during meditation)")
    for person in range(1, 9):
        pre, med = meditation_ticks(data, person, "pre"), meditation_ticks(data, person, "med")
        print(f"   C{person} pre {_fmt(pre)}\n      med {_fmt(med)}")
    print("\n== polar_h10_slow_breathing")
    print(f"   whole      {_fmt(slow_breathing_ticks(data))}")
    print("\n== coherence at rest (median per recording; then the spread over all their valid ticks)")
    rest: list[np.ndarray] = []
    for subject, s in sorted(gudb_sitting_ticks(data).items()):
        rest.append(s.coherence[np.isfinite(s.coherence)])
        print(f"   gudb {subject} sitting  {_fmt(s)}")
    for device in ("vu_ams_ecg",):
        ticks = p37_ticks(data, device)
        for name in ("sitting", "recovery"):
            s = ticks.during(*conditions[name])
            rest.append(s.coherence[np.isfinite(s.coherence)])
            print(f"   p37 {name:9s} {_fmt(s)}")
    for person in range(1, 9):
        s = meditation_ticks(data, person, "pre")
        rest.append(s.coherence[np.isfinite(s.coherence)])
    allrest = np.concatenate(rest)
    p = np.percentile(allrest, [10, 25, 50, 75, 90])
    print(f"   all rest ticks ({allrest.size}, gudb sitting + p37 sitting/recovery + meditation_chi pre): "
          f"coherence p10 {p[0]:.2f}  p25 {p[1]:.2f}  median {p[2]:.2f}  p75 {p[3]:.2f}  p90 {p[4]:.2f}")


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ATTUNE_DATA_DIR", "../shared/data"))
    if not (folder / "README.md").is_file():
        sys.exit(f"real recordings not found at {folder} (pass the folder or set ATTUNE_DATA_DIR)")
    main(folder)
