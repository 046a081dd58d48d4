"""Issue 8's targets on the shared real recordings, through the cases of
bench/bench_motion_targets.py (how each case is made is documented there; run with -s to
see the table):

* with motion: an episode offered during walking / hand bike / stairs / jogging for at
  most 10 % of people, during the maths test for at least 60 %, while sitting for none;
* without motion: maths no worse than before motion existed (5 / 12 people on gudb_dev),
  and every episode says its motion is unknown.

On stress_predict_dev (the E4's 1 Hz heart rate as beats, with a neutral breathing
rhythm, see the bench): every person's baseline is calibrated before the tasks, and the
rest before them is offered for at most 10 % of people. The Stroop target (60 %) is not
met and cannot be on this set: fewer than 60 % of the people show a heart-rate peak in
the Stroop test even 3 bpm above what their heart rate does in the rest without a task
(docs/activation.md §10). The Stroop test is an expected failure, strict, so that meeting
it shows.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from conftest import missing

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_motion_targets.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_motion_targets", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def table(shared_data: Path):
    for sub in ("gudb_dev", "hexoskin_chest_acc", "stress_predict_dev"):
        if not (shared_data / sub).is_dir():
            missing(f"{shared_data / sub} not found")
    bench = _bench()
    t = bench.targets_measure(shared_data)
    print("\n" + bench.table_format(t))
    return t


def _share(outcomes) -> float:
    return sum(o.offered for o in outcomes) / len(outcomes)


@pytest.mark.parametrize("task", ["walking", "hand_bike", "stairs", "jogging"])
def test_movement_is_rarely_offered_with_motion(table, task):
    got = table[("gudb_dev", task, True)]
    assert len(got) >= 11
    assert _share(got) <= 0.10, [o.offered for o in got]


def test_maths_is_offered_with_motion(table):
    got = table[("gudb_dev", "maths", True)]
    assert _share(got) >= 0.60
    assert {m for o in got for m in o.motion} == {"still"}


def test_sitting_is_never_offered(table):
    assert not any(o.offered for m in (False, True) for o in table[("gudb_dev", "sitting", m)])


def test_without_motion_maths_as_before_and_motion_unknown(table):
    assert sum(o.offered for o in table[("gudb_dev", "maths", False)]) >= 5
    statuses = {m for (_, _, with_motion), v in table.items() if not with_motion for o in v for m in o.motion}
    assert statuses <= {"unknown"}


def test_stress_cases_calibrate_before_the_tasks(table):
    """A chain of beats without any HRV (RMSSD ~1 ms) scored >= 3 against the population
    prior, and 9 of 16 people never finished calibrating: no episode could be offered."""
    for m in (False, True):
        for task in ("stroop", "interview"):
            got = table[("stress_predict_dev", task, m)]
            assert len(got) == 16 and all(o.calibration == 1.0 for o in got), [o.calibration for o in got]


def test_rest_before_the_tasks_is_rarely_offered(table):
    for m in (False, True):
        assert _share(table[("stress_predict_dev", "rest", m)]) <= 0.10


def test_stroop_target_is_out_of_reach_on_this_set(shared_data: Path):
    """What the heart rate itself does: the Stroop test's best 60 s mean rises at least
    3 bpm more than the rest's own best 60 s mean for fewer than 60 % of the people."""
    if not (shared_data / "stress_predict_dev").is_dir():
        missing(f"{shared_data / 'stress_predict_dev'} not found")
    rows = _bench().stress_responses(shared_data)
    assert len(rows) == 16
    responders = sum(r["stroop_peak"] - r["rest_peak"] >= 3 for r in rows)
    assert responders / len(rows) < 0.60, responders


@pytest.mark.xfail(strict=True, reason="stress_predict_dev Stroop: 1/16 with motion (docs/activation.md §10)")
def test_stroop_is_offered_with_motion(table):
    assert _share(table[("stress_predict_dev", "stroop", True)]) >= 0.60
