"""Who may do what: API tokens, roles, the actions each role permits, model-name scopes.

Pure rules, no I/O. Anything not granted here is refused (deny by default).
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import Forbidden, InvalidInput
from .times import format_time, parse_time

READ = "read"
REGISTER = "register"
TAG = "tag"
DEPLOY = "deploy"
LOG_DECISION = "log_decision"
APPROVE = "approve"
CHECKPOINT = "checkpoint"
PROTECT = "protect"
WEBHOOKS = "webhooks"
DELETE = "delete"
MAINTAIN = "maintain"
TOKENS = "tokens"
DECISION_POLICY = "decision_policy"

ACTIONS = (
    READ, REGISTER, TAG, DEPLOY, LOG_DECISION, APPROVE, CHECKPOINT, PROTECT, WEBHOOKS, DELETE,
    MAINTAIN, TOKENS, DECISION_POLICY,
)  # fmt: skip
"""Every action a route can require."""

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset({READ}),
    "contributor": frozenset({READ, REGISTER, TAG}),
    "deployer": frozenset({READ, DEPLOY, LOG_DECISION}),
    "approver": frozenset({READ, APPROVE, CHECKPOINT}),
    "admin": frozenset(ACTIONS),  # the only role that deletes versions or runs fsck and gc
}
"""Roles are not cumulative (a deployer cannot register, an approver cannot deploy): duties
stay separate. Give one user several tokens to combine roles."""

ROLES = tuple(ROLE_ACTIONS)

TOKEN_PREFIX = "mr_"  # noqa: S105 - a prefix that makes tokens recognisable, not a secret
_TOKEN_ID = re.compile(r"[0-9a-f]{12}")
_PATTERN = re.compile(r"[a-z0-9._*?\[\]!-]{1,128}")


def check_role(role: str) -> str:
    if role not in ROLE_ACTIONS:
        raise InvalidInput(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    return role


def check_user(user: str) -> str:
    """An identity as recorded in the audit trail: 1-256 printable characters."""
    if (
        not isinstance(user, str)
        or not user.strip()
        or len(user) > 256
        or not user.isprintable()
        or user != user.strip()
    ):
        raise InvalidInput(f"invalid user {user!r}: use 1-256 printable characters")
    return user


def check_pattern(pattern: str | None) -> str | None:
    """A model-name glob (`fraud-*`), or None for every model."""
    if pattern is None:
        return None
    if not _PATTERN.fullmatch(pattern):
        raise InvalidInput(
            f"invalid model pattern {pattern!r}: a glob of model-name characters and * ? [ ]"
        )
    return pattern


def check_token_id(token_id: str) -> str:
    if not isinstance(token_id, str) or not _TOKEN_ID.fullmatch(token_id):
        raise InvalidInput(f"invalid token id {token_id!r}: expected 12 hexadecimal digits")
    return token_id


def token_id_of(secret: str) -> str | None:
    """The public id inside a token (`mr_<id>_<secret>`), or None if it is not one."""
    if not isinstance(secret, str) or not secret.startswith(TOKEN_PREFIX):
        return None
    token_id, sep, rest = secret[len(TOKEN_PREFIX) :].partition("_")
    return token_id if sep and rest and _TOKEN_ID.fullmatch(token_id) else None


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API token as stored: never the token itself, only who it speaks for and how far."""

    token_id: str
    user: str
    role: str
    model_pattern: str | None
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "token_id": self.token_id,
            "user": self.user,
            "role": self.role,
            "model_pattern": self.model_pattern,
            "created_at": format_time(self.created_at),
            "created_by": self.created_by,
            "revoked_at": format_time(self.revoked_at) if self.revoked_at else None,
            "revoked_by": self.revoked_by,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ApiToken:
        revoked = raw.get("revoked_at")
        return cls(
            token_id=raw["token_id"],
            user=raw["user"],
            role=raw["role"],
            model_pattern=raw.get("model_pattern"),
            created_at=parse_time(raw["created_at"]),
            created_by=raw["created_by"],
            revoked_at=parse_time(revoked) if revoked else None,
            revoked_by=raw.get("revoked_by"),
        )


