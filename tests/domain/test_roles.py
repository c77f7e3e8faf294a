"""The rules of role bindings: whom a binding may name, which issuer, and when a grant
repeats one still in force."""

from __future__ import annotations

from dataclasses import replace

import pytest

from modelrepo.domain.errors import Conflict, InvalidInput, NotFound
from modelrepo.domain.principals import Grant
from modelrepo.domain.roles import (
    active_for,
    check_binding_id,
    check_bound_principal,
    check_issuer,
    check_new_binding,
    grants_of_bindings,
    revoked_binding,
)
from modelrepo.testing.metadata import T0
from modelrepo.testing.roles import ISSUER, binding


@pytest.mark.parametrize("issuer", ["", " https://idp", "https://idp\n", "x" * 2049])
def test_an_issuer_is_kept_as_given_or_refused(issuer: str) -> None:
    with pytest.raises(InvalidInput, match="invalid issuer"):
        check_issuer(issuer)


def test_an_issuer_is_compared_as_given() -> None:
    assert check_issuer("https://idp.example/") == "https://idp.example/"
    assert check_issuer("x" * 2048) == "x" * 2048


@pytest.mark.parametrize("principal", ["svc:scorer", "", " bob", "a\tb", "x" * 257])
def test_a_binding_names_a_person(principal: str) -> None:
    with pytest.raises(InvalidInput):
        check_bound_principal(principal)
    assert check_bound_principal("bob@bank.example") == "bob@bank.example"


def test_binding_ids_are_twelve_hex_digits() -> None:
    assert check_binding_id("0123456789ab") == "0123456789ab"
    for bad in ("0123456789AB", "../../etc", "0123456789a"):
        with pytest.raises(InvalidInput):
            check_binding_id(bad)


def test_a_grant_repeats_no_binding_still_in_force() -> None:
    first = binding()
    check_new_binding(binding("ba9876543210", role="viewer"), [first])
    check_new_binding(binding("ba9876543210", model_pattern="fraud-cards"), [first])
    check_new_binding(binding("ba9876543210", issuer="https://other"), [first])
    with pytest.raises(Conflict, match="already holds role deployer on fraud-\\* "):
        check_new_binding(binding("ba9876543210"), [first])
    with pytest.raises(Conflict, match="already exists"):
        check_new_binding(binding(principal="carol@bank.example"), [first])
    ended = replace(first, revoked_at=T0, revoked_by="carol")
    check_new_binding(binding("ba9876543210"), [ended])


def test_revoked_once_and_then_no_longer_a_grant() -> None:
    first = binding()
    with pytest.raises(NotFound, match="role binding 0123456789ab not found"):
        revoked_binding(None, "0123456789ab", actor="carol", at=T0)
    ended = revoked_binding(first, first.binding_id, actor="carol", at=T0)
    with pytest.raises(Conflict, match="already revoked"):
        revoked_binding(ended, first.binding_id, actor="carol", at=T0)
    other = binding("ba9876543210", role="viewer", model_pattern=None)
    found = active_for([ended, other, binding("00000000000c", principal="x@y")], ISSUER,
                       "bob@bank.example")  # fmt: skip
    assert found == [other]
    assert grants_of_bindings([ended, other]) == (Grant("viewer", None),)
