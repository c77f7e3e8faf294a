"""Versions over HTTP: registering (files, archives, sources), reading models and versions,
tags, descriptions, deprecation, deletion, references and diffs."""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..api.arguments import check_signature, collect_files, files_digest, parse_data_ref
from ..api.versions import VersionsAPI
from ..domain.errors import InvalidInput, NotFound
from ..domain.model import (
    CodeRef,
    JSONValue,
    Model,
    ModelEvent,
    ModelVersion,
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
    parse_ref,
    validate_flavor,
    validate_key,
    validate_model_name,
)
from ..domain.trust import check_trust_reason, check_trusted_types
from ..flavors import check_files
from .client import API, _idempotency_key, _quote
from .files import _Counting
from .uploads import RESUMABLE_FROM, PartUploads

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from ..api.types import DataInput, ProgressFactory, StagedFile
    from ..domain.diff import VersionDiff
    from ..domain.filters import Filter
    from ..ports import BlobWriter


class Versions(PartUploads, VersionsAPI):
    """Registering and reading versions, and the few things about them that may change."""

    # -- registering ----------------------------------------------------------------------

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
        # Uploaded, streamed from disk. The server records the Git commit found here; it does
        # not record this machine's Python environment. Data references must be remote URIs.
        # Files of `RESUMABLE_FROM` bytes or more go first as resumable uploads, in parts of
        # `part_size` (the server's default if None), each resent alone if a connection
        # drops, and resumed by a later run if this one is stopped.
        # The upload carries `idempotency_key` (a new random one if none is given) and is
        # sent again, files re-read from disk, if the connection fails before the answer
        # arrives. `if_changed`: the files are hashed here first, and nothing is uploaded
        # when the latest version holds exactly them.
        key = _idempotency_key(idempotency_key)
        validate_model_name(name)
        validate_flavor(flavor)
        trusting = check_trusted_types(trusted_types)
        if not isinstance(description, str):
            raise InvalidInput("description must be a string")
        refs = [parse_data_ref(d) for d in data]
        for ref in refs:
            if ref.uri.startswith("file:"):
                raise InvalidInput(
                    f"data reference {ref.uri!r}: a remote registry records remote URIs only "
                    "(s3://, https://, ...)"
                )
        files = collect_files(Path(path))
        check_files(flavor, [rel for rel, _ in files])  # as the server will, before the upload
        if if_changed:
            try:
                same = unchanged_latest(self.versions(name), files_digest(files))
            except NotFound:  # the model's first version
                same = None
            if same is not None:
                return same
        from ..lineage import capture_code

        code_ref = capture_code() if code is True else (code or None)
        metadata: dict[str, Any] = {
            "params": dict(check_params(params)),
            "metrics": dict(check_metrics(metrics)),
            "tags": dict(check_tags(tags)),
            "data": [f"{r.uri}#{r.digest}" if r.digest else r.uri for r in refs],
            "description": description,
            "flavor": flavor,
            "signature": check_signature(signature),
            "code": code_ref.to_dict() if code_ref else None,
            "executable": [rel for rel, p in files if p.stat().st_mode & stat.S_IXUSR],
            "trusted_types": list(trusting),
            "sign": bool(sign),
        }
        if number is not None:
            metadata["number"] = check_version(number, "version number")
        large = [(r, p) for r, p in files if _resumable(p.stat().st_size, part_size)]
        sent = {
            rel: self._send_in_parts(
                name,
                source,
                part_size=part_size,
                progress=progress(rel, source.stat().st_size) if progress else None,
            )
            for rel, source in large
        }
        if sent:
            metadata["uploads"] = sent
            files = [(r, p) for r, p in files if r not in sent]

        def parts(stack: contextlib.ExitStack[Any]) -> dict[str, Any]:
            uploads: list[tuple[str, tuple[str, Any, str]]] = []
            for rel, source in files:
                stream: Any = stack.enter_context(open(source, "rb"))  # noqa: SIM115
                if progress is not None:
                    stream = _Counting(stream, progress(rel, os.fstat(stream.fileno()).st_size))
                uploads.append(("files", (rel, stream, "application/octet-stream")))
            if not uploads:  # every file went ahead in parts: still a multipart form
                return {"files": {"metadata": (None, json.dumps(metadata))}}
            return {"files": uploads, "data": {"metadata": json.dumps(metadata)}}

        reply = self._request(
            "POST", f"{self._model_path(name)}/versions", send=parts, idempotency_key=key
        )
        return ModelVersion.from_dict(reply.json())

    def register_archive(
        self, name: str, archive: str | os.PathLike[str], **options: Any
    ) -> ModelVersion:
        # Uploaded as it is: the server unpacks it, with its checks. Sent again with the same
        # idempotency key, as `register` is, if the connection fails.
        key = _idempotency_key(options.pop("idempotency_key", None))
        validate_model_name(name)
        source = Path(archive)
        if not source.is_file():
            raise InvalidInput(f"no archive file at {source}")
        metadata = self._metadata(options, executable=[])

        def parts(stack: contextlib.ExitStack[Any]) -> dict[str, Any]:
            stream = stack.enter_context(open(source, "rb"))  # noqa: SIM115
            return {
                "files": [("archive", (source.name, stream, "application/octet-stream"))],
                "data": {"metadata": json.dumps(metadata)},
            }

        reply = self._request(
            "POST",
            f"{self._model_path(name)}/versions/archive",
            send=parts,
            idempotency_key=key,
        )
        return ModelVersion.from_dict(reply.json())

    def register_source(self, name: str, source: str, **options: Any) -> ModelVersion:
        """Have the server fetch `source` (https:// or s3://, under a prefix it allows) and
        register it: an archive is unpacked, anything else is one file. `idempotency_key`
        as for `register`."""
        key = _idempotency_key(options.pop("idempotency_key", None))
        body = {"source": source, "metadata": self._metadata(options, executable=[])}
        reply = self._request(
            "POST", f"{self._model_path(name)}/versions/source", body=body, idempotency_key=key
        )
        return ModelVersion.from_dict(reply.json())

    @staticmethod
    def _metadata(options: Mapping[str, Any], *, executable: list[str]) -> dict[str, Any]:
        known = {
            "params", "metrics", "tags", "data", "description", "flavor", "signature", "code",
            "number", "trusted_types", "sign",
        }  # fmt: skip
        unknown = set(options) - known
        if unknown:
            raise InvalidInput(f"unknown options {sorted(unknown)}")
        refs = [parse_data_ref(d) for d in options.get("data", ())]
        code = options.get("code", True)
        if code is True:
            from ..lineage import capture_code

            code = capture_code()
        number = options.get("number")
        return {
            **({} if number is None else {"number": check_version(number, "version number")}),
            "params": dict(check_params(options.get("params"))),
            "metrics": dict(check_metrics(options.get("metrics"))),
            "tags": dict(check_tags(options.get("tags"))),
            "data": [f"{r.uri}#{r.digest}" if r.digest else r.uri for r in refs],
            "description": options.get("description", ""),
            "flavor": validate_flavor(options.get("flavor", "generic")),
            "signature": check_signature(options.get("signature")),
            "code": code.to_dict() if code else None,
            "executable": executable,
            "trusted_types": list(check_trusted_types(options.get("trusted_types"))),
            "sign": bool(options.get("sign", False)),
        }

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
        # Not available on a remote registry yet (one of `EMBEDDED_ONLY`).
        self._unsupported("register_stored")

    def staging(self) -> AbstractContextManager[Callable[[], BlobWriter]]:
        # Not available on a remote registry (one of `EMBEDDED_ONLY`).
        self._unsupported("staging")

    def create_model(
        self, name: str, *, description: str = "", tags: Mapping[str, str] | None = None
    ) -> Model:
        clean_tags = check_tags(tags)
        for key in clean_tags:
            validate_key(key, "tag name")
        body = {
            "name": validate_model_name(name),
            "description": check_description(description),
            "tags": clean_tags,
        }
        return Model.from_dict(self._post(f"{API}/models", body))

    def delete_model(self, name: str, *, reason: str) -> Model:
        reason = require_reason(reason, "deleting a model needs a reason (it is recorded)")
        reply = self._request("DELETE", self._model_path(name), params={"reason": reason})
        return Model.from_dict(reply.json())

    def rename_model(self, name: str, new_name: str, *, reason: str | None = None) -> Model:
        body = {"new_name": validate_model_name(new_name), "reason": reason}
        return Model.from_dict(self._post(f"{self._model_path(name)}/rename", body))

    # -- reading --------------------------------------------------------------------------

    def models(self) -> list[Model]:
        return [Model.from_dict(m) for m in self._pages(f"{API}/models")]

    def model(self, name: str) -> Model:
        return Model.from_dict(self._get(self._model_path(name)))

    def get(self, name: str, version: int) -> ModelVersion:
        return ModelVersion.from_dict(self._get(self._version_path(name, version)))

    def versions(
        self,
        name: str,
        where: Sequence[str | Filter] = (),
        *,
        include_deleted: bool = False,
    ) -> list[ModelVersion]:
        # The server sends them all; they are filtered here, exactly as the embedded store does.
        from ..domain.filters import Filter, parse_filter, select

        filters = [w if isinstance(w, Filter) else parse_filter(w) for w in where]
        found = self._pages(
            f"{self._model_path(name)}/versions", include_deleted=include_deleted or None
        )
        return select([ModelVersion.from_dict(v) for v in found], filters)

    def events(self, name: str, version: int) -> list[VersionEvent]:
        found = self._get(f"{self._version_path(name, version)}/events")
        return [VersionEvent.from_dict(e) for e in found]

    # -- the few things that may change ---------------------------------------------------

    def tag(self, name: str, version: int, key: str, value: str) -> ModelVersion:
        validate_key(key, "tag name")
        check_tags({key: value})
        path = f"{self._version_path(name, version)}/tags/{_quote(key)}"
        return ModelVersion.from_dict(self._request("PUT", path, body={"value": value}).json())

    def untag(self, name: str, version: int, key: str) -> ModelVersion:
        path = f"{self._version_path(name, version)}/tags/{_quote(validate_key(key, 'tag name'))}"
        return ModelVersion.from_dict(self._request("DELETE", path).json())

    def tag_model(self, name: str, key: str, value: str) -> Model:
        validate_key(key, "tag name")
        check_tags({key: value})
        path = f"{self._model_path(name)}/tags/{_quote(key)}"
        return Model.from_dict(self._request("PUT", path, body={"value": value}).json())

    def untag_model(self, name: str, key: str) -> Model:
        path = f"{self._model_path(name)}/tags/{_quote(validate_key(key, 'tag name'))}"
        return Model.from_dict(self._request("DELETE", path).json())

    def describe_model(self, name: str, text: str) -> Model:
        body = {"description": check_description(text)}
        path = f"{self._model_path(name)}/description"
        return Model.from_dict(self._request("PUT", path, body=body).json())

    def model_events(self, name: str) -> list[ModelEvent]:
        return [ModelEvent.from_dict(e) for e in self._get(f"{self._model_path(name)}/events")]

    def deprecate(
        self, name: str, version: int, *, reason: str | None = None, deprecated: bool = True
    ) -> ModelVersion:
        body = {"deprecated": deprecated, "reason": reason}
        return ModelVersion.from_dict(
            self._post(f"{self._version_path(name, version)}/deprecation", body)
        )

    def trust(self, name: str, version: int, types: Sequence[str], *, reason: str) -> list[str]:
        asked = check_trusted_types(types)
        if not asked:
            raise InvalidInput("name at least one type to trust")
        body = {"types": list(asked), "reason": check_trust_reason(reason)}
        found = self._post(f"{self._version_path(name, version)}/trust", body)
        return [str(t) for t in found["trusted_types"]]

    def delete(self, name: str, version: int, *, reason: str) -> ModelVersion:
        reply = self._request(
            "DELETE", self._version_path(name, version), params={"reason": reason}
        )
        return ModelVersion.from_dict(reply.json())

    def record_deleted_version(self, name: str, number: int, *, reason: str) -> ModelVersion:
        body = {
            "number": check_version(number, "version number"),
            "reason": require_reason(
                reason, "recording a deleted version needs a reason (it is recorded)"
            ),
        }
        return ModelVersion.from_dict(
            self._post(f"{self._model_path(name)}/deleted-versions", body)
        )

    def resolve(self, ref: str) -> tuple[str, int]:
        parse_ref(ref)  # a malformed reference is refused here, in the same words
        found = self._get(f"{API}/resolve/{_quote(ref)}")
        return str(found["model"]), int(found["version"])

    def diff(self, a: tuple[str, int], b: tuple[str, int]) -> VersionDiff:
        from ..domain.diff import VersionDiff

        other = validate_model_name(b[0])
        found = self._get(
            f"{self._model_path(a[0])}/diff",
            a=check_version(a[1]),
            b=check_version(b[1]),
            b_model=other if other != a[0] else None,
        )
        return VersionDiff.from_dict(found)


def _resumable(size: int, part_size: int | None) -> bool:
    """Whether a file goes as a resumable upload: from `RESUMABLE_FROM` bytes, or when it
    is more than one part of the size asked for."""
    return size >= RESUMABLE_FROM or (part_size is not None and size > part_size)
