"""Read accelerometer files: :func:`acc_file_read` turns a file into an :class:`AccSeries`
(wall-clock sample times in Unix ms and x, y, z in mg including gravity, at 12.5–200 Hz).

Formats (ids in :data:`~attune.ingest.format_ids.ACC_FORMATS`), told apart by the header:

``polar-sensor-logger-acc``
    Polar Sensor Logger ``*_ACC.txt`` (H10, OH1, Verity Sense):
    ``Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]`` (the app may end the
    header with a space and rows with a ``;``). ``Phone timestamp`` is the phone's local
    time when the BLE notification arrived (``2024-03-09T22:15:01.123``, no zone; a zone
    is honoured when written), the same for every sample of a notification;
    ``sensor timestamp`` is each sample's time on the strap's clock, ns since 2000-01-01,
    which ticks steadily but is not wall time (an H10 restarts it at 2019-01-01). Sample
    times are the sensor times shifted onto wall time by the earliest arrival: the offset
    is the smallest ``phone - sensor`` of each stretch of the file (a sample is never
    placed after its notification arrived; a new stretch begins where the sensor clock
    goes back or the offset jumps by more than :data:`_OFFSET_JUMP_MS`). Without a usable
    sensor column, samples that share a phone timestamp are spread back from it at the
    file's rate.
``csv-acc``
    Any delimited table (``,`` ``;`` tab) with a time column (``epoch_ms``, ``timestamp``,
    ``time`` …: Unix s/ms/µs/ns by name or magnitude, or ISO date-times) and ``x``, ``y``,
    ``z`` columns (``x_mg``, ``X [mg]``, ``acc_x``; in mg, or in g / m/s² when the name
    says so or the values are around 1 g).

Every file must carry wall time (accelerometer samples are aligned to beats by it): a file
without is refused. Rows without a time or three finite values within ±32767 mg (beyond
any body-worn accelerometer, and beyond the stored int16) are skipped and counted; rows out
of time order are sorted, repeated times keep their first row (counted). The rate is
measured from the times and must lie within 12.5–200 Hz. Decimal commas (``0,981`` in a
``;`` or tab file) are read. Loading is bounded like the RR readers': regular files only,
at most :data:`_MAX_BYTES` and :data:`_MAX_LINES`, binary content refused.
"""

from __future__ import annotations

import io
import itertools
import os
import re
import stat
import warnings
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path

import numpy as np
import pandas as pd

from attune.ingest.format_ids import ACC_FORMAT_DESCRIPTIONS, ACC_FORMATS
from attune.ingest.formats.columns import _is_number, _parse_column, _pick_rr_column, _split_fields
from attune.ingest.formats.series import RRFormatError
from attune.ingest.formats.text import PathLike, _text_read_bounded
from attune.ingest.formats.times import TzLike, _datetime_strings_to_epoch_ms, _resolve_tz, _time_column_to_epoch_ms

__all__ = ["ACC_RATE_MAX_HZ", "ACC_RATE_MIN_HZ", "AccFormatError", "AccSeries", "acc_file_detect",
           "acc_file_read", "acc_file_sniff"]

ACC_RATE_MIN_HZ = 12.5
ACC_RATE_MAX_HZ = 200.0
_RATE_SLACK = 0.03  # a 12.5 Hz stream measured at 12.3 Hz is still 12.5 Hz
ACC_MG_LIMIT = 32767.0  # int16 storage; no body-worn accelerometer reads 32 g
# 256 MiB holds a day of Polar Sensor Logger ACC at 50 Hz (~48 B a line, 4.3 M lines) or
# of a generic CSV at 100 Hz; a day at 200 Hz is 17.3 M lines: split such files by hours.
_MAX_BYTES = 256 << 20
_MAX_LINES = 12_000_000
_HEADER_SCAN_LINES = 20
_SNIFF_BYTES = 1 << 16
_CHUNK_ROWS = 500_000  # parse in chunks: a 256 MiB file never holds all its cells as objects
_OFFSET_JUMP_MS = 5000.0  # phone - sensor time moving more than this starts a new stretch
_GAP_MS = 5000.0  # phone stamps further apart than this do not tell the rate
_G_MG = 1000.0
_STANDARD_GRAVITY = 9.80665


