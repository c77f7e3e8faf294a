"""The small interfaces the registry's use-cases need from the outside world.

A new backend implements one of these and passes the matching contract suite in
`modelrepo.testing`; nothing above this layer changes. See docs/backends.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

if TYPE_CHECKING:
    # Only in signatures: a process imports the domain modules that it uses, no more.
    from .domain.access import ApiToken
    from .domain.audit import AuditEntry, DecisionRow
    from .domain.decisions import Decision, DecisionColumns, NewDecision
    from .domain.denials import Denial
    from .domain.deployments import (
        DeploymentChange,
        DeploymentEvent,
        DeploymentRequest,
        Environment,
    )
    from .domain.model import Model, ModelEvent, ModelVersion, NewVersion, VersionEvent
    from .domain.serving import ServingPeriod
    from .domain.webhooks import Attempt, Delivery, NewDelivery, Webhook

Progress = Callable[[int], None]
"""Called with the number of bytes just moved; used for progress bars."""


class Clock(Protocol):
    """The store's notion of now (UTC-aware). Injected so tests never sleep."""

    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """A stored blob: its SHA-256 (bare hex), size in bytes, and last write time if known."""

    sha256: str
    size: int
    modified: datetime | None = None


@dataclass(frozen=True, slots=True)
class FileReference:
    """One file of one live version, as fsck needs it to name what a damaged blob breaks."""

    model: str
    version: int
    path: str
    sha256: str
    size: int


class BlobWriter(Protocol):
    """A blob pushed in piece by piece (an upload arriving over the network), hashed as it
    is written. Nothing is visible in the store before `commit`."""

    def offer(self, data: bytes | bytearray | memoryview) -> memoryview:
        """Take as much of `data` as can be taken without waiting; return the rest."""
        ...

    def wait(self) -> None:
        """Block until `offer` can take more; raises a failure of the write so far."""
        ...

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Take all of `data`, waiting as needed."""
        ...

    def finish(self) -> BlobInfo:
        """No more data: the blob's address and size, its bytes durably staged."""
        ...

    def commit(self) -> BlobInfo:
        """Make the blob part of the store (finishing first if needed); idempotent."""
        ...

    def abort(self) -> None:
        """Remove whatever was staged; a no-op after `commit`."""
        ...


