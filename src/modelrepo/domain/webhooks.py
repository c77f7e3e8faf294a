"""Webhooks, their pure parts: subscriptions, event payloads, signatures, the target policy.

No I/O here. Events are derived from audit entries (every mutation appends one in its own
transaction), so a notification is sent only for what happened, and nothing that happened is
missed: see `modelrepo.webhooks` for the fan-out and the delivery.

A payload is signed with HMAC-SHA256 over `<unix time>.<body>` and sent as
`X-Modelrepo-Signature: t=<unix time>,v1=<hex>`; receivers check it with `verify_signature`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .access import check_pattern, in_scope
from .canonical import canonical_ascii
from .errors import Conflict, InvalidInput, NotFound, webhook_not_found
from .times import format_time, parse_time
from .urls import split_url

SIGNATURE_HEADER = "X-Modelrepo-Signature"
EVENT_HEADER = "X-Modelrepo-Event"
DELIVERY_HEADER = "X-Modelrepo-Delivery"

REGISTERED = "registered"
DEPLOYMENT_REQUESTED = "deployment_requested"
APPROVED = "approved"
REJECTED = "rejected"
DEPLOYED = "deployed"
UNDEPLOYED = "undeployed"
ROLLED_BACK = "rolled_back"

EVENT_KINDS = (
    REGISTERED,
    DEPLOYMENT_REQUESTED,
    APPROVED,
    REJECTED,
    DEPLOYED,
    UNDEPLOYED,
    ROLLED_BACK,
)
"""Every kind of event a subscription can ask for."""

_DEPLOYMENT_KINDS = {"deploy": DEPLOYED, "undeploy": UNDEPLOYED, "rollback": ROLLED_BACK}
_WEBHOOK_ID = re.compile(r"wh_[0-9a-f]{12}")

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
MAX_URL_LENGTH = 2048


@dataclass(frozen=True, slots=True)
class Webhook:
    """A subscription: where to send which events of which models.

    `secret` signs the payloads. It is kept retrievable (the server must sign with it) and is
    not a credential for the registry; it is never listed or written to the audit trail."""

    webhook_id: str
    url: str
    model_pattern: str
    events: tuple[str, ...]
    created_at: datetime
    created_by: str
    allow_private: bool = False
    disabled_at: datetime | None = None
    disabled_by: str | None = None
    after_seq: int = 0  # audit entries after this one concern it (set when it is stored)
    secret: str = field(default="", repr=False, compare=False)

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def wants(self, kind: str, model: str) -> bool:
        return self.active and kind in self.events and in_scope(self.model_pattern, model)

    def to_dict(self) -> dict[str, Any]:
        return {
            "webhook_id": self.webhook_id,
            "url": self.url,
            "model_pattern": self.model_pattern,
            "events": list(self.events),
            "allow_private": self.allow_private,
            "created_at": format_time(self.created_at),
            "created_by": self.created_by,
            "disabled_at": format_time(self.disabled_at) if self.disabled_at else None,
            "disabled_by": self.disabled_by,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Webhook:
        """A subscription as listed (without its secret or its place in the audit log)."""
        disabled = raw.get("disabled_at")
        return cls(
            webhook_id=raw["webhook_id"],
            url=raw["url"],
            model_pattern=raw["model_pattern"],
            events=tuple(raw["events"]),
            created_at=parse_time(raw["created_at"]),
            created_by=raw["created_by"],
            allow_private=bool(raw.get("allow_private")),
            disabled_at=parse_time(disabled) if disabled else None,
            disabled_by=raw.get("disabled_by"),
        )

    def audit_change(self) -> dict[str, Any]:
        """What the audit entry of its creation or disabling says (never the secret)."""
        return {
            "webhook_id": self.webhook_id,
            "url": self.url,
            "model_pattern": self.model_pattern,
            "events": list(self.events),
            "allow_private": self.allow_private,
        }


def check_new_webhook(webhook_id: str, taken: bool) -> None:
    """A webhook id is used once (`taken`: already stored)."""
    if taken:
        raise Conflict(f"webhook {webhook_id} already exists")


def disabled_webhook(hook: Webhook | None, webhook_id: str, *, actor: str, at: datetime) -> Webhook:
    """`hook` (None: no such webhook) disabled by `actor` at `at`; disabled once, as the audit
    trail records one."""
    if hook is None:
        raise NotFound(webhook_not_found(webhook_id))
    if hook.disabled_at is not None:
        raise Conflict(f"webhook {webhook_id} is already disabled")
    return replace(hook, disabled_at=at, disabled_by=actor)


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """One event to send to one subscription (made by `fan_out`)."""

    webhook_id: str
    seq: int
    event_id: str
    kind: str
    payload: str  # the JSON body, exactly as it is signed and sent


@dataclass(frozen=True, slots=True)
class Delivery:
    """A delivery and its state in the log."""

    delivery_id: int
    webhook_id: str
    seq: int
    event_id: str
    kind: str
    payload: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: str | None = None
    delivered_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "delivery_id": self.delivery_id,
            "webhook_id": self.webhook_id,
            "event_id": self.event_id,
            "kind": self.kind,
            "audit_seq": self.seq,
            "status": self.status,
            "attempts": self.attempts,
            "created_at": format_time(self.created_at),
            "next_attempt_at": format_time(self.next_attempt_at),
            "last_error": self.last_error,
            "delivered_at": format_time(self.delivered_at) if self.delivered_at else None,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Delivery:
        delivered = raw.get("delivered_at")
        return cls(
            delivery_id=int(raw["delivery_id"]),
            webhook_id=raw["webhook_id"],
            seq=int(raw["audit_seq"]),
            event_id=raw["event_id"],
            kind=raw["kind"],
            payload=raw.get("payload", ""),
            status=raw["status"],
            attempts=int(raw["attempts"]),
            created_at=parse_time(raw["created_at"]),
            next_attempt_at=parse_time(raw["next_attempt_at"]),
            last_error=raw.get("last_error"),
            delivered_at=parse_time(delivered) if delivered else None,
        )


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try at a delivery, as logged."""

    delivery_id: int
    attempt: int
    at: datetime
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "delivery_id": self.delivery_id,
            "attempt": self.attempt,
            "at": format_time(self.at),
            "ok": self.ok,
            "status_code": self.status_code,
            "error": self.error,
            "duration_ms": self.duration_ms,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Attempt:
        return cls(
            delivery_id=int(raw["delivery_id"]),
            attempt=int(raw["attempt"]),
            at=parse_time(raw["at"]),
            ok=bool(raw["ok"]),
            status_code=raw.get("status_code"),
            error=raw.get("error"),
            duration_ms=int(raw["duration_ms"]),
        )


