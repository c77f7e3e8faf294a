"""Audit use-cases: checkpoints, verification, proofs — over the store's append-only log.

Verification recomputes every leaf hash from the stored entry bytes, checks the sequence has
no gap, compares each leaf with the hash recorded when it was appended and the columns kept
beside each entry with its bytes, rebuilds the tree and compares every stored node with it and
its root with every signed checkpoint (stored, or given by an auditor), checks the signatures
and that the key is the one named in the log's first entry. Then every row the registry
answers from is compared with the state the log replays into, both ways (`check_records`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .disk.modes import make_folder, open_new
from .domain.attestations import policy_row_fields, signing_key_fields
from .domain.audit import (
    DecisionsDigest,
    EntryColumns,
    TreeRebuild,
    consistency_proof,
    event_import_row,
    inclusion_proof,
    node_at,
    root_hash,
    rows_digest,
)
from .domain.deployments import DeploymentEvent
from .domain.errors import InvalidInput, NotFound
from .domain.evidence import (
    DEFAULT_POLICY,
    DecisionWalk,
    Evidence,
    Refusals,
    environment_fields,
    model_fields,
    policy_fields,
    registration_key_fields,
    role_binding_fields,
    token_fields,
    version_fields,
    webhook_fields,
)
from .domain.times import format_time, from_micros, parse_time, to_micros
from .verifier import (
    CHECKPOINT_FORMAT,
    checkpoint_body,
    verify_checkpoint,
)

if TYPE_CHECKING:
    from .domain.permissions import StoreMode
    from .ports import Clock, MetadataStore, Signer

GENESIS = "store.created"


@dataclass
class VerifyReport:
    """The outcome of `audit verify`; `first_bad_seq` names the first entry that fails."""

    size: int = 0
    root_hash: str = ""
    checkpoints_checked: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_seq: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, message: str, seq: int | None = None) -> None:
        self.problems.append(message)
        if seq is not None and (self.first_bad_seq is None or seq < self.first_bad_seq):
            self.first_bad_seq = seq

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "size": self.size,
            "root_hash": self.root_hash,
            "checkpoints_checked": self.checkpoints_checked,
            "first_bad_seq": self.first_bad_seq,
            "problems": self.problems,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> VerifyReport:
        return cls(
            size=int(raw["size"]),
            root_hash=raw.get("root_hash") or "",
            checkpoints_checked=int(raw["checkpoints_checked"]),
            problems=[str(p) for p in raw.get("problems") or ()],
            first_bad_seq=raw.get("first_bad_seq"),
        )


def genesis(store: MetadataStore, signer: Signer, actor: str, at: datetime) -> None:
    """The log's first entry names the store and the key that signs its checkpoints."""
    if store.audit_size():
        return
    store.record_audit(
        GENESIS,
        "store",
        actor=actor,
        at=at,
        change={
            "store_id": store.store_id(),
            "key_id": signer.key_id,
            "public_key": signer.public_pem.decode(),
        },
        only_if_empty=True,
    )


def make_checkpoint(
    store: MetadataStore,
    signer: Signer,
    clock: Clock,
    export_dir: Path | None = None,
    export_mode: StoreMode | None = None,
) -> dict[str, Any]:
    """Sign the current tree head, keep it in the store, and (with `export_dir`) also write it
    there as a new file that is never overwritten (point it at write-once storage).
    `export_mode`: the store's mode, when `export_dir` is inside the store folder."""
    size = store.audit_size()
    now = clock.now()
    checkpoint: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "origin": f"modelrepo:{store.store_id()}",
        "size": size,
        "root_hash": root_hash(size, store.audit_node).hex(),
        "timestamp": format_time(now),
        "key_id": signer.key_id,
    }
    checkpoint["signature"] = base64.b64encode(signer.sign(checkpoint_body(checkpoint))).decode()
    store.add_checkpoint(size, now, json.dumps(checkpoint, sort_keys=True))
    if export_dir is not None:
        export_checkpoint(checkpoint, export_dir, export_mode)
    return checkpoint


