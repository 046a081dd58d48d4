"""Issue 8's targets on the shared real recordings, through the cases of
bench/bench_motion_targets.py (how each case is made is documented there; run with -s to
see the table):

* with motion: an episode offered during walking / hand bike / stairs / jogging for at
  most 10 % of people, during the maths test for at least 60 %, while sitting for none;
* without motion: maths no worse than before motion existed (5 / 12 people on gudb_dev),
  and every episode says its motion is unknown.

The Stroop target on stress_predict_dev is not met (see docs/activation.md): that test is
an expected failure, strict, so that meeting it shows.
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


@pytest.mark.xfail(strict=True, reason="stress_predict_dev Stroop: 5/16 with motion (docs/activation.md)")
def test_stroop_is_offered_with_motion(table):
    assert _share(table[("stress_predict_dev", "stroop", True)]) >= 0.60
