"""Time at the API's edge: Unix ms inside, ISO 8601 with the machine's zone outside."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def to_epoch_ms(value: datetime) -> int:
    """A zoned datetime as Unix ms (naive ones are refused before they get here)."""
    return int(value.timestamp() * 1000)


def from_epoch_ms(epoch_ms: float) -> datetime:
    """Unix ms as an aware datetime in this machine's zone (serialises with its offset)."""
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).astimezone()


def iso(epoch_ms: float) -> str:
    return from_epoch_ms(epoch_ms).isoformat(timespec="milliseconds")


def local_day_bounds_ms() -> tuple[int, int]:
    """Today, midnight to midnight, in this machine's zone (23 or 25 h long on DST days:
    naive local times are placed in the zone by ``timestamp()``, each with its own offset)."""
    start = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=1)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)
