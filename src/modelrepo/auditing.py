"""Audit use-cases: checkpoints, verification, proofs — over the store's append-only log.

Verification recomputes every leaf hash from the stored entry bytes, checks the sequence has
no gap, compares each leaf with the hash recorded when it was appended, rebuilds the tree and
compares its root with every signed checkpoint (stored, or given by an auditor), checks the
signatures and that the key is the one named in the log's first entry, and checks that the
rows the entries bind (each registered version's record, each deployment event, each batch of
decisions) still hash to what their entries say.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .domain.audit import (
    DecisionsDigest,
    consistency_proof,
    inclusion_proof,
    root_hash,
    rows_digest,
)
from .domain.denials import AUDIT_KIND as DENIALS_KIND
from .domain.deployments import DeploymentEvent, allocations_json
from .domain.errors import InvalidInput, NotFound
from .domain.permissions import StoreMode
from .domain.times import format_time, to_micros
from .ports import Clock, MetadataStore, Signer
from .stores.permissions import make_folder, open_new
from .verifier import (
    CHECKPOINT_FORMAT,
    CompactRange,
    checkpoint_body,
    verify_checkpoint,
)

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
) -> VerifyReport:
    report = VerifyReport()
    stored = [json.loads(body) for body in store.checkpoints()]
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
    tree = CompactRange()
    append = tree.append
    sha256 = hashlib.sha256
    expected = 1
    last_good = 0
    named: int | None = None  # an entry already found bad by its own hash
    next_size = pending.pop(0) if pending else -1
    for seq, body, stored_leaf in store.audit_entries():
        if seq != expected:
            report.fail(f"entry {expected} is missing (the log jumps to {seq})", expected)
            named = expected
            expected = seq
        leaf = sha256(b"\x00" + body).digest()
        if stored_leaf != leaf:
            report.fail(f"entry {seq} does not match the hash recorded when it was appended", seq)
            named = seq
        if seq == 1:
            _check_genesis(body, public_key_pem, report)
        append(leaf)
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


# The kinds whose entries bind stored rows, as they appear in an entry's canonical bytes: a
# cheap filter before parsing (a tag named `kind` can spell one too: the parsed kind decides).
_BINDING_KINDS = (
    b'"kind":"version.registered"',
    b'"kind":"deployment.recorded"',
    b'"kind":"deployment.imported"',
    b'"kind":"decisions.logged"',
    b'"kind":"access.denied"',
)


def check_records(store: MetadataStore, report: VerifyReport) -> None:
    """Each registered version's record must still hash to what its entry says, each
    recorded deployment event must still read as its entry carries it, and each batch of
    decisions or of refused requests must still hash, row by row, to its entry's digest."""
    histories = _Histories(store)
    for seq, body, _ in store.audit_entries():
        if not any(kind in body for kind in _BINDING_KINDS):
            continue
        entry = json.loads(body)
        kind, change = entry.get("kind"), entry.get("change")
        if kind == "deployment.recorded":
            _check_event(seq, change, histories, report)
        elif kind == "deployment.imported":
            _check_import(seq, change, histories, report)
        elif kind == "decisions.logged":
            _check_decisions(store, seq, change, report)
        elif kind == "version.registered":
            _check_version(store, seq, change, report)
        elif kind == DENIALS_KIND:
            _check_denials(store, seq, change, report)


def _check_version(
    store: MetadataStore, seq: int, change: dict[str, Any], report: VerifyReport
) -> None:
    try:
        version = store.get_version(change["model"], change["version"])
    except NotFound:
        report.fail(f"version {change['model']}@{change['version']} of entry {seq} is gone", seq)
        return
    if version.record_digest() != change["record"]:
        report.fail(
            f"the record of {version.ref} no longer matches entry {seq}: "
            "it was changed after registration",
            seq,
        )


