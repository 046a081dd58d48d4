"""Read RR-interval files exported by the tools people already use.

One entry point, :func:`rr_file_read`, turns a file into an :class:`RRSeries`
(RR intervals in milliseconds, plus per-beat wall-clock times and heart rate
when the file carries them).  :func:`rr_file_detect` only names the format.

Supported formats (ids in :data:`FORMATS`, tried in this order):

``selfloops``
    The SelfLoops app's own export: a first line with the start time
    (``04 August 2017 12:53:19``, local time without zone), then the header
    ``Time (ms),HR (bpm),R-R (ms)``.  ``Time (ms)`` is the beat time relative
    to that start, so ``epoch_ms = start + Time``.
``polar-sensor-logger``
    Polar Sensor Logger ``*_RR.txt``: ``Phone timestamp;RR-interval [ms]``,
    timestamps like ``2021-09-13T10:52:53.870`` in the phone's local time,
    without zone.
``hrv-logger``
    HRV Logger (Marco Altini) RR export and FatMaxxer ``*.rr.csv``, which
    copies it: columns ``timestamp, rr, since_start`` (``timestamp`` = Unix ms
    when the phone received the beat; a blank line follows the header) or the
    classic ``date,rr,since start`` (``date`` = ISO-like date-time).
``csv-rr_ms``
    Any delimited table (``,`` ``;`` or tab) with a header naming an RR column
    (``rr_ms``, ``rr``, ``RR``, ``RR-interval [ms]``, ``ibi``, ``nni_ms``,
    ``rr_s`` ...) and optionally a time column (``epoch_ms``, ``time_ns``,
    ``timestamp`` ...) and an HR column (``hr_bpm``, ``HR``, ``bpm`` ...).
``physionet-rr-secs``
    PhysioNet ``ann2rr`` output: one value per line in seconds, every value a
    multiple of 1/128 s, and **the first value is the offset from record start
    to the first beat, not an RR interval** (it is dropped, with a note).
``rr-lines``
    One RR per line (Kubios / Elite HRV style), in ms or in seconds (median
    below 10 means seconds, converted to ms).  Header, comment and blank lines
    are skipped and counted.

Detection (content only, never the file name; first match wins):

1. ``selfloops`` -- one of the first two non-blank lines is exactly the
   app's header ``Time (ms),HR (bpm),R-R (ms)``.
2. Tables -- among the first 20 non-blank lines, a header row (delimited,
   no numbers in it) followed, within 2000 rows, by a row with a number in
   its RR column.  ``Phone timestamp`` + ``RR-interval`` columns make it
   ``polar-sensor-logger``; ``rr`` + ``timestamp``/``date`` + ``since start``
   make it ``hrv-logger``; any other recognised RR column ``csv-rr_ms``.
3. One number per line -- lines before the first number are a free preamble
   (title, header); after it, single-number lines must be at least as many as
   text lines.  If the preamble's last line is a column name that is not an RR
   name (``ecg_adc``, ``hr_bpm``, ``Time (s)``) the file is refused.
   ``physionet-rr-secs`` when, in addition, there is no text line at all, at
   least 16 values, the median is below 10 (seconds), every value is a
   multiple of 1/128 s *and* at least half are not multiples of 1/32 s (a
   list of round seconds such as 0.5, 0.75, 1.0 sits on the grid without being
   a 128 Hz series).  By content alone an ``ann2rr`` file cannot be told from
   plain seconds quantised to 1/128 s; the first value (an offset of minutes in
   nsr2db, 5.9 s in chf201) does not decide either.  Pass
   ``format="rr-lines"`` to read such a file without dropping its first value.
   Otherwise ``rr-lines``.

Conventions: ``rr_ms[i]`` is the interval that *ends* at beat ``i``, in
milliseconds, in file order.  ``epoch_ms`` is Unix time in milliseconds (UTC).
Local times without a zone (SelfLoops, Polar Sensor Logger, HRV Logger
``date``) are interpreted in the ``tz`` argument, by default the local time
zone of the machine running the code.  Lines that do not yield a beat
(non-numeric, malformed, blank, non-positive or non-finite RR) are skipped and
counted in :attr:`RRSeries.skipped_lines`; nothing is dropped silently.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import os
import re
import stat
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from attune.errors import AttuneError
from attune.ingest.format_ids import FORMAT_DESCRIPTIONS, FORMATS

__all__ = [
    "FORMATS",
    "FORMAT_DESCRIPTIONS",
    "RRFormatError",
    "RRSeries",
    "rr_file_detect",
    "rr_file_read",
]

PathLike = str | os.PathLike[str]
TzLike = str | tzinfo | None

# Refuse files over 256 MiB before reading a byte: the most verbose exports (Polar Sensor
# Logger, SelfLoops, ~30-40 bytes a beat) hold a month of round-the-clock beats (~4.3 M)
# in about 170 MB, so 256 MiB leaves room while the parsed lines stay well under 1 GB.
_MAX_BYTES = 256 << 20
# ... and over 4 M lines (a month of beats at 90 bpm): parsing holds every line as a Python
# string (~140 B each, measured: 5 M lines grew RSS by 700 MiB), so 256 MiB of short lines
# ("800\n") would need ~9 GB. Lines are counted while reading, before any parsing.
_MAX_LINES = 4_000_000
_READ_CHUNK = 1 << 20
_HEADER_SCAN_LINES = 20  # a CSV header may follow at most this many preamble lines
_SECONDS_MEDIAN_LIMIT = 10.0  # median RR below this => the values are seconds
_PHYSIONET_FS = 128.0  # nsr2db / chf2db / nsrdb annotation sampling rate (Hz)
_PHYSIONET_MIN_VALUES = 16
_LONG_RR_MS = 3000.0
# Plausible Unix time for a recording: 1990-01-01 .. 2100-01-01 (ms).
_EPOCH_MS_MIN = 631_152_000_000.0
_EPOCH_MS_MAX = 4_102_444_800_000.0


class RRFormatError(AttuneError, ValueError):
    """A file could not be read as RR intervals; the message says why.

    When auto-detection fails, the message names every supported format.
    """


@dataclass(frozen=True, eq=False)
class RRSeries:
    """RR intervals read from a file.

    Attributes
    ----------
    format : str
        Format id (one of :data:`FORMATS`).
    rr_ms : numpy.ndarray
        float64, the interval ending at each beat, in milliseconds, file order.
        Always finite and > 0.
    epoch_ms : numpy.ndarray or None
        float64, per-beat wall-clock time (Unix ms, UTC) when the file gives
        one; may contain NaN for rows whose time could not be parsed.  For app
        exports this is usually the phone's *arrival* time of the BLE
        notification, not the R-peak time (see :attr:`notes`).
    hr_bpm : numpy.ndarray or None
        float64, per-beat heart rate (beats/min) when the file gives it.
    start_epoch_ms : float or None
        Recording start (Unix ms, UTC) when the file states it (e.g. the
        SelfLoops first line), else None.
    skipped_lines : int
        Lines that did not yield a beat (non-numeric, malformed, blank,
        non-positive or non-finite RR), counted, never silent.
    notes : tuple of str
        Human-readable remarks on how the file was interpreted.
    """

    format: str
    rr_ms: np.ndarray
    epoch_ms: np.ndarray | None
    hr_bpm: np.ndarray | None
    start_epoch_ms: float | None
    skipped_lines: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        """Number of beats (RR intervals)."""
        return int(self.rr_ms.shape[0])


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def rr_file_detect(path: PathLike) -> str:
    """Detect the RR file format from the file's content (not its name).

    Parameters
    ----------
    path : str or os.PathLike
        File to inspect.

    Returns
    -------
    str
        A format id from :data:`FORMATS`.

    Raises
    ------
    RRFormatError
        The content matches no supported format (empty, binary, a table
        without an RR column, no numeric lines ...); the message says why and
        lists every supported format.
    OSError
        The file cannot be opened.

    Examples
    --------
    >>> rr_file_detect("FatMaxOptimiser.20210606_161059.rr.csv")  # doctest: +SKIP
    'hrv-logger'
    """
    text = _load_text(path)
    with np.errstate(over="ignore", invalid="ignore"):
        return _detect(text).format


def rr_file_read(path: PathLike, format: str | None = None, *, tz: TzLike = None) -> RRSeries:
    """Read RR intervals (ms) from a file, auto-detecting its format.

    Parameters
    ----------
    path : str or os.PathLike
        File to read.
    format : str, optional
        Force a format id from :data:`FORMATS` instead of detecting it (e.g.
        ``"rr-lines"`` to keep the first value of a seconds file that detection
        took for a PhysioNet offset).
    tz : str or datetime.tzinfo, optional
        Time zone for local times written without a zone (SelfLoops start
        line, Polar Sensor Logger and HRV Logger ``date`` timestamps), e.g.
        ``"Europe/Berlin"`` or ``"UTC"``.  Default: the local time zone of the
        machine running the code (honours ``TZ``).  Times that carry a zone or
        are Unix numbers are not affected.  In a daylight-saving fall-back hour
        an ambiguous local time is read as its first occurrence.

    Returns
    -------
    RRSeries
        ``rr_ms`` in milliseconds (float64, > 0), ``epoch_ms`` in Unix ms or
        None, ``hr_bpm`` or None, ``start_epoch_ms`` or None, the number of
        skipped lines and explanatory notes.

    Raises
    ------
    RRFormatError
        The file is not a supported RR file, does not match the forced
        ``format``, or holds no valid RR interval.
    ValueError
        Unknown ``format`` id or time zone.
    OSError
        The file cannot be opened.

    Examples
    --------
    >>> rr = rr_file_read("nsr2db_nsr001_rr_secs.txt")  # doctest: +SKIP
    >>> rr.format, len(rr), round(60000 / rr.rr_ms.mean())  # doctest: +SKIP
    ('physionet-rr-secs', 106459, 79)
    """
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown RR file format {format!r}; choose one of: {', '.join(FORMATS)}")
    zone = _resolve_tz(tz)
    text = _load_text(path)
    with np.errstate(over="ignore", invalid="ignore"):  # absurd numbers end up non-finite and skipped
        det = _detect(text) if format is None else _detect_forced(text, format)
        raw = _READERS[det.format](text, det, zone)
        return _finish(det.format, raw, text.path)


# --------------------------------------------------------------------------------------
# Loading text
# --------------------------------------------------------------------------------------


@dataclass
class _Text:
    path: Path
    lines: list[str]
    notes: list[str]
    _single: tuple[np.ndarray, np.ndarray] | None = None

    def single_numbers(self) -> tuple[np.ndarray, np.ndarray]:
        """Each line parsed as one number: (values with NaN, blank-line mask)."""
        if self._single is None:
            stripped = pd.Series(self.lines, dtype=object).str.strip()
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
    limit_text = f"limit {_MAX_BYTES >> 20} MiB"
    why = _file_kind_refusal(os.stat(p).st_mode)
    if why is not None:
        raise RRFormatError(f"{p}: {why}.")
    # O_NONBLOCK: a FIFO swapped in after the stat must not block the open
    fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        why = _file_kind_refusal(st.st_mode)
        if why is not None:
            raise RRFormatError(f"{p}: {why}.")
        if st.st_size > _MAX_BYTES:
            raise RRFormatError(
                f"{p}: file is {st.st_size / 2**20:.0f} MiB, larger than any RR export ({limit_text}); nothing read.")
        chunks, size, n_lines = [], 0, 0
        while chunk := fh.read(_READ_CHUNK):
            chunks.append(chunk)
            size += len(chunk)
            n_lines += chunk.count(b"\n")
            if size > _MAX_BYTES:  # the file grew since fstat
                raise RRFormatError(f"{p}: file grew past {limit_text} while being read; nothing imported.")
            if n_lines > _MAX_LINES:
                raise RRFormatError(
                    f"{p}: file has more than {_MAX_LINES:,} lines (a month of beats), more than any RR export"
                    " holds; split it and import the parts; nothing imported.")
    data = b"".join(chunks)
    del chunks
    notes: list[str] = []
    if not data:
        raise _fail(p, "file is empty (0 bytes)")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise _fail(p, "file starts with a UTF-16 byte-order mark but is not valid UTF-16") from None
        notes.append("file is UTF-16 text")
    else:
        if b"\x00" in data[: 1 << 16]:
            raise _fail(p, "file looks binary (contains NUL bytes), not a text export")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
            notes.append("file is not UTF-8; decoded as Latin-1")
    head = text[: 1 << 16]
    control = len(_CONTROL_RE.findall(head))
    if "\x00" in head or control > 0.02 * len(head):
        why = f"file looks binary ({control} control characters in the first {len(head)}), not a text export"
        raise _fail(p, why)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline does not start a line
    if not any(line.strip() for line in lines):
        raise _fail(p, f"file holds only blank lines ({len(lines)})")
    return _Text(p, lines, notes)


# --------------------------------------------------------------------------------------
# Column names
# --------------------------------------------------------------------------------------

_UNIT_ALIASES = {
    "ms": "ms",
    "msec": "ms",
    "msecs": "ms",
    "millisecond": "ms",
    "milliseconds": "ms",
    "s": "s",
    "sec": "s",
    "secs": "s",
    "second": "s",
    "seconds": "s",
    "ns": "ns",
    "us": "us",
    "µs": "us",
    "bpm": "bpm",
    "1/min": "bpm",
}
_NAME_RE = re.compile(
    r"^(?P<base>.*?)[\s_\-]*"
    r"(?:[\[(]\s*(?P<u1>[^\[\]()]+?)\s*[\])]|[_\s](?P<u2>ms|msec|s|sec|secs|ns|us|bpm))\s*$",
    re.IGNORECASE,
)
_RR_BASES = {
    "rr",
    "rri",
    "rrinterval",
    "rrintervals",
    "ibi",
    "interbeatinterval",
    "nn",
    "nni",
    "nninterval",
    "nnintervals",
}
_TIME_BASES = (  # preference order for a per-beat wall-clock column
    "epoch",
    "unixtime",
    "unix",
    "timestamp",
    "phonetimestamp",
    "time",
    "t",
    "datetime",
    "date",
    "localtime",
)
_HR_BASES = {"hr", "heartrate", "bpm", "hrbpm"}


@dataclass(frozen=True)
class _Col:
    raw: str
    base: str  # lowercase alphanumerics only
    unit: str | None  # 'ms', 's', 'ns', 'us', 'bpm' or None


def _parse_column(raw: str) -> _Col:
    name = raw.strip().strip('"').strip("'").strip()
    m = _NAME_RE.match(name)
    unit = None
    base = name
    if m:
        u = (m.group("u1") or m.group("u2") or "").strip().lower()
        if u in _UNIT_ALIASES:
            unit = _UNIT_ALIASES[u]
            base = m.group("base")
    return _Col(name, re.sub(r"[^a-z0-9]+", "", base.lower()), unit)


def _csv_fields(line: str, delim: str) -> list[str]:
    """Fields of one delimited line (quotes honoured); the whole line if unparsable."""
    try:
        return next(csv.reader([line], delimiter=delim), [])
    except csv.Error:
        return [line]


def _split_fields(line: str) -> tuple[str | None, list[str]]:
    """(delimiter, fields): the most frequent of tab ; , -- or (None, [line])."""
    counts = {d: line.count(d) for d in ("\t", ";", ",")}
    delim = max(counts, key=lambda d: counts[d])
    if counts[delim] == 0:
        return None, [line]
    return delim, _csv_fields(line, delim)


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------------------
# Detection
# --------------------------------------------------------------------------------------


@dataclass
class _Detection:
    format: str
    header_idx: int = -1  # index in lines of the header row (-1: none)
    delimiter: str | None = None
    columns: tuple[_Col, ...] = ()


def _head_indices(text: _Text) -> list[int]:
    """Indices of the first non-blank lines, where a header may sit."""
    gen = (i for i, line in enumerate(text.lines) if line.strip())
    return list(itertools.islice(gen, _HEADER_SCAN_LINES))


def _detect(text: _Text) -> _Detection:
    head = _head_indices(text)

    # 1. SelfLoops: its own header spelling within the first two non-blank lines.
    for i in head[:2]:
        cols = _header_columns(text.lines[i])
        if cols and _is_selfloops_header(cols[1]):
            return _Detection("selfloops", i, cols[0], cols[1])

    # 2.-4. Tables with a header naming an RR column.
    first_table: tuple[int, list[str]] | None = None
    for i in head:
        cols = _header_columns(text.lines[i])
        if cols is None:
            continue
        delim, columns = cols
        bases = [c.base for c in columns]
        if first_table is None and _has_data_row(text, i, delim, None, len(columns), max_rows=1):
            first_table = (i, [c.raw for c in columns])
        if "phonetimestamp" in bases and "rrinterval" in bases:
            fmt, rr_idx = "polar-sensor-logger", bases.index("rrinterval")
        elif "rr" in bases and {"timestamp", "date"} & set(bases) and "sincestart" in bases:
            fmt, rr_idx = "hrv-logger", bases.index("rr")
        else:
            fmt, rr_idx = "csv-rr_ms", _pick_rr_column(columns)
        if rr_idx is not None and _has_data_row(text, i, delim, rr_idx, len(columns)):
            return _Detection(fmt, i, delim, columns)

    # 5.-6. One number per line.
    # Header lines before the first number are free; after it, numbers must dominate.
    values, blank = text.single_numbers()
    numeric = ~np.isnan(values)
    n_num = int(numeric.sum())
    n_text = int((~numeric & ~blank).sum())
    first_num = int(np.argmax(numeric)) if n_num else len(values)
    n_text_body = int((~numeric[first_num:] & ~blank[first_num:]).sum())
    if n_num >= 1 and n_num >= n_text_body:
        if n_text == 0 and _looks_physionet(values[numeric]):
            return _Detection("physionet-rr-secs")
        above = (text.lines[j].strip() for j in range(first_num - 1, -1, -1))
        header = next((line for line in above if line), "")
        if header and not _could_name_rr(header):
            raise _fail(
                text.path,
                f"one number per line, but the column is named {header!r}, which is not an RR column "
                "(accepted names: rr, rr_ms, RR (ms), ibi, nni_ms, rr_s ...; read it with "
                "format='rr-lines' if it really holds RR intervals)",
            )
        return _Detection("rr-lines")

    # Nothing matched: explain why.
    if first_table is not None and n_num == 0:
        i, names = first_table
        raise _fail(
            text.path,
            f"line {i + 1} looks like a table header with columns {names}, but none is an RR column "
            "(accepted names: rr_ms, rr, RR, R-R (ms), RR-interval [ms], rri, ibi, nn, nni_ms, rr_s ...; "
            "a unit suffix _ms/_s or (ms)/[s] is allowed)",
        )
    sample = text.lines[head[0]].strip()
    if n_num == 0:
        multi = sum(1 for i in head if _split_fields(text.lines[i])[0] is not None)
        first_fields = _split_fields(text.lines[head[0]])[1]
        if multi and all(_is_number(f.strip()) or not f.strip() for f in first_fields):
            why = (
                "lines hold several numbers but there is no header row to say which column is RR "
                f"(first line: {sample[:60]!r}); add a header such as 'epoch_ms,rr_ms'"
            )
        else:
            n_nonblank = int((~blank).sum())
            why = f"none of its {n_nonblank} non-blank lines is a number (first line: {sample[:60]!r})"
        raise _fail(text.path, why)
    raise _fail(
        text.path,
        f"after the first number (line {first_num + 1}) only {n_num} of {n_num + n_text_body} non-blank "
        f"lines hold a single number (first line: {sample[:60]!r}); expected mostly one RR value per line",
    )


def _detect_forced(text: _Text, fmt: str) -> _Detection:
    """Locate header/delimiter for a format the caller chose; fail if absent."""
    head = _head_indices(text)
    if fmt in ("rr-lines", "physionet-rr-secs"):
        values, _ = text.single_numbers()
        if np.isnan(values).all():
            raise _fail(text.path, f"forced format {fmt!r}, but no line holds a single number", listing=False)
        return _Detection(fmt)
    for i in head:
        cols = _header_columns(text.lines[i])
        if cols is None:
            continue
        delim, columns = cols
        bases = {c.base for c in columns}
        ok = {
            "selfloops": _is_selfloops_header(columns),
            "polar-sensor-logger": "rrinterval" in bases,
            "hrv-logger": "rr" in bases,
            "csv-rr_ms": _pick_rr_column(columns) is not None,
        }[fmt]
        if ok:
            return _Detection(fmt, i, delim, columns)
    raise _fail(
        text.path,
        f"forced format {fmt!r} ({FORMAT_DESCRIPTIONS[fmt]}), but no matching header row "
        f"was found in the first {len(head)} non-blank lines",
        listing=False,
    )


def _header_columns(line: str) -> tuple[str, tuple[_Col, ...]] | None:
    """(delimiter, columns) when ``line`` looks like a header row of a table."""
    delim, fields = _split_fields(line)
    if delim is None:
        return None
    cells = [f.strip() for f in fields if f.strip()]
    if not cells or any(_is_number(c) for c in cells):
        return None  # a header row names columns; it holds no numbers
    return delim, tuple(_parse_column(f) for f in fields)


def _has_data_row(
    text: _Text, header_idx: int, delim: str, col: int | None, n_cols: int, max_rows: int = 2000
) -> bool:
    """True when one of the next ``max_rows`` non-blank lines is a row of that table.

    A row has the header's field count (one more for a trailing delimiter) and
    a number in column ``col`` (any column when ``col`` is None).  Mixed
    tables (ECG samples with an RR value every ~130 rows) need the long look.
    """
    rows = (line for line in itertools.islice(text.lines, header_idx + 1, None) if line.strip())
    for line in itertools.islice(rows, max_rows):
        fields = _csv_fields(line, delim)
        if len(fields) not in (n_cols, n_cols + 1):
            continue
        cells = fields if col is None else fields[col : col + 1]
        if any(_is_number(f.strip()) for f in cells):
            return True
    return False


_IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _could_name_rr(header: str) -> bool:
    """False when a single-column file's header names something other than RR.

    Identifier-like names (``ecg_adc``, ``value``) or names with a unit
    (``HR (bpm)``, ``time [s]``) are column names; they must be RR names.
    Free text (``RR intervals exported by ...``) is let through.
    """
    col = _parse_column(header)
    if col.base in _RR_BASES and col.unit in (None, "ms", "s"):
        return True
    return not (_IDENTIFIER_RE.match(header) or col.unit is not None)


def _is_selfloops_header(columns: tuple[_Col, ...]) -> bool:
    got = [(c.base, c.unit) for c in columns if c.raw]
    return got == [("time", "ms"), ("hr", "bpm"), ("rr", "ms")] and columns[2].raw.lower().startswith("r-r")


def _pick_rr_column(columns: tuple[_Col, ...]) -> int | None:
    """Index of the RR column: explicit ms first, then seconds, then no unit."""
    best: tuple[int, int] | None = None
    rank = {"ms": 0, "s": 1, None: 2}
    for i, c in enumerate(columns):
        if c.base in _RR_BASES and c.unit in rank:
            key = (rank[c.unit], i)
            if best is None or key < best:
                best = key
    return None if best is None else best[1]


def _looks_physionet(values: np.ndarray) -> bool:
    """ann2rr seconds: all values on the 1/128 s grid and actually using it.

    Round numbers (0.5, 0.75, 1.0 ...) also sit on the 1/128 s grid, so at
    least half the values must *not* be multiples of 1/32 s: a real 128 Hz
    series uses the fine resolution, a list of round seconds does not.
    """
    if values.size < _PHYSIONET_MIN_VALUES or not np.all(values > 0):
        return False
    ticks = values * _PHYSIONET_FS
    if not np.all(np.abs(ticks - np.round(ticks)) < 1e-6):
        return False
    if np.median(values[1:]) >= _SECONDS_MEDIAN_LIMIT:
        return False
    coarse = np.round(ticks[1:]) % 4 == 0  # the first value is the offset, judge the RRs
    return bool(coarse.mean() <= 0.5)


# --------------------------------------------------------------------------------------
# Readers: each returns a _Raw with arrays aligned on candidate rows.
# --------------------------------------------------------------------------------------


@dataclass
class _Raw:
    rr_ms: np.ndarray
    epoch_ms: np.ndarray | None = None
    hr_bpm: np.ndarray | None = None
    start_epoch_ms: float | None = None
    lines_without_row: int = 0  # lines that never became a candidate row
    notes: list[str] = field(default_factory=list)


def _read_rr_lines(text: _Text, det: _Detection, zone: tzinfo | None) -> _Raw:
    values, _ = text.single_numbers()
    numeric = ~np.isnan(values)
    raw = _Raw(values[numeric], lines_without_row=int((~numeric).sum()), notes=list(text.notes))
    if raw.lines_without_row:
        raw.notes.append(f"{raw.lines_without_row} non-numeric or blank lines skipped (headers, comments)")
    raw.rr_ms = _to_ms(raw.rr_ms, None, "values", raw.notes)
    return raw


def _read_physionet(text: _Text, det: _Detection, zone: tzinfo | None) -> _Raw:
    values, _ = text.single_numbers()
    numeric = ~np.isnan(values)
    v = values[numeric]
    raw = _Raw(v[1:] * 1000.0, lines_without_row=int((~numeric).sum()), notes=list(text.notes))
    raw.notes.append(
        f"first value {v[0]:.6g} s treated as the offset from record start to the first beat "
        "(PhysioNet ann2rr convention), not as an RR interval; dropped"
    )
    raw.notes.append(
        "detected as PhysioNet seconds because every value is a multiple of 1/128 s; a plain "
        "seconds-per-line file cannot be told apart by content (read it with format='rr-lines' "
        "to keep the first value)"
    )
    if raw.lines_without_row:
        raw.notes.append(f"{raw.lines_without_row} non-numeric or blank lines skipped")
    return raw


def _read_selfloops(text: _Text, det: _Detection, zone: tzinfo | None) -> _Raw:
    df, n_missing = _read_table(text, det)
    cols = list(df.columns)
    t = _numeric(df[cols[0]])
    hr = _numeric(df[cols[1]])
    rr = _numeric(df[cols[2]])
    raw = _Raw(rr, hr_bpm=hr, lines_without_row=n_missing, notes=list(text.notes))
    before = [line.strip() for line in text.lines[: det.header_idx] if line.strip()]
    first = before[-1] if before else ""
    start_naive = _parse_selfloops_start(first)
    if start_naive is None:
        raw.notes.append(
            f"start-time line {first[:40]!r} not understood; epoch_ms and start_epoch_ms are None "
            "('Time (ms)' is relative to that start)"
        )
        return raw
    start_ms = float(_naive_to_epoch_ms(np.array([_naive_datetime_ms(start_naive)]), zone)[0])
    raw.start_epoch_ms = start_ms
    raw.epoch_ms = start_ms + t
    raw.notes.append(
        f"start time {start_naive.isoformat(sep=' ')} (first line, local time without zone) read in "
        f"{_tz_label(zone)}; epoch_ms = start + 'Time (ms)'"
    )
    return raw


def _read_polar_sensor_logger(text: _Text, det: _Detection, zone: tzinfo | None) -> _Raw:
    df, n_missing = _read_table(text, det)
    ts_name = _first_column(df, det.columns, {"phonetimestamp"})
    rr_name = _first_column(df, det.columns, {"rrinterval"})
    raw = _Raw(_numeric(df[rr_name]), lines_without_row=n_missing, notes=list(text.notes))
    _count_preamble(text, det, raw)
    if ts_name is not None:
        epoch, zoned = _datetime_strings_to_epoch_ms(df[ts_name], zone)
        raw.epoch_ms = epoch
        where = "their own zone" if zoned else f"{_tz_label(zone)} (written without zone)"
        raw.notes.append(
            f"epoch_ms from 'Phone timestamp' read in {where}: the phone's receive time of each BLE "
            "notification, not the R-peak time; beats sent together share a timestamp"
        )
    return raw


def _read_hrv_logger(text: _Text, det: _Detection, zone: tzinfo | None) -> _Raw:
    df, n_missing = _read_table(text, det, structural_blank=True)
    rr_name = _first_column(df, det.columns, {"rr"})
    raw = _Raw(_numeric(df[rr_name]), lines_without_row=n_missing, notes=list(text.notes))
    _count_preamble(text, det, raw)
    ts_name = _first_column(df, det.columns, {"timestamp"})
    date_name = _first_column(df, det.columns, {"date"})
    if ts_name is not None:
        epoch, how = _time_column_to_epoch_ms(df[ts_name], _col_unit(det.columns, ts_name), zone)
        if epoch is not None:
            raw.epoch_ms = epoch
            name = _raw_name(det.columns, ts_name)
            raw.notes.append(
                f"epoch_ms from column {name!r} ({how}): the phone's receive time of each beat, "
                "not the R-peak time"
            )
    if raw.epoch_ms is None and date_name is not None:
        epoch, how = _time_column_to_epoch_ms(df[date_name], None, zone)
        if epoch is not None:
            raw.epoch_ms = epoch
            raw.notes.append(f"epoch_ms from column {_raw_name(det.columns, date_name)!r} ({how})")
    if raw.epoch_ms is None:
        raw.notes.append("no usable time column; epoch_ms is None")
    return raw


def _read_generic_csv(text: _Text, det: _Detection, zone: tzinfo | None) -> _Raw:
    df, n_missing = _read_table(text, det)
    cols = list(det.columns)
    rr_idx = _pick_rr_column(det.columns)
    if rr_idx is None:  # pragma: no cover - detection guarantees an RR column
        raise _fail(text.path, "no RR column in the header", listing=False)
    rr_col = cols[rr_idx]
    rr_name = df.columns[rr_idx]
    raw = _Raw(_numeric(df[rr_name]), lines_without_row=n_missing, notes=list(text.notes))
    _count_preamble(text, det, raw)
    raw.rr_ms = _to_ms(raw.rr_ms, rr_col.unit, f"column {rr_col.raw!r}", raw.notes)
    used = [f"RR from column {rr_col.raw!r}"]

    # Per-beat wall-clock time: the first time-like column that gives plausible Unix times.
    for base in _TIME_BASES:
        for i, c in enumerate(cols):
            if c.base != base or i == rr_idx:
                continue
            epoch, how = _time_column_to_epoch_ms(df[df.columns[i]], c.unit, zone)
            if epoch is not None:
                raw.epoch_ms = epoch
                used.append(f"epoch_ms from column {c.raw!r} ({how})")
                break
            if how:
                raw.notes.append(f"column {c.raw!r} not used for epoch_ms: {how}")
        if raw.epoch_ms is not None:
            break

    for i, c in enumerate(cols):
        if c.base in _HR_BASES and c.unit in (None, "bpm"):
            hr = _numeric(df[df.columns[i]])
            if np.isfinite(hr).any():
                raw.hr_bpm = hr
                used.append(f"hr_bpm from column {c.raw!r}")
                break
    raw.notes.append("; ".join(used))
    return raw


_READERS = {
    "selfloops": _read_selfloops,
    "polar-sensor-logger": _read_polar_sensor_logger,
    "hrv-logger": _read_hrv_logger,
    "csv-rr_ms": _read_generic_csv,
    "physionet-rr-secs": _read_physionet,
    "rr-lines": _read_rr_lines,
}


def _finish(fmt: str, raw: _Raw, path: Path) -> RRSeries:
    rr = np.asarray(raw.rr_ms, dtype=np.float64)
    valid = np.isfinite(rr) & (rr > 0)
    n_bad_rows = int((~valid).sum())
    notes = list(raw.notes)
    if n_bad_rows:
        n_nonpos = int((np.isfinite(rr) & (rr <= 0)).sum())
        parts = []
        if n_nonpos:
            parts.append(f"{n_nonpos} zero or negative")
        if n_bad_rows - n_nonpos:
            parts.append(f"{n_bad_rows - n_nonpos} missing or non-numeric")
        notes.append(f"{' and '.join(parts)} RR values skipped")
    skipped = int(raw.lines_without_row) + n_bad_rows
    rr = rr[valid]
    if rr.size == 0:
        why = f"read as {fmt!r} but no valid (positive, numeric) RR value remains; {skipped} lines skipped"
        raise _fail(path, why, listing=False)

    def _align(a: np.ndarray | None) -> np.ndarray | None:
        if a is None:
            return None
        a = np.asarray(a, dtype=np.float64)[valid]
        return a if np.isfinite(a).any() else None

    epoch = _align(raw.epoch_ms)
    hr = _align(raw.hr_bpm)
    if raw.epoch_ms is not None and epoch is None:
        notes.append("time column present but no value could be read; epoch_ms is None")
    if epoch is not None:
        n_nan = int(np.isnan(epoch).sum())
        if n_nan:
            notes.append(f"{n_nan} beats have no readable time (NaN in epoch_ms)")
    n_long = int((rr > _LONG_RR_MS).sum())
    if n_long:
        notes.append(
            f"{n_long} interval{'s' if n_long > 1 else ''} longer than 3 s kept as in the file "
            f"(dropouts or pauses?), longest {rr.max() / 1000:.3g} s"
        )
    for a in (rr, epoch, hr):
        if a is not None:
            a.setflags(write=False)
    return RRSeries(
        format=fmt,
        rr_ms=rr,
        epoch_ms=epoch,
        hr_bpm=hr,
        start_epoch_ms=raw.start_epoch_ms,
        skipped_lines=skipped,
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------------------
# Table helpers
# --------------------------------------------------------------------------------------


def _read_table(text: _Text, det: _Detection, structural_blank: bool = False) -> tuple[pd.DataFrame, int]:
    """Parse the table under ``det.header_idx``; return (frame of str, body lines without a row)."""
    body_start = det.header_idx + 1
    if structural_blank and body_start < len(text.lines) and not text.lines[body_start].strip():
        body_start += 1  # HRV Logger / FatMaxxer: blank line after the header is part of the format
    names = [f"c{i}" for i in range(len(det.columns))]
    body = "\n".join(text.lines[body_start:])
    n_body = len(text.lines) - body_start
    if n_body == 0 or not body.strip():
        return pd.DataFrame({n: pd.Series([], dtype=object) for n in names}), n_body
    try:
        with warnings.catch_warnings():
            # A row with one field more than the header (trailing delimiter) loses that field.
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            df = pd.read_csv(
                io.StringIO(body),
                sep=det.delimiter,
                header=None,
                names=names,
                skip_blank_lines=True,
                on_bad_lines="skip",
                skipinitialspace=True,
                engine="c",
                low_memory=False,
                index_col=False,
            )
    except (ValueError, csv.Error, OverflowError) as exc:  # pandas ParserError is a ValueError
        raise _fail(text.path, f"table could not be parsed as {det.format!r}: {exc}", listing=False) from None
    return df, n_body - len(df)


def _count_preamble(text: _Text, det: _Detection, raw: _Raw) -> None:
    """Lines before the header row carry no beat: count them and say so."""
    if det.header_idx > 0:
        raw.lines_without_row += det.header_idx
        raw.notes.append(f"{det.header_idx} preamble lines before the header row skipped")


def _numeric(s: pd.Series) -> np.ndarray:
    """Column -> float64, NaN where a cell is not a number."""
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    out = pd.to_numeric(s.astype(str).str.strip(), errors="coerce")
    return out.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)


def _raw_name(columns: tuple[_Col, ...], name: str) -> str:
    """The header's spelling of internal column ``c<i>``."""
    return columns[int(name[1:])].raw


