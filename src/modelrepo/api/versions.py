"""The versions API (register, read, annotate, delete), as both registries offer it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from contextlib import AbstractContextManager
    from pathlib import Path

    from ..domain.diff import VersionDiff
    from ..domain.filters import Filter
    from ..domain.manifest import FileEntry
    from ..domain.model import CodeRef, JSONValue, Model, ModelEvent, ModelVersion, VersionEvent
    from ..ports import BlobWriter
    from .types import DataInput, ProgressFactory, StagedFile


class VersionsAPI(Protocol):
    """Registering, reading and annotating versions."""

    def register(
        self,
        name: str,
        path: str | os.PathLike[str],
        *,
        params: Mapping[str, JSONValue] | None = None,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        data: Iterable[DataInput] = (),
        description: str = "",
        flavor: str = "generic",
        signature: Mapping[str, JSONValue] | None = None,
        code: CodeRef | bool = True,
        environment: bool = True,
        progress: ProgressFactory | None = None,
        idempotency_key: str | None = None,
        if_changed: bool = False,
        number: int | None = None,
        trusted_types: Sequence[str] = (),
        sign: bool = False,
        part_size: int | None = None,
    ) -> ModelVersion:
        """Store the file or folder at `path` as the next version of model `name`.

        `flavor` is recorded for ever, so it must be one of `modelrepo.flavors.FLAVORS` and
        the files must hold what its loader needs (else InvalidInput, before anything is
        stored). `code=True` records the Git commit of the working directory's work tree (if any);
        pass a CodeRef to state it, or False to record none. Blobs are durable before the
        version is committed, so an interrupted register leaves no visible version.
        `idempotency_key`: a register repeated with the same key (by the same user) returns
        the version the first one made instead of making another; with other files, or for
        another model, it raises Conflict.
        `if_changed=True`: when the latest version holds exactly these files, return it
        instead of making a new version with the same content.
        `number`: the version's number, instead of the next one (to keep another registry's
        numbers when importing from it). It must be above every number the model ever had,
        kept or deleted, else Conflict: numbers are never reused. Numbers skipped stay free
        only until a higher one is taken.
        `trusted_types`: the types its files need trusted to load (a skops file's
        `sklearn.tree._tree.Tree`, say), recorded with the version as `trust` records them
        (over HTTP, the token needs the `trust` permission too).
        `sign`: sign the version with the store's key as it is registered (also done when
        the store's or the model's signing policy says so; see `set_signing_policy`).
        `part_size`: to a server, files of 64 MiB or more, and any file larger than
        `part_size`, go first as resumable uploads in parts of that size (the server's
        default if None): a part whose connection drops is sent again alone, and a register
        run again after the process was stopped sends only the parts the server lacks. An
        embedded store reads the files in place and takes no parts: it ignores it.
        """
        ...

    def register_stored(
        self,
        name: str,
        files: Sequence[StagedFile],
        *,
        params: Mapping[str, JSONValue] | None = None,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        data: Iterable[DataInput] = (),
        description: str = "",
        flavor: str = "generic",
        signature: Mapping[str, JSONValue] | None = None,
        code: CodeRef | bool = False,
        environment: bool = False,
        idempotency_key: str | None = None,
        number: int | None = None,
        trusted_types: Sequence[str] = (),
        sign: bool = False,
    ) -> ModelVersion:
        """Register files a transport has already streamed into this store's blobs (the
        server's upload): small files as bytes, the others as writers of this store, staged
        but not yet committed. The writers are committed here, under the store lock, and
        aborted if anything fails. The caller must hold the store lock shared while it
        writes them (`staging`), as `gc` removes staged uploads. `code` and `environment` default to
        False: the files were not made here. `idempotency_key`, `number`, `trusted_types` and
        `sign` as for `register`."""
        ...

    def staging(self) -> AbstractContextManager[Callable[[], BlobWriter]]:
        """While open, files may be streamed into this store's blobs for `register_stored`:
        the function it gives opens a writer for one file. It holds the store lock shared,
        so `gc` does not remove what is staged but not yet committed."""
        ...

    def register_archive(
        self, name: str, archive: str | os.PathLike[str], **options: Any
    ) -> ModelVersion:
        """Register the files of a tar or zip archive, unpacked with the checks a server
        applies to an uploaded one (no links, absolute paths or `..`; bounded size).
        `options` as for `register`, `idempotency_key` and `number` included."""
        ...

    def record_deleted_version(self, name: str, number: int, *, reason: str) -> ModelVersion:
        """Record version `number` of `name` as deleted, with no files: a tombstone, as
        `delete` leaves one, for a version another registry deleted before its history came
        here. The number is then taken for good; `versions(include_deleted=True)` and
        `events` show it deleted with `reason` (required: it is recorded). The model is
        created if it has no version yet. Same number rule as `register`'s `number`."""
        ...

    def create_model(
        self, name: str, *, description: str = "", tags: Mapping[str, str] | None = None
    ) -> Model:
        """Create model `name` before its first version, with its description and tags (kept
        as changes of the model, with who and when); AlreadyExists if it exists. Registering
        a version still creates the model when it has none."""
        ...

    def delete_model(self, name: str, *, reason: str) -> Model:
        """Delete model `name`: refused (Conflict) if any version of it was ever deployed or
        asked to be, in any environment, or a decision names it: they are kept as evidence.
        Else its versions are tombstoned with `reason` (required: it is recorded), its tags
        and description dropped, and the model and its versions answer as missing (NotFound)
        from then on; their records stay for the audit log. The name may be taken again
        (`create_model`, or a new version): the new model's numbers follow the old one's,
        and `versions(name, include_deleted=True)` shows the deleted ones before them."""
        ...

    def rename_model(self, name: str, new_name: str, *, reason: str | None = None) -> Model:
        """Rename model `name` to `new_name`, recorded with who, when and `reason`. Its whole
        history follows it: versions, tags, deployments and what is live, requests,
        protections, decisions, reports; `audit_log("model:NEW")` reads on from the entries
        made under the old name. `name` answers NotFound afterwards and may be taken by a new
        model. AlreadyExists if a model, kept or deleted, has `new_name`."""
        ...

    def models(self) -> list[Model]:
        """Every model, by name."""
        ...

    def model(self, name: str) -> Model:
        """One model's record: its own tags and description, and its latest version."""
        ...

    def get(self, name: str, version: int) -> ModelVersion:
        """One version's full record."""
        ...

    def versions(
        self,
        name: str,
        where: Sequence[str | Filter] = (),
        *,
        include_deleted: bool = False,
    ) -> list[ModelVersion]:
        """A model's versions, oldest first, that satisfy every filter in `where`."""
        ...

    def events(self, name: str, version: int) -> list[VersionEvent]:
        """Tag, deprecation and deletion changes of a version, oldest first."""
        ...

    def read_file(self, name: str, version: int, path: str) -> bytes:
        """One file of a version, verified against its digest (for small files)."""
        ...

    def open_file(self, name: str, version: int, path: str) -> tuple[FileEntry, BinaryIO]:
        """One file of a version as a stream, for serving it in pieces (HTTP ranges).

        The bytes are not verified here: whoever reads them whole compares them with
        `entry.sha256`, as the server does before ending a full download."""
        ...

    def download(
        self,
        name: str,
        version: int,
        dest: str | os.PathLike[str],
        *,
        progress: ProgressFactory | None = None,
        verify_signature: bool = False,
    ) -> Path:
        """Materialise a version's files under `dest`, every byte verified, atomically.

        The tree is built next to `dest` and renamed into place only when complete; `dest`
        must not exist or be an empty folder. A version signed by a trusted key gets its
        model signature written beside its files (`model.sig`), where the stock
        `model_signing verify key` finds it; `verify_signature`: refuse (`SignatureInvalid`)
        a version without a valid one.
        """
        ...

    def diff(self, a: tuple[str, int], b: tuple[str, int]) -> VersionDiff:
        """Compare two versions, with unified diffs of changed text files (JSON, CSV, ...)."""
        ...

    def tag(self, name: str, version: int, key: str, value: str) -> ModelVersion:
        """Set a tag on a version; the change is recorded with who and when."""
        ...

    def untag(self, name: str, version: int, key: str) -> ModelVersion:
        """Remove a tag from a version; the removal is recorded."""
        ...

    def tag_model(self, name: str, key: str, value: str) -> Model:
        """Set a tag on the model itself; the change is recorded with who and when."""
        ...

    def untag_model(self, name: str, key: str) -> Model:
        """Remove a tag from the model itself; the removal is recorded."""
        ...

    def describe_model(self, name: str, text: str) -> Model:
        """Replace the model's description; the change is recorded with who and when."""
        ...

    def model_events(self, name: str) -> list[ModelEvent]:
        """Changes to the model's own tags and description, oldest first."""
        ...

    def deprecate(
        self, name: str, version: int, *, reason: str | None = None, deprecated: bool = True
    ) -> ModelVersion:
        """Flag a version as deprecated (or, with deprecated=False, lift the flag)."""
        ...

    def trust(self, name: str, version: int, types: Sequence[str], *, reason: str) -> list[str]:
        """Record that `types` may be loaded from this version's files (skops refuses types
        it does not know to be safe): one `trusted` event per type not yet trusted, with who,
        when and `reason` (required), and an audit entry. `load`, `load_live` and `replay`
        read the record, so no caller retypes it; trust is never taken back (what a decision
        was made with stays loadable). Over HTTP: the `trust` permission (admin). Returns every
        type now trusted for the version."""
        ...

    def delete(self, name: str, version: int, *, reason: str) -> ModelVersion:
        """Tombstone a version: its record stays, its files become collectable by `gc`.
        `reason` is required: the files cannot come back, so the record says why."""
        ...
