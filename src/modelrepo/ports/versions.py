"""Models and their versions: registration, tags, deprecation, tombstones."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..domain.model import Model, ModelEvent, ModelVersion, NewVersion, VersionEvent


@dataclass(frozen=True, slots=True)
class FileReference:
    """One file of one live version, as fsck needs it to name what a damaged blob breaks."""

    model: str
    version: int
    path: str
    sha256: str
    size: int


class VersionStore(Protocol):
    """Models and versions, with the small files registered inline beside them."""

    def create_version(
        self,
        new: NewVersion,
        *,
        inline: Mapping[str, bytes] | None = None,
        key: str | None = None,
        number: int | None = None,
    ) -> ModelVersion:
        """Create the model if needed and add version N+1, or version `number` when given
        (above every number the model ever had, else Conflict: numbers are never reused).

        `inline` maps sha256 -> bytes of small files stored in the same transaction.
        `key`, a client's idempotency key, is recorded with the version under
        `new.created_by`; if that actor already used it, nothing is written: the version it
        made is returned when it is of the same model with the same manifest digest (a
        retried request), else `Conflict` is raised. Checked under the model's lock, so two
        requests with one key never both create."""
        ...

    def create_model(
        self,
        name: str,
        *,
        actor: str,
        at: datetime,
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> Model:
        """Create a model with no version yet, with its description and tags (each kept as a
        change of the model, as `set_model_description` and `set_model_tag` keep them), in one
        transaction; `AlreadyExists` if a model of that name exists."""
        ...

    def delete_model(self, name: str, *, actor: str, at: datetime, reason: str | None) -> Model:
        """Delete a model: refused (`Conflict`) if it was ever deployed (an environment of it
        exists) or a decision names it; else its kept versions are tombstoned, its tags,
        description and decision inputs policy dropped, and the model kept with `deleted_at`:
        `get_model`, `list_models`, `list_versions` and `model_events` still answer it (as
        evidence), every other method answers as for a missing model. `create_model`, or a
        new version, takes the name again, numbering after the deleted model's numbers."""
        ...

    def rename_model(
        self, name: str, new_name: str, *, actor: str, at: datetime, reason: str | None
    ) -> Model:
        """Rename a model in one transaction: everything it holds (versions, tags, events,
        deployments, requests, decisions, policies, serving reports) is answered under
        `new_name` from then on, and `name` as missing (it may be taken by a new model).
        `AlreadyExists` if a model, deleted or not, has `new_name`."""
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

    def record_deleted_version(
        self, model: str, number: int, *, actor: str, at: datetime, reason: str | None
    ) -> ModelVersion:
        """Record version `number` as deleted, with no files (creating the model if needed):
        the number is taken, as a deleted version's is, and the tombstone says why. The
        number must be above every number the model ever had, as for `create_version`."""
        ...

    def version_events(self, model: str, version: int) -> list[VersionEvent]: ...

    def trust_types(
        self,
        model: str,
        version: int,
        types: Sequence[str],
        *,
        actor: str,
        at: datetime,
        reason: str,
    ) -> list[str]:
        """Record the `types` not yet trusted for a (not deleted) version: a `trusted` event
        each and one `version.trusted` audit entry, in one transaction; returns them (none:
        nothing is written)."""
        ...

    def registration_keys(self) -> list[tuple[str, str, str, int, str, int]]:
        """(actor, idempotency key, model, version, digest, created_at in microseconds) of
        each registration made with a key: what a retry with that key answers."""
        ...

    def file_references(self) -> Iterator[FileReference]:
        """Every file of every version that is not deleted."""
        ...