def _first_column(df: pd.DataFrame, columns: tuple[_Col, ...], bases: set[str]) -> str | None:
    for i, c in enumerate(columns):
        if c.base in bases:
            return df.columns[i]
    return None


def _col_unit(columns: tuple[_Col, ...], name: str) -> str | None:
    return columns[int(name[1:])].unit


def _to_ms(values: np.ndarray, unit: str | None, what: str, notes: list[str]) -> np.ndarray:
    finite = values[np.isfinite(values) & (values > 0)]
    median = float(np.median(finite)) if finite.size else math.nan
    if unit == "ms":
        if median < _SECONDS_MEDIAN_LIMIT:
            notes.append(f"{what} says ms but the median is {median:.3g}: check the unit (kept as ms)")
        return values
    if unit == "s":
        notes.append(f"{what} in seconds, converted to ms")
    elif median < _SECONDS_MEDIAN_LIMIT:
        limit = _SECONDS_MEDIAN_LIMIT
        notes.append(f"{what} read as seconds (median {median:.3g} < {limit:g}), converted to ms")
    else:
        return values
    return values * 1000.0


# --------------------------------------------------------------------------------------
# Time helpers
# --------------------------------------------------------------------------------------

_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for name in names
}
_SELFLOOPS_START_RE = re.compile(
    r"^\s*(\d{1,2})\s+([^\W\d_]+)\.?\s+(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$"
)
_ZONE_RE = re.compile(r"^(?P<base>.*?\d)\s*(?P<zone>Z|[+-]\d{2}:?\d{2})$")
_ZONE_TAIL_RE = re.compile(r"\d\s?(?:Z|[+-]\d\d:?\d\d)$")