def export_checkpoint(
    checkpoint: dict[str, Any], folder: Path, mode: StoreMode | None = None
) -> Path:
    """Write `checkpoint-<size>-<time>.json` durably, refusing to replace an existing file:
    read-only for all, or inside a store (`mode`) for those who may read the store."""
    if mode is None:
        folder.mkdir(parents=True, exist_ok=True)
    else:
        make_folder(folder, mode)
    stamp = checkpoint["timestamp"].replace(":", "").replace("-", "").replace(".", "")
    path = folder / f"checkpoint-{checkpoint['size']:012d}-{stamp}.json"
    data = (json.dumps(checkpoint, indent=2, sort_keys=True) + "\n").encode()
    fd = open_new(path, os.O_WRONLY | os.O_EXCL, 0o444 if mode is None else mode.sealed)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def maybe_checkpoint(
    store: MetadataStore,
    signer_factory: Any,
    clock: Clock,
    every: int,
    interval_s: float,
    export_dir: Path | None = None,
    export_mode: StoreMode | None = None,
) -> dict[str, Any] | None:
    """A checkpoint every `every` entries, and after `interval_s` seconds with new entries."""
    size = store.audit_size()
    last = store.last_checkpoint()
    if last is None:
        due = size >= every
    else:
        last_size, last_at = last
        age_s = (clock.now().timestamp() * 1e6 - last_at) / 1e6
        due = size - last_size >= every or (size > last_size and age_s >= interval_s)
    if not due:
        return None
    return make_checkpoint(store, signer_factory(), clock, export_dir, export_mode)


def verify(
    store: MetadataStore,
    public_key_pem: bytes,
    external: Sequence[dict[str, Any]] = (),
    *,
    evidence: Evidence | None = None,
) -> VerifyReport:
    """Check the log itself: each entry's hash, its sequence, the columns stored beside it,
    the stored tree nodes, and every checkpoint. With `evidence`, each entry is also folded
    into it (one read of the log for `check_records` too)."""
    report = VerifyReport()
    stored: list[dict[str, Any]] = []
    for size, at, signed in store.checkpoints():
        cp = json.loads(signed)
        stored.append(cp)
        if (size, at) != (cp.get("size"), _micros_of(cp.get("timestamp"))):
            report.fail(
                f"the stored checkpoint of size {cp.get('size')} ({cp.get('timestamp')}) is "
                f"kept beside a size of {size} and a time of {format_time(from_micros(at))}: "
                "the columns were changed after it was signed"
            )
    by_size: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for origin, checkpoints in (("stored", stored), ("given", list(external))):
        for cp in checkpoints:
            label = f"{origin} checkpoint of size {cp.get('size')} ({cp.get('timestamp')})"
            if not verify_checkpoint(cp, public_key_pem):
                report.fail(f"{label}: signature does not verify with the store's public key")
                continue
            by_size.setdefault(int(cp["size"]), []).append((label, cp))
            report.checkpoints_checked += 1
    wanted = sorted(by_size)
    pending = list(wanted)  # checkpoint sizes still ahead of the scan, ascending
    tree = TreeRebuild()
    nodes = _NodeCheck(store.audit_tree(), report)
    columns = EntryColumns(store.store_id())
    sha256 = hashlib.sha256
    expected = 1
    last_good = 0
    named: int | None = None  # an entry already found bad by its own hash
    next_size = pending.pop(0) if pending else -1
    for seq, body, stored_leaf, at, kind, subject in store.audit_rows():
        if seq != expected:
            report.fail(f"entry {expected} is missing (the log jumps to {seq})", expected)
            named = expected
            expected = seq
            nodes.stop()  # every node after a gap differs: the gap is the finding
        leaf = sha256(b"\x00" + body).digest()
        if stored_leaf != leaf:
            report.fail(f"entry {seq} does not match the hash recorded when it was appended", seq)
            named = seq
        differ = columns.differ(body, seq, at, kind, subject)
        if differ is None:
            if named != seq:
                report.fail(f"entry {seq} cannot be read as an audit entry", seq)
        elif differ:
            report.fail(
                f"the {', '.join(differ)} stored beside entry {seq} differ from its hashed "
                "content: queries that select entries by them answer wrongly",
                seq,
            )
        elif evidence is not None:
            odd = evidence.apply(seq, json.loads(body))
            if odd is not None:
                report.fail(*odd)
        if seq == 1:
            _check_genesis(body, public_key_pem, report)
        made = tree.append_nodes(leaf)
        if made:
            nodes.check(seq, made)
        expected += 1
        while expected - 1 == next_size:
            root = tree.root().hex()
            for label, cp in by_size[next_size]:
                if root != cp["root_hash"]:
                    located = named is not None and named > last_good
                    report.fail(
                        f"the log's first {next_size} entries differ from the {label}: history "
                        f"was rewritten between entries {last_good + 1} and {next_size}",
                        None if located else last_good + 1,
                    )
                else:
                    last_good = next_size
            next_size = pending.pop(0) if pending else -1
    nodes.finish(tree.size)
    report.size = tree.size
    report.root_hash = tree.root().hex()
    for size in wanted:
        if size > tree.size:
            for label, _ in by_size[size]:
                report.fail(
                    f"the log has {tree.size} entries but the {label} covers {size}: "
                    "entries were removed from its end",
                    tree.size + 1,
                )
    return report