def allows(role: str, action: str) -> bool:
    return action in ROLE_ACTIONS.get(role, frozenset())


def in_scope(pattern: str | None, model: str) -> bool:
    """Whether a token scoped to `pattern` (None: every model) may touch `model`."""
    return pattern is None or fnmatch.fnmatchcase(model, pattern)


def authorize(
    token: ApiToken, action: str, model: str | None = None, *, store_wide: bool = False
) -> None:
    """Raise Forbidden unless the token's role permits `action` (on `model`, if given).

    `store_wide`: the action concerns the whole store (the audit log, metrics), which only a
    token not scoped to a model pattern may touch."""
    if not token.active:
        raise Forbidden(f"token {token.token_id} was revoked")
    if not allows(token.role, action):
        raise Forbidden(f"role {token.role} may not {action.replace('_', ' ')}")
    if store_wide and token.model_pattern is not None:
        raise Forbidden(f"a token scoped to {token.model_pattern!r} cannot act on the whole store")
    if model is not None and not in_scope(token.model_pattern, model):
        raise Forbidden(f"this token is scoped to {token.model_pattern!r}, not {model!r}")


_GLOB = frozenset("*?[")


def pattern_within(inner: str | None, outer: str | None) -> bool:
    """Whether every model name `inner` matches is also matched by `outer` (None: every
    model). Decided conservatively: equal patterns, a literal name that `outer` matches, or
    `outer` of the form `prefix*` and `inner` starting with that prefix before any glob
    character. Anything else counts as wider (refused rather than guessed)."""
    if outer is None:
        return True
    if inner is None:
        return False
    if inner == outer:
        return True
    if not _GLOB & set(inner):
        return in_scope(outer, inner)
    prefix = outer[:-1]
    if outer.endswith("*") and not _GLOB & set(prefix):
        literal = inner[: min((inner.index(c) for c in _GLOB if c in inner), default=len(inner))]
        return literal.startswith(prefix)
    return False


def check_grant(
    creator: ApiToken, role: str, model_pattern: str | None, *, verb: str = "grant"
) -> None:
    """Least privilege when a token makes (or revokes) another: never a role that may do
    something the creator's may not, never a scope wider than the creator's."""
    extra = ROLE_ACTIONS[check_role(role)] - ROLE_ACTIONS.get(creator.role, frozenset())
    if extra:
        raise Forbidden(
            f"role {creator.role} cannot {verb} role {role}, which may also "
            f"{', '.join(sorted(a.replace('_', ' ') for a in extra))}"
        )
    if not pattern_within(check_pattern(model_pattern), creator.model_pattern):
        wanted = repr(model_pattern) if model_pattern else "every model"
        raise Forbidden(
            f"this token is scoped to {creator.model_pattern!r}: it cannot {verb} a token "
            f"on {wanted}"
        )


def token_change(token: ApiToken) -> dict[str, Any]:
    """What the audit entry of a token's creation or revocation says about it."""
    return {
        "token_id": token.token_id,
        "user": token.user,
        "role": token.role,
        "model_pattern": token.model_pattern,
    }


def credential_change(token: ApiToken, token_hash: str) -> dict[str, Any]:
    """What the audit entry of a token's creation says: the token, and a digest of its stored
    hash (never the hash itself), so a hash swapped in the database shows on verification."""
    return {**token_change(token), "credential": credential_digest(token_hash)}


def credential_digest(token_hash: str) -> str:
    return "sha256:" + hashlib.sha256(token_hash.encode()).hexdigest()


def hash_token(secret: str) -> str:
    """What is stored of a token: the hex SHA-256 of its text."""
    return hashlib.sha256(secret.encode()).hexdigest()
