"""Instants as evidence: always UTC-aware, microsecond precision, never ambiguous."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .errors import InvalidInput

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZERO = timedelta(0)


def to_micros(at: datetime) -> int:
    """Microseconds since the Unix epoch; the storage form of every instant."""
    zone = at.tzinfo
    if zone is not UTC and (zone is None or at.utcoffset() is None):  # UTC: the usual, quick
        raise InvalidInput(f"time {at.isoformat()} has no time zone")
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    """The UTC instant for a microsecond count since the Unix epoch."""
    return _EPOCH + timedelta(microseconds=micros)


def format_time(at: datetime) -> str:
    """ISO-8601 in UTC with microseconds and a `Z`, the one textual form we emit."""
    utc = at if at.utcoffset() == _ZERO else at.astimezone(UTC)
    # `isoformat(timespec="microseconds")` of the naive time, written out: half the time of
    # making that naive copy and formatting it (every audit entry and event has a few).
    return _ISO % (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond)


_ISO = "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ"


def parse_time(text: str) -> datetime:
    """Parse ISO-8601 with an explicit offset or `Z`; a time without a zone is refused."""
    raw = text.strip()
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            f"invalid time {text!r}: expected ISO-8601 such as 2026-03-01T10:00:00Z"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InvalidInput(f"time {text!r} has no time zone: add 'Z' or an offset such as +01:00")
    return parsed.astimezone(UTC)
