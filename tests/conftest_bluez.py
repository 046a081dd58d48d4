"""Pytest fixtures for tests against the emulated BlueZ.

Registered from ``tests/conftest.py`` with ``pytest_plugins = ["conftest_bluez"]``.

* ``dbus_system_bus``: a private ``dbus-daemon`` for the test; yields its address and
  points ``DBUS_SYSTEM_BUS_ADDRESS`` at it for the test's duration, so nothing in the
  test process (or the processes it starts with ``os.environ``) can reach the real
  system bus.
* ``bluez``: a started :class:`~bluez_emulator.BlueZEmulator` serving ``org.bluez`` on
  that bus, with no devices yet (add them with ``bluez.add_device(StrapSpec(...))``).

Both skip when ``dbus-daemon`` is not installed, and fail instead when
``ATTUNE_REQUIRE_ALL=1`` (as in CI), so a missing install step cannot hide behind a
green run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bluez_emulator import BlueZEmulator
from conftest import missing
from dbus_bus import SYSTEM_BUS_ENV, PrivateDBus, dbus_daemon_path


def require_dbus_daemon() -> None:
    """Skip the test (or fail it, with ``ATTUNE_REQUIRE_ALL=1``) if ``dbus-daemon`` is missing."""
    if dbus_daemon_path() is None:
        missing("dbus-daemon is not installed (apt-get install dbus-daemon); the BlueZ emulator needs a private bus")


@pytest.fixture
def dbus_system_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Address of a private D-Bus daemon, also exported as ``DBUS_SYSTEM_BUS_ADDRESS``."""
    require_dbus_daemon()
    with PrivateDBus() as bus:
        monkeypatch.setenv(SYSTEM_BUS_ENV, bus.address)
        yield bus.address


@pytest.fixture
def bluez(dbus_system_bus: str) -> Iterator[BlueZEmulator]:
    """An emulated BlueZ on ``dbus_system_bus``, stopped after the test."""
    with BlueZEmulator(dbus_system_bus) as emulator:
        yield emulator
