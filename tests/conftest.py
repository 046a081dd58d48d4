"""Shared fixtures: the real-data folder, and strictness switches for CI.

Tests that need something outside the repository (the shared real recordings,
``dbus-daemon``, Chromium) skip with a clear reason when it is missing — unless
``ATTUNE_REQUIRE_ALL=1`` is set, as ``.ci/run`` does, in which case they fail instead:
a green CI run must never hide a missing install step.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# fixtures for the emulated BlueZ on a private D-Bus bus (tests/conftest_bluez.py)
pytest_plugins = ["conftest_bluez"]


def require_all() -> bool:
    return os.environ.get("ATTUNE_REQUIRE_ALL") == "1"


def missing(reason: str) -> None:
    """Skip (locally) or fail (CI) because a prerequisite is missing."""
    if require_all():
        pytest.fail(f"{reason} (ATTUNE_REQUIRE_ALL=1: missing prerequisites fail)")
    pytest.skip(reason)


def data_dir() -> Path:
    return Path(os.environ.get("ATTUNE_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real recordings (../shared/data or $ATTUNE_DATA_DIR)."""
    path = data_dir()
    if not (path / "README.md").is_file():
        missing(f"real recordings not found at {path} (set ATTUNE_DATA_DIR)")
    return path


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "attune.sqlite"


@pytest.fixture(autouse=True, scope="session")
def _private_state_dir(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Servers started by tests announce themselves (runtime files for `attune pair`) in a
    private state folder, never in the user's own."""
    old = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state"))
    yield
    if old is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = old
