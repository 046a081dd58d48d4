"""A private, throw-away D-Bus message bus for tests.

Tests that talk to (an emulation of) BlueZ need a message bus, but they must
never touch the machine's real system bus: that one is shared with the real
``bluetoothd`` and would need root to own the ``org.bluez`` name anyway.
:class:`PrivateDBus` runs its own ``dbus-daemon`` on a Unix socket in a
temporary directory, with a policy that lets any local client own any name
and call anything, and stops it again afterwards.

Point a process at it by setting ``DBUS_SYSTEM_BUS_ADDRESS`` (what Bleak and
dbus-fast read for ``BusType.SYSTEM``) to :attr:`PrivateDBus.address`.

Example::

    with PrivateDBus() as bus:
        env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": bus.address}
        subprocess.run([sys.executable, "client.py"], env=env, check=True)
"""

from __future__ import annotations

import selectors
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

__all__ = [
    "DBUS_DAEMON",
    "SYSTEM_BUS_ENV",
    "DBusDaemonNotFoundError",
    "PrivateDBus",
    "dbus_daemon_path",
]

#: Name of the D-Bus daemon executable looked up on ``PATH``.
DBUS_DAEMON = "dbus-daemon"

#: Environment variable that dbus-fast (and so Bleak) reads for ``BusType.SYSTEM``.
SYSTEM_BUS_ENV = "DBUS_SYSTEM_BUS_ADDRESS"

_CONFIG_TEMPLATE = """\
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <!-- A private test bus: never the machine's system or session bus. -->
  <type>attune-test</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
"""


class DBusDaemonNotFoundError(RuntimeError):
    """``dbus-daemon`` is not installed (on Debian/Ubuntu: ``apt-get install dbus-daemon``)."""


def dbus_daemon_path() -> str | None:
    """Return the path of the ``dbus-daemon`` executable, or ``None`` if it is not on ``PATH``."""
    return shutil.which(DBUS_DAEMON)


class PrivateDBus:
    """A ``dbus-daemon`` of our own, listening on a Unix socket in a temporary directory.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.

    Args:
        startup_timeout: Seconds to wait for the daemon to print its address.
    """

    def __init__(self, *, startup_timeout: float = 10.0) -> None:
        self._startup_timeout = startup_timeout
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[str] | None = None
        self._address: str | None = None
        self._log: Path | None = None

    @property
    def address(self) -> str:
        """The bus address (``unix:path=...,guid=...``) clients connect to.

        Raises:
            RuntimeError: if the bus is not running.
        """
        if self._address is None:
            raise RuntimeError("the private D-Bus daemon is not running")
        return self._address

    @property
    def running(self) -> bool:
        """Whether the daemon process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> str:
        """Start the daemon and return its address.

        Raises:
            DBusDaemonNotFoundError: if ``dbus-daemon`` is not installed.
            RuntimeError: if the daemon is already running, exits early or
                does not print its address in time.
        """
        if self._process is not None:
            raise RuntimeError("the private D-Bus daemon is already running")
        executable = dbus_daemon_path()
        if executable is None:
            raise DBusDaemonNotFoundError(
                f"{DBUS_DAEMON!r} was not found on PATH; install it "
                "(Debian/Ubuntu: apt-get install dbus-daemon) to run the BlueZ emulator tests"
            )

        self._tmpdir = tempfile.TemporaryDirectory(prefix="attune-dbus-")
        tmp = Path(self._tmpdir.name)
        config = tmp / "bus.conf"
        config.write_text(_CONFIG_TEMPLATE.format(socket=tmp / "bus"), encoding="utf-8")

        self._log = tmp / "dbus-daemon.log"
        # stderr goes to a file: a pipe nobody reads could fill up and stall the daemon.
        with self._log.open("w", encoding="utf-8") as log:
            self._process = subprocess.Popen(
                [executable, f"--config-file={config}", "--nofork", "--nopidfile", "--nosyslog", "--print-address"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                # Its own process group, so a Ctrl-C meant for pytest reaches us first
                # and we shut the daemon down in order.
                start_new_session=True,
            )
        try:
            self._address = self._read_address(self._process)
        except BaseException:
            self.stop()
            raise
        return self._address

    def _read_address(self, process: subprocess.Popen[str]) -> str:
        assert process.stdout is not None
        deadline = time.monotonic() + self._startup_timeout
        line = _readline_before(process.stdout, deadline).strip()
        if not line:
            log = self._log.read_text(encoding="utf-8", errors="replace") if self._log else ""
            raise RuntimeError(
                f"dbus-daemon did not print its address within {self._startup_timeout} s "
                f"(exit code {process.poll()}): {log.strip()}"
            )
        return line

    def stop(self) -> None:
        """Stop the daemon (if running) and remove its temporary directory. Idempotent."""
        process, self._process = self._process, None
        self._address = None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
            if process.stdout is not None:
                process.stdout.close()
        self._log = None
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _readline_before(stream: IO[str], deadline: float) -> str:
    """Read one line from a pipe, giving up (returning ``""``) at ``deadline``."""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return ""
            if selector.select(remaining):
                # dbus-daemon prints the address as one line and flushes it.
                return stream.readline()