def after_attempt(
    delivery: Delivery, attempt: Attempt, next_attempt_at: datetime | None
) -> Delivery:
    """`delivery` once `attempt` is over: delivered if it succeeded, else pending until
    `next_attempt_at`, or failed when no retry is left (`next_attempt_at` None)."""
    status = DELIVERED if attempt.ok else PENDING if next_attempt_at else FAILED
    return replace(
        delivery,
        status=status,
        attempts=max(delivery.attempts, attempt.attempt),
        next_attempt_at=next_attempt_at or attempt.at,
        last_error=None if attempt.ok else attempt.error,
        delivered_at=attempt.at if attempt.ok else None,
    )


# -- subscriptions ---------------------------------------------------------------------------


def check_webhook_id(webhook_id: str) -> str:
    if not isinstance(webhook_id, str) or not _WEBHOOK_ID.fullmatch(webhook_id):
        raise InvalidInput(f"invalid webhook id {webhook_id!r}: expected wh_ and 12 hex digits")
    return webhook_id


def check_events(events: Iterable[str]) -> tuple[str, ...]:
    found = tuple(dict.fromkeys(events))
    if not found:
        raise InvalidInput(f"a webhook needs at least one event kind: {', '.join(EVENT_KINDS)}")
    unknown = [e for e in found if e not in EVENT_KINDS]
    if unknown:
        raise InvalidInput(f"unknown event kind {unknown[0]!r}: use {', '.join(EVENT_KINDS)}")
    return found


def check_model_pattern(pattern: str) -> str:
    checked = check_pattern(pattern)
    assert checked is not None
    return checked


# -- target URLs -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed webhook URL: only these parts are ever used to connect."""

    scheme: str
    host: str  # a lowercase DNS name, or an IP address without brackets
    port: int
    url: str  # normalised


