#!/usr/bin/env python3
"""Draw the web app's icons (api/static/icon-192.png, icon-512.png): a calm ring on the page's
accent colour, full bleed so that launchers may mask it. Run once when the design changes; the
PNGs are committed (the page downloads nothing at run time). Standard library only."""

from __future__ import annotations

import math
import struct
import sys
import zlib
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "api" / "static"
BG = (0x3F, 0x6F, 0x8F)  # --accent (light)
FG = (0xF6, 0xF4, 0xEF)  # --bg (light)
DOT = (0xE8, 0xB7, 0x7A)  # --activated


def _png(size: int, rows: list[bytes]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def icon_draw(size: int) -> bytes:
    """A ring (inside the maskable safe zone: 40 % of the size) with a dot on it."""
    c = size / 2
    r, half_w = 0.26 * size, 0.045 * size
    dot = (c + r * math.cos(-math.pi / 4), c + r * math.sin(-math.pi / 4))
    dot_r = 0.075 * size
    rows = []
    for y in range(size):
        row = bytearray()
        for x in range(size):
            px, py = x + 0.5, y + 0.5
            d_ring = abs(math.hypot(px - c, py - c) - r) - half_w  # < 0: inside the ring
            d_dot = math.hypot(px - dot[0], py - dot[1]) - dot_r
            colour = _mix(BG, FG, min(1.0, max(0.0, 0.5 - d_ring)))  # one pixel of anti-aliasing
            colour = _mix(colour, DOT, min(1.0, max(0.0, 0.5 - d_dot)))
            row += bytes(colour)
        rows.append(bytes(row))
    return _png(size, rows)


def main() -> int:
    for size in (192, 512):
        (STATIC / f"icon-{size}.png").write_bytes(icon_draw(size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