class _NodeCheck:
    """The stored interior nodes, read in position order, against the nodes the rebuild
    completes entry by entry: each stored node must be one the rebuild made, with its hash.
    A node at position p is made by an entry appended after every stored node before p was
    read, so only the few nodes still awaiting their entry are held (one per level)."""

    def __init__(self, stored: Iterator[tuple[int, bytes]], report: VerifyReport) -> None:
        self._stored = stored
        self._report = report
        self._held: dict[int, bytes] = {}
        self._ahead: tuple[int, bytes] | None = next(stored, None)
        self._bad = 0
        self._stopped = False

    def stop(self) -> None:
        self._stopped = True

    def _fail(self, message: str, seq: int) -> None:
        self._bad += 1
        if self._bad == 1:
            self._report.fail(message, seq)

    def check(self, seq: int, made: list[tuple[int, bytes]]) -> None:
        if self._stopped:
            return
        leaf_position = 2 * (seq - 1)
        held, stored = self._held, self._stored
        ahead = self._ahead
        while ahead is not None and ahead[0] < leaf_position:
            held[ahead[0]] = ahead[1]
            ahead = next(stored, None)
        self._ahead = ahead
        for position, hashed in made:
            found = held.pop(position, None)
            if found == hashed:
                continue
            level, index, _ = node_at(position)
            if found is None:
                self._fail(
                    f"tree node ({level}, {index}) stored with entry {seq} is missing: proofs "
                    "through it cannot be made",
                    seq,
                )
            else:
                self._fail(
                    f"tree node ({level}, {index}) stored with entry {seq} differs from the tree "
                    "rebuilt from the entries: proofs through it would not verify",
                    seq,
                )

    def finish(self, size: int) -> None:
        if self._stopped:
            return
        while self._ahead is not None:
            self._held[self._ahead[0]] = self._ahead[1]
            self._ahead = next(self._stored, None)
        for position in sorted(self._held):
            level, index, seq = node_at(position)
            self._fail(
                f"tree node at position {position} (level {level}, index {index}) is not a node "
                f"of the tree of {size} entries",
                min(seq, size + 1),
            )
        if self._bad > 1:
            self._report.fail(f"{self._bad - 1} more stored tree nodes are wrong")


def _micros_of(timestamp: Any) -> int | None:
    try:
        return to_micros(parse_time(str(timestamp)))
    except (InvalidInput, ValueError):
        return None


def _check_genesis(body: bytes, public_key_pem: bytes, report: VerifyReport) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from .verifier import key_id, load_public_key

    entry = json.loads(body)
    if entry.get("kind") != GENESIS:
        report.fail("entry 1 is not the store's genesis entry", 1)
        return
    raw = load_public_key(public_key_pem).public_bytes(Encoding.Raw, PublicFormat.Raw)
    if entry["change"].get("key_id") != key_id(raw):
        report.fail(
            f"the log was started with key {entry['change'].get('key_id')}, "
            f"but verification uses {key_id(raw)}: the signing key was replaced",
            1,
        )