def _check_decisions(
    store: MetadataStore, seq: int, change: dict[str, Any], report: VerifyReport
) -> None:
    """A batch of decisions (logged one by one, in bulk, by columns or from a file: all are
    this one kind) must still be the rows its entry counted and hashed."""
    found = read_batch(store, change["first"], change["last"])
    if found.count != change["count"] or found.rows_sha256 != change["rows_sha256"]:
        report.fail(
            f"the {change['count']} decisions recorded by entry {seq} no longer match it "
            f"({found.count} found): the decision log was changed after it was recorded",
            seq,
        )


@dataclass(frozen=True, slots=True)
class StoredBatch:
    """A batch of decisions as the store holds it now."""

    count: int
    rows_sha256: str  # to compare with the one its `decisions.logged` entry recorded
    holds: bool  # whether the decision asked about is one of them


def read_batch(
    store: MetadataStore, first: str, last: str, holding: str | None = None
) -> StoredBatch:
    """Read the batch from `first` to `last` back a page at a time (each read once, never all
    of it at once) and hash its rows as they were hashed when it was recorded."""
    digest = DecisionsDigest()
    holds = False
    for page in store.decision_rows(first, last):
        digest.update_rows(page)
        holds = holds or (holding is not None and any(row[0] == holding for row in page))
    return StoredBatch(digest.count, digest.hexdigest(), holds)


class _Histories:
    """Each model's deployment history, read once for the whole verification."""

    def __init__(self, store: MetadataStore) -> None:
        self._store = store
        self._events: dict[str, dict[int, DeploymentEvent]] = {}

    def of(self, model: str) -> dict[int, DeploymentEvent]:
        if model not in self._events:
            try:
                found = self._store.deployment_events(model)
            except NotFound:
                found = []
            self._events[model] = {e.event_id: e for e in found}
        return self._events[model]


def _check_event(
    seq: int, entry: dict[str, Any], histories: _Histories, report: VerifyReport
) -> None:
    event = histories.of(entry["model"]).get(entry["event_id"])
    stored = event.to_dict() if event else None
    where = f"deployment event {entry['event_id']} of {entry['model']}@{entry['environment']}"
    if stored is None:
        report.fail(f"{where} (entry {seq}) is gone from the deployment history", seq)
    elif stored != entry:
        fields = ", ".join(sorted(k for k in entry if stored.get(k) != entry[k]))
        report.fail(
            f"{where} no longer matches entry {seq} ({fields}): "
            "the history was changed after it was recorded",
            seq,
        )


def _check_import(
    seq: int, entry: dict[str, Any], histories: _Histories, report: VerifyReport
) -> None:
    """An imported batch must still hash, row by row, to the digest its entry carries."""
    first, last = entry["recorded_from"], entry["recorded_to"]
    events = [
        e
        for model in entry["models"]
        for e in histories.of(model).values()
        if first <= to_micros(e.recorded_at) <= last
    ]
    events.sort(key=lambda e: e.recorded_at)
    rows = [
        (e.model, e.environment, e.kind, allocations_json(e.versions),
         to_micros(e.effective_at), to_micros(e.recorded_at), e.actor, e.reason)
        for e in events
    ]  # fmt: skip
    if len(rows) != entry["count"] or rows_digest(rows) != entry["rows_sha256"]:
        report.fail(
            f"the {entry['count']} deployments imported by entry {seq} no longer match it "
            f"({len(rows)} found): the history was changed after it was imported",
            seq,
        )


def _check_denials(
    store: MetadataStore, seq: int, change: dict[str, Any], report: VerifyReport
) -> None:
    """A batch of refused requests must still be the rows its entry counted and hashed."""
    rows = [d.row() for d in store.denials_between(change["first"], change["last"])]
    if len(rows) != change["records"] or rows_digest(rows) != change["rows_sha256"]:
        report.fail(
            f"the {change['records']} refused requests recorded by entry {seq} no longer "
            f"match it ({len(rows)} found): the record was changed after it was written",
            seq,
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
