"""One reader per format, each returning a :class:`_Raw` (arrays aligned on candidate
rows), then :func:`_finish` turns it into an :class:`RRSeries` (invalid rows counted, never
dropped silently); the table helpers they share."""

from __future__ import annotations

import csv
import io
import math
import warnings
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path

import numpy as np
import pandas as pd

from attune.ingest.formats.columns import _HR_BASES, _TIME_BASES, _Col, _pick_rr_column
from attune.ingest.formats.detect import _SECONDS_MEDIAN_LIMIT, _Detection
from attune.ingest.formats.pairs import pairs_parse, pairs_time_scale_s
from attune.ingest.formats.series import RRSeries, _fail
from attune.ingest.formats.text import _Text
from attune.ingest.formats.times import (
    _datetime_strings_to_epoch_ms,
    _naive_datetime_ms,
    _naive_to_epoch_ms,
    _parse_selfloops_start,
    _time_column_to_epoch_ms,
    _tz_label,
)

_LONG_RR_MS = 3000.0


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


# -- two columns without a header (ingest.formats.pairs detects them) --
def _read_pairs(text: _Text, fmt: str) -> _Raw:
    t, v, ok = pairs_parse(text)
    blank = np.array([not line.strip() for line in text.lines], dtype=bool)
    odd = int((~ok & ~blank).sum())
    t, v = t[ok], v[ok]
    rr = 60_000.0 / v if fmt == "time-hr" else v.copy()
    raw = _Raw(rr, hr_bpm=v.copy() if fmt == "time-hr" else None,
               lines_without_row=int((~ok).sum()), notes=list(text.notes))
    scale, unix = pairs_time_scale_s(t) if t.size else (1.0, False)
    what = "heart rate (bpm)" if fmt == "time-hr" else "RR interval (ms)"
    if unix:
        raw.epoch_ms = t * scale * 1000.0
        raw.notes.append(f"two columns without a header: Unix time ({'s' if scale == 1 else 'ms'}) and {what}")
    else:
        raw.notes.append(f"two columns without a header: time (s from the recording's start) and {what}; "
                         "the file gives no wall time")
    if fmt == "time-hr":
        raw.notes.append("RR = 60000 / heart rate (the interval each heart rate was computed from)")
    if odd:
        raw.notes.append(f"{odd} lines that are not two numbers skipped")
    return raw


def _read_time_hr(text: _Text, det: _Detection, zone: tzinfo | None) -> _Raw:
    return _read_pairs(text, "time-hr")


def _read_time_rr(text: _Text, det: _Detection, zone: tzinfo | None) -> _Raw:
    return _read_pairs(text, "time-rr")


_READERS = {
    "selfloops": _read_selfloops,
    "polar-sensor-logger": _read_polar_sensor_logger,
    "hrv-logger": _read_hrv_logger,
    "csv-rr_ms": _read_generic_csv,
    "physionet-rr-secs": _read_physionet,
    "rr-lines": _read_rr_lines,
    "time-hr": _read_time_hr,
    "time-rr": _read_time_rr,
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
