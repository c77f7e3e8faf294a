"""A version created from another version of this registry (`models:/NAME/N`,
`models:/NAME@alias`, `models:/NAME/Stage`), as MLflow's `copy_model_version` asks: the
same files, by digest, registered as a new version of another model."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from ...api.types import StagedFile
from ...domain.errors import IntegrityError, InvalidInput, NotFound
from ...domain.model import ModelVersion
from ...domain.stages import canonical_stage
from ...ports.blobs import BlobWriter
from ...registry import Registry
from ...registry.core import INLINE_MAX, INLINE_TOTAL_MAX
from ..auth import Caller
from .common import scoped
from .entities import LATEST, latest_per_stage, live_version

PREFIX = "models:/"
COPIED_FROM_PARAM = "mlflow.copied_from"
"""The version a copy was made from (`NAME@N`, with its digest), kept in the copy's record."""
_CHUNK = 1 << 20


def is_registered(source: str) -> bool:
    """Whether `source` names a version of a registered model (not a logged model `m-...`)."""
    return source.startswith(PREFIX) and not source[len(PREFIX) :].startswith("m-")


def resolve(caller: Caller, source: str) -> ModelVersion:
    """The version `models:/NAME/N`, `models:/NAME@alias` or `models:/NAME/<stage>` names, as
    `models:/` URIs resolve (the token must see that model)."""
    rest = source[len(PREFIX) :].rstrip("/")
    registry = caller.registry
    if "@" in rest:
        name, _, alias = rest.rpartition("@")
        scoped(caller, name)
        if alias.lower() == LATEST:
            return _latest(registry, name)
        return _kept(registry.get(name, live_version(registry, name, alias)))
    name, _, which = rest.rpartition("/")
    if not name or not which:
        raise InvalidInput(
            f"source {source!r}: expected models:/NAME/VERSION, models:/NAME@ALIAS or "
            "models:/NAME/STAGE"
        )
    scoped(caller, name)
    if which.isascii() and which.isdigit():
        return _kept(registry.get(name, int(which)))
    if which.lower() == LATEST:
        return _latest(registry, name)
    stage = canonical_stage(which)
    found = latest_per_stage(registry.versions(name), [stage])
    if not found:
        raise NotFound(f"registered model {name!r} has no version in stage {stage}")
    return found[0]


def _latest(registry: Registry, name: str) -> ModelVersion:
    versions = registry.versions(name)
    if not versions:
        raise NotFound(f"Latest version not found for model {name}.")
    return max(versions, key=lambda v: v.version)


def _kept(found: ModelVersion) -> ModelVersion:
    if found.deleted_at is not None:
        raise NotFound(f"model version {found.ref} was deleted")
    return found


def copy(
    registry: Registry, found: ModelVersion, name: str, params: dict[str, Any], **details: Any
) -> ModelVersion:
    """Register `found`'s files as the next version of `name`. Small files are kept in the
    record as a registration keeps them; the others are written again into the
    content-addressed store, which keeps one blob per digest. A file whose bytes no longer
    match its recorded digest stops the copy before anything is registered."""
    params = {**params, COPIED_FROM_PARAM: {"version": found.ref, "digest": found.digest}}
    with ExitStack() as stack:
        open_writer = stack.enter_context(registry.staging())
        writers: list[BlobWriter] = []
        try:
            files = []
            inline = 0
            for entry in found.files:
                if entry.size <= INLINE_MAX and inline + entry.size <= INLINE_TOTAL_MAX:
                    inline += entry.size  # kept in the record, as a registration keeps it
                    content = registry.read_file(found.model, found.version, entry.path)
                    files.append(StagedFile(entry.path, content, entry.executable))
                    continue
                writer = open_writer()
                writers.append(writer)
                _, stream = registry.open_file(found.model, found.version, entry.path)
                with stream:
                    while chunk := stream.read(_CHUNK):
                        writer.write(chunk)
                if writer.finish().sha256 != entry.sha256:
                    raise IntegrityError(
                        f"{found.ref}: file {entry.path!r} no longer matches its digest; "
                        "run `modelrepo fsck`"
                    )
                files.append(StagedFile(entry.path, writer, entry.executable))
        except BaseException:
            for writer in writers:
                writer.abort()
            raise
        return registry.register_stored(
            name,
            files,
            params=params,
            flavor=found.flavor,
            signature=found.signature,
            **details,
        )
