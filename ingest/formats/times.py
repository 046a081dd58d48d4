"""Times in RR files: local wall-clock times (no zone) read in a time zone with its DST
rules, zoned ISO strings, Unix numbers of any unit, and the SelfLoops start line."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

TzLike = str | tzinfo | None


# Plausible Unix time for a recording: 1990-01-01 .. 2100-01-01 (ms).
_EPOCH_MS_MIN = 631_152_000_000.0
_EPOCH_MS_MAX = 4_102_444_800_000.0


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
