"""The errors a user can act on, caught once at the edges (CLI, API).

Every failure a person can cause or fix — a bad file, a busy port, a full disk, a missing
Bluetooth adapter — is raised as an :class:`AttuneError` whose message is one complete line.
The CLI prints that line (the traceback only with ``-v``) and exits with ``exit_code``; an
error that is *not* an ``AttuneError`` is a bug, reported as such.
"""

from __future__ import annotations


class AttuneError(Exception):
    """A failure with a one-line message meant for the user."""

    exit_code: int = 2


class UsageError(AttuneError, ValueError):
    """An argument the user gave cannot be used (a malformed time, an unknown format …)."""
