"""scripts/deps-latest and the declared ranges: every dependency has a tested range, the
pinned set lies inside it, and --oldest installs exactly the lower bounds."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "deps-latest"


def _script():
    loader = importlib.machinery.SourceFileLoader("deps_latest", str(SCRIPT))
    spec = importlib.util.spec_from_loader("deps_latest", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_dependency_has_a_lower_and_an_upper_bound() -> None:
    project = _pyproject()["project"]
    for req in project["dependencies"] + project["optional-dependencies"]["test"]:
        ops = {s.operator for s in Requirement(req).specifier}
        assert ">=" in ops and "<" in ops, req


def test_constraints_pin_versions_inside_the_declared_ranges() -> None:
    project = _pyproject()["project"]
    pinned = _script().freeze_read((REPO / "constraints.txt").read_text(encoding="utf-8").splitlines())
    for req in project["dependencies"] + project["optional-dependencies"]["test"]:
        r = Requirement(req)
        key = _script()._canon(r.name)
        assert key in pinned, f"{r.name} is not pinned in constraints.txt"
        assert r.specifier.contains(pinned[key][1], prereleases=True), (r.name, pinned[key][1], str(r.specifier))


def test_oldest_pins_are_the_lower_bounds() -> None:
    pins = _script().oldest_pins(_pyproject())
    assert "pandas==2.1" in pins and "numpy==1.26" in pins and "neurokit2==0.2.12" in pins
    assert not any(p.startswith("pytest==") for p in pins)  # test tools resolve freely


def test_changes_are_listed_by_name_and_version(capsys) -> None:
    s = _script()
    old = s.freeze_read(["# header", "pandas==2.3.0", "numpy==2.4.6", "gone==1.0"])
    new = s.freeze_read(["pandas==3.1.1", "numpy==2.4.6", "fresh==0.1"])
    assert s.changes_print(old, new) == 3
    out = capsys.readouterr().out
    assert "pandas 2.3.0 -> 3.1.1" in out and "gone 1.0 (no longer needed)" in out and "fresh 0.1 (new)" in out


def test_script_runs_and_explains_itself() -> None:
    out = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True)
    assert "--oldest" in out.stdout
