"""Time, one way everywhere: Unix ms inside, ISO 8601 with the machine's zone outside.

Instants are Unix milliseconds (UTC, ``int``). Local time is the machine's zone with its
DST rules (``$TZ``, else ``/etc/localtime``): a fixed offset taken *now* would misplace
every instant on the other side of a DST change, so nothing here uses one.

* :func:`now_ms` — the wall clock.
* :func:`epoch_ms_to_iso` / :func:`iso_to_epoch_ms` — the text form (no zone = local time).
* :func:`epoch_ms_to_datetime` / :func:`datetime_to_epoch_ms` — aware datetimes.
* :func:`local_tz`, :func:`tz_offset_ms`, :func:`local_day_bounds_ms` — the local day.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from attune.errors import UsageError

DAY_MS = 86_400_000  # a UTC day; a local day is 23-25 h (see local_day_bounds_ms)


def now_ms() -> int:
    """The wall clock as Unix ms."""
    return time.time_ns() // 1_000_000


def local_tz() -> tzinfo:
    """The machine's time zone with its DST rules ($TZ, else /etc/localtime, else the
    current offset as a last resort)."""
    name = os.environ.get("TZ")
    if name:
        try:
            return ZoneInfo(name.lstrip(":"))
        except (ValueError, KeyError, OSError):
            pass
    try:
        with open("/etc/localtime", "rb") as fh:
            return ZoneInfo.from_file(fh, key="localtime")
    except (OSError, ValueError):
        return datetime.now().astimezone().tzinfo or UTC


def epoch_ms_to_datetime(epoch_ms: float, tz: tzinfo | None = None) -> datetime:
    """Unix ms as an aware datetime in ``tz`` (default: this machine's zone, with the
    offset in force at that instant; serialises with it)."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.astimezone(tz) if tz is not None else moment.astimezone()


def datetime_to_epoch_ms(value: datetime) -> int:
    """A datetime as Unix ms (a naive one is local time)."""
    return int(value.timestamp() * 1000)


def epoch_ms_to_iso(epoch_ms: float) -> str:
    """Unix ms as ISO 8601 in this machine's zone, to the millisecond, with its offset
    (``2026-10-25T02:30:00.000+01:00``)."""
    return epoch_ms_to_datetime(epoch_ms).isoformat(timespec="milliseconds")


def iso_to_epoch_ms(value: str) -> int:
    """Parse ISO 8601 (``2026-11-21``, ``2026-11-21T08:00``, with or without zone; no zone
    means local time) into Unix ms; :class:`UsageError` if it is not one."""
    try:
        dt = datetime.fromisoformat(value)
        if dt.tzinfo is None:
            dt = dt.astimezone()  # local time zone of this machine, DST-correct (mktime)
        return datetime_to_epoch_ms(dt)
    except (ValueError, OverflowError) as exc:  # year 0001 in a zone west of UTC overflows
        raise UsageError(f"not an ISO 8601 date/time: {value!r}") from exc


def tz_offset_ms(epoch_ms: int, tz: tzinfo) -> int:
    """Offset of local time in ``tz`` from UTC at ``epoch_ms`` (ms; +3_600_000 for CET)."""
    off = epoch_ms_to_datetime(epoch_ms, tz).utcoffset()
    return int(off.total_seconds() * 1000) if off is not None else 0


def local_midnight_ms(day: date, tz: tzinfo | None = None) -> int:
    """Unix ms of local midnight starting ``day`` in ``tz`` (default: this machine's)."""
    zone = tz or local_tz()
    return datetime_to_epoch_ms(datetime(day.year, day.month, day.day, tzinfo=zone))


def local_day_bounds_ms(at_ms: int | None = None, tz: tzinfo | None = None) -> tuple[int, int]:
    """The local day holding ``at_ms`` (default: now), midnight to midnight, as Unix ms
    ``[start, end)``: 23 or 25 h long on DST days."""
    zone = tz or local_tz()
    day = epoch_ms_to_datetime(now_ms() if at_ms is None else at_ms, zone).date()
    return local_midnight_ms(day, zone), local_midnight_ms(day + timedelta(days=1), zone)
