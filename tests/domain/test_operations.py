"""The operation table: each operation needs one known action (or none, if public), and
authorising one refuses the role first, then the whole store, then the scope (as absent)."""

from __future__ import annotations

import pytest

from modelrepo.domain.access import (
    ACTION_SUMMARIES,
    ACTIONS,
    MODEL,
    OPERATIONS,
    PUBLIC,
    ROLES,
    SCOPE,
    STORE,
    authorize,
    operation,
    roles_for,
)
from modelrepo.domain.errors import Forbidden, NotFound, OutOfScope
from modelrepo.testing.tokens import token


def test_every_operation_needs_a_known_action_and_names_its_target() -> None:
    assert set(ACTION_SUMMARIES) == set(ACTIONS)
    for name, op in OPERATIONS.items():
        assert op.target in (PUBLIC, MODEL, STORE, SCOPE), name
        assert (op.action is None) == (op.target == PUBLIC), name
        assert op.action is None or op.action in ACTIONS, name
    assert {op.action for op in OPERATIONS.values()} - {None} == set(ACTIONS)
    with pytest.raises(ValueError, match="unknown operation"):
        operation("version.destroy")


def test_deleting_is_for_admins_whatever_the_api() -> None:
    for name in ("version.delete", "model.delete", "model.rename"):
        assert roles_for(name) == ("admin",)
    assert roles_for("version.register") == ("contributor", "admin")
    assert roles_for("service.health") == ROLES


def test_the_role_is_refused_before_the_scope_and_the_scope_answers_as_absent() -> None:
    scoped = token(role="viewer", model_pattern="fraud-*").principal()
    with pytest.raises(Forbidden, match="^role viewer may not delete$"):
        authorize(scoped, "version.delete", "credit-risk")
    with pytest.raises(OutOfScope, match="^model 'credit-risk' not found$") as hidden:
        authorize(scoped, "version.read", "credit-risk")
    assert isinstance(hidden.value, NotFound) and hidden.value.code == "not_found"
    authorize(scoped, "version.read", "fraud-cards")
    with pytest.raises(Forbidden, match="cannot act on the whole store"):
        authorize(scoped, "audit.read")
    authorize(token(role="viewer", model_pattern=None).principal(), "audit.read")
    authorize(scoped, "service.health")  # public: nothing to refuse