class AccFormatError(RRFormatError):
    """A file could not be read as accelerometer samples; the message says why (a subclass
    of :class:`RRFormatError`, so one ``except`` catches every unreadable import file)."""


@dataclass(frozen=True, eq=False)
class AccSeries:
    """Accelerometer samples read from a file.

    ``epoch_ms`` int64 (n,) Unix ms, strictly increasing; ``xyz_mg`` int16 (n, 3) in mg
    including gravity; ``rate_hz`` the rate measured from the times; ``skipped_lines`` the
    body lines that gave no sample (blank, malformed, bad values, repeated times)."""

    format: str
    epoch_ms: np.ndarray
    xyz_mg: np.ndarray
    rate_hz: float
    skipped_lines: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return int(self.epoch_ms.shape[0])


def _fail(path: Path, why: str, listing: bool = True) -> AccFormatError:
    msg = f"{path}: not readable as accelerometer samples: {why}."
    if listing:
        formats = "; ".join(f"{k} ({v})" for k, v in ACC_FORMAT_DESCRIPTIONS.items())
        msg += f" Supported accelerometer formats: {formats}."
    return AccFormatError(msg)


# -- columns -----------------------------------------------------------------------------------
_COL_RE = re.compile(r"^(?P<base>.*?)[\s_\-]*(?:[\[(]\s*(?P<u1>[^\[\]()]*?)\s*[\])]|_(?P<u2>mg|g|ms|ns|us|s))?\s*$",
                     re.IGNORECASE)
_AXES = {"x": 0, "y": 1, "z": 2}
_AXIS_PREFIXES = ("", "acc", "accel", "acceleration", "a")
_TIME_BASES = ("epoch", "epochms", "unixtime", "unix", "timestamp", "time", "datetime", "date", "localtime", "t")
_UNIT_MG = {"mg": 1.0, "millig": 1.0, "g": _G_MG, "ms2": _G_MG / _STANDARD_GRAVITY, "ms^2": _G_MG / _STANDARD_GRAVITY,
            "m/s2": _G_MG / _STANDARD_GRAVITY, "m/s^2": _G_MG / _STANDARD_GRAVITY, "m/s²": _G_MG / _STANDARD_GRAVITY}
_TIME_UNITS = {"ms": "ms", "s": "s", "ns": "ns", "us": "us"}


@dataclass(frozen=True)
class _AccCols:
    delimiter: str
    names: tuple[str, ...]
    axes: tuple[int | None, int | None, int | None]
    axis_units: tuple[str | None, str | None, str | None]
    phone: int | None = None  # Polar Sensor Logger 'Phone timestamp'
    sensor: int | None = None  # 'sensor timestamp [ns]'
    time: int | None = None
    time_unit: str | None = None

    @property
    def n_axes(self) -> int:
        return sum(a is not None for a in self.axes)


def _column(raw: str) -> tuple[str, str | None]:
    """(lowercase alphanumeric base, unit or None) of a header cell."""
    name = raw.strip().strip('"').strip("'").strip()
    m = _COL_RE.match(name)
    if m is None:  # pragma: no cover - the pattern matches any string
        return re.sub(r"[^a-z0-9]+", "", name.lower()), None
    unit_raw = (m.group("u1") or m.group("u2") or "").strip().replace(" ", "")
    # 'G' alone is Gauss (Polar Sensor Logger's magnetometer file: 'X [G]'), not g
    unit = "gauss" if unit_raw == "G" else (unit_raw.lower() or None)
    base = re.sub(r"[^a-z0-9]+", "", m.group("base").lower())
    if unit is None:  # x_mg, xmg, accX_g: a unit glued on
        for u in ("mg", "g"):
            for prefix in _AXIS_PREFIXES:
                for ax in _AXES:
                    if base == f"{prefix}{ax}{u}":
                        return f"{prefix}{ax}", u
    return base, unit


