"""`attune analyze FILE --format json` is byte-identical to what it was before the
analysis was sped up (issue 11: the two passes of the self-calibrated analysis share
their cleaning and features).

The digests were produced by running main's code at 7bf5efe (before the change), as a
whole process, one per file and zone:

    attune analyze FILE --format json --tz ZONE --quiet | sha256sum

with FILE the real recordings below (the gudb file after :func:`_gudb_rr_file`, which
writes subject_00's chest-strap RR intervals as a one-column ``rr_ms`` table: attune does
not read the R-peak table itself). UTC and Europe/Berlin gave the same digests (the files
are either zoned or zone-less), so the test runs UTC only plus Berlin on the p37 file.

Issue 8 added motion fields (every tick ``activity_mg``, ``posture``, ``cadence_spm``,
``hr_expected_bpm``, ``null`` without motion; every episode ``motion``, ``"unknown"``
without motion): :data:`GOLDEN` holds the digests of the whole new output, and the test
also checks that the output *without* those fields still has the old digests
(:data:`GOLDEN_BEFORE_MOTION`): without motion no number changed. Issue 10 added
``breath_rate_per_min``, ``rsa_bpm`` and ``coherence`` to every tick; they are removed too
before comparing with the old digests, and :data:`GOLDEN` (the whole output) was
regenerated with the command above at that change.
"""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

GOLDEN_BEFORE_MOTION = {
    "physionet_24h/nsr2db_nsr001_rr_secs.txt": "a0f66040364122142363d4928fada6a0ba31a796bea44f7e2f2ffdca0e865a48",
    "labeled_conditions_p37/vu_ams_ecg_rr_labeled.csv": "9764f55e34b74429e6386308e88cdf9482bd7b71fe42ff290502b39961674470",
    "polar_h10_exercise/FatMaxOptimiser.20210606_161059.rr.csv": "2c71a5606fbfea3a59615e8a90f007780e1d16c857637bf724d3162c66658136",
    "gudb": "ab82221af83aaee82cfa1f4fcef64ac936b9b0f7a36a91a9991b47b710fab275",
}


GOLDEN = {
    "physionet_24h/nsr2db_nsr001_rr_secs.txt": "8fb72c69d55e8f89e92e95c9673fee6e7226495bca9d751d4bacee8782b97c85",
    "labeled_conditions_p37/vu_ams_ecg_rr_labeled.csv": "5690da8a782bf76aa2a6609e3f37ac80436e5337f14a75b07105442631637317",
    "polar_h10_exercise/FatMaxOptimiser.20210606_161059.rr.csv": "d6ab04a474021036515099885c57c61e1931828fd3532fccb7b133ab2e586454",
    "gudb": "3d917c8ab78e47e11441ad30fa7e959bf7bfe5c6c917027ad94ede7318f96f6e",
}
MOTION_TICK_FIELDS = ("activity_mg", "posture", "cadence_spm", "hr_expected_bpm")
BREATHING_TICK_FIELDS = ("breath_rate_per_min", "rsa_bpm", "coherence")


def _gudb_rr_file(shared_data: Path, out: Path) -> Path:
    """subject_00's RR intervals (all conditions, in file order) as an ``rr_ms`` table."""
    with open(shared_data / "gudb_dev/gudb_chest_strap_rpeaks_dev.csv", newline="") as f:
        rr = [row["rr_prev_ms"] for row in csv.DictReader(f) if row["subject"] == "subject_00" and row["rr_prev_ms"]]
    out.write_text("rr_ms\n" + "\n".join(rr) + "\n")
    return out


def _analyze_sha256(path: Path, zone: str) -> tuple[str, str]:
    """Digests of the output, and of the output without the motion and breathing fields."""
    cmd = [sys.executable, "-m", "attune.cli", "analyze", str(path), "--format", "json", "--tz", zone, "--quiet"]
    out = subprocess.run(cmd, capture_output=True, check=True).stdout
    doc = json.loads(out)
    for t in doc["ticks"]:
        assert all(t.pop(k) is None for k in MOTION_TICK_FIELDS)
        for k in BREATHING_TICK_FIELDS:
            del t[k]
    for e in doc["episodes"]:
        assert e.pop("motion") == "unknown"
    before = (json.dumps(doc, separators=(",", ":")) + "\n").encode()
    return hashlib.sha256(out).hexdigest(), hashlib.sha256(before).hexdigest()


@pytest.mark.parametrize(("name", "zone"), [(name, "UTC") for name in GOLDEN]
                         + [("labeled_conditions_p37/vu_ams_ecg_rr_labeled.csv", "Europe/Berlin")])
def test_analyze_json_unchanged(shared_data, tmp_path, name, zone):
    path = _gudb_rr_file(shared_data, tmp_path / "gudb_subject_00.csv") if name == "gudb" else shared_data / name
    digest, before_motion = _analyze_sha256(path, zone)
    assert before_motion == GOLDEN_BEFORE_MOTION[name]  # no number changed
    assert digest == GOLDEN[name]