def check_url(url: str, *, allow_http: bool = False) -> Target:
    """Parse a webhook URL: https (http only if allowed), a host, no credentials, no fragment.

    The address the host resolves to is checked later, at every connection
    (`check_address`): a name that is public today may point inside the network tomorrow."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"invalid webhook URL: 1-{MAX_URL_LENGTH} characters")
    if any(c.isspace() or not c.isprintable() for c in url) or "\\" in url:
        raise InvalidInput("invalid webhook URL: no spaces, control characters or backslashes")
    parts = split_url(url, "webhook URL")
    scheme = parts.scheme.lower()
    if scheme != "https" and not (allow_http and scheme == "http"):
        raise InvalidInput(f"a webhook URL must use https, not {parts.scheme or 'nothing'!r}")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidInput("a webhook URL must not carry credentials")
    if parts.fragment:
        raise InvalidInput("a webhook URL must not have a fragment")
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"invalid port in webhook URL: {exc}") from None
    host = (parts.hostname or "").lower()
    if not host:
        raise InvalidInput("a webhook URL needs a host")
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        ip = None
        labels = host.rstrip(".").split(".")
        if not all(re.fullmatch(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?", x) for x in labels):
            raise InvalidInput(f"invalid host {host!r} in webhook URL") from None
        if re.fullmatch(r"[0-9.]+|0x[0-9a-f.x]+", host):  # 127.1, 0x7f.1: IPv4 in disguise
            raise InvalidInput(
                f"invalid host {host!r} in webhook URL: write the address fully"
            ) from None
    netloc = f"[{host}]" if ip is not None and ip.version == 6 else host
    if port is not None:
        netloc += f":{port}"
    normalised = f"{scheme}://{netloc}{parts.path or '/'}" + (
        f"?{parts.query}" if parts.query else ""
    )
    return Target(scheme, host, port or (443 if scheme == "https" else 80), normalised)


def address_problem(address: str) -> str | None:
    """Why a resolved address is not a public unicast one (None: it is)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            problem = address_problem(str(embedded))
            return None if problem is None else f"{problem} (inside {ip})"
        if ip in ipaddress.ip_network("64:ff9b::/96"):  # NAT64 of an IPv4 address
            return address_problem(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("not globally routable", not ip.is_global),
    )
    for name, hit in checks:
        if hit:
            return f"{ip} is {name}"
    return None


def check_address(address: str, *, allow_private: bool) -> None:
    """Refuse to connect to `address` unless it is public or the subscription allows private
    targets (loopback, private networks: an explicit choice recorded on the subscription)."""
    problem = address_problem(address)
    if problem is not None and not allow_private:
        raise InvalidInput(f"webhook target refused: {problem}")


# -- events ----------------------------------------------------------------------------------


def event_of(entry: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
    """(event kind, model, payload fields) of an audit entry document, or None if it is not
    one subscribers can ask for."""
    kind, change = entry["kind"], entry["change"]
    subject = str(entry.get("subject", ""))
    model = subject.partition(":")[2] if subject.startswith("model:") else None
    if model is None:
        return None
    common: dict[str, Any] = {"model": model, "actor": entry["actor"], "at": entry["at"]}
    if kind == "version.registered":
        return (
            REGISTERED,
            model,
            {**common, "version": change["version"], "digest": change["digest"]},
        )
    if kind == "deployment.recorded":
        event_kind = _DEPLOYMENT_KINDS.get(change["kind"])
        if event_kind is None:
            return None
        return (
            event_kind,
            model,
            {
                **common,
                "environment": change["environment"],
                "versions": change["versions"],
                "effective_at": change["effective_at"],
                "reason": change["reason"],
                "deployment_event_id": change["event_id"],
                "request_id": change["request_id"],
                "approved_by": change["approved_by"],
            },
        )
    if kind == "deployment.requested":
        return (
            DEPLOYMENT_REQUESTED,
            model,
            {
                **common,
                "environment": change["environment"],
                "change": change["kind"],
                "versions": change["versions"],
                "reason": change["reason"],
                "request_id": change["request_id"],
            },
        )
    if kind in ("request.approved", "request.rejected"):
        return (
            (APPROVED if kind == "request.approved" else REJECTED),
            model,
            {
                **common,
                "environment": change["environment"],
                "change": change["kind"],
                "request_id": change["request_id"],
                "requested_by": change["requested_by"],
                "reason": change["reason"],
                "deployment_event_id": change["event_id"],
            },
        )
    return None


def fan_out(entries: Iterable[Mapping[str, Any]], hooks: Sequence[Webhook]) -> list[NewDelivery]:
    """The deliveries audit entries make: one per entry and subscription that wants it."""
    found: list[NewDelivery] = []
    for entry in entries:
        event = event_of(entry)
        if event is None:
            continue
        kind, model, fields = event
        seq = int(entry["seq"])
        event_id = f"{entry['store']}:{seq}"
        for hook in hooks:
            if seq > hook.after_seq and hook.wants(kind, model):
                body = {"id": event_id, "kind": kind, "audit_seq": seq, **fields}
                payload = canonical_ascii(body)
                found.append(NewDelivery(hook.webhook_id, seq, event_id, kind, payload))
    return found


# -- signatures ------------------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for `body` sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str, body: bytes, header: str, *, now: float, tolerance: float = 300
) -> bool:
    """For receivers: whether `header` signs `body` with `secret`, sent at most `tolerance`
    seconds from `now` (so a captured request cannot be replayed later)."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected, v) for v in fields.get("v1", []))


# -- retries ---------------------------------------------------------------------------------


def backoff(
    attempt: int, *, base: float = 2.0, cap: float = 3600.0, rng: random.Random | None = None
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): exponential with
    jitter, between half and all of min(cap, base * 2^(attempt-1))."""
    ceiling = min(cap, base * 2.0 ** min(attempt - 1, 64))
    return ceiling * (0.5 + 0.5 * (rng or random).random())
