"""Default values that ``--help`` shows, importable without pydantic.

:class:`attune.config.Settings` takes its defaults from here, so the number in ``--help``,
in the README and in the running program is one and the same, and ``attune --help``
does not pay ~0.15 s for importing pydantic.
"""

from __future__ import annotations

SCAN_TIMEOUT_S = 10.0  # how long `attune scan` and each reconnect attempt scan (s)
