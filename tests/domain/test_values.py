"""Names, references, times, params, metrics and filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelrepo import InvalidInput
from modelrepo.domain.filters import parse_filter
from modelrepo.domain.model import check_metrics, check_params, check_tags
from modelrepo.domain.names import parse_version_ref
from modelrepo.domain.times import format_time, from_micros, parse_time, to_micros


def test_version_refs() -> None:
    ref = parse_version_ref("credit-risk@12")
    assert (ref.model, ref.version) == ("credit-risk", 12)
    for bad in ("credit-risk", "credit-risk@0", "credit-risk@-1", "credit-risk@x", "a/b@1", "a@²"):
        with pytest.raises(InvalidInput):
            parse_version_ref(bad)


def test_times_need_a_zone() -> None:
    assert parse_time("2026-03-01T10:00:00Z") == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert parse_time("2026-03-01T11:00:00+01:00") == datetime(2026, 3, 1, 10, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="no time zone"):
        parse_time("2026-03-01T10:00:00")
    with pytest.raises(InvalidInput, match="invalid time"):
        parse_time("yesterday")


@given(st.datetimes(timezones=st.just(UTC), min_value=datetime(1971, 1, 1)))
def test_micros_round_trip(at: datetime) -> None:
    assert from_micros(to_micros(at)) == at


def test_format_time_is_utc_with_micros() -> None:
    at = datetime(2026, 3, 1, 11, 0, 0, 5, tzinfo=timezone(timedelta(hours=1)))
    assert format_time(at) == "2026-03-01T10:00:00.000005Z"


def test_params_metrics_tags_are_checked() -> None:
    assert check_params({"C": 1, "x": [1, {"a": None}]}) == {"C": 1, "x": [1, {"a": None}]}
    with pytest.raises(InvalidInput, match="finite"):
        check_params({"C": float("nan")})
    with pytest.raises(InvalidInput, match="not a JSON value"):
        check_params({"C": object()})
    assert check_metrics({"auc": 1}) == {"auc": 1.0}
    for bad in ({"auc": "high"}, {"auc": float("inf")}, {"auc": True}):
        with pytest.raises(InvalidInput):
            check_metrics(bad)
    with pytest.raises(InvalidInput, match="tag name"):
        check_tags({"bad key": "v"})
    with pytest.raises(InvalidInput, match="must be a string"):
        check_tags({"k": 1})  # type: ignore[dict-item]


def test_filters() -> None:
    f = parse_filter("metrics.auc>=0.8")
    assert (f.field, f.key, f.op, f.value) == ("metrics", "auc", ">=", 0.8)
    assert parse_filter("tags.stage=1").value == "1"
    assert parse_filter("params.solver=lbfgs").value == "lbfgs"
    for bad in ("auc>=0.8", "metrics.auc>=high", "other.x=1", "metrics.=1"):
        with pytest.raises(InvalidInput):
            parse_filter(bad)
