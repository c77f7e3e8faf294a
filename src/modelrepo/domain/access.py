"""Who may do what: API tokens, roles, the actions each role permits, model-name scopes.

Pure rules, no I/O. Anything not granted here is refused (deny by default).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from . import wildcards
from .errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    OutOfScope,
    model_not_found,
    token_not_found,
)
from .names import MAX_NAME_LENGTH, name_text_problem
from .principals import (
    LOCAL,
    Authentication,
    Grant,
    Principal,
    auth_dict,
    check_minted_for,
    is_service_account,
    minted_via,
)
from .principals import TOKEN as TOKEN_METHOD
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
TRUST = "trust"
SIGNING = "signing"

ACTIONS = (
    READ, REGISTER, TAG, DEPLOY, LOG_DECISION, APPROVE, CHECKPOINT, PROTECT, WEBHOOKS, DELETE,
    MAINTAIN, TOKENS, DECISION_POLICY, TRUST, SIGNING,
)  # fmt: skip
"""Every action a route can require."""

ACTION_SUMMARIES: dict[str, str] = {
    READ: "models, versions, files, live, history, decisions, audit",
    REGISTER: "upload a version",
    TAG: "tags, descriptions, deprecation",
    DEPLOY: "deploy, undeploy, rollback; a request when protected",
    LOG_DECISION: "one, batch, columns, a file imported; serving reports",
    APPROVE: "approve, reject requests",
    CHECKPOINT: "sign an audit checkpoint",
    PROTECT: "protect, ask to unprotect",
    WEBHOOKS: "add, list, disable webhooks; the delivery log",
    DELETE: "tombstone a version or a model never deployed; rename a model",
    MAINTAIN: "`fsck`, `gc`; the record of refused requests",
    TOKENS: "service accounts' tokens; every token and role binding within scope",
    DECISION_POLICY: "how decision inputs are kept and for how long; the retention run",
    TRUST: "trust the types a version's files need to load (at registration or later)",
    SIGNING: "trust, revoke and rotate version signing keys; where signing is required",
}
"""What each action covers, in the documentation's words."""

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset({READ}),
    "contributor": frozenset({READ, REGISTER, TAG}),
    "deployer": frozenset({READ, DEPLOY, LOG_DECISION}),
    "approver": frozenset({READ, APPROVE, CHECKPOINT}),
    "admin": frozenset(ACTIONS),  # the only role that deletes versions, trusts types, runs gc
}
"""Roles are not cumulative (a deployer cannot register, an approver cannot deploy): duties
stay separate. Give one user several tokens to combine roles."""

ROLES = tuple(ROLE_ACTIONS)

PUBLIC = "public"
"""Target of an operation open to anyone, without a token (probes, the API description, the
web UI's static shell)."""
MODEL = "model"
"""Target of an operation on one model: a token whose scope does not cover it is answered
as if the model (or the request, decision... of it) did not exist."""
STORE = "store"
"""Target of an operation on the whole store: only a token without a model scope."""
SCOPE = "scope"
"""Target of an operation whose answer the token's scope bounds (lists, tokens, itself)."""


@dataclass(frozen=True, slots=True)
class Operation:
    """What a route does, whatever API it belongs to: the one place that says who may."""

    action: str | None  # None: public
    target: str
    summary: str