def _parse_selfloops_start(line: str) -> datetime | None:
    """'04 August 2017 12:53:19' -> naive datetime (English month names)."""
    m = _SELFLOOPS_START_RE.match(line)
    if not m:
        return None
    month = _MONTHS.get(m.group(2).lower())
    if month is None:
        return None
    try:
        day, _, year, hour, minute, sec = m.groups()
        return datetime(int(year), month, int(day), int(hour), int(minute), int(sec or 0))
    except ValueError:
        return None


def _resolve_tz(tz: TzLike) -> tzinfo | None:
    if tz is None or isinstance(tz, tzinfo):
        return tz
    if isinstance(tz, str):
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            why = f"unknown time zone {tz!r} (use an IANA name such as 'Europe/Berlin' or 'UTC')"
            raise ValueError(why) from None
    raise ValueError(f"tz must be an IANA zone name, a tzinfo or None, not {type(tz).__name__}")


def _tz_label(zone: tzinfo | None) -> str:
    if zone is None:
        return "the machine's local time zone"
    return f"time zone {getattr(zone, 'key', None) or str(zone)}"


_EPOCH_NAIVE = datetime(1970, 1, 1)


def _naive_datetime_ms(dt: datetime) -> float:
    return (dt - _EPOCH_NAIVE) / timedelta(milliseconds=1)


