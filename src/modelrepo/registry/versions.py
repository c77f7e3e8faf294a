"""Registering versions, reading their files and records, and the few changes a version allows
(tags, description, deprecation, deletion), over an embedded store."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ..api.arguments import check_signature, collect_files, parse_data_ref
from ..api.versions import VersionsAPI
from ..domain.errors import (
    CorruptBlobError,
    InvalidInput,
    MissingBlobError,
    NotFound,
    model_not_found,
)
from ..domain.manifest import FileEntry, manifest_digest, sorted_entries, validate_relative_path
from ..domain.model import (
    CodeRef,
    JSONValue,
    Lineage,
    Model,
    ModelEvent,
    ModelVersion,
    NewVersion,
    VersionEvent,
    check_description,
    check_metrics,
    check_params,
    check_tags,
    require_reason,
    unchanged_latest,
)
from ..domain.names import (
    check_version,
    validate_flavor,
    validate_idempotency_key,
    validate_key,
    validate_model_name,
)
from ..domain.trust import (
    REGISTRATION_REASON,
    check_trust_reason,
    check_trusted_types,
    trusted_of,
)
from ..flavors import check_files
from .attestations import sign_registered, signer_for_registration
from .core import INLINE_MAX, INLINE_TOTAL_MAX, Core, changes, may_create, opening_of, writes

if TYPE_CHECKING:
    from ..api.types import DataInput, ProgressFactory, StagedFile
    from ..domain.diff import VersionDiff
    from ..domain.filters import Filter
    from ..ports import BlobStore, BlobWriter, Progress, StoreLock


class Versions(Core, VersionsAPI):
    @writes
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
        key = None if idempotency_key is None else validate_idempotency_key(idempotency_key)
        number = check_number(number)
        trusting = check_trusted_types(trusted_types)
        details = self._version_details(
            name, params, metrics, tags, data, description, flavor, signature, code, environment
        )
        files = collect_files(Path(path))
        check_files(flavor, [rel for rel, _ in files])
        signer = signer_for_registration(self, name, sign)
        with self.backend.lock.shared():
            entries = []
            inline: dict[str, bytes] = {}
            inline_total = 0
            for rel, source in files:
                with open(source, "rb") as stream:
                    status = os.fstat(stream.fileno())
                    executable = bool(status.st_mode & stat.S_IXUSR)
                    if status.st_size <= INLINE_MAX and inline_total < INLINE_TOTAL_MAX:
                        # Small files travel inside the version's own transaction: one
                        # durable commit instead of three fsyncs per file.
                        content = stream.read(INLINE_MAX + 1)
                        if len(content) <= INLINE_MAX:
                            sha = hashlib.sha256(content).hexdigest()
                            inline[sha] = content
                            inline_total += len(content)
                            entries.append(FileEntry(rel, len(content), sha, executable))
                            continue
                        stream.seek(0)
                    callback = progress(rel, status.st_size) if progress else None
                    info = self.backend.blobs.put(stream, progress=callback)
                entries.append(FileEntry(rel, info.size, info.sha256, executable))
            if if_changed:
                same = self._unchanged(name, manifest_digest(sorted_entries(entries)))
                if same is not None:
                    return self._trusting(same, trusting)
            made = self._create_version(details, entries, inline, key, number)
            sign_registered(self, made, signer)
            return self._trusting(made, trusting)

    def _trusting(self, version: ModelVersion, types: Sequence[str]) -> ModelVersion:
        """Record the types a registration trusts with the version it made (or found)."""
        if types:
            self.backend.metadata.trust_types(
                version.model,
                version.version,
                types,
                actor=self.user,
                at=self.clock.now(),
                reason=REGISTRATION_REASON,
            )
        return version

    def _unchanged(self, name: str, digest: str) -> ModelVersion | None:
        """The latest version when it holds exactly `digest` (for `if_changed`)."""
        try:
            return unchanged_latest(self.versions(name), digest)
        except NotFound:  # the model's first version
            return None

    def staging(self) -> AbstractContextManager[Callable[[], BlobWriter]]:
        opening = opening_of(self)
        with opening.writing() if opening else contextlib.nullcontext():
            backend = self.backend  # staging is a write: it may create the store
        return _staging(backend.lock, backend.blobs)

    @may_create
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
        writers = [f.content for f in files if not isinstance(f.content, bytes)]
        try:
            key = None if idempotency_key is None else validate_idempotency_key(idempotency_key)
            number = check_number(number)
            trusting = check_trusted_types(trusted_types)
            details = self._version_details(
                name, params, metrics, tags, data, description, flavor, signature, code, environment
            )
            signer = signer_for_registration(self, name, sign)
            if not files:
                raise InvalidInput("a version needs at least one file")
            for staged in files:
                validate_relative_path(staged.path)
            check_files(flavor, [staged.path for staged in files])
            with self.backend.lock.shared():
                entries = []
                inline: dict[str, bytes] = {}
                for staged in files:
                    content = staged.content
                    if isinstance(content, bytes):
                        if len(content) > INLINE_MAX:
                            raise InvalidInput(
                                f"file {staged.path!r}: give files over {INLINE_MAX} bytes "
                                "as a blob writer"
                            )
                        sha = hashlib.sha256(content).hexdigest()
                        inline[sha] = content
                        entries.append(FileEntry(staged.path, len(content), sha, staged.executable))
                    else:
                        info = content.commit()
                        entries.append(
                            FileEntry(staged.path, info.size, info.sha256, staged.executable)
                        )
                made = self._create_version(details, entries, inline, key, number)
        except BaseException:
            for writer in writers:
                writer.abort()
            raise
        sign_registered(self, made, signer)
        return self._trusting(made, trusting)

    def _version_details(
        self,
        name: str,
        params: Mapping[str, JSONValue] | None,
        metrics: Mapping[str, float] | None,
        tags: Mapping[str, str] | None,
        data: Iterable[DataInput],
        description: str,
        flavor: str,
        signature: Mapping[str, JSONValue] | None,
        code: CodeRef | bool,
        environment: bool,
    ) -> dict[str, Any]:
        """A version's record without its files, checked (the files are added last)."""
        validate_model_name(name)
        validate_flavor(flavor)
        clean_params = check_params(params)
        clean_metrics = check_metrics(metrics)
        clean_tags = check_tags(tags)
        clean_signature = check_signature(signature)
        data_refs = tuple(parse_data_ref(d) for d in data)
        if not isinstance(description, str):
            raise InvalidInput("description must be a string")
        from ..lineage import capture_code, capture_environment  # subprocess, importlib.metadata

        code_ref = capture_code() if code is True else (code or None)
        lineage = Lineage(
            data=data_refs,
            code=code_ref,
            environment=capture_environment() if environment else None,
        )
        return {
            "model": name,
            "params": clean_params,
            "metrics": clean_metrics,
            "tags": clean_tags,
            "description": description,
            "flavor": flavor,
            "signature": clean_signature,
            "lineage": lineage,
        }

    def _create_version(
        self,
        details: Mapping[str, Any],
        entries: Sequence[FileEntry],
        inline: Mapping[str, bytes],
        key: str | None = None,
        number: int | None = None,
    ) -> ModelVersion:
        """Version N+1 (or `number`) with these files; its time is when it is created, after
        its blobs. With `key`, the version an earlier request with that key made, if there was
        one."""
        manifest = sorted_entries(entries)
        return self.backend.metadata.create_version(
            NewVersion(
                **details,
                digest=manifest_digest(manifest),
                files=manifest,
                created_at=self.clock.now(),
                created_by=self.user,
            ),
            inline=inline,
            key=key,
            number=number,
        )

    def register_archive(
        self, name: str, archive: str | os.PathLike[str], **options: Any
    ) -> ModelVersion:
        import shutil
        import tempfile

        from ..archives import extract_to_staging

        source = Path(archive)
        if not source.is_file():
            raise InvalidInput(f"no archive file at {source}")
        staging = Path(tempfile.mkdtemp(prefix="modelrepo-archive-"))
        try:
            return self.register(name, extract_to_staging(source, staging, None), **options)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @writes
    def create_model(
        self, name: str, *, description: str = "", tags: Mapping[str, str] | None = None
    ) -> Model:
        clean_tags = check_tags(tags)
        for key in clean_tags:
            validate_key(key, "tag name")
        return self.backend.metadata.create_model(
            validate_model_name(name),
            actor=self.user,
            at=self.clock.now(),
            description=check_description(description),
            tags=clean_tags,
        )

    @changes
    def delete_model(self, name: str, *, reason: str) -> Model:
        return self.backend.metadata.delete_model(
            validate_model_name(name),
            actor=self.user,
            at=self.clock.now(),
            reason=require_reason(reason, "deleting a model needs a reason (it is recorded)"),
        )

    @changes
    def rename_model(self, name: str, new_name: str, *, reason: str | None = None) -> Model:
        if reason is not None and not isinstance(reason, str):
            raise InvalidInput("reason must be a string")
        return self.backend.metadata.rename_model(
            validate_model_name(name),
            validate_model_name(new_name),
            actor=self.user,
            at=self.clock.now(),
            reason=reason,
        )

    def models(self) -> list[Model]:
        return [m for m in self.backend.metadata.list_models() if m.deleted_at is None]

    def model(self, name: str) -> Model:
        return kept_model(self.backend.metadata.get_model(validate_model_name(name)))

    def get(self, name: str, version: int) -> ModelVersion:
        found = self.backend.metadata.get_version(validate_model_name(name), check_version(version))
        if found.deleted_at is not None:  # a deleted model's versions are all deleted
            self.model(name)
        return found

    def versions(
        self,
        name: str,
        where: Sequence[str | Filter] = (),
        *,
        include_deleted: bool = False,
    ) -> list[ModelVersion]:
        from ..domain.filters import Filter, parse_filter, select

        filters = [w if isinstance(w, Filter) else parse_filter(w) for w in where]
        self.model(name)  # a deleted model's versions answer as missing, as the model does
        found = self.backend.metadata.list_versions(validate_model_name(name))
        if not include_deleted:
            found = [v for v in found if v.deleted_at is None]
        return select(found, filters)

    def events(self, name: str, version: int) -> list[VersionEvent]:
        self.model(name)
        return self.backend.metadata.version_events(
            validate_model_name(name), check_version(version)
        )

    def read_file(self, name: str, version: int, path: str) -> bytes:
        found = self._readable(name, version)
        entry = next((f for f in found.files if f.path == path), None)
        if entry is None:
            raise InvalidInput(f"version {found.ref} has no file {path!r}")
        chunks: list[bytes] = []
        self._copy_verified(found, entry, lambda b: chunks.append(bytes(b)), None)
        return b"".join(chunks)

    def open_file(self, name: str, version: int, path: str) -> tuple[FileEntry, BinaryIO]:
        found = self._readable(name, version)
        entry = next((f for f in found.files if f.path == path), None)
        if entry is None:
            raise NotFound(f"version {found.ref} has no file {path!r}")
        try:
            return entry, self._open_blob(entry.sha256, entry.size)
        except MissingBlobError:
            raise MissingBlobError(
                f"{found.ref}: file {entry.path!r} is missing from the store (blob {entry.sha256})",
                path=entry.path,
                digest=entry.sha256,
            ) from None

    def _copy_verified(
        self,
        found: ModelVersion,
        entry: FileEntry,
        write: Callable[[memoryview], object],
        progress: Progress | None,
        dst_fd: int | None = None,
    ) -> None:
        """Copy one file out of the store, verifying its bytes against the manifest.

        With `dst_fd` (a local file) and a blob that is itself a local file, the copy is done
        by the kernel and the *written* bytes are hashed while they are fsynced.
        """
        from ..streams import copy_file_hashing, copy_hashing

        try:
            stream = self._open_blob(entry.sha256, entry.size)
        except MissingBlobError:
            raise MissingBlobError(
                f"{found.ref}: file {entry.path!r} is missing from the store (blob {entry.sha256})",
                path=entry.path,
                digest=entry.sha256,
            ) from None
        try:
            with stream:
                if dst_fd is not None and isinstance(stream, io.BufferedReader):
                    sha, size = copy_file_hashing(stream, dst_fd, progress)
                else:
                    sha, size = copy_hashing(stream, write, progress)
                    if dst_fd is not None:
                        os.fsync(dst_fd)
        except CorruptBlobError as exc:  # a store that verifies as it reads (S3) found it
            raise _corrupt_file(found, entry, str(exc)) from exc
        if sha != entry.sha256 or size != entry.size:
            raise _corrupt_file(found, entry, f"expected sha256 {entry.sha256}, got {sha}")

    def download(
        self,
        name: str,
        version: int,
        dest: str | os.PathLike[str],
        *,
        progress: ProgressFactory | None = None,
        verify_signature: bool = False,
    ) -> Path:
        from ..loading import signature_files
        from ..streams import write_folder

        found = self._readable(name, version)
        beside = signature_files(self, found, required=verify_signature)

        def write(entry: FileEntry, path: Path, callback: Progress | None) -> None:
            with open(path, "x+b", buffering=0) as out:
                self._copy_verified(found, entry, out.write, callback, out.fileno())

        return write_folder(found.files, dest, write, progress, beside)

    def diff(self, a: tuple[str, int], b: tuple[str, int]) -> VersionDiff:
        from ..domain.diff import (
            MAX_TEXT_DIFF_BYTES,
            diff_versions,
            looks_textual,
            unified_text_diff,
        )

        va = self.get(*a)
        vb = self.get(*b)
        result = diff_versions(va, vb)
        if va.deleted_at is None and vb.deleted_at is None:
            files_a = {f.path: f for f in va.files}
            files_b = {f.path: f for f in vb.files}
            for path in result.files_modified:
                fa, fb = files_a[path], files_b[path]
                if not looks_textual(path) or max(fa.size, fb.size) > MAX_TEXT_DIFF_BYTES:
                    continue
                text = unified_text_diff(
                    path,
                    self.read_file(va.model, va.version, path),
                    self.read_file(vb.model, vb.version, path),
                    va.ref,
                    vb.ref,
                )
                if text:
                    result.text_diffs[path] = text
        return result

    @changes
    def tag(self, name: str, version: int, key: str, value: str) -> ModelVersion:
        validate_key(key, "tag name")
        check_tags({key: value})
        return self.backend.metadata.set_tag(
            validate_model_name(name),
            check_version(version),
            key,
            value,
            actor=self.user,
            at=self.clock.now(),
        )

    @changes
    def untag(self, name: str, version: int, key: str) -> ModelVersion:
        return self.backend.metadata.set_tag(
            validate_model_name(name),
            check_version(version),
            validate_key(key, "tag name"),
            None,
            actor=self.user,
            at=self.clock.now(),
        )

    @changes
    def tag_model(self, name: str, key: str, value: str) -> Model:
        validate_key(key, "tag name")
        check_tags({key: value})
        return self.backend.metadata.set_model_tag(
            validate_model_name(name), key, value, actor=self.user, at=self.clock.now()
        )

    @changes
    def untag_model(self, name: str, key: str) -> Model:
        return self.backend.metadata.set_model_tag(
            validate_model_name(name),
            validate_key(key, "tag name"),
            None,
            actor=self.user,
            at=self.clock.now(),
        )

    @changes
    def describe_model(self, name: str, text: str) -> Model:
        return self.backend.metadata.set_model_description(
            validate_model_name(name), check_description(text), actor=self.user, at=self.clock.now()
        )

    def model_events(self, name: str) -> list[ModelEvent]:
        self.model(name)
        return self.backend.metadata.model_events(validate_model_name(name))

    @changes
    def deprecate(
        self, name: str, version: int, *, reason: str | None = None, deprecated: bool = True
    ) -> ModelVersion:
        return self.backend.metadata.set_deprecated(
            validate_model_name(name),
            check_version(version),
            deprecated,
            actor=self.user,
            at=self.clock.now(),
            reason=reason,
        )

    @changes
    def trust(self, name: str, version: int, types: Sequence[str], *, reason: str) -> list[str]:
        asked = check_trusted_types(types)
        if not asked:
            raise InvalidInput("name at least one type to trust")
        model, number = validate_model_name(name), check_version(version)
        self.backend.metadata.trust_types(
            model, number, asked, actor=self.user, at=self.clock.now(),
            reason=check_trust_reason(reason),
        )  # fmt: skip
        return list(trusted_of(self.backend.metadata.version_events(model, number)))

    @changes
    def delete(self, name: str, version: int, *, reason: str) -> ModelVersion:
        return self.backend.metadata.delete_version(
            validate_model_name(name),
            check_version(version),
            actor=self.user,
            at=self.clock.now(),
            reason=require_reason(reason, "deleting a version needs a reason (it is recorded)"),
        )

    @writes
    def record_deleted_version(self, name: str, number: int, *, reason: str) -> ModelVersion:
        return self.backend.metadata.record_deleted_version(
            validate_model_name(name),
            check_version(number),
            actor=self.user,
            at=self.clock.now(),
            reason=require_reason(
                reason, "recording a deleted version needs a reason (it is recorded)"
            ),
        )


def kept_model(found: Model) -> Model:
    """`found`, unless it was deleted: a deleted model answers as a missing one."""
    if found.deleted_at is not None:
        raise NotFound(model_not_found(found.name))
    return found


def check_number(number: int | None) -> int | None:
    """A version number asked for, or None for the next one."""
    return None if number is None else check_version(number)


def _corrupt_file(found: ModelVersion, entry: FileEntry, why: str) -> CorruptBlobError:
    """The error naming the version and file whose stored bytes are not what was stored."""
    return CorruptBlobError(
        f"{found.ref}: file {entry.path!r} is corrupt in the store ({why})",
        path=entry.path,
        digest=entry.sha256,
    )


@contextlib.contextmanager
def _staging(lock: StoreLock, blobs: BlobStore) -> Iterator[Callable[[], BlobWriter]]:
    with lock.shared():
        yield blobs.writer