OPERATIONS: dict[str, Operation] = {
    "service.health": Operation(None, PUBLIC, "liveness and readiness probes"),
    "service.describe": Operation(None, PUBLIC, "the API description and its interactive docs"),
    "ui.static": Operation(None, PUBLIC, "the web UI's page, stylesheet and scripts (no data)"),
    "ui.signin": Operation(
        None, PUBLIC, "sign in to the web UI through the identity provider, and out (no data)"
    ),
    "service.metrics": Operation(READ, STORE, "Prometheus metrics"),
    "identity.read": Operation(READ, SCOPE, "the token's user, role, scope and id"),
    "model.list": Operation(READ, SCOPE, "list or search models (those in scope)"),
    "model.read": Operation(READ, MODEL, "a model, its changes, its newest versions"),
    "model.create": Operation(REGISTER, MODEL, "create a model before its first version"),
    "model.tag": Operation(TAG, MODEL, "set or remove a tag of the model itself"),
    "model.describe": Operation(TAG, MODEL, "replace the model's description"),
    "model.rename": Operation(DELETE, MODEL, "rename a model; its history follows it"),
    "model.delete": Operation(DELETE, MODEL, "delete a model never deployed (a tombstone)"),
    "version.list": Operation(READ, MODEL, "a model's versions"),
    "version.search": Operation(READ, SCOPE, "search versions (of models in scope)"),
    "version.read": Operation(READ, MODEL, "a version and its changes"),
    "version.diff": Operation(READ, MODEL, "compare two versions"),
    "version.resolve": Operation(READ, MODEL, "the version a reference or alias names"),
    "version.download": Operation(READ, MODEL, "a version's files"),
    "version.register": Operation(REGISTER, MODEL, "register a version"),
    "version.record_deleted": Operation(
        REGISTER, MODEL, "record a version another registry deleted (a tombstone, no files)"
    ),
    "version.tag": Operation(TAG, MODEL, "set or remove a version tag"),
    "version.describe": Operation(TAG, MODEL, "describe a version anew"),
    "version.deprecate": Operation(TAG, MODEL, "flag a version deprecated, or lift the flag"),
    "version.delete": Operation(DELETE, MODEL, "tombstone a version"),
    "version.trust": Operation(TRUST, MODEL, "trust the types a version needs to load"),
    "deployment.read": Operation(READ, MODEL, "environments, what is live, history, timeline"),
    "deployment.deploy": Operation(DEPLOY, MODEL, "deploy a version or a split"),
    "deployment.undeploy": Operation(DEPLOY, MODEL, "undeploy an environment"),
    "deployment.rollback": Operation(DEPLOY, MODEL, "restore what served before"),
    "deployment.import": Operation(DEPLOY, MODEL, "backfill past deployments"),
    "environment.protect": Operation(PROTECT, MODEL, "require four eyes for an environment"),
    "environment.unprotect": Operation(PROTECT, MODEL, "ask to lift protection"),
    "serving.read": Operation(READ, MODEL, "what really served, and drift"),
    "serving.report": Operation(LOG_DECISION, MODEL, "a serving instance starts, beats, stops"),
    "request.list": Operation(READ, SCOPE, "deployment requests (of models in scope)"),
    "request.read": Operation(READ, MODEL, "one deployment request"),
    "request.approve": Operation(APPROVE, MODEL, "approve and carry out a request"),
    "request.reject": Operation(APPROVE, MODEL, "reject a request"),
    "decision.log": Operation(LOG_DECISION, MODEL, "record decisions (every model named in scope)"),
    "decision.list": Operation(READ, MODEL, "a model's decisions"),
    "decision.read": Operation(READ, MODEL, "a decision's whole story"),
    "decision.inputs": Operation(READ, MODEL, "a decision's stored inputs"),
    "decision.replay": Operation(READ, MODEL, "re-run a decision's version on its inputs"),
    "decision.policy": Operation(DECISION_POLICY, MODEL, "how a model's decision inputs are kept"),
    "decision.purge": Operation(
        DECISION_POLICY, MODEL, "apply retention (every model: store-wide)"
    ),
    "report.model": Operation(READ, STORE, "a model's evidence report"),
    "report.decision": Operation(READ, STORE, "a decision's evidence report"),
    "version.sign": Operation(
        REGISTER, MODEL, "sign a version with the store's key, or keep signatures made elsewhere"
    ),
    "version.signatures": Operation(READ, MODEL, "a version's signatures and provenance"),
    "signing.read": Operation(READ, SCOPE, "the keys trusted to sign versions; the policies"),
    "signing.manage": Operation(
        SIGNING, STORE, "trust, revoke, rotate signing keys; set signing policies"
    ),
    "audit.read": Operation(READ, STORE, "verify the log; entries, proofs, checkpoints, key"),
    "audit.checkpoint": Operation(CHECKPOINT, STORE, "sign a checkpoint"),
    "audit.denied": Operation(MAINTAIN, STORE, "the record of refused requests"),
    "store.maintain": Operation(MAINTAIN, STORE, "`fsck` and `gc`"),
    "webhook.create": Operation(WEBHOOKS, STORE, "subscribe a URL"),
    "webhook.list": Operation(WEBHOOKS, STORE, "list webhooks"),
    "webhook.disable": Operation(WEBHOOKS, STORE, "disable a webhook"),
    "webhook.deliveries": Operation(WEBHOOKS, STORE, "the delivery log and its attempts"),
    "token.create": Operation(
        READ, SCOPE, "make a token acting as oneself (admins: a service account's too)"
    ),
    "token.list": Operation(READ, SCOPE, "one's own tokens (admins: those inside their scope)"),
    "token.revoke": Operation(READ, SCOPE, "revoke one's own token (admins: one they could make)"),
    "role.grant": Operation(
        TOKENS, SCOPE, "bind a role to an identity-provider user (never beyond the caller's own)"
    ),
    "role.list": Operation(TOKENS, SCOPE, "list role bindings (those inside the caller's scope)"),
    "role.revoke": Operation(
        TOKENS, MODEL, "revoke a role binding (one the caller could have granted)"
    ),
}
"""Every operation a route may perform, and what it needs. Every route of every API (native,
MLflow-compatible, web UI) declares one, so the same operation needs the same role
everywhere; the role table in docs/server.md is generated from this one."""


