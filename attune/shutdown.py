"""Graceful shutdown for long-running commands (``record``, ``run``, ``demo``, ``serve``)."""

from __future__ import annotations

import contextlib
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # asyncio is imported by the commands that need it, not for --help
    import asyncio


def stop_signals_install(stop: asyncio.Event) -> None:
    """Ctrl-C and SIGTERM set ``stop``: long-running commands shut down gracefully.
    Call it from inside the running event loop."""
    import asyncio

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows / not main thread
            loop.add_signal_handler(sig, stop.set)