def _header_acc(line: str) -> _AccCols | None:
    """The accelerometer columns of a header row (None: not an ACC header; at least two
    axis columns and no number in it)."""
    delim, fields = _split_fields(line)
    if delim is None:
        return None
    cells = [f.strip() for f in fields]
    if not any(cells) or any(_is_number(c) for c in cells if c):
        return None
    axes: list[int | None] = [None, None, None]
    units: list[str | None] = [None, None, None]
    phone = sensor = time = None
    time_unit = None
    times: dict[str, tuple[int, str | None]] = {}
    for i, cell in enumerate(cells):
        base, unit = _column(cell)
        for prefix in _AXIS_PREFIXES:
            if base.startswith(prefix) and base[len(prefix):] in _AXES:
                k = _AXES[base[len(prefix):]]
                if axes[k] is None:
                    axes[k], units[k] = i, unit
                break
        else:
            if base == "phonetimestamp":
                phone = i
            elif base == "sensortimestamp":
                sensor = i
            elif base in _TIME_BASES and base not in times:
                times[base] = (i, _TIME_UNITS.get(unit or ""))
    for base in _TIME_BASES:
        if base in times:
            time, time_unit = times[base]
            break
    cols = _AccCols(delim, tuple(cells), (axes[0], axes[1], axes[2]), (units[0], units[1], units[2]),
                    phone, sensor, time, time_unit)
    if cols.n_axes < 2 or _pick_rr_column(tuple(_parse_column(c) for c in cells)) is not None:
        return None  # a table with an RR column is an RR file, whatever else it holds
    return cols


def _head_lines(lines: list[str]) -> list[int]:
    gen = (i for i, line in enumerate(lines) if line.strip())
    return list(itertools.islice(gen, _HEADER_SCAN_LINES))


def _find_header(lines: list[str]) -> tuple[int, _AccCols] | None:
    for i in _head_lines(lines):
        cols = _header_acc(lines[i])
        if cols is not None:
            return i, cols
    return None


def _format_of(cols: _AccCols) -> str:
    return "polar-sensor-logger-acc" if cols.phone is not None else "csv-acc"


# -- detection ---------------------------------------------------------------------------------------
def acc_file_sniff(path: PathLike) -> bool:
    """Whether ``path`` looks like an accelerometer file (a header naming x, y, z columns
    among its first lines), reading at most 64 KiB. False for anything that is not a
    regular file: the RR reader then says what is wrong with it."""
    p = Path(path)
    try:
        if not stat.S_ISREG(os.stat(p).st_mode):
            return False
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return False
            data = fh.read(_SNIFF_BYTES)
    except OSError:
        return False
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="ignore")
    else:
        text = data.decode("utf-8", errors="ignore").lstrip("\ufeff")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return _find_header(lines[:-1] if len(data) == _SNIFF_BYTES else lines) is not None


def acc_file_detect(path: PathLike) -> str:
    """The accelerometer format id of ``path`` (raises :class:`AccFormatError` if none)."""
    text, _ = _acc_text(Path(path))
    lines = text.split("\n", _HEADER_SCAN_LINES * 4)[: _HEADER_SCAN_LINES * 4]
    found = _find_header(lines)
    if found is None:
        raise _fail(Path(path), "no header row naming x, y and z columns in its first lines")
    return _format_of(found[1])


def _acc_text(p: Path) -> tuple[str, list[str]]:
    text, notes = _text_read_bounded(
        p, _MAX_BYTES, _MAX_LINES, _fail, export="accelerometer export",
        lines_what=f"{_MAX_LINES:,} lines (a day at 100 Hz), more than attune reads from one accelerometer file",
        error=AccFormatError)
    if not text.strip():
        raise _fail(p, "file holds only blank lines")
    return text, notes


