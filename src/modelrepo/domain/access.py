"""Who may do what: API tokens, roles, the actions each role permits, model-name scopes.

Pure rules, no I/O. Anything not granted here is refused (deny by default).
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import Forbidden, InvalidInput
from .times import format_time

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

ACTIONS = (
    READ, REGISTER, TAG, DEPLOY, LOG_DECISION, APPROVE, CHECKPOINT, PROTECT, WEBHOOKS, DELETE,
    MAINTAIN,
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


def token_change(token: ApiToken) -> dict[str, Any]:
    """What the audit entry of a token's creation or revocation says about it."""
    return {
        "token_id": token.token_id,
        "user": token.user,
        "role": token.role,
        "model_pattern": token.model_pattern,
    }


def hash_token(secret: str) -> str:
    """What is stored of a token: the hex SHA-256 of its text."""
    return hashlib.sha256(secret.encode()).hexdigest()