def operation(name: str) -> Operation:
    """The operation called `name`; unknown names are a programming error."""
    found = OPERATIONS.get(name)
    if found is None:
        raise ValueError(f"unknown operation {name!r}: add it to OPERATIONS")
    return found


def roles_for(name: str) -> tuple[str, ...]:
    """The roles that may perform operation `name` (all of them for a public one)."""
    action = operation(name).action
    return tuple(r for r, actions in ROLE_ACTIONS.items() if action is None or action in actions)


TOKEN_PREFIX = "mr_"  # noqa: S105 - a prefix that makes tokens recognisable, not a secret
_TOKEN_ID = re.compile(r"[0-9a-f]{12}")
MAX_PATTERN_LENGTH = MAX_NAME_LENGTH
"""A model-name glob is as long as a name at most."""


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
    problem = name_text_problem(pattern)
    if problem is not None:
        raise InvalidInput(
            f"invalid model pattern {pattern!r}: a glob of model-name characters and * ? [ ] "
            f"({problem})"
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
    kind: str = "person"
    """`person`: it acts as the identity that minted it; `service`: as a service account."""
    minted_auth: Authentication | None = None
    """How its minter was authenticated (None: minted before this was kept)."""

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def principal(self) -> Principal:
        """Who a request carrying this token is: its user, authenticated by this token
        (which names its minter and how the minter was authenticated), with its grant."""
        via = minted_via(self.minted_auth) if self.minted_auth is not None else None
        auth = Authentication(
            TOKEN_METHOD, token_id=self.token_id, minted_by=self.created_by, minted_via=via
        )
        return Principal(self.user, auth, (Grant(self.role, self.model_pattern),))

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
            "kind": self.kind,
            "minted_auth": auth_dict(self.minted_auth),
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
            kind=raw.get("kind", "person"),
            minted_auth=Authentication.from_dict(raw.get("minted_auth")),
        )


def check_new_token(token: ApiToken, taken: bool) -> None:
    """A token's id and its hash are used once (`taken`: either is already stored)."""
    if taken:
        raise Conflict(f"token {token.token_id} already exists")


def revoked_token(token: ApiToken | None, token_id: str, *, actor: str, at: datetime) -> ApiToken:
    """`token` (None: no such token) revoked by `actor` at `at`; revoked once, as the audit
    trail records one revocation."""
    if token is None:
        raise NotFound(token_not_found(token_id))
    if token.revoked_at is not None:
        raise Conflict(f"token {token_id} is already revoked")
    return replace(token, revoked_at=at, revoked_by=actor)


def allows(role: str, action: str) -> bool:
    return action in ROLE_ACTIONS.get(role, frozenset())


def in_scope(pattern: str | None, model: str) -> bool:
    """Whether a token scoped to `pattern` (None: every model) may touch `model`."""
    return pattern is None or wildcards.glob(pattern).matches(model)


def _granting(principal: Principal, action: str | None) -> list[Grant]:
    """The principal's grants whose role permits `action` (every grant for None)."""
    return [g for g in principal.grants if action is None or allows(g.role, action)]


def _roles(principal: Principal) -> str:
    return ", ".join(sorted({g.role for g in principal.grants})) or "no role"