# -- reading -----------------------------------------------------------------------------------------
def acc_file_read(path: PathLike, format: str | None = None, *, tz: TzLike = None) -> AccSeries:
    """Read accelerometer samples (mg, wall-clock Unix ms) from a file, detecting its format.

    Parameters
    ----------
    path : str or os.PathLike
        File to read.
    format : str, optional
        A format id from :data:`ACC_FORMATS` the file must match.
    tz : str or datetime.tzinfo, optional
        Zone for local times written without one (Polar Sensor Logger's phone time);
        default the machine's local zone.

    Returns
    -------
    AccSeries

    Raises
    ------
    AccFormatError
        Not an accelerometer file, no wall time, no valid sample, or a rate outside
        12.5–200 Hz; one line saying why.
    """
    if format is not None and format not in ACC_FORMATS:
        raise ValueError(f"unknown accelerometer format {format!r}; choose one of: {', '.join(ACC_FORMATS)}")
    zone = _resolve_tz(tz)
    p = Path(path)
    text, notes = _acc_text(p)
    head_end = 0
    for _ in range(_HEADER_SCAN_LINES * 4):  # the header sits in the first lines: split only those
        nxt = text.find("\n", head_end)
        if nxt < 0:
            head_end = len(text)
            break
        head_end = nxt + 1
    found = _find_header(text[:head_end].split("\n"))
    if found is None:
        raise _fail(p, "no header row naming x, y and z columns in its first lines")
    header_idx, cols = found
    fmt = _format_of(cols)
    if format is not None and format != fmt:
        raise _fail(p, f"read as {fmt!r}, not the {format!r} asked for ({ACC_FORMAT_DESCRIPTIONS[format]})",
                    listing=False)
    missing = [ax for ax, i in zip("xyz", cols.axes, strict=True) if i is None]
    if missing:
        raise _fail(p, f"the header {'; '.join(c for c in cols.names if c)!r} has no {' or '.join(missing)} column",
                    listing=False)
    if cols.phone is None and cols.time is None:
        raise AccFormatError(
            f"{p}: accelerometer samples without wall time (no time column such as epoch_ms or 'Phone timestamp'):"
            " attune aligns motion to beats by wall time; nothing imported.")
    body_start = _line_offset(text, header_idx + 1)
    body = text[body_start:]
    del text
    n_body = body.count("\n") + (0 if body.endswith("\n") or not body else 1)
    t_ms, sensor_ns, xyz, bad_cells = _table_read(p, body, cols, zone, notes, fmt)
    del body
    if fmt == "polar-sensor-logger-acc":
        t_ms = _psl_times(t_ms, sensor_ns, notes)
    elif not np.isfinite(t_ms).any():
        raise AccFormatError(f"{p}: no value of the time column {cols.names[cols.time]!r} is a wall-clock time"
                             f" (Unix time or ISO date-time){'' if not bad_cells else ': ' + bad_cells}; nothing imported.")
    return _finish(p, fmt, t_ms, xyz, n_body, notes)


def _line_offset(text: str, line_idx: int) -> int:
    pos = 0
    for _ in range(line_idx):
        nxt = text.find("\n", pos)
        if nxt < 0:
            return len(text)
        pos = nxt + 1
    return pos