def _utc_offset_ms(naive: datetime, zone: tzinfo | None) -> float:
    if zone is None:
        off = naive.astimezone().utcoffset()  # naive -> machine local time (mktime rules)
    else:
        off = naive.replace(tzinfo=zone).utcoffset()
    return 0.0 if off is None else off / timedelta(milliseconds=1)


def _naive_to_epoch_ms(naive_ms: np.ndarray, zone: tzinfo | None) -> np.ndarray:
    """Local wall-clock times (ms since 1970-01-01 as if UTC) -> Unix ms.

    The UTC offset is looked up once per 15-minute bucket (zone transitions
    fall on such boundaries), so 100k timestamps cost a handful of lookups.
    """
    out = np.full(naive_ms.shape, np.nan)
    ok = np.isfinite(naive_ms) & (naive_ms > 86_400_000.0) & (naive_ms < _EPOCH_MS_MAX)
    if not ok.any():
        return out
    bucket_ms = 900_000.0
    buckets = np.floor(naive_ms[ok] / bucket_ms)
    uniq, inv = np.unique(buckets, return_inverse=True)
    offsets = np.empty(uniq.shape)
    for j, b in enumerate(uniq):
        naive = _EPOCH_NAIVE + timedelta(milliseconds=float(b) * bucket_ms)
        try:
            offsets[j] = _utc_offset_ms(naive, zone)
        except (OverflowError, OSError, ValueError):
            offsets[j] = np.nan
    out[ok] = naive_ms[ok] - offsets[inv]
    return out