def authorize(principal: Principal, name: str, model: str | None = None) -> None:
    """Refuse unless the principal may perform operation `name` (on `model`, if given).

    A principal holds one grant per API token, or several (an identity-provider user's role
    bindings); one grant must permit the whole operation. No role with the operation's
    action, or only scoped grants on a store-wide operation, is Forbidden; a model outside
    every scope is OutOfScope, answered as a missing model. The role is checked first: it
    reveals nothing about what exists."""
    op = operation(name)
    if op.action is None:
        return
    if not principal.grants:
        raise Forbidden(
            f"{principal.name} holds no role: an admin grants one "
            "(modelrepo role grant NAME --role ROLE)",
            model=model,
        )
    granting = _granting(principal, op.action)
    if not granting:
        raise Forbidden(
            f"role {_roles(principal)} may not {op.action.replace('_', ' ')}", model=model
        )
    if op.target == STORE:
        check_whole_store(principal, op.action)
    if model is not None:
        check_scope(principal, model, action=op.action)


def check_whole_store(principal: Principal, action: str | None = None) -> None:
    """Refuse a principal whose grants (for `action`) are all scoped to model patterns: the
    operation concerns every model."""
    granting = _granting(principal, action)
    if not any(g.model_pattern is None for g in granting):
        scopes = ", ".join(repr(g.model_pattern) for g in granting) or "no model"
        raise Forbidden(f"a token scoped to {scopes} cannot act on the whole store")


def sees(principal: Principal, model: str, action: str | None = None) -> bool:
    """Whether a grant (permitting `action`) covers `model`."""
    return any(in_scope(g.model_pattern, model) for g in _granting(principal, action))


def check_scope(
    principal: Principal, model: str, *, absent: str | None = None, action: str | None = None
) -> None:
    """Raise OutOfScope unless a grant (permitting `action`) covers `model`. `absent`: the
    message a missing resource of that model answers (by default, a missing model's), so
    that what lies outside the scope cannot be told from what does not exist."""
    if not sees(principal, model, action):
        raise OutOfScope(absent if absent is not None else model_not_found(model), model=model)


def may_administer(principal: Principal) -> bool:
    """Whether the principal holds a role that manages tokens and role bindings (admin)."""
    return bool(_granting(principal, TOKENS))


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
    creator: Principal,
    role: str,
    model_pattern: str | None,
    *,
    verb: str = "grant",
    what: str = "a token",
) -> None:
    """Least privilege when a principal makes (or revokes) a token or a role binding: one of
    its grants must hold a role that may do everything `role` may, over a scope at least as
    wide as `model_pattern`."""
    wanted = ROLE_ACTIONS[check_role(role)]
    pattern = check_pattern(model_pattern)
    roles = [g for g in creator.grants if wanted <= ROLE_ACTIONS.get(g.role, frozenset())]
    if not roles:
        extra = wanted - frozenset().union(
            *(ROLE_ACTIONS.get(g.role, frozenset()) for g in creator.grants)
        )
        raise Forbidden(
            f"role {_roles(creator)} cannot {verb} role {role}, which may also "
            f"{', '.join(sorted(a.replace('_', ' ') for a in extra)) or 'do more together'}"
        )
    if not any(pattern_within(pattern, g.model_pattern) for g in roles):
        wanted_scope = repr(model_pattern) if model_pattern else "every model"
        scopes = ", ".join(repr(g.model_pattern) for g in roles)
        raise Forbidden(
            f"this token is scoped to {scopes}: it cannot {verb} {what} on {wanted_scope}"
        )


def check_mint(minter: Principal, user: str | None, role: str, model_pattern: str | None) -> str:
    """Whom a token `minter` makes acts as (see `check_minted_for`), refused unless only an
    admin mints a service account's and the token may do no more than its minter
    (`check_grant`). A command on the server's host has no grants to compare: it is trusted
    with the store itself."""
    who = check_minted_for(minter, user)
    if minter.auth.method == LOCAL:
        return who
    if is_service_account(who) and not may_administer(minter):
        raise Forbidden("only an admin mints a service account's token")
    check_grant(minter, role, model_pattern)
    return who


def within_reach(principal: Principal, pattern: str | None) -> bool:
    """Whether a token or binding scoped to `pattern` lies inside one of the principal's
    administering grants (what it may list and revoke)."""
    return any(pattern_within(pattern, g.model_pattern) for g in _granting(principal, TOKENS))


def token_change(token: ApiToken) -> dict[str, Any]:
    """What the audit entry of a token's creation or revocation says about it: whom it acts
    as, how far, and how its minter was authenticated."""
    return {
        "token_id": token.token_id,
        "user": token.user,
        "role": token.role,
        "model_pattern": token.model_pattern,
        "kind": token.kind,
        "minted_auth": auth_dict(token.minted_auth),
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