def check_records(
    store: MetadataStore, report: VerifyReport, evidence: Evidence | None = None
) -> None:
    """Every row the registry answers from must be one the log recorded, as it recorded it,
    and every row the log recorded must still be there: the log is replayed into the state
    each table must be in (`evidence`, folded while `verify` read the log, or here) and the
    store's answers are compared with it, model by model; decisions are read a page at a time
    and checked against their batches' digests (see `domain.evidence`)."""
    problems: list[tuple[str, int | None]] = []
    if evidence is None:
        evidence = Evidence()
        for seq, body, _ in store.audit_entries():
            try:
                odd = evidence.apply(seq, json.loads(body))
            except ValueError:
                continue  # unreadable: `verify` names it
            if odd is not None:
                problems.append(odd)

    def compare(key: tuple[Any, ...], actual: Mapping[str, Any]) -> None:
        found = evidence.compare(key, actual)
        if found is not None:
            problems.append(found)

    imported: dict[int, list[DeploymentEvent]] = {seq: [] for seq, _ in evidence.imports}
    for model in store.list_models():
        name = model.name
        compare(("model", name), model_fields(model, store.model_events(name)))
        for version in store.list_versions(name):
            events = store.version_events(name, version.version)
            then = evidence.record_names.get((name, version.version))
            recorded = version if then is None else replace(version, model=then)
            compare(("version", name, version.version), version_fields(recorded, events))
        if model.deleted_at is not None:
            continue  # deleted: it had no deployment, environment or policy (refused else)
        environments_used: set[str] = set()
        for event in store.deployment_events(name):
            batch = _import_of(evidence, event)
            if batch is not None:
                imported[batch].append(event)
                environments_used.add(event.environment)
                continue
            compare(("deployment event", name, event.environment, event.event_id),
                    event.to_dict())  # fmt: skip
        for env in store.environments(name):
            key = ("environment", name, env.name)
            if env.name in environments_used and not evidence.knows(key):
                continue  # made by an import whose entry predates naming its environments
            compare(key, environment_fields(env))
        policy = policy_fields(*store.input_policy(name))
        if evidence.knows(("policy", name)) or policy != DEFAULT_POLICY:
            compare(("policy", name), policy)
    for request in store.list_requests():
        compare(("request", request.request_id), request.to_dict())
    for actor, idempotency, name, number, digest, at in store.registration_keys():
        fields = registration_key_fields(name, number, digest, format_time(from_micros(at)))
        found = ("registration key", actor, idempotency)
        if (
            (name, number) in evidence.unkeyed
            and not evidence.knows(found)
            and _own_key(store, actor, fields)
        ):
            continue  # its entry is older than `key`: the row need only be that version's
        compare(found, fields)
    hashes = store.token_hashes()
    for token in store.list_tokens():
        compare(("token", token.token_id), token_fields(token, hashes.get(token.token_id)))
    for binding in store.list_role_bindings():
        compare(("role binding", binding.binding_id), role_binding_fields(binding))
    for hook in store.webhooks():
        compare(("webhook", hook.webhook_id), webhook_fields(hook))
    for trusted in store.signing_keys():
        compare(("signing key", trusted.key_id), signing_key_fields(trusted))
    for rule in store.signing_policies():
        compare((f"signing {rule.scope}", rule.name), policy_row_fields(rule))
    problems.extend(evidence.missing())
    for seq, change in evidence.imports:
        _check_import(seq, change, imported[seq], problems, evidence)
    walk = DecisionWalk(
        evidence.batches, evidence.purges, evidence.name_then if evidence.renames else None
    )
    for page in store.decision_rows():
        walk.feed(page)
    problems.extend(walk.finish())
    _check_refusals(store, evidence.refusals, problems)
    # A log already found damaged names its own first bad entry: rows then differ from it
    # as a consequence, and are listed without moving that name.
    log_damaged = not report.ok
    for message, named in problems:
        report.fail(message, None if log_damaged else named)


@dataclass(frozen=True, slots=True)
class StoredBatch:
    """A batch of decisions as the store holds it now."""

    count: int
    rows_sha256: str  # to compare with the one its `decisions.logged` entry recorded
    holds: bool  # whether the decision asked about is one of them


