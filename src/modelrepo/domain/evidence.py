"""What the audit log says the registry's tables hold, and whether they still hold it.

Replaying the log (a fold over its entries, in order) gives the state every table the
registry answers from must be in; the store's answers, read back, are compared with it. A row
with no entry was written behind the registry's back, an entry whose row is gone lost it, and
a row that differs from its entry in any field an answer shows was changed after it was
recorded. Decisions, being many, are compared as a stream (`DecisionWalk`): each one must fall
in the batch of a `decisions.logged` entry and hash, with its batch, to that entry's digest.

Entries written before they carried a field are checked as far as they go: a field their
change does not carry is `UNCHECKED` in the expected state, and is not compared.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .access import ApiToken, credential_digest
from .attestations import SIGNED
from .audit import (
    MODEL_CREATED,
    MODEL_DELETED,
    MODEL_RENAMED,
    RECORDED_DELETED,
    DecisionRow,
    DecisionsDigest,
    name_at,
)
from .denials import AUDIT_KIND as REFUSALS_KIND
from .deployment_rules import REQUIRE_SSO
from .deployments import Environment
from .model import Model, ModelEvent, ModelVersion, VersionEvent
from .principals import auth_dict
from .roles import RoleBinding
from .times import format_time, parse_time, to_micros
from .trust import TRUSTED
from .webhooks import Webhook

UNCHECKED: Any = "<not in the entry>"
"""An expected field the entries that made the row do not carry (older entries)."""

Key = tuple[Any, ...]
Problem = tuple[str, int | None]
"""A finding and the entry it names (None: a row no entry accounts for)."""


@dataclass
class Expected:
    """A row as the log says it must read, and the last entry that shaped it."""

    seq: int
    fields: dict[str, Any]


@dataclass
class Batch:
    """A `decisions.logged` entry: the run of decisions it recorded and their digest."""

    seq: int
    first: str
    last: str
    count: int
    rows_sha256: str
    layout: int
    recorded: int  # the recording instant of every decision in it, in microseconds


@dataclass(frozen=True)
class Refusals:
    """An `access.denied` entry: the run of refused-request records it added (by id), how
    many, and the digest of their rows."""

    seq: int
    first: int
    last: int
    records: int
    rows_sha256: str


@dataclass
class Purge:
    """A `decisions.inputs_purged` entry, and the decisions found purged at its instant."""

    seq: int
    count: int
    decisions_sha256: str
    found: int = 0
    digest: Any = field(default_factory=hashlib.sha256)


class Evidence:
    """The expected state of the registry's tables, folded from the audit log entry by entry."""

    def __init__(self) -> None:
        self.rows: dict[Key, Expected] = {}
        self.imports: list[tuple[int, Mapping[str, Any]]] = []
        self.refusals: list[Refusals] = []
        self.batches: list[Batch] = []
        self.purges: dict[tuple[str, int], Purge] = {}
        self.unkeyed: set[tuple[str, int]] = set()  # registrations whose entry has no `key`
        self.renames: list[tuple[int, str, str]] = []  # (seq, old name, new name)
        # (model, number) -> the name its record was hashed with, for versions since renamed
        self.record_names: dict[tuple[str, int], str] = {}

    def name_then(self, name: str, seq: int) -> str:
        """The name at entry `seq` of the model named `name` now (rows read back name their
        model as it is called now; entries, as it was called then)."""
        return name_at(name, seq, self.renames)

    def apply(self, seq: int, entry: Any) -> Problem | None:
        """Fold one entry (its parsed canonical JSON) into the expected state; a finding if
        its change is not one its kind makes (it can then vouch for no row)."""
        kind = entry.get("kind") if isinstance(entry, Mapping) else None
        handler = _HANDLERS.get(str(kind))
        if handler is None:
            return None
        try:
            handler(self, seq, str(entry["at"]), str(entry["actor"]), entry["change"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return f"entry {seq} is not a {kind} entry its store could write ({exc!r})", seq
        return None

    # -- comparing -------------------------------------------------------------------------

    def compare(self, key: Key, actual: Mapping[str, Any]) -> Problem | None:
        """The finding on one row read back (and it is accounted for: `missing` skips it)."""
        expected = self.rows.pop(key, None)
        if expected is None:
            return (
                f"{describe(key)} has no audit entry: it was written behind the registry's back",
                None,
            )
        differ = sorted(
            name
            for name, value in expected.fields.items()
            if value is not UNCHECKED and actual.get(name) != value
        )
        if differ:
            return (
                f"{describe(key)} no longer matches entry {expected.seq} ({', '.join(differ)}): "
                "it was changed after it was recorded",
                expected.seq,
            )
        return None

    def missing(self) -> Iterator[Problem]:
        """The rows the entries made that were not read back (after every `compare`)."""
        for key, expected in sorted(self.rows.items(), key=lambda kv: kv[1].seq):
            yield f"{describe(key)} of entry {expected.seq} is gone", expected.seq

    def knows(self, key: Key) -> bool:
        return key in self.rows

    # -- the fold --------------------------------------------------------------------------

    def _row(self, seq: int, key: Key) -> dict[str, Any] | None:
        found = self.rows.get(key)
        if found is None:
            return None
        found.seq = seq
        return found.fields

    def _environment(
        self, seq: int, model: str, env: str, at: Any, actor: Any, *, changed: bool = False
    ) -> dict[str, Any]:
        """The environment, made by the first entry that names it (as the stores make it);
        `changed`: this entry changes it (it is then the one a difference names)."""
        key = ("environment", model, env)
        found = self.rows.get(key)
        if found is None:
            found = self.rows[key] = Expected(
                seq,
                {
                    "protected": False,
                    "require_sso": False,
                    "created_at": at,
                    "created_by": actor,
                    "changes": [],
                },
            )
        elif changed:
            found.seq = seq
        return found.fields


def describe(key: Key) -> str:
    what, *rest = key
    if what == "version":
        return f"version {rest[0]}@{rest[1]}"
    if what == "deployment event":
        return f"deployment event {rest[2]} of {rest[0]}@{rest[1]}"
    if what == "environment":
        return f"environment {rest[1]!r} of {rest[0]}"
    if what == "policy":
        return f"the decision inputs policy of {rest[0]}"
    if what == "model":
        return f"model {rest[0]!r}"
    if what == "registration key":
        return f"the idempotency key {rest[1]!r} of {rest[0]}"
    return f"{what} {rest[0]}"


# -- the rows as answers show them: one spelling for both sides --------------------------------


def model_fields(model: Model, events: Sequence[ModelEvent]) -> dict[str, Any]:
    return {
        "created_at": format_time(model.created_at),
        "created_by": model.created_by,
        "deleted_at": format_time(model.deleted_at) if model.deleted_at else None,
        "deleted_by": model.deleted_by,
        "latest_version": model.latest_version,
        "version_count": model.version_count,
        "tags": dict(model.tags),
        "description": model.description,
        "events": [[e.kind, e.key, e.value, e.actor, format_time(e.at)] for e in events],
    }


def version_fields(version: ModelVersion, events: Sequence[VersionEvent]) -> dict[str, Any]:
    """A version as its entries bind it: the immutable record (files included) by digest."""
    return {
        "record": version.record_digest(),
        "tags": dict(version.tags),
        "deprecated": version.deprecated,
        "deleted_at": format_time(version.deleted_at) if version.deleted_at else None,
        "deleted_by": version.deleted_by,
        "events": [[e.kind, e.key, e.value, e.actor, format_time(e.at), e.reason] for e in events],
    }


def environment_fields(env: Environment) -> dict[str, Any]:
    return {
        "protected": env.protected,
        "require_sso": env.require_sso,
        "created_at": format_time(env.created_at),
        "created_by": env.created_by,
        "changes": [
            [c.kind, c.actor, format_time(c.at), c.request_id, c.reason, auth_dict(c.actor_auth)]
            for c in env.changes
        ],
    }


def token_fields(token: ApiToken, token_hash: str | None) -> dict[str, Any]:
    """A token as answers show it, and the digest of the hash it authenticates by."""
    return {
        "credential": None if token_hash is None else credential_digest(token_hash),
        "user": token.user,
        "role": token.role,
        "model_pattern": token.model_pattern,
        "created_at": format_time(token.created_at),
        "created_by": token.created_by,
        "revoked_at": format_time(token.revoked_at) if token.revoked_at else None,
        "revoked_by": token.revoked_by,
        "kind": token.kind,
        "minted_auth": auth_dict(token.minted_auth),
    }


def role_binding_fields(binding: RoleBinding) -> dict[str, Any]:
    """A role binding as answers show it (its id is its key)."""
    return {k: v for k, v in binding.to_dict().items() if k != "binding_id"}


def webhook_fields(hook: Webhook) -> dict[str, Any]:
    return {
        **{k: v for k, v in hook.audit_change().items() if k != "webhook_id"},
        "created_at": format_time(hook.created_at),
        "created_by": hook.created_by,
        "after_seq": hook.after_seq,
        "disabled_at": format_time(hook.disabled_at) if hook.disabled_at else None,
        "disabled_by": hook.disabled_by,
    }


def registration_key_fields(model: str, version: int, digest: str, at: str) -> dict[str, Any]:
    """What a retried registration with the key answers: the version it made, and when."""
    return {"model": model, "version": version, "digest": digest, "created_at": at}


def policy_fields(mode: str, retention_days: int | None) -> dict[str, Any]:
    return {"inputs": mode, "retention_days": retention_days}


DEFAULT_POLICY = policy_fields("inline", None)
"""A model's decision inputs policy until one is set (no row, no entry)."""


# -- what each kind of entry does to the tables ------------------------------------------------

Handler = Callable[[Evidence, int, str, str, Mapping[str, Any]], None]


def _model_row(ev: Evidence, seq: int, model: str, at: str, actor: str) -> dict[str, Any]:
    """The model's expected row, made by the first entry that names it (as the stores make
    it: by its first version, or created on its own)."""
    found = ev._row(seq, ("model", model))
    if found is None:
        found = {
            "created_at": at, "created_by": actor, "deleted_at": None, "deleted_by": None,
            "latest_version": 0, "version_count": 0, "tags": {}, "description": "", "events": [],
        }  # fmt: skip
        ev.rows[("model", model)] = Expected(seq, found)
    return found


def _registered(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
    model, number = ch["model"], ch["version"]
    found = _model_row(ev, seq, model, at, actor)
    found["latest_version"] = max(found["latest_version"], number)
    found["version_count"] += 1
    if "key" not in ch:
        ev.unkeyed.add((model, number))  # written before entries named a registration's key
    elif ch["key"] is not None:
        ev.rows[("registration key", actor, ch["key"])] = Expected(
            seq, registration_key_fields(model, number, ch["digest"], at)
        )
    ev.rows[("version", model, number)] = Expected(
        seq,
        {
            "record": ch["record"], "tags": dict(ch["tags"]), "deprecated": False,
            "deleted_at": None, "deleted_by": None, "events": [],
        },
    )  # fmt: skip


def _recorded_deleted(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
    model, number = ch["model"], ch["version"]
    found = _model_row(ev, seq, model, at, actor)
    found["latest_version"] = max(found["latest_version"], number)
    ev.rows[("version", model, number)] = Expected(
        seq,
        {
            "record": ch["record"], "tags": {}, "deprecated": False, "deleted_at": at,
            "deleted_by": actor, "events": [["deleted", None, None, actor, at, ch["reason"]]],
        },
    )  # fmt: skip


def _created(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
    found = _model_row(ev, seq, ch["model"], at, actor)
    if found["deleted_at"] is not None:  # the name of a deleted model, taken again
        found.update(created_at=at, created_by=actor, deleted_at=None, deleted_by=None)
    found["events"].append(["created", None, None, actor, at])


def _model_deleted(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
    model, reason = ch["model"], ch["reason"]
    found = ev._row(seq, ("model", model))
    if found is None:
        return
    found.update(deleted_at=at, deleted_by=actor, version_count=0, tags={}, description="")
    found["events"].append(["deleted", None, reason, actor, at])
    for number in ch["versions"]:
        row = ev._row(seq, ("version", model, number))
        if row is not None:
            row["deleted_at"], row["deleted_by"] = at, actor
            row["events"].append(["deleted", None, None, actor, at, reason])
    ev.rows.pop(("policy", model), None)


_NAMED_BY_MODEL = (
    "model", "version", "deployment event", "environment", "policy", "signing model"
)  # fmt: skip
"""Kinds of rows whose key holds their model's name right after the kind."""


def _renamed(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
    old, new = ch["model"], ch["new_name"]
    ev.renames.append((seq, old, new))
    for key in [k for k in ev.rows if k[0] in _NAMED_BY_MODEL and k[1] == old]:
        ev.rows[(key[0], new, *key[2:])] = ev.rows.pop(key)
        if key[0] == "version":
            ev.record_names[(new, key[2])] = ev.record_names.pop((old, key[2]), old)
    for expected in ev.rows.values():  # deployment events, requests, registration keys
        if expected.fields.get("model") == old:
            expected.fields["model"] = new
    ev.unkeyed = {(new if m == old else m, n) for m, n in ev.unkeyed}
    for key in [k for k in ev.purges if k[0] == old]:
        ev.purges[(new, key[1])] = ev.purges.pop(key)
    row = ev._row(seq, ("model", new))
    if row is not None:
        row["events"].append(["renamed", old, new, actor, at])


def _tagged(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
    row = ev._row(seq, ("version", ch["model"], ch["version"]))
    if row is None:
        return  # an entry about a version never registered: the version has no row to read
    key, value = ch["key"], ch["value"]
    if value is None:
        row["tags"].pop(key, None)
    else:
        row["tags"][key] = value
    kind = "tag_removed" if value is None else "tag_set"
    row["events"].append([kind, key, value, actor, at, None])


def _version_state(kind: str) -> Handler:
    def handle(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
        row = ev._row(seq, ("version", ch["model"], ch["version"]))
        if row is None:
            return
        if kind == "deleted":
            row["deleted_at"], row["deleted_by"] = at, actor
            model = ev._row(seq, ("model", ch["model"]))
            if model is not None:
                model["version_count"] -= 1
        else:
            row["deprecated"] = kind == "deprecated"
        row["events"].append([kind, None, None, actor, at, ch.get("reason")])

    return handle


def _trusted(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
    row = ev._row(seq, ("version", ch["model"], ch["version"]))
    if row is None:
        return
    reason = ch["reason"]
    row["events"].extend([TRUSTED, str(name), None, actor, at, reason] for name in ch["types"])


def _signed(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
    row = ev._row(seq, ("version", ch["model"], ch["version"]))
    if row is None:
        return
    reason = ch["reason"]
    row["events"].extend(
        [SIGNED, s["key"], s["bundle"], actor, at, reason] for s in ch["signatures"]
    )


def _model_changed(kind: str) -> Handler:
    def handle(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
        row = ev._row(seq, ("model", ch["model"]))
        if row is None:
            return
        key, value = ch.get("key"), ch.get("value")
        if kind == "described":
            row["description"] = value
        elif value is None:
            row["tags"].pop(key, None)
        else:
            row["tags"][key] = value
        row["events"].append([kind, key, value, actor, at])

    return handle


def _deployed(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
    model, env = ch["model"], ch["environment"]
    ev._environment(seq, model, env, ch["recorded_at"], ch["actor"])
    # An entry written before observations existed names neither column: both were empty.
    fields = {"unknown_from": None, "earliest_at": None, **ch}
    ev.rows[("deployment event", model, env, ch["event_id"])] = Expected(seq, fields)


def _imported(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
    ev.imports.append((seq, ch))
    # Each environment is made at its first row's instant, by its actor: neither in the entry.
    for model, env in ch.get("environments", ()):  # entries before it named none
        ev._environment(seq, model, env, UNCHECKED, UNCHECKED)


def _refused(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
    ev.refusals.append(
        Refusals(seq, int(ch["first"]), int(ch["last"]), int(ch["records"]), str(ch["rows_sha256"]))
    )


def _protected(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
    row = ev._environment(seq, ch["model"], ch["environment"], at, actor, changed=True)
    kind = ch.get("kind", "protected")  # entries before single sign-on named no kind
    row["protected"] = True
    row["require_sso"] = row["require_sso"] or kind == REQUIRE_SSO
    row["changes"].append([kind, actor, at, None, None, ch.get("auth")])


def _requested(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
    ev._environment(seq, ch["model"], ch["environment"], ch["requested_at"], ch["requested_by"])
    ev.rows[("request", ch["request_id"])] = Expected(seq, dict(ch))


def _decided(status: str) -> Handler:
    def handle(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
        row = ev._row(seq, ("request", ch["request_id"]))
        if row is None:
            return
        row.update(
            status=status,
            decided_by=actor,
            decided_at=at,
            decision_reason=ch["reason"],
            event_id=ch["event_id"],
            decided_auth=ch.get("auth"),
        )
        if status == "approved" and row["kind"] == "unprotect":
            env = ev._environment(seq, row["model"], row["environment"], at, actor, changed=True)
            env["protected"] = env["require_sso"] = False
            env["changes"].append(
                ["unprotected", actor, at, ch["request_id"], row["reason"], ch.get("auth")]
            )

    return handle


def _created_and_ended(
    what: str,
    id_key: str,
    ended: str,
    fields: Callable[[Mapping[str, Any], str, str, int], dict[str, Any]],
) -> tuple[Handler, Handler]:
    """The two handlers of a record made once and ended once (a token or a role binding
    revoked, a webhook disabled), keyed by `(what, change[id_key])`: the first expects the
    row `fields` says, not yet ended; the second sets its `<ended>_at` and `<ended>_by`."""
    at_key, by_key = f"{ended}_at", f"{ended}_by"

    def created(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
        ev.rows[(what, ch[id_key])] = Expected(
            seq, {**fields(ch, at, actor, seq), at_key: None, by_key: None}
        )

    def ended_(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
        row = ev._row(seq, (what, ch[id_key]))
        if row is not None:
            row[at_key], row[by_key] = at, actor

    return created, ended_


_TOKEN = _created_and_ended(
    "token",
    "token_id",
    "revoked",
    lambda ch, at, actor, seq: {
        "user": ch["user"], "role": ch["role"], "model_pattern": ch["model_pattern"],
        "created_at": at, "created_by": actor,
        "credential": ch.get("credential", UNCHECKED),  # entries before it had none
        # Entries before identities were kept named neither: a person's, unrecorded.
        "kind": ch.get("kind", "person"), "minted_auth": ch.get("minted_auth"),
    },
)  # fmt: skip
_ROLE = _created_and_ended(
    "role binding",
    "binding_id",
    "revoked",
    lambda ch, at, actor, seq: {
        "issuer": ch["issuer"], "principal": ch["principal"], "role": ch["role"],
        "model_pattern": ch["model_pattern"], "granted_at": at, "granted_by": actor,
        "granted_auth": ch["auth"],
    },
)  # fmt: skip
_WEBHOOK = _created_and_ended(
    "webhook",
    "webhook_id",
    "disabled",
    lambda ch, at, actor, seq: {
        **{k: v for k, v in ch.items() if k != "webhook_id"},
        "created_at": at, "created_by": actor, "after_seq": seq,
    },
)  # fmt: skip


def _key_trusted(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
    ev.rows[("signing key", ch["key_id"])] = Expected(
        seq,
        {
            "public_key": ch["public_key"], "label": ch["label"], "added_at": at,
            "added_by": actor, "revoked_at": None, "revoked_by": None, "revoked_reason": None,
        },
    )  # fmt: skip


def _key_revoked(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
    row = ev._row(seq, ("signing key", ch["key_id"]))
    if row is not None:
        row["revoked_at"], row["revoked_by"], row["revoked_reason"] = at, actor, ch["reason"]


def _signing_policy(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
    ev.rows[(f"signing {ch['scope']}", ch["name"])] = Expected(
        seq, {"enabled": ch["enabled"], "set_at": at, "set_by": actor, "keys": ch["keys"]}
    )


def _policy(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
    ev.rows[("policy", ch["model"])] = Expected(
        seq, policy_fields(ch["inputs"], ch["retention_days"])
    )


def _logged(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
    ev.batches.append(
        Batch(
            seq, ch["first"], ch["last"], ch["count"], ch["rows_sha256"], ch.get("rows", 1),
            to_micros(parse_time(at)),
        )
    )  # fmt: skip


def _purged(ev: Evidence, seq: int, at: str, actor: str, ch: Mapping[str, Any]) -> None:
    ev.purges[(ch["model"], to_micros(parse_time(at)))] = Purge(
        seq, ch["count"], ch["decisions_sha256"]
    )


_HANDLERS: dict[str, Handler] = {
    "version.registered": _registered,
    "version.tag_set": _tagged,
    "version.tag_removed": _tagged,
    "version.deprecated": _version_state("deprecated"),
    "version.undeprecated": _version_state("undeprecated"),
    "version.deleted": _version_state("deleted"),
    RECORDED_DELETED: _recorded_deleted,
    MODEL_CREATED: _created,
    "version.trusted": _trusted,
    "version.signed": _signed,
    "signing_key.trusted": _key_trusted,
    "signing_key.revoked": _key_revoked,
    "signing.policy_set": _signing_policy,
    MODEL_DELETED: _model_deleted,
    MODEL_RENAMED: _renamed,
    "model.tag_set": _model_changed("tag_set"),
    "model.tag_removed": _model_changed("tag_removed"),
    "model.described": _model_changed("described"),
    "deployment.recorded": _deployed,
    "deployment.imported": _imported,
    "environment.protected": _protected,
    "deployment.requested": _requested,
    "request.approved": _decided("approved"),
    "request.rejected": _decided("rejected"),
    "token.created": _TOKEN[0],
    "token.revoked": _TOKEN[1],
    "role.granted": _ROLE[0],
    "role.revoked": _ROLE[1],
    "webhook.created": _WEBHOOK[0],
    "webhook.disabled": _WEBHOOK[1],
    "decisions.policy_set": _policy,
    "decisions.logged": _logged,
    "decisions.inputs_purged": _purged,
    REFUSALS_KIND: _refused,
}


# -- decisions, as a stream ---------------------------------------------------------------------


@dataclass
class _Open:
    index: int
    batch: Batch
    digest: DecisionsDigest
    recorded_ok: bool = True


class DecisionWalk:
    """Every decision, read in recording order a page at a time, against the batches the log
    recorded: each batch's rows must be its entry's count and digest, recorded at its entry's
    instant; a decision outside every batch, or purged at an instant no purge entry records,
    is a finding. Memory holds one batch's running digest, not its rows."""

    def __init__(
        self,
        batches: Sequence[Batch],
        purges: Mapping[tuple[str, int], Purge],
        name_then: Callable[[str, int], str] | None = None,
    ) -> None:
        self._name_then = name_then  # a renamed model's rows are hashed as they were named
        self._batches = batches
        self._firsts = {b.first: n for n, b in enumerate(batches)}
        self._purges = purges
        self._next = 0  # the first batch not yet begun
        self._open: _Open | None = None
        self._stray: list[Any] | None = None  # [count, first id, last id, digest]
        self._unrecorded_purges: list[Any] | None = None  # [count, first id]
        self.problems: list[Problem] = []

    def feed(self, page: Sequence[DecisionRow]) -> None:
        start = 0  # where the open batch's rows in this page begin
        for n, row in enumerate(page):
            decision_id = row[0]
            if row[10] is not None:
                self._purged(row)
            opened = self._open
            if opened is not None:
                begins = self._firsts.get(decision_id)
                if begins is None or begins <= opened.index:
                    opened.recorded_ok &= row[9] == opened.batch.recorded
                    if decision_id == opened.batch.last:
                        self._hash(opened, page[start : n + 1])
                        self._close()
                    continue
                self._hash(opened, page[start:n])  # the next batch begins: its end is gone
                self._close()
            begins = self._firsts.get(decision_id)
            if begins is not None and begins >= self._next:
                self._end_stray()
                for lost in self._batches[self._next : begins]:
                    self._mismatch(lost, 0)
                batch = self._batches[begins]
                self._next = begins + 1
                self._open = _Open(begins, batch, DecisionsDigest(batch.layout))
                self._open.recorded_ok = row[9] == batch.recorded
                start = n
                if decision_id == batch.last:
                    self._hash(self._open, page[n : n + 1])
                    self._close()
                continue
            self._add_stray(row)
        if self._open is not None:
            self._hash(self._open, page[start:])

    def _hash(self, opened: _Open, rows: Sequence[DecisionRow]) -> None:
        then = self._name_then
        if then is not None:
            seq = opened.batch.seq
            rows = [(r[0], then(r[1], seq), *r[2:]) for r in rows]
        opened.digest.update_rows(rows)

    def finish(self) -> list[Problem]:
        if self._open is not None:
            self._close()
        self._end_stray()
        for lost in self._batches[self._next :]:
            self._mismatch(lost, 0)
        if self._unrecorded_purges is not None:
            count, first = self._unrecorded_purges
            self.problems.append(
                (
                    f"the inputs of {count} decision(s) from {first!r} on read as purged at an "
                    "instant no purge entry records: they were changed behind the registry's back",
                    None,
                )
            )
        for (model, _), purge in sorted(self._purges.items(), key=lambda kv: kv[1].seq):
            final = purge.digest.hexdigest()
            if purge.found != purge.count or final != purge.decisions_sha256:
                self.problems.append(
                    (
                        f"the {purge.count} purges of decision inputs of {model} recorded by "
                        f"entry {purge.seq} no longer match it ({purge.found} found)",
                        purge.seq,
                    )
                )
        return self.problems

    def _purged(self, row: DecisionRow) -> None:
        purge = self._purges.get((row[1], row[10] or 0))
        if purge is None:
            if self._unrecorded_purges is None:
                self._unrecorded_purges = [0, row[0]]
            self._unrecorded_purges[0] += 1
            return
        purge.found += 1
        purge.digest.update(f"{len(row[0])}:{row[0]}\n".encode())

    def _close(self) -> None:
        opened = self._open
        assert opened is not None
        self._open = None
        batch, digest = opened.batch, opened.digest
        if (
            digest.count != batch.count
            or digest.hexdigest() != batch.rows_sha256
            or not opened.recorded_ok
        ):
            self._mismatch(batch, digest.count)

    def _mismatch(self, batch: Batch, found: int) -> None:
        self.problems.append(
            (
                f"the {batch.count} decisions recorded by entry {batch.seq} no longer match it "
                f"({found} found): the decision log was changed after it was recorded",
                batch.seq,
            )
        )

    def _add_stray(self, row: DecisionRow) -> None:
        """A decision outside every batch begun so far: either the next batch, its first
        decision gone (found when its last one comes), or one no entry recorded."""
        if self._stray is None:
            self._stray = [0, row[0], row[0]]
        self._stray[0] += 1
        self._stray[2] = row[0]
        if self._next < len(self._batches) and row[0] == self._batches[self._next].last:
            count = self._stray[0]
            self._stray = None
            self._mismatch(self._batches[self._next], count)
            self._next += 1

    def _end_stray(self) -> None:
        if self._stray is None:
            return
        count, first, last = self._stray
        self._stray = None
        what = (
            f"decision {first!r}" if count == 1 else f"{count} decisions from {first!r} to {last!r}"
        )
        self.problems.append(
            (
                f"{what} belong{'s' if count == 1 else ''} to no batch the audit log recorded: "
                "written behind the registry's back",
                None,
            )
        )
