"""Checks and conversions of arguments that both registries apply before anything is stored
or sent, so that a server and an embedded store refuse the same input with the same words."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..domain.errors import InvalidInput
from ..domain.manifest import FileEntry, manifest_digest, validate_relative_path
from ..domain.model import DataRef, JSONValue, check_json
from ..domain.times import parse_time

if TYPE_CHECKING:
    from .types import DataInput


def is_remote(store: object) -> bool:
    """Whether `store` names a modelrepo server rather than a local or database store."""
    return isinstance(store, str) and store.lower().startswith(("http://", "https://"))


def collect_files(root: Path) -> list[tuple[str, Path]]:
    """(manifest path, file) pairs for a file or a directory tree; symlinks are refused."""
    if root.is_symlink():
        raise InvalidInput(f"{root} is a symbolic link; register its target instead")
    if root.is_file():
        return [(root.name, root)]
    if not root.is_dir():
        raise InvalidInput(f"nothing to register: {root} does not exist")
    found: list[tuple[str, Path]] = []
    for folder, dirs, files in os.walk(root):
        base = Path(folder)
        for name in sorted(dirs):
            if (base / name).is_symlink():
                raise InvalidInput(f"{base / name} is a symbolic link; links are not registered")
        dirs.sort()
        for name in sorted(files):
            path = base / name
            if path.is_symlink():
                raise InvalidInput(f"{path} is a symbolic link; links are not registered")
            if not path.is_file():
                raise InvalidInput(f"{path} is not a regular file")
            found.append((validate_relative_path(path.relative_to(root).as_posix()), path))
    if not found:
        raise InvalidInput(f"nothing to register: {root} contains no files")
    return found


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def files_digest(files: Iterable[tuple[str, Path]]) -> str:
    """The digest a version of these (manifest path, file) pairs has: its manifest's."""
    return manifest_digest(
        FileEntry(rel, p.stat().st_size, _hash_file(p), bool(p.stat().st_mode & stat.S_IXUSR))
        for rel, p in files
    )


def _local_digest(path: Path) -> str:
    """sha256 of a file, or the manifest digest of a folder, for data references."""
    if path.is_dir():
        return files_digest(collect_files(path))
    return "sha256:" + _hash_file(path)


def parse_data_ref(value: DataInput) -> DataRef:
    """`URI[#DIGEST]`, a DataRef, or (uri, digest). Local paths get their digest computed."""
    if isinstance(value, DataRef):
        uri, digest = value.uri, value.digest
    elif isinstance(value, tuple):
        uri, digest = value
    else:
        uri, sep, fragment = value.partition("#")
        digest = fragment if sep else None
    if not uri:
        raise InvalidInput("empty data reference")
    if digest is not None:
        digest = _normalise_digest(digest, uri)
    scheme = uri.split("://", 1)[0] if "://" in uri else ""
    if scheme in ("", "file"):
        local = Path(uri[len("file://") :] if scheme else uri).expanduser()
        if not local.exists():
            raise InvalidInput(f"data reference {uri!r}: no such file or folder")
        actual = _local_digest(local)
        if digest is not None and digest != actual:
            raise InvalidInput(f"data reference {uri!r}: digest {digest} does not match {actual}")
        return DataRef(local.resolve().as_uri(), actual)
    return DataRef(uri, digest)


def _normalise_digest(digest: str, uri: str) -> str:
    text = digest.strip().lower()
    algo, sep, hexpart = text.partition(":")
    if not sep:
        algo, hexpart = "sha256", text
    if not algo.isalnum() or not hexpart or any(c not in "0123456789abcdef" for c in hexpart):
        raise InvalidInput(
            f"data reference {uri!r}: invalid digest {digest!r}, expected ALGO:HEX (sha256:...)"
        )
    return f"{algo}:{hexpart}"


def optional_time(value: datetime | str | None, what: str) -> datetime | None:
    """A time argument: ISO text, or a datetime with a time zone (`what` names it in errors)."""
    if value is None:
        return None
    if isinstance(value, str):
        return parse_time(value)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{what} {value.isoformat()} has no time zone")
    return value


def check_signature(signature: Mapping[str, JSONValue] | None) -> dict[str, JSONValue] | None:
    """A signature is a JSON object with `inputs` and/or `outputs` lists of fields."""
    if signature is None:
        return None
    if not isinstance(signature, Mapping):
        raise InvalidInput("signature must be a JSON object with 'inputs' and 'outputs'")
    clean = check_json(signature, "signature")
    unknown = set(clean) - {"inputs", "outputs", "params"}
    if unknown:
        raise InvalidInput(f"signature has unknown keys {sorted(unknown)}")
    for key in ("inputs", "outputs"):
        fields = clean.get(key, [])
        if not isinstance(fields, list) or not all(
            isinstance(f, dict) and isinstance(f.get("type"), str) for f in fields
        ):
            raise InvalidInput(f"signature {key} must be a list of objects with a 'type'")
    return dict(clean)
