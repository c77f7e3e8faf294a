"""Who acts, and how they proved it: principals, their authentication, their grants, and the
rules that keep identities honest (nobody mints a token for someone else; a second pair of
eyes belongs to another real person).

Pure rules, no I/O. A principal's `name` is what records show as the actor; its
`Authentication` says how that name was established and is recorded beside it, so that an
auditor can tell an identity-provider user from an API token's user from a name merely typed
on the command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import Forbidden, InvalidInput

OIDC = "oidc"
"""Authenticated by the identity provider: a verified OpenID Connect token or web session."""
TOKEN = "token"  # noqa: S105 - a method's name, not a secret
"""Authenticated by an API token (`mr_...`)."""
LOCAL = "local"
"""Named on the command line of an embedded store (`--user`): asserted, not authenticated."""

SERVICE_PREFIX = "svc:"
"""Service accounts live in their own namespace (`svc:scorer`): a machine, never a person."""

ASSERTED = "asserted, not authenticated"
"""How records label an identity nobody verified (embedded mode's `--user`)."""


def is_service_account(name: str) -> bool:
    return name.startswith(SERVICE_PREFIX)


def check_service_account(name: str) -> str:
    """A service account's name: `svc:` and 1-64 letters, digits, `.`, `_` or `-`."""
    rest = name[len(SERVICE_PREFIX) :] if is_service_account(name) else ""
    if not rest or len(rest) > 64 or not all(c.isalnum() or c in "._-" for c in rest):
        raise InvalidInput(
            f"invalid service account {name!r}: use svc: and 1-64 letters, digits, . _ -"
        )
    return name


@dataclass(frozen=True, slots=True)
class Authentication:
    """How an actor proved who they are, as recorded beside what they did.

    `oidc`: `issuer` and `subject` of the identity provider's token. `token`: the API token's
    `token_id`, who minted it (`minted_by`) and how the minter was authenticated
    (`minted_via`, itself an Authentication's dict without nesting further). `local`: nothing
    was proved."""

    method: str
    issuer: str | None = None
    subject: str | None = None
    token_id: str | None = None
    minted_by: str | None = None
    minted_via: str | None = None

    @property
    def verified(self) -> bool:
        return self.method != LOCAL

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method}
        for key in ("issuer", "subject", "token_id", "minted_by", "minted_via"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> Authentication | None:
        if not raw:
            return None
        return cls(
            method=str(raw.get("method", LOCAL)),
            issuer=raw.get("issuer"),
            subject=raw.get("subject"),
            token_id=raw.get("token_id"),
            minted_by=raw.get("minted_by"),
            minted_via=raw.get("minted_via"),
        )

    def label(self) -> str:
        """How a person reading a record is told: `identity provider https://idp (subject
        00u1)`, `API token 3f2a... minted by alice`, or `asserted, not authenticated`."""
        if self.method == OIDC:
            return f"identity provider {self.issuer} (subject {self.subject})"
        if self.method == TOKEN:
            via = f", {self.minted_via}" if self.minted_via else ""
            return f"API token {self.token_id} minted by {self.minted_by}{via}"
        return ASSERTED


LOCAL_AUTH = Authentication(LOCAL)


def auth_label(auth: Mapping[str, Any] | Authentication | None) -> str:
    """The label of a recorded authentication; a record written before authentications were
    kept says so."""
    found = auth if isinstance(auth, Authentication) else Authentication.from_dict(auth)
    return found.label() if found is not None else "not recorded"


def minted_via(auth: Authentication) -> str:
    """How a minter was authenticated, in one line kept on the token it mints."""
    if auth.method == OIDC:
        return f"identity provider {auth.issuer}"
    if auth.method == TOKEN:
        return f"API token {auth.token_id}"
    return "local command on the server's host"


@dataclass(frozen=True, slots=True)
class Grant:
    """A role over the models a pattern names (None: every model)."""

    role: str
    model_pattern: str | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated actor: its recorded name, how it proved it, what it may do."""

    name: str
    auth: Authentication = LOCAL_AUTH
    grants: tuple[Grant, ...] = field(default=())

    @property
    def is_service(self) -> bool:
        return is_service_account(self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.name,
            "authentication": self.auth.to_dict(),
            "authenticated_as": self.auth.label(),
            "service_account": self.is_service,
            "grants": [{"role": g.role, "model_pattern": g.model_pattern} for g in self.grants],
        }


def local_principal(name: str) -> Principal:
    return Principal(name, LOCAL_AUTH)


def check_minted_for(minter: Principal, user: str | None) -> str:
    """Whom a token may act as: its minter itself (`user` None or the minter's own name) or a
    service account. Nobody mints a token that acts as another person; only a command run
    on the server's host (local) may, which is how the first admin is bootstrapped and is
    recorded as such."""
    if user is None or user == minter.name:
        return minter.name
    if is_service_account(user):
        return check_service_account(user)
    if minter.auth.method == LOCAL:
        return user
    raise Forbidden(
        f"a token acts as the identity that mints it: {minter.name} cannot mint one for "
        f"{user!r} (service accounts are named svc:...)"
    )


def ties(
    a_name: str, a_auth: Authentication | None, b_name: str, b_auth: Authentication | None
) -> str | None:
    """Why `b` is no second pair of eyes for `a` (None: they are two people): the same
    name, the same identity-provider subject, a service account on either side, or one
    having minted the other's token."""
    if a_name == b_name:
        return "the same identity"
    for name in (a_name, b_name):
        if is_service_account(name):
            return f"{name} is a service account"
    if (
        a_auth is not None
        and b_auth is not None
        and a_auth.method == OIDC == b_auth.method
        and (a_auth.issuer, a_auth.subject) == (b_auth.issuer, b_auth.subject)
    ):
        return "the same identity-provider subject"
    if b_auth is not None and b_auth.minted_by == a_name:
        return f"{b_name}'s token was minted by {a_name}"
    if a_auth is not None and a_auth.minted_by == b_name:
        return f"{a_name}'s token was minted by {b_name}"
    return None


def sso_problem(auth: Authentication | None) -> str | None:
    """Why an actor may not request or approve in an environment that requires single
    sign-on (None: it may)."""
    if auth is None or auth.method != OIDC:
        how = auth.label() if auth is not None else "not recorded"
        return f"only identity-provider users may act here, not one authenticated by {how}"
    return None


def auth_text(auth: Authentication | None) -> str | None:
    """How an authentication is stored: canonical JSON text (None: not recorded)."""
    from .canonical import canonical_text

    return None if auth is None else canonical_text(auth.to_dict())


def auth_from_text(text: str | None) -> Authentication | None:
    import json

    return None if not text else Authentication.from_dict(json.loads(text))


def auth_dict(auth: Authentication | None) -> dict[str, Any] | None:
    return None if auth is None else auth.to_dict()


def who(name: str, auth: Authentication | None) -> str:
    """An actor as lines of output name it: with the identity provider that vouched for it,
    the token it used, or the warning that nobody checked the name."""
    if auth is None:
        return name
    if auth.method == OIDC:
        return f"{name} (identity provider {auth.issuer})"
    if auth.method == TOKEN:
        return f"{name} (API token {auth.token_id})"
    return f"{name} ({ASSERTED})"
