"""Role bindings: the roles and model scopes of identity-provider users, who carry no API
token. An admin binds a principal (the user's identity claim, an email for instance) of one
issuer to a role over a model pattern; revoking is the one change, as for tokens.

Pure rules, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from .access import check_user
from .errors import Conflict, InvalidInput, NotFound
from .principals import Authentication, Grant, auth_dict, is_service_account
from .times import format_time, parse_time

_BINDING_ID = re.compile(r"[0-9a-f]{12}")
MAX_ISSUER_LENGTH = 2048
"""As long as the `issuer` column holds."""


def role_binding_not_found(binding_id: str) -> str:
    return f"role binding {binding_id} not found"


def check_binding_id(binding_id: str) -> str:
    if not isinstance(binding_id, str) or not _BINDING_ID.fullmatch(binding_id):
        raise InvalidInput(
            f"invalid role binding id {binding_id!r}: expected 12 hexadecimal digits"
        )
    return binding_id


def check_issuer(issuer: str) -> str:
    """The identity provider's issuer URL as its tokens name it (`iss`): compared exactly,
    so it is kept as given; 1-2048 printable characters without surrounding spaces."""
    if (
        not isinstance(issuer, str)
        or not issuer
        or len(issuer) > MAX_ISSUER_LENGTH
        or not issuer.isprintable()
        or issuer != issuer.strip()
    ):
        raise InvalidInput(
            f"invalid issuer {issuer!r}: use the identity provider's issuer URL "
            f"(1-{MAX_ISSUER_LENGTH} printable characters)"
        )
    return issuer


def check_bound_principal(principal: str) -> str:
    """Whom a binding names: a person's identity claim. Service accounts get their roles
    through their tokens, never through a binding."""
    check_user(principal)
    if is_service_account(principal):
        raise InvalidInput(
            f"{principal!r} is a service account: it gets its role through its API token "
            "(modelrepo token create), not a role binding"
        )
    return principal


@dataclass(frozen=True, slots=True)
class RoleBinding:
    """A role over the models a pattern names (None: every model), for one identity-provider
    user; `granted_auth` is how the granter authenticated."""

    binding_id: str
    issuer: str
    principal: str
    role: str
    model_pattern: str | None
    granted_at: datetime
    granted_by: str
    granted_auth: Authentication | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def grant(self) -> Grant:
        return Grant(self.role, self.model_pattern)

    def to_dict(self) -> dict[str, Any]:
        return {
            "binding_id": self.binding_id,
            "issuer": self.issuer,
            "principal": self.principal,
            "role": self.role,
            "model_pattern": self.model_pattern,
            "granted_at": format_time(self.granted_at),
            "granted_by": self.granted_by,
            "granted_auth": auth_dict(self.granted_auth),
            "revoked_at": format_time(self.revoked_at) if self.revoked_at else None,
            "revoked_by": self.revoked_by,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> RoleBinding:
        revoked = raw.get("revoked_at")
        return cls(
            binding_id=raw["binding_id"],
            issuer=raw["issuer"],
            principal=raw["principal"],
            role=raw["role"],
            model_pattern=raw.get("model_pattern"),
            granted_at=parse_time(raw["granted_at"]),
            granted_by=raw["granted_by"],
            granted_auth=Authentication.from_dict(raw.get("granted_auth")),
            revoked_at=parse_time(revoked) if revoked else None,
            revoked_by=raw.get("revoked_by"),
        )


def check_new_binding(binding: RoleBinding, existing: Iterable[RoleBinding]) -> None:
    """A binding's id is used once, and a principal holds a role over a pattern once (a second,
    equal grant would leave one behind when the first is revoked). `existing`: the bindings
    with the same id, or of the same issuer and principal."""
    for other in existing:
        if other.binding_id == binding.binding_id:
            raise Conflict(f"role binding {binding.binding_id} already exists")
        if other.active and (other.issuer, other.principal, other.role, other.model_pattern) == (
            binding.issuer,
            binding.principal,
            binding.role,
            binding.model_pattern,
        ):
            raise Conflict(
                f"{binding.principal} already holds role {binding.role} on "
                f"{binding.model_pattern or 'every model'} (role binding {other.binding_id})"
            )


def revoked_binding(
    binding: RoleBinding | None, binding_id: str, *, actor: str, at: datetime
) -> RoleBinding:
    """`binding` (None: no such binding) revoked by `actor` at `at`; once only."""
    if binding is None:
        raise NotFound(role_binding_not_found(binding_id))
    if binding.revoked_at is not None:
        raise Conflict(f"role binding {binding_id} is already revoked")
    return replace(binding, revoked_at=at, revoked_by=actor)


def role_change(binding: RoleBinding, auth: Authentication | None) -> dict[str, Any]:
    """What the audit entry of a grant or a revocation says: the binding, and how its actor
    (the granter, or the revoker) authenticated."""
    return {
        "binding_id": binding.binding_id,
        "principal": binding.principal,
        "issuer": binding.issuer,
        "role": binding.role,
        "model_pattern": binding.model_pattern,
        "auth": auth_dict(auth),
    }


def active_for(bindings: Iterable[RoleBinding], issuer: str, principal: str) -> list[RoleBinding]:
    """The active bindings of `principal` at `issuer`, compared exactly (an email claim
    differing in case is another principal: the identity provider decides what is equal)."""
    return [b for b in bindings if b.active and (b.issuer, b.principal) == (issuer, principal)]


def grants_of_bindings(bindings: Iterable[RoleBinding]) -> tuple[Grant, ...]:
    return tuple(b.grant for b in bindings if b.active)
