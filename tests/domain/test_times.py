"""The one textual form of an instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from modelrepo.domain.times import format_time, parse_time


@given(
    st.datetimes(timezones=st.just(UTC)),
    st.integers(min_value=-23 * 60, max_value=23 * 60),
)
def test_an_instant_is_written_as_isoformat_of_its_utc_time(at: datetime, minutes: int) -> None:
    """As it has always been written: the naive UTC time's `isoformat` with microseconds,
    and a `Z`; whatever zone the instant was given in."""
    expected = at.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    assert format_time(at) == expected
    try:
        shifted = at.astimezone(timezone(timedelta(minutes=minutes)))
    except OverflowError:  # beyond year 1 or 9999 in that zone
        return
    assert format_time(shifted) == expected
    assert parse_time(expected) == at