def _numeric(s: pd.Series) -> np.ndarray:
    """Column -> float64, NaN where a cell is not a number; a decimal comma is read."""
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    st = s.astype(str).str.strip()
    out = pd.to_numeric(st, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    retry = np.isnan(out) & st.str.contains(",", regex=False).to_numpy(dtype=bool)
    if retry.any():
        out[retry] = pd.to_numeric(st[retry].str.replace(",", ".", regex=False), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan)
    return out


def _int_ns(s: pd.Series) -> np.ndarray:
    """Sensor ns column -> int64 (exact: values near 6e17 do not fit a float), -1 where unreadable."""
    if pd.api.types.is_integer_dtype(s):
        return s.to_numpy(dtype=np.int64)
    num = pd.to_numeric(s.astype(str).str.strip(), errors="coerce")
    if pd.api.types.is_integer_dtype(num):
        return num.to_numpy(dtype=np.int64)
    f = num.to_numpy(dtype=np.float64, na_value=np.nan)
    out = np.full(f.shape, -1, dtype=np.int64)
    ok = np.isfinite(f) & (f >= 0) & (f < 9e18)
    out[ok] = f[ok].astype(np.int64)
    return out


def _table_read(
    p: Path, body: str, cols: _AccCols, zone: tzinfo | None, notes: list[str], fmt: str
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, str]:
    """Parse the body in chunks: (time in Unix ms or NaN, sensor ns or None, xyz float (n, 3), why the
    time column failed)."""
    used = [i for i in (cols.phone, cols.sensor, cols.time, *cols.axes) if i is not None]
    names = [f"c{i}" for i in range(len(cols.names))]
    t_parts, s_parts, x_parts = [], [], []
    why_time = ""
    if not body.strip():
        raise _fail(p, "no row under the header", listing=False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            reader = pd.read_csv(
                io.StringIO(body), sep=cols.delimiter, header=None, names=names, usecols=[names[i] for i in used],
                skip_blank_lines=True, on_bad_lines="skip", skipinitialspace=True, engine="c", index_col=False,
                chunksize=_CHUNK_ROWS, dtype={names[cols.phone]: str} if cols.phone is not None else None,
            )
            for df in reader:
                xyz = np.column_stack([_numeric(df[names[i]]) for i in cols.axes if i is not None])
                x_parts.append(xyz)
                if cols.phone is not None:
                    s = df[names[cols.phone]].fillna("")
                    codes, uniq = pd.factorize(s)  # one parse per notification, not per sample
                    epoch, _ = _datetime_strings_to_epoch_ms(pd.Series(uniq, dtype=object), zone)
                    t_parts.append(np.where(codes >= 0, epoch[np.maximum(codes, 0)], np.nan) if len(uniq) else
                                   np.full(len(df), np.nan))
                    if cols.sensor is not None:
                        s_parts.append(_int_ns(df[names[cols.sensor]]))
                else:
                    assert cols.time is not None
                    epoch, how = _time_column_to_epoch_ms(df[names[cols.time]], cols.time_unit, zone)
                    if epoch is None:
                        why_time = why_time or how
                        epoch = np.full(len(df), np.nan)
                    t_parts.append(epoch)
    except (ValueError, OverflowError) as exc:  # pandas ParserError is a ValueError
        raise _fail(p, f"table could not be parsed as {fmt!r}: {exc}", listing=False) from None
    if not x_parts:
        raise _fail(p, "no row under the header", listing=False)
    xyz = np.concatenate(x_parts)
    units = {u for u in cols.axis_units}
    scale = 1.0
    if len(units) == 1 and (unit := next(iter(units))) is not None:
        if unit not in _UNIT_MG:
            what = {"gauss": " (a magnetometer)", "dps": " (a gyroscope)"}.get(unit, "")
            raise _fail(p, f"axis unit {unit!r}{what} is not an acceleration (mg, g or m/s²)", listing=False)
        scale = _UNIT_MG[unit]
        if unit != "mg":
            notes.append(f"x, y, z in {unit}, converted to mg")
    else:
        mag = np.nanmedian(np.linalg.norm(xyz, axis=1)) if len(xyz) else np.nan
        if np.isfinite(mag) and mag < 20.0:  # about 1 g in g, not 1 mg
            scale = _G_MG
            notes.append(f"x, y, z read as g (median magnitude {mag:.3g}, no unit in the header), converted to mg")
    if scale != 1.0:
        xyz = xyz * scale
    sensor = np.concatenate(s_parts) if s_parts else None
    return np.concatenate(t_parts), sensor, xyz, why_time


def _psl_times(phone_ms: np.ndarray, sensor_ns: np.ndarray | None, notes: list[str]) -> np.ndarray:
    """Wall-clock sample times of a Polar Sensor Logger file (see the module docstring)."""
    n = phone_ms.size
    if not np.isfinite(phone_ms).any():
        raise AccFormatError("no 'Phone timestamp' could be read as a date-time: the file carries no wall time;"
                             " nothing imported.")
    if sensor_ns is not None and n > 1:
        ok = sensor_ns >= 0
        steps = np.diff(sensor_ns[ok])
        if ok.mean() >= 0.9 and steps.size and (steps > 0).mean() >= 0.9:
            base = int(sensor_ns[ok][0])
            rel_ms = np.where(ok, (sensor_ns - base) / 1e6, np.nan)  # exact ints subtracted first
            d = phone_ms - rel_ms
            # stretches: sensor clock back, or the phone-minus-sensor offset jumping
            dd = np.diff(np.nan_to_num(d, nan=np.inf))
            back = np.diff(np.where(ok, sensor_ns, np.iinfo(np.int64).max)) <= 0
            cut = np.flatnonzero(back | (np.abs(np.where(np.isfinite(dd), dd, 0)) > _OFFSET_JUMP_MS)) + 1
            starts = np.r_[0, cut]
            offs = np.minimum.reduceat(np.where(np.isfinite(d), d, np.inf), starts)
            piece = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, n]))
            off = offs[piece]
            t = np.where(np.isfinite(off), rel_ms + off, np.nan)
            notes.append("sample times from the strap's sensor clock, placed on wall time by the phone's arrival"
                         " times ('Phone timestamp', earliest arrival per stretch)"
                         + (f"; {starts.size} stretches (sensor clock restarted or phone clock changed)"
                            if starts.size > 1 else ""))
            return t
        notes.append("'sensor timestamp [ns]' not usable (missing or not increasing): times from 'Phone timestamp'")
    return _spread_stamps(phone_ms, notes)