class BlobStore(Protocol):
    """Content-addressed bytes. Everything above (manifests, verification) is shared code."""

    def put(self, source: BinaryIO, *, progress: Progress | None = None) -> BlobInfo:
        """Stream `source` in, address it by SHA-256; durable and complete when this returns."""
        ...

    def writer(self, *, progress: Progress | None = None) -> BlobWriter:
        """A blob to push bytes into; `progress` sees each piece as it is taken."""
        ...

    def open(self, sha256: str) -> BinaryIO:
        """A readable stream of the blob; raises MissingBlobError if absent."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def delete(self, sha256: str) -> None:
        """Remove a blob; removing an absent blob is not an error."""
        ...

    def list(self) -> Iterator[BlobInfo]:
        """Every complete blob in the store."""
        ...

    def partials(self) -> Iterator[BlobInfo]:
        """Uploads that never completed (their `sha256` is an opaque handle, not a digest)."""
        ...

    def delete_partial(self, handle: str) -> None: ...


class MetadataStore(Protocol):
    """Models, versions and their recorded changes. Writes are atomic and durable."""

    def create_version(
        self,
        new: NewVersion,
        *,
        inline: Mapping[str, bytes] | None = None,
        key: str | None = None,
    ) -> ModelVersion:
        """Create the model if needed and add version N+1 (gap-free, never reused).

        `inline` maps sha256 -> bytes of small files stored in the same transaction.
        `key`, a client's idempotency key, is recorded with the version under
        `new.created_by`; if that actor already used it, nothing is written: the version it
        made is returned when it is of the same model with the same manifest digest (a
        retried request), else `Conflict` is raised. Checked under the model's lock, so two
        requests with one key never both create."""
        ...

    def inline_blob(self, sha256: str) -> bytes | None: ...

    def inline_blobs(self) -> Iterator[tuple[str, int]]:
        """(sha256, size) of every small file stored in the database."""
        ...

    def delete_inline_blob(self, sha256: str) -> None: ...

    def get_model(self, name: str) -> Model: ...

    def list_models(self) -> list[Model]: ...

    def get_version(self, model: str, version: int) -> ModelVersion: ...

    def list_versions(self, model: str) -> list[ModelVersion]: ...

    def digest(self, model: str, version: int) -> str:
        """A version's digest alone (hot path of `live`)."""
        ...

    def set_tag(
        self, model: str, version: int, key: str, value: str | None, *, actor: str, at: datetime
    ) -> ModelVersion:
        """Set (or with value None, remove) a tag, recording who and when."""
        ...

    def set_model_tag(
        self, model: str, key: str, value: str | None, *, actor: str, at: datetime
    ) -> Model:
        """Set (or with value None, remove) a tag of the model itself, recording who and when."""
        ...

    def set_model_description(self, model: str, text: str, *, actor: str, at: datetime) -> Model:
        """Replace the model's description, recording who and when."""
        ...

    def model_events(self, model: str) -> list[ModelEvent]:
        """Changes to the model's own tags and description, oldest first."""
        ...

    def set_deprecated(
        self,
        model: str,
        version: int,
        deprecated: bool,
        *,
        actor: str,
        at: datetime,
        reason: str | None,
    ) -> ModelVersion: ...

    def delete_version(
        self, model: str, version: int, *, actor: str, at: datetime, reason: str | None
    ) -> ModelVersion:
        """Tombstone a version: its record stays as evidence, its files become collectable."""
        ...

    def version_events(self, model: str, version: int) -> list[VersionEvent]: ...

    def registration_keys(self) -> list[tuple[str, str, str, int, str, int]]:
        """(actor, idempotency key, model, version, digest, created_at in microseconds) of
        each registration made with a key: what a retry with that key answers."""
        ...

    def file_references(self) -> Iterator[FileReference]:
        """Every file of every version that is not deleted."""
        ...

    # -- deployment history (append-only, bitemporal) --------------------------------------

    def record_deployment(self, change: DeploymentChange, *, clock: Clock) -> DeploymentEvent:
        """Append one event. `recorded_at` is read from `clock` inside the transaction and is
        strictly increasing; a protected environment refuses a change without an approval
        (ApprovalRequired); a rollback without versions gets its target computed here."""
        ...

    def import_deployments(self, changes: Sequence[DeploymentChange], *, clock: Clock) -> int:
        """Record many deploys/undeploys atomically (all or none), for imported history;
        refused for a protected environment. Returns how many were recorded."""
        ...

    def protect(self, model: str, env: str, *, actor: str, clock: Clock) -> Environment: ...

    def request_deployment(
        self, change: DeploymentChange, *, clock: Clock
    ) -> DeploymentRequest: ...

    def decide_request(
        self, request_id: int, *, approve: bool, actor: str, reason: str | None, clock: Clock
    ) -> DeploymentRequest:
        """Approve (and carry out) or reject a pending request; never by its requester."""
        ...

    def get_request(self, request_id: int) -> DeploymentRequest: ...

    def list_requests(
        self, model: str | None = None, status: str | None = None
    ) -> list[DeploymentRequest]: ...

    def environment(self, model: str, env: str) -> Environment: ...

    def environments(self, model: str) -> list[Environment]: ...

    def deployment_events(self, model: str, env: str | None = None) -> list[DeploymentEvent]:
        """Events in recording order."""
        ...

    def live(
        self, model: str, env: str, at: datetime, as_known_at: datetime | None = None
    ) -> DeploymentEvent | None:
        """The event in force at `at` as known at `as_known_at` (None: nothing ever was)."""
        ...

    # -- decisions (append-only) -----------------------------------------------------------

    def record_decisions(
        self, items: Sequence[NewDecision], *, actor: str, clock: Clock
    ) -> datetime:
        """Append decisions atomically (one audit entry per batch); returns the recording
        time. A decision id already recorded refuses the whole batch (Conflict)."""
        ...

    def record_decision_columns(
        self, columns: DecisionColumns, *, actor: str, clock: Clock
    ) -> datetime:
        """`record_decisions` for a checked batch given column by column (the bulk path)."""
        ...

    def get_decision(self, decision_id: str) -> Decision: ...

    def decision_batch(self, first: str, last: str) -> list[Decision]:
        """The decisions recorded in one batch, from its first to its last, in order."""
        ...

    def decision_rows(
        self, first: str | None = None, last: str | None = None
    ) -> Iterator[list[DecisionRow]]:
        """The decisions from `first` to `last` (default: from the first recorded, to the
        last) in recording order, as verification reads them, in pages (a batch of millions
        is never held whole); nothing when `first` or `last` is gone."""
        ...

    def list_decisions(
        self, model: str, since: datetime | None, until: datetime | None, limit: int
    ) -> list[Decision]: ...

    def input_mode(self, model: str) -> str: ...

    def input_policy(self, model: str) -> tuple[str, int | None]:
        """(how inputs are kept, retention in days or None)."""
        ...

    def set_input_mode(
        self,
        model: str,
        mode: str,
        *,
        actor: str,
        at: datetime,
        retention_days: int | None = None,
    ) -> None: ...

    def purge_inputs(
        self, model: str, cutoff: datetime, *, actor: str, at: datetime
    ) -> list[tuple[str, str, str]]:
        """Drop stored inputs of decisions made before `cutoff` (records and digests stay);
        the purge is itself an audit entry. Returns (decision id, mode, digest) of each."""
        ...

    def decision_input_blobs(self) -> set[str]:
        """Blob addresses of decision inputs still kept (gc must not collect them)."""
        ...

    # -- observed serving -------------------------------------------------------------------

    def serving_start(
        self,
        model: str,
        environment: str,
        *,
        instance_id: str,
        host: str,
        version: int,
        digest: str,
        at: datetime,
    ) -> None:
        """Open a serving period for an instance, ending the one it had open (a switch)."""
        ...

    def serving_heartbeat(
        self, model: str, environment: str, instance_id: str, at: datetime
    ) -> None:
        """Mark the instance's open period in `model`@`environment` as seen at `at`; NotFound
        if the instance never served there (so it is touched only through what it serves)."""
        ...

    def serving_stop(self, model: str, environment: str, instance_id: str, at: datetime) -> None:
        """End the instance's open period there (nothing if it has none); NotFound as above."""
        ...

    def serving_periods(self, model: str, environment: str) -> list[ServingPeriod]: ...

    # -- API tokens (only their SHA-256 is kept; revoking is the one change) ----------------

    def create_token(self, token: ApiToken, token_hash: str) -> ApiToken:
        """Keep a new token by its hash, with an audit entry (`token.created`)."""
        ...

    def token_by_hash(self, token_hash: str) -> ApiToken | None: ...

    def list_tokens(self) -> list[ApiToken]:
        """Every token ever created, oldest first, revoked ones included."""
        ...

    def token_hashes(self) -> dict[str, str]:
        """The stored hash of each token, by token id (what authentication matches)."""
        ...

    def revoke_token(self, token_id: str, *, actor: str, at: datetime) -> ApiToken:
        """Revoke a token for good, with an audit entry; NotFound, or Conflict if revoked."""
        ...

    # -- webhooks (subscriptions are audited; deliveries come from audit entries) -----------

    def add_webhook(self, hook: Webhook) -> Webhook:
        """Keep a subscription, with an audit entry (`webhook.created`, never the secret);
        it concerns audit entries after that one (`after_seq` of the result)."""
        ...

    def webhooks(self) -> list[Webhook]:
        """Every subscription, oldest first, disabled ones and secrets included."""
        ...

    def disable_webhook(self, webhook_id: str, *, actor: str, at: datetime) -> Webhook:
        """Disable a subscription for good, with an audit entry; NotFound, or Conflict."""
        ...

    def webhook_cursor(self) -> int:
        """The last audit entry already turned into deliveries."""
        ...

    def enqueue_deliveries(
        self, after: int, upto: int, deliveries: Sequence[NewDelivery], *, at: datetime
    ) -> bool:
        """Atomically add `deliveries` (made from audit entries after..upto) and move the
        cursor from `after` to `upto`; False, changing nothing, if the cursor is not at
        `after` (another process got there first). One delivery per subscription and entry."""
        ...

    def claim_deliveries(
        self, owner: str, *, now: datetime, lease_until: datetime, limit: int
    ) -> list[Delivery]:
        """Pending deliveries due at `now` of active subscriptions, not leased by anyone,
        leased to `owner` until `lease_until` in the same transaction."""
        ...

    def record_delivery_attempt(
        self, attempt: Attempt, *, owner: str, next_attempt_at: datetime | None
    ) -> Delivery:
        """Log an attempt and end the lease: delivered if it succeeded, else pending until
        `next_attempt_at`, or failed for good when that is None."""
        ...

    def deliveries(self, webhook_id: str | None = None, *, limit: int = 100) -> list[Delivery]:
        """The delivery log, newest first."""
        ...

    def delivery_attempts(self, delivery_id: int) -> list[Attempt]: ...

    # -- refused requests: append-only, each batch bound by one audit entry ----------------

    def record_denials(self, batch: Sequence[Denial], *, actor: str, at: datetime) -> list[Denial]:
        """Append refused requests (ids given here, in order) with one `access.denied` audit
        entry carrying their digest, atomically; returns them with their ids."""
        ...

    def denials(
        self, *, since: datetime | None = None, model: str | None = None, limit: int = 100
    ) -> list[Denial]:
        """Refused requests last seen at or after `since` (of `model`), newest first."""
        ...

    def denials_between(self, first: int, last: int) -> list[Denial]:
        """The records with ids `first` to `last`, in id order (what one batch added)."""
        ...

    # -- audit log (append-only; entries are written by the mutations themselves) ------------

    def store_id(self) -> str: ...

    def record_audit(
        self,
        kind: str,
        subject: str,
        *,
        actor: str,
        at: datetime,
        change: Mapping[str, Any],
        only_if_empty: bool = False,
    ) -> AuditEntry | None: ...

    def audit_size(self) -> int: ...

    def audit_node(self, level: int, index: int) -> bytes:
        """The hash of the perfect subtree (level, index); LookupError if absent."""
        ...

    def audit_entries(
        self, start: int = 1, end: int | None = None
    ) -> Iterator[tuple[int, bytes, bytes | None]]:
        """(seq, canonical entry bytes, stored leaf hash) in sequence order."""
        ...

    def audit_rows(
        self, start: int = 1
    ) -> Iterator[tuple[int, bytes, bytes | None, int, str, str]]:
        """(seq, entry bytes, stored leaf hash, at in microseconds, kind, subject): each entry
        with the columns stored beside it, which entries are selected by."""
        ...

    def audit_tree(self) -> Iterator[tuple[int, bytes]]:
        """(position, hash) of every stored interior node of the tree, by position."""
        ...

    def audit_entry(self, seq: int) -> bytes | None: ...

    def subject_entries(self, subject: str) -> list[tuple[int, bytes]]: ...

    def add_checkpoint(self, size: int, at: datetime, body: str) -> None: ...

    def checkpoints(self) -> list[tuple[int, int, str]]:
        """Every stored checkpoint, oldest first: (size, time in microseconds, signed body);
        the size and time are kept beside the body for scheduling, and must say what it says."""
        ...

    def last_checkpoint(self) -> tuple[int, int] | None: ...

    def close(self) -> None: ...


class Signer(Protocol):
    """Signs audit checkpoints (Ed25519)."""

    @property
    def key_id(self) -> str: ...

    @property
    def public_pem(self) -> bytes: ...

    def sign(self, data: bytes) -> bytes: ...


class StoreLock(Protocol):
    """Keeps garbage collection from racing uploads: writers share it, `gc` holds it alone."""

    def shared(self) -> AbstractContextManager[None]: ...

    def exclusive(self) -> AbstractContextManager[None]: ...

    def close(self) -> None: ...
