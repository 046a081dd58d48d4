"""Loading a file as text, bounded and checked before parsing: only regular files (no
FIFOs, devices, directories; checked with ``stat`` before and ``fstat`` after opening),
at most ``_MAX_BYTES`` and ``_MAX_LINES``, binary content refused, line ends normalised."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from attune.ingest.formats.series import RRFormatError, _fail

PathLike = str | os.PathLike[str]


# Refuse files over 256 MiB before reading a byte: the most verbose exports (Polar Sensor
# Logger, SelfLoops, ~30-40 bytes a beat) hold a month of round-the-clock beats (~4.3 M)
# in about 170 MB, so 256 MiB leaves room while the parsed lines stay well under 1 GB.
_MAX_BYTES = 256 << 20
# ... and over 4 M lines (a month of beats at 90 bpm): parsing holds every line as a Python
# string (~140 B each, measured: 5 M lines grew RSS by 700 MiB), so 256 MiB of short lines
# ("800\n") would need ~9 GB. Lines are counted while reading, before any parsing.
_MAX_LINES = 4_000_000
_READ_CHUNK = 1 << 20


@dataclass
class _Text:
    path: Path
    lines: list[str]
    notes: list[str]
    _single: tuple[np.ndarray, np.ndarray] | None = None
    _pairs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # ingest.formats.pairs.pairs_parse

    def single_numbers(self) -> tuple[np.ndarray, np.ndarray]:
        """Each line parsed as one number: (values with NaN, blank-line mask)."""
        if self._single is None:
            # every line is a str: a list comprehension strips them 3x faster than .str.strip()
            stripped = pd.Series([line.strip() for line in self.lines], dtype=object)
            # copy=True: under pandas 3 copy-on-write, to_numpy() may hand back a read-only view
            values = pd.to_numeric(stripped, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
            values[~np.isfinite(values)] = np.nan
            blank = (stripped == "").to_numpy(dtype=bool)
            self._single = (values, blank)
        return self._single


_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def _file_kind_refusal(mode: int) -> str | None:
    """Why a file of this ``st_mode`` cannot be an RR export (None: a regular file)."""
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    if stat.S_ISFIFO(mode):
        return "is a pipe (FIFO); save the export to a file first"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a file"
    if not stat.S_ISREG(mode):
        return "is not a regular file"
    return None


def _load_text(path: PathLike) -> _Text:
    """The file's text, after checking (``stat``, before reading) that it is a regular
    file no larger than ``_MAX_BYTES``; read in chunks, counting lines, and refused as
    soon as it holds more than ``_MAX_LINES`` (before any line is parsed)."""
    p = Path(path)
    text, notes = _text_read_bounded(
        p, _MAX_BYTES, _MAX_LINES, _fail, export="RR export",
        lines_what=f"{_MAX_LINES:,} lines (a month of beats), more than any RR export holds")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline does not start a line
    if not any(line.strip() for line in lines):
        raise _fail(p, f"file holds only blank lines ({len(lines)})")
    return _Text(p, lines, notes)


def _text_read_bounded(
    p: Path, max_bytes: int, max_lines: int, fail: Callable[[Path, str], Exception], *, export: str, lines_what: str,
    error: type[RRFormatError] = RRFormatError,
) -> tuple[str, list[str]]:
    """A regular file's text (line ends normalised to ``\\n``) and notes on its encoding,
    after the checks of :func:`_load_text` with these limits; ``fail(path, why)`` builds
    the error for content that is no text export, ``error`` the one for a file refused
    before reading (kind, size, lines)."""
    limit_text = f"limit {max_bytes >> 20} MiB"
    why = _file_kind_refusal(os.stat(p).st_mode)
    if why is not None:
        raise error(f"{p}: {why}.")
    # O_NONBLOCK: a FIFO swapped in after the stat must not block the open
    fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        why = _file_kind_refusal(st.st_mode)
        if why is not None:
            raise error(f"{p}: {why}.")
        if st.st_size > max_bytes:
            raise error(
                f"{p}: file is {st.st_size / 2**20:.0f} MiB, larger than any {export} ({limit_text}); nothing read.")
        chunks, size, n_lines = [], 0, 0
        while chunk := fh.read(_READ_CHUNK):
            chunks.append(chunk)
            size += len(chunk)
            n_lines += chunk.count(b"\n")
            if size > max_bytes:  # the file grew since fstat
                raise error(f"{p}: file grew past {limit_text} while being read; nothing imported.")
            if n_lines > max_lines:
                raise error(
                    f"{p}: file has more than {lines_what}; split it and import the parts; nothing imported.")
    data = b"".join(chunks)
    del chunks
    notes: list[str] = []
    if not data:
        raise fail(p, "file is empty (0 bytes)")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise fail(p, "file starts with a UTF-16 byte-order mark but is not valid UTF-16") from None
        notes.append("file is UTF-16 text")
    else:
        if b"\x00" in data[: 1 << 16]:
            raise fail(p, "file looks binary (contains NUL bytes), not a text export")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
            notes.append("file is not UTF-8; decoded as Latin-1")
    head = text[: 1 << 16]
    control = len(_CONTROL_RE.findall(head))
    if "\x00" in head or control > 0.02 * len(head):
        why = f"file looks binary ({control} control characters in the first {len(head)}), not a text export"
        raise fail(p, why)
    return text.replace("\r\n", "\n").replace("\r", "\n"), notes
