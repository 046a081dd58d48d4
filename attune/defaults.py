"""Default values that ``--help`` shows, importable without pydantic.

:class:`attune.config.Settings` takes its defaults from here, so the number in ``--help``,
in the README and in the running program is one and the same, and ``attune --help``
does not pay ~0.15 s for importing pydantic.
"""

from __future__ import annotations

SCAN_TIMEOUT_S = 10.0  # how long `attune scan` and each reconnect attempt scan (s)
ACC_RATE_HZ = 25  # accelerometer rate asked of a strap that has one (the lowest H10 rate); 0: off
ACC_RATE_HELP = (f"accelerometer rate for a strap that has one (Polar H10: 25, 50, 100, 200; default {ACC_RATE_HZ}, "
                 "or $ATTUNE_ACC_RATE_HZ); 0 turns motion off")