def _datetime_strings_to_epoch_ms(s: pd.Series, zone: tzinfo | None) -> tuple[np.ndarray, bool]:
    """ISO-like date-time strings -> Unix ms (NaN where unreadable).

    Strings with a zone (``Z``, ``+02:00``, `` +0200``) use it; the others are
    local times in ``zone``.  Returns (epoch_ms, any_zone_seen).
    """
    st = s.astype(str).str.strip()
    # Only the last 7 characters can hold a zone: test those, split the few that do.
    has_zone = st.str[-7:].str.contains(_ZONE_TAIL_RE, na=False).to_numpy(dtype=bool)
    parts = st[has_zone].str.extract(_ZONE_RE)
    base = st.copy()
    base[has_zone] = parts["base"]
    parsed = pd.to_datetime(base, format="ISO8601", errors="coerce")
    if getattr(parsed.dt, "tz", None) is not None:  # pragma: no cover - defensive
        parsed = parsed.dt.tz_convert(None)
    naive_ms = parsed.to_numpy(dtype="datetime64[ms]").astype(np.int64).astype(np.float64)
    naive_ms[parsed.isna().to_numpy()] = np.nan
    out = np.full(naive_ms.shape, np.nan)
    if has_zone.any():
        z = parts["zone"].fillna("Z").str.replace(":", "", regex=False)
        sign = np.where(z.str[0] == "-", -1.0, 1.0)
        hours = pd.to_numeric(z.str[1:3], errors="coerce").fillna(0).to_numpy(dtype=float)
        mins = pd.to_numeric(z.str[3:5], errors="coerce").fillna(0).to_numpy(dtype=float)
        off = np.where(z == "Z", 0.0, sign * (hours * 3_600_000.0 + mins * 60_000.0))
        out[has_zone] = naive_ms[has_zone] - off
    if (~has_zone).any():
        out[~has_zone] = _naive_to_epoch_ms(naive_ms[~has_zone], zone)
    return out, bool(has_zone.any())