def _spread_stamps(stamp_ms: np.ndarray, notes: list[str]) -> np.ndarray:
    """Samples that share an arrival stamp (one notification) spread back from it at the
    rate the stamps show: a group of k samples ends at its stamp, 1/rate apart."""
    n = stamp_ms.size
    if n < 2:
        return stamp_ms.astype(float)
    s = np.nan_to_num(stamp_ms, nan=-np.inf)
    new = np.r_[True, s[1:] != s[:-1]]
    starts = np.flatnonzero(new)
    sizes = np.diff(np.r_[starts, n])
    if sizes.max() == 1:
        return stamp_ms.astype(float)
    g_stamp = stamp_ms[starts]
    gaps = np.diff(g_stamp)
    steady = np.isfinite(gaps) & (gaps > 0) & (gaps < _GAP_MS)
    dt = float(gaps[steady].sum() / sizes[1:][steady].sum()) if steady.any() else np.nan
    if not np.isfinite(dt) or dt <= 0:
        return stamp_ms.astype(float)
    group = np.repeat(np.arange(starts.size), sizes)
    from_end = (starts + sizes)[group] - 1 - np.arange(n)
    notes.append(f"samples sharing a phone timestamp spread back from it at {1000 / dt:.3g} Hz")
    return stamp_ms - from_end * dt


def _finish(p: Path, fmt: str, t_ms: np.ndarray, xyz: np.ndarray, n_body: int, notes: list[str]) -> AccSeries:
    # a time beyond ±1e16 ms (year 318,000) is no time: it would not even fit an int64 in ns
    finite = np.isfinite(t_ms) & (np.abs(np.nan_to_num(t_ms)) < 1e16) & np.isfinite(xyz).all(axis=1)
    absurd = finite & (np.abs(xyz) > ACC_MG_LIMIT).any(axis=1)
    valid = finite & ~absurd
    n_rows = int(t_ms.size)
    if n_body - n_rows:
        notes.append(f"{n_body - n_rows} blank or malformed lines skipped")
    if (~finite).sum():
        notes.append(f"{int((~finite).sum())} rows without a readable time or x, y, z skipped")
    if absurd.sum():
        notes.append(f"{int(absurd.sum())} rows with a value beyond ±{ACC_MG_LIMIT:.0f} mg skipped")
    t = np.round(t_ms[valid]).astype(np.int64)
    v = xyz[valid]
    if t.size and np.any(np.diff(t) < 0):
        order = np.argsort(t, kind="stable")
        moved = int((order != np.arange(order.size)).sum())
        t, v = t[order], v[order]
        notes.append(f"{moved} rows out of time order sorted")
    if t.size:
        dup = np.r_[False, t[1:] == t[:-1]]
        if dup.any():
            notes.append(f"{int(dup.sum())} rows repeating an earlier time skipped (the first kept)")
            t, v = t[~dup], v[~dup]
    skipped = n_body - int(t.size)
    if t.size < 2:
        raise _fail(p, f"read as {fmt!r} but {t.size} valid sample(s) remain; {skipped} lines skipped", listing=False)
    rate = acc_rate_measure(t)
    lo, hi = ACC_RATE_MIN_HZ * (1 - _RATE_SLACK), ACC_RATE_MAX_HZ * (1 + _RATE_SLACK)
    if not lo <= rate <= hi:
        raise AccFormatError(
            f"{p}: samples come at {rate:.4g} Hz; attune reads accelerometer files at {ACC_RATE_MIN_HZ:g}–"
            f"{ACC_RATE_MAX_HZ:g} Hz (resample the file first); nothing imported.")
    xyz16 = np.rint(v).astype(np.int16)
    for a in (t, xyz16):
        a.setflags(write=False)
    return AccSeries(fmt, t, xyz16, rate, skipped, tuple(notes))


def acc_rate_measure(epoch_ms: np.ndarray) -> float:
    """Sample rate (Hz) of increasing times (ms): samples per second over the steps no
    longer than 1.5 times the median step (gaps do not count)."""
    d = np.diff(np.asarray(epoch_ms, dtype=float))
    d = d[d > 0]
    if not d.size:
        return float("nan")
    steady = d[d <= 1.5 * float(np.median(d))]
    return float(1000.0 * steady.size / steady.sum())

