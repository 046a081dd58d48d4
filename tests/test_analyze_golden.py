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

Issue 10 added ``breath_rate_per_min``, ``rsa_bpm`` and ``coherence`` to every tick. The
output with them is pinned in :data:`GOLDEN_BREATHING` (regenerated at that change with the
command above), and the output with those three keys removed from every tick must still
give the digests of :data:`GOLDEN`: nothing that was there before changed.
"""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

GOLDEN = {
    "physionet_24h/nsr2db_nsr001_rr_secs.txt": "a0f66040364122142363d4928fada6a0ba31a796bea44f7e2f2ffdca0e865a48",
    "labeled_conditions_p37/vu_ams_ecg_rr_labeled.csv": "9764f55e34b74429e6386308e88cdf9482bd7b71fe42ff290502b39961674470",
    "polar_h10_exercise/FatMaxOptimiser.20210606_161059.rr.csv": "2c71a5606fbfea3a59615e8a90f007780e1d16c857637bf724d3162c66658136",
    "gudb": "ab82221af83aaee82cfa1f4fcef64ac936b9b0f7a36a91a9991b47b710fab275",
}

GOLDEN_BREATHING = {
    "physionet_24h/nsr2db_nsr001_rr_secs.txt": "ef5b88bd99ac7c108c246416b116aa3b32c3a8d3e7ec5b94259867db13ac7a21",
    "labeled_conditions_p37/vu_ams_ecg_rr_labeled.csv": "070332956159d8e1d2ac936b5e7f4781afb17fa24ace8d5c48e7d0e4df493f93",
    "polar_h10_exercise/FatMaxOptimiser.20210606_161059.rr.csv": "baf06770363f6a220ab54953a4cadda39d86f8dcdc08c0f4501a690020bc59ca",
    "gudb": "677e024d9c384bc3ae39fe201fddd17170b93a674955645a6d9fdf399b5132cb",
}
BREATHING_KEYS = ("breath_rate_per_min", "rsa_bpm", "coherence")


def _gudb_rr_file(shared_data: Path, out: Path) -> Path:
    """subject_00's RR intervals (all conditions, in file order) as an ``rr_ms`` table."""
    with open(shared_data / "gudb_dev/gudb_chest_strap_rpeaks_dev.csv", newline="") as f:
        rr = [row["rr_prev_ms"] for row in csv.DictReader(f) if row["subject"] == "subject_00" and row["rr_prev_ms"]]
    out.write_text("rr_ms\n" + "\n".join(rr) + "\n")
    return out


def _analyze_sha256(path: Path, zone: str) -> tuple[str, str]:
    """Digests of the output, and of the output without the breathing keys (re-serialised
    as the CLI writes it: compact separators, one line)."""
    cmd = [sys.executable, "-m", "attune.cli", "analyze", str(path), "--format", "json", "--tz", zone, "--quiet"]
    out = subprocess.run(cmd, capture_output=True, check=True).stdout
    doc = json.loads(out)
    for tick in doc["ticks"]:
        assert set(BREATHING_KEYS) <= tick.keys()
        for key in BREATHING_KEYS:
            del tick[key]
    before = (json.dumps(doc, separators=(",", ":")) + "\n").encode()
    return hashlib.sha256(out).hexdigest(), hashlib.sha256(before).hexdigest()


@pytest.mark.parametrize(("name", "zone"), [(name, "UTC") for name in GOLDEN]
                         + [("labeled_conditions_p37/vu_ams_ecg_rr_labeled.csv", "Europe/Berlin")])
def test_analyze_json_unchanged(shared_data, tmp_path, name, zone):
    path = _gudb_rr_file(shared_data, tmp_path / "gudb_subject_00.csv") if name == "gudb" else shared_data / name
    now, without_breathing = _analyze_sha256(path, zone)
    assert without_breathing == GOLDEN[name]
    assert now == GOLDEN_BREATHING[name]
