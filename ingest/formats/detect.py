"""Format detection from content (never the file name), first match wins, in the order
of :data:`~attune.ingest.format_ids.FORMATS` (the rules are in the package docstring)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from attune.ingest.format_ids import FORMAT_DESCRIPTIONS
from attune.ingest.formats.columns import (
    _Col,
    _could_name_rr,
    _csv_fields,
    _header_columns,
    _is_number,
    _is_selfloops_header,
    _pick_rr_column,
    _split_fields,
)
from attune.ingest.formats.pairs import pairs_detect, pairs_parse
from attune.ingest.formats.series import _fail
from attune.ingest.formats.text import _Text

_HEADER_SCAN_LINES = 20  # a CSV header may follow at most this many preamble lines
_SECONDS_MEDIAN_LIMIT = 10.0  # median RR below this => the values are seconds
_PHYSIONET_FS = 128.0  # nsr2db / chf2db / nsrdb annotation sampling rate (Hz)
_PHYSIONET_MIN_VALUES = 16


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

    # 7. Two numbers per line without a header: a time and an RR interval or heart rate
    # whose values agree with each other (ingest.formats.pairs).
    if n_num == 0:
        fmt = pairs_detect(text)
        if fmt is not None:
            return _Detection(fmt)

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
        if (multi and all(_is_number(f.strip()) or not f.strip() for f in first_fields)) or _pairs_present(text):
            why = (
                "lines hold several numbers but there is no header row to say which column is RR, "
                "and they are not a time column with RR (ms) or heart rate (bpm) that agree with it "
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
    if fmt in ("time-hr", "time-rr"):
        if not _pairs_present(text):
            raise _fail(text.path, f"forced format {fmt!r}, but no line holds two numbers", listing=False)
        return _Detection(fmt)
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


def _pairs_present(text: _Text) -> bool:
    return bool(pairs_parse(text)[2].any())