def read_batch(
    store: MetadataStore,
    first: str,
    last: str,
    holding: str | None = None,
    layout: int = 1,
    name_then: Callable[[str], str] | None = None,
) -> StoredBatch:
    """Read the batch from `first` to `last` back a page at a time (each read once, never all
    of it at once) and hash its rows as they were hashed when it was recorded (`layout`: the
    `rows` of its entry, 1 when it has none)."""
    digest = DecisionsDigest(layout)
    holds = False
    for page in store.decision_rows(first, last):
        if name_then is not None:  # a model renamed since: hashed as it was named then
            page = [(r[0], name_then(r[1]), *r[2:]) for r in page]
        digest.update_rows(page)
        holds = holds or (holding is not None and any(row[0] == holding for row in page))
    return StoredBatch(digest.count, digest.hexdigest(), holds)


def _own_key(store: MetadataStore, actor: str, fields: Mapping[str, Any]) -> bool:
    """Whether a key row names the version its actor registered, as it was registered."""
    try:
        version = store.get_version(fields["model"], fields["version"])
    except NotFound:
        return False
    own = registration_key_fields(
        version.model, version.version, version.digest, format_time(version.created_at)
    )
    return actor == version.created_by and own == fields


def _import_of(evidence: Evidence, event: DeploymentEvent) -> int | None:
    """The entry of the import that recorded `event`, if its recording time is in one."""
    recorded = to_micros(event.recorded_at)
    for seq, change in evidence.imports:
        if (
            evidence.name_then(event.model, seq) in change["models"]
            and change["recorded_from"] <= recorded <= change["recorded_to"]
        ):
            return seq
    return None


def _check_import(
    seq: int,
    entry: Mapping[str, Any],
    events: list[DeploymentEvent],
    problems: list[tuple[str, int | None]],
    evidence: Evidence,
) -> None:
    """An imported batch must still hash, row by row, to the digest its entry carries (with
    each model named as it was then)."""
    events.sort(key=lambda e: e.recorded_at)
    rows = [event_import_row(e, model=evidence.name_then(e.model, seq)) for e in events]
    if len(rows) != entry["count"] or rows_digest(rows) != entry["rows_sha256"]:
        problems.append(
            (
                f"the {entry['count']} deployments imported by entry {seq} no longer match it "
                f"({len(rows)} found): the history was changed after it was imported",
                seq,
            )
        )


def _check_refusals(
    store: MetadataStore, batches: Sequence[Refusals], problems: list[tuple[str, int | None]]
) -> None:
    """Each batch of refused requests must still be the rows its entry counted and hashed,
    and no record may lie outside every batch (between, before or after them)."""
    after = 0  # the last id a batch covered so far
    for batch in sorted(batches, key=lambda b: b.first):
        stray = store.denials_between(after + 1, batch.first - 1) if batch.first > after + 1 else []
        if stray:
            problems.append((_stray_refusals(stray), None))
        rows = [d.row() for d in store.denials_between(batch.first, batch.last)]
        if len(rows) != batch.records or rows_digest(rows) != batch.rows_sha256:
            problems.append((
                f"the {batch.records} refused requests recorded by entry {batch.seq} no longer "
                f"match it ({len(rows)} found): the record was changed after it was written",
                batch.seq,
            ))  # fmt: skip
        after = max(after, batch.last)
    stray = store.denials_between(after + 1, 2**62)
    if stray:
        problems.append((_stray_refusals(stray), None))


def _stray_refusals(stray: Sequence[Any]) -> str:
    return (
        f"{len(stray)} refused-request record(s) from id {stray[0].id} have no audit entry: "
        "they were written behind the registry's back"
    )


def prove(store: MetadataStore, seq: int, checkpoint: dict[str, Any]) -> dict[str, Any]:
    """An inclusion bundle for entry `seq` against `checkpoint` (checkable offline)."""
    size = int(checkpoint["size"])
    if not 1 <= seq <= size:
        raise InvalidInput(f"entry {seq} is not covered by a checkpoint of size {size}")
    body = store.audit_entry(seq)
    if body is None:
        raise NotFound(f"audit entry {seq} not found")
    return {
        "entry": json.loads(body),
        "index": seq - 1,
        "proof": [h.hex() for h in inclusion_proof(seq - 1, size, store.audit_node)],
        "checkpoint": checkpoint,
    }


def consistency(store: MetadataStore, old_size: int, new_size: int) -> list[str]:
    if not 0 <= old_size <= new_size <= store.audit_size():
        raise InvalidInput(f"cannot prove size {old_size} against size {new_size}")
    return [h.hex() for h in consistency_proof(old_size, new_size, store.audit_node)]
