"""Column-name recognition: a header cell becomes a :class:`_Col` (normalised base name
and unit), and the rules that say which column holds RR, time or heart rate."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

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


def _header_columns(line: str) -> tuple[str, tuple[_Col, ...]] | None:
    """(delimiter, columns) when ``line`` looks like a header row of a table."""
    delim, fields = _split_fields(line)
    if delim is None:
        return None
    cells = [f.strip() for f in fields if f.strip()]
    if not cells or any(_is_number(c) for c in cells):
        return None  # a header row names columns; it holds no numbers
    return delim, tuple(_parse_column(f) for f in fields)


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