_UNIT_TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1000.0}


def _time_column_to_epoch_ms(
    s: pd.Series, unit: str | None, zone: tzinfo | None
) -> tuple[np.ndarray | None, str]:
    """A column of Unix numbers or date-time strings -> (Unix ms or None, explanation)."""
    n = len(s)
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        stripped = None
        num = s
    else:
        stripped = s.astype(str).str.strip()
        num = pd.to_numeric(stripped, errors="coerce")
    if n == 0:
        return None, ""
    if num.notna().mean() >= 0.5:
        finite = num[num.notna()]
        if unit in _UNIT_TO_MS:
            scale, why = _UNIT_TO_MS[unit], f"Unix {unit} by its name"
        else:
            mag = float(np.median(np.abs(finite.to_numpy(dtype=np.float64))))
            if mag >= 1e17:
                scale, why = 1e-6, "Unix ns by magnitude"
            elif mag >= 1e14:
                scale, why = 1e-3, "Unix us by magnitude"
            elif mag >= 1e11:
                scale, why = 1.0, "Unix ms by magnitude"
            elif mag >= 1e8:
                scale, why = 1000.0, "Unix s by magnitude"
            else:
                lo, hi = finite.min(), finite.max()
                return None, f"values from {lo:g} to {hi:g} are not Unix times (relative time?)"
        if num.dtype.kind in "iu" and scale < 1:
            ints = num.to_numpy(dtype=np.int64)
            div = int(round(1 / scale))
            epoch = (ints // div).astype(np.float64) + (ints % div).astype(np.float64) / div
        else:
            epoch = num.to_numpy(dtype=np.float64, na_value=np.nan) * scale
        epoch[~np.isfinite(epoch)] = np.nan
        if np.isnan(epoch).all():
            return None, "no value is a number"
        med = float(np.nanmedian(epoch))
        if not (_EPOCH_MS_MIN <= med <= _EPOCH_MS_MAX):
            lo, hi = float(np.nanmin(epoch)), float(np.nanmax(epoch))
            as_what = why.split(" by ")[0]
            return None, f"values read as {as_what} fall outside 1990-2100 ({lo:.0f}..{hi:.0f} ms; relative time?)"
        return epoch, why
    if stripped is None:
        return None, ""
    epoch, zoned = _datetime_strings_to_epoch_ms(stripped, zone)
    if np.isfinite(epoch).mean() >= 0.5:
        med = float(np.nanmedian(epoch))
        if _EPOCH_MS_MIN <= med <= _EPOCH_MS_MAX:
            where = "with their own zone" if zoned else f"local times read in {_tz_label(zone)}"
            return epoch, f"date-time strings, {where}"
    return None, ""


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


def _fail(path: Path, why: str, listing: bool = True) -> RRFormatError:
    msg = f"{path}: not readable as RR intervals: {why}."
    if listing:
        formats = "; ".join(f"{k} ({v})" for k, v in FORMAT_DESCRIPTIONS.items())
        msg += f" Supported formats, in detection order: {formats}."
    return RRFormatError(msg)
