"""Refused requests on record: what one refusal is, and how a flood of them stays small.

A refusal (a missing, unknown or revoked token, a role or scope that does not permit the
operation, a self-approval) is kept as a `Denial`: who (the token's user, or the public id of
the token, never the token itself), from where, what was asked (method, route template,
operation, model) and why. Repeats of the same refusal within one window fold into one record
with a count, and a `DenialWindow` holds at most `cap` distinct ones: the rest are counted in
one overflow record. Pure rules, no I/O.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .audit import rows_digest
from .errors import InvalidInput
from .times import format_time, parse_time, to_micros

REASON_MAX = 200
"""The longest reason kept (an error's message, cut): enough to say why, never a body."""

OVERFLOW_ROUTE = "*"
OVERFLOW_REASON = "other refusals: more distinct ones in this window than are held apart"

DEFAULT_WINDOW_SECONDS = 60.0
DEFAULT_CAP = 256

AUDIT_KIND = "access.denied"
AUDIT_SUBJECT = "access"


@dataclass(frozen=True, slots=True)
class Denial:
    """One refusal, or `count` identical ones between `first_at` and `last_at`.

    `user`: the identity of a token that was recognised; `token_id`: the public id of the
    token presented (also of an unknown or revoked one, when it has the `mr_<id>_...` shape).
    `status` is what was answered (401, 403, 404 for an out-of-scope model; 0 for the
    overflow record, which mixes them). `id` is given by the store."""

    first_at: datetime
    last_at: datetime
    count: int
    user: str | None
    token_id: str | None
    client: str | None
    method: str
    route: str
    operation: str | None
    model: str | None
    reason: str
    status: int
    id: int | None = None

    @property
    def key(self) -> tuple[Any, ...]:
        """What makes two refusals the same one (everything but the times and count)."""
        return (
            self.user, self.token_id, self.client, self.method, self.route, self.operation,
            self.model, self.reason, self.status,
        )  # fmt: skip

    def row(self) -> tuple[Any, ...]:
        """The record as its batch's audit digest covers it (instants in microseconds)."""
        return (self.id, to_micros(self.first_at), to_micros(self.last_at), self.count, *self.key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "first_at": format_time(self.first_at),
            "last_at": format_time(self.last_at),
            "count": self.count,
            "user": self.user,
            "token_id": self.token_id,
            "client": self.client,
            "method": self.method,
            "route": self.route,
            "operation": self.operation,
            "model": self.model,
            "reason": self.reason,
            "status": self.status,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Denial:
        return cls(
            first_at=parse_time(raw["first_at"]),
            last_at=parse_time(raw["last_at"]),
            count=int(raw["count"]),
            user=raw.get("user"),
            token_id=raw.get("token_id"),
            client=raw.get("client"),
            method=raw["method"],
            route=raw["route"],
            operation=raw.get("operation"),
            model=raw.get("model"),
            reason=raw["reason"],
            status=int(raw["status"]),
            id=raw.get("id"),
        )


def short_reason(message: str, *, secret: str | None = None) -> str:
    """An error's message as a reason: one printable line of at most `REASON_MAX`
    characters (it may quote what a client sent), never holding `secret` (the credential
    the request presented)."""
    text = str(message)
    if secret:
        text = text.replace(secret, "[token]")
    line = printable(" ".join(text.split()))
    return line if len(line) <= REASON_MAX else line[: REASON_MAX - 1] + "…"


def printable(text: str) -> str:
    """`text` with every control character replaced by `?` (it is shown in terminals)."""
    return text if text.isprintable() else "".join(c if c.isprintable() else "?" for c in text)


def denials_change(batch: Sequence[Denial]) -> dict[str, Any]:
    """The audit change of a stored batch of refusals (ids given): how many records and
    attempts, the first and last ids, and the digest of the rows (`rows_digest`)."""
    return {
        "records": len(batch),
        "attempts": sum(d.count for d in batch),
        "first": batch[0].id,
        "last": batch[-1].id,
        "rows_sha256": rows_digest([d.row() for d in batch]),
    }


def check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise InvalidInput("limit must be between 1 and 10000")
    return limit


Key = tuple[Any, ...]
"""`Denial.key`: (user, token_id, client, method, route, operation, model, reason, status)."""

OVERFLOW_KEY: Key = (None, None, None, "*", OVERFLOW_ROUTE, None, None, OVERFLOW_REASON, 0)


class DenialWindow:
    """Refusals of the current window, folded by `Denial.key`; at most `cap` distinct ones
    (further distinct ones are counted in one overflow record). Thread-safe: refusals are
    noted on the event loop while another thread drains the window into the store."""

    def __init__(self, cap: int = DEFAULT_CAP) -> None:
        if cap < 1:
            raise ValueError("the cap must be at least 1")
        self.cap = cap
        self._held: dict[Key, list[Any]] = {}  # key -> [first_at, last_at, count]
        self._overflow: list[Any] | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._held) + (self._overflow is not None)

    def add(self, key: Key, first_at: datetime, last_at: datetime, count: int = 1) -> None:
        """Count `count` refusals of `key` seen between `first_at` and `last_at` (cheap: no
        record is built until the window is drained)."""
        with self._lock:
            held = self._held.get(key)
            if held is None:
                if len(self._held) < self.cap:
                    self._held[key] = [first_at, last_at, count]
                    return
                if self._overflow is None:
                    self._overflow = [first_at, last_at, 0]
                held = self._overflow
            if first_at < held[0]:
                held[0] = first_at
            if last_at > held[1]:
                held[1] = last_at
            held[2] += count

    def note(self, denial: Denial) -> None:
        """Count a record (one refusal, or several when a batch that failed is put back)."""
        self.add(denial.key, denial.first_at, denial.last_at, denial.count)

    def drain(self) -> list[Denial]:
        """Everything held, oldest first, and an empty window."""
        with self._lock:
            held, overflow = self._held, self._overflow
            self._held, self._overflow = {}, None
        batch = sorted(
            (Denial(first, last, count, *key) for key, (first, last, count) in held.items()),
            key=lambda d: d.first_at,
        )
        if overflow is not None:
            batch.append(Denial(overflow[0], overflow[1], overflow[2], *OVERFLOW_KEY))
        return batch
