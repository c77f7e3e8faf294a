"""Least privilege between tokens: `pattern_within` never says yes wrongly."""

from __future__ import annotations

import fnmatch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelrepo.domain.access import ROLE_ACTIONS, check_grant, pattern_within
from modelrepo.domain.errors import Forbidden, InvalidInput
from modelrepo.testing.tokens import token

NAMES = st.text(alphabet="ab-", min_size=0, max_size=6)
PATTERNS = st.text(alphabet="ab-*?", min_size=1, max_size=6) | st.sampled_from(["[ab]*", "a[!b]"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inner=PATTERNS, outer=PATTERNS, data=st.data())
def test_a_pattern_said_to_be_within_another_matches_nothing_more(
    inner: str, outer: str, data: st.DataObject
) -> None:
    if not pattern_within(inner, outer):
        return
    names = data.draw(st.lists(NAMES, max_size=20))
    if "[" not in inner:  # names that match `inner` by construction
        for _ in range(10):
            parts = [data.draw(NAMES) if c == "*" else data.draw(st.sampled_from("ab-"))
                     if c == "?" else c for c in inner]  # fmt: skip
            names.append("".join(parts))
    for name in names:
        if fnmatch.fnmatchcase(name, inner):
            assert fnmatch.fnmatchcase(name, outer), (inner, outer, name)


def test_known_cases() -> None:
    assert pattern_within("fraud-cards", "fraud-*") and pattern_within("fraud-*", None)
    assert pattern_within("fraud-a*", "fraud-*") and pattern_within("fraud-?", "fraud-*")
    assert not pattern_within(None, "fraud-*") and not pattern_within("fraud*", "fraud-*")
    assert not pattern_within("*", "fraud-*") and not pattern_within("credit-x", "fraud-*")
    assert pattern_within("x-fraud", "*-fraud") and not pattern_within("*-fraud", "x-*")


def test_grants_never_exceed_the_granting_token() -> None:
    scoped_admin = token(role="admin", model_pattern="fraud-*").principal()
    for role in ROLE_ACTIONS:
        check_grant(scoped_admin, role, "fraud-cards")
    with pytest.raises(Forbidden, match="every model"):
        check_grant(scoped_admin, "viewer", None)
    with pytest.raises(Forbidden, match="cannot revoke"):
        check_grant(scoped_admin, "viewer", "credit-*", verb="revoke")
    approver = token(role="approver", model_pattern=None).principal()
    with pytest.raises(Forbidden, match="may also deploy, log decision"):
        check_grant(approver, "deployer", None)
    with pytest.raises(InvalidInput):
        check_grant(scoped_admin, "root", "fraud-x")
    with pytest.raises(InvalidInput):
        check_grant(scoped_admin, "viewer", "Fraud/../x")
