"""The errors the registry raises; each carries a stable machine-readable code."""

from __future__ import annotations


class ModelrepoError(Exception):
    """Base of every error the registry raises on purpose.

    `model`: the model a refused action concerned, when known, for the record of refusals
    (the route's path may not name it: an approval names a request)."""

    code = "error"
    model: str | None = None

    def __init__(self, *args: object, model: str | None = None) -> None:
        super().__init__(*args)
        if model is not None:
            self.model = model


class InvalidInput(ModelrepoError, ValueError):
    """The caller asked for something malformed (a bad name, path, time or value)."""

    code = "invalid_input"


class DigestMismatch(InvalidInput):
    """Bytes sent do not hash to the digest sent with them (damaged on the way, or the
    digest is wrong): nothing of them is kept; send them again."""

    code = "digest_mismatch"


class NotFound(ModelrepoError, LookupError):
    """The thing asked for does not exist."""

    code = "not_found"


class OutOfScope(NotFound):
    """Something outside the caller's scope: answered exactly as a missing one (same status,
    same message shape, naming nothing), yet recorded as a refused attempt."""

    code = "not_found"


def model_not_found(name: str) -> str:
    """What a missing model answers; a model outside the caller's scope answers the same."""
    return f"model {name!r} not found"


def version_not_found(model: str, version: int) -> str:
    return f"version {model}@{version} not found"


def environment_not_found(model: str, env: str) -> str:
    return f"environment {env!r} of {model} not found"


def serving_instance_not_found(instance_id: str, model: str, environment: str) -> str:
    return f"no serving instance {instance_id!r} in {model}@{environment}"


def delivery_not_found(delivery_id: int) -> str:
    return f"delivery {delivery_id} not found"


def webhook_not_found(webhook_id: str) -> str:
    return f"webhook {webhook_id} not found"


def request_not_found(request_id: int) -> str:
    return f"request {request_id} not found"


def decision_not_found(decision_id: str) -> str:
    return f"decision {decision_id!r} not found"


def token_not_found(token_id: str) -> str:
    return f"token {token_id} not found"


class StoreNotFound(NotFound):
    """No store exists at the given location."""

    code = "store_not_found"


class Conflict(ModelrepoError):
    """The request is well-formed but contradicts the store's state (e.g. a deleted version)."""

    code = "conflict"


class AlreadyExists(Conflict):
    """What is to be created exists already (a model of that name)."""

    code = "already_exists"


class IntegrityError(ModelrepoError):
    """Stored content does not match its recorded digest: the store is damaged."""

    code = "integrity_error"


class CorruptBlobError(IntegrityError):
    """A blob's bytes do not hash to its address; names the file that needed it."""

    def __init__(self, message: str, *, path: str | None = None, digest: str | None = None):
        super().__init__(message)
        self.path = path
        self.digest = digest


class MissingBlobError(IntegrityError):
    """A blob a version refers to is absent from the blob store."""

    def __init__(self, message: str, *, path: str | None = None, digest: str | None = None):
        super().__init__(message)
        self.path = path
        self.digest = digest


class ApprovalRequired(Conflict):
    """The environment is protected: the change needs a second identity's approval."""

    code = "approval_required"


class HistoryMoved(Conflict):
    """A deployment was recorded between checking a batch of decisions against the history and
    appending it; the batch is checked again (callers see this only if that keeps happening)."""

    code = "history_moved"


class Unauthenticated(ModelrepoError):
    """No valid credentials were given (a missing, unknown or revoked API token)."""

    code = "unauthenticated"


class Forbidden(ModelrepoError):
    """The identity may not do this (e.g. approve its own request)."""

    code = "forbidden"


class StorageError(ModelrepoError):
    """The database or blob store failed (busy too long, disk full, refused by a trigger)."""

    code = "storage_error"


class StoreFull(StorageError):
    """The disk (or quota) holding the store is full: nothing was written; free space, retry."""


class StoreReadOnly(StorageError):
    """The store's folder or disk cannot be written (a read-only mount, no permission)."""


class StoreUnreachable(StorageError):
    """The store's database cannot be reached (down, wrong address, refused login)."""


class StoreDamaged(StorageError):
    """Part of the store is missing or unreadable (its blob folder gone, an I/O error)."""


class NotSupported(InvalidInput):
    """This registry cannot do that (e.g. a store-local operation asked of a remote one)."""

    code = "not_supported"
