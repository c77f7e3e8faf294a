"""The manifest of a version's files and its digest, in a form anyone can recompute.

Canonical form (format `modelrepo.manifest/1`): a JSON object
`{"files": [...], "format": "modelrepo.manifest/1"}` where each file is
`{"executable": bool, "path": str, "sha256": lowercase hex, "size": int}`; files are sorted by
the UTF-8 bytes of their path; keys are sorted; no whitespace (separators `,` and `:`); non-ASCII
characters are written as themselves in UTF-8. The version digest is `sha256:` followed by the
lowercase hex SHA-256 of those bytes. See docs/concepts.md for a one-line recomputation.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .canonical import canonical_bytes
from .errors import InvalidInput

MANIFEST_FORMAT = "modelrepo.manifest/1"
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file of a version: where it sits in the tree and what its bytes hash to."""

    path: str
    size: int
    sha256: str
    executable: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "size": self.size,
            "sha256": self.sha256,
            "executable": self.executable,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FileEntry:
        return cls(str(raw["path"]), int(raw["size"]), str(raw["sha256"]), bool(raw["executable"]))


MAX_NAME_BYTES = 255
"""The longest step of a file path, in UTF-8 bytes: what file systems accept."""
MAX_PATH_BYTES = 1024
"""The longest file path in a version: room left for the folder it is unpacked into."""


def check_file_name(name: str, what: str = "file name", *, whole: bool = False) -> str:
    """A name the OS will see: no NUL, at most `MAX_NAME_BYTES` (with `whole`, a '/'-separated
    path of at most `MAX_PATH_BYTES`, each step at most `MAX_NAME_BYTES`). Checked here so
    the OS never answers with an error that names the server's folders."""
    if "\x00" in name:
        raise InvalidInput(f"invalid {what} {_shown(name)!r}: NUL is not allowed")
    size = len(name.encode("utf-8", "surrogatepass"))
    steps = name.split("/") if whole else [name]
    if (whole and size > MAX_PATH_BYTES) or any(
        len(step.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for step in steps
    ):
        limit = (
            f"at most {MAX_PATH_BYTES} bytes, {MAX_NAME_BYTES} per step"
            if whole
            else (f"at most {MAX_NAME_BYTES} bytes")
        )
        raise InvalidInput(f"invalid {what} {_shown(name)!r}: {limit}")
    return name


def _shown(text: str) -> str:
    return text if len(text) <= 80 else text[:60] + "..."


def validate_relative_path(path: str) -> str:
    """A manifest path: relative, '/'-separated, no '.', '..', empty parts, NUL or backslash,
    no step longer than a file system takes (so a name fails here, not in the OS)."""
    if not isinstance(path, str) or not path:
        raise InvalidInput("empty file path in manifest")
    if "\x00" in path or "\\" in path:
        raise InvalidInput(f"invalid file path {path!r}: NUL and backslash are not allowed")
    check_file_name(path, "file path", whole=True)
    if path.startswith("/"):
        raise InvalidInput(f"invalid file path {path!r}: must be relative")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise InvalidInput(f"invalid file path {path!r}: '.', '..' and empty parts are not allowed")
    return path


class PathTree:
    """The paths of one version's files as they are named one by one (an upload, an
    archive): none may be given twice, or be a file and also a folder of another (`a` and
    `a/b`). Each check costs the depth of the path, not the number seen so far."""

    def __init__(self) -> None:
        self.files: set[str] = set()
        self.dirs: set[str] = set()

    def add(self, path: str, *, is_dir: bool = False) -> bool:
        """Record `path` (a checked relative path); False, recording nothing, if it clashes."""
        parents = {"/".join(path.split("/")[:i]) for i in range(1, path.count("/") + 1)}
        if path in self.files or (not is_dir and path in self.dirs) or parents & self.files:
            return False
        (self.dirs if is_dir else self.files).add(path)
        self.dirs |= parents
        return True


def validate_sha256(hex_digest: str) -> str:
    """A bare lowercase SHA-256 hex string."""
    if not isinstance(hex_digest, str) or not _HEX64.fullmatch(hex_digest):
        raise InvalidInput(f"invalid sha256 {hex_digest!r}: expected 64 lowercase hex characters")
    return hex_digest


def sorted_entries(files: Iterable[FileEntry]) -> tuple[FileEntry, ...]:
    """Files in canonical order, refusing duplicate paths and malformed entries."""
    entries = sorted(files, key=lambda f: f.path.encode("utf-8"))
    seen: set[str] = set()
    for entry in entries:
        validate_relative_path(entry.path)
        validate_sha256(entry.sha256)
        if entry.size < 0:
            raise InvalidInput(f"negative size for {entry.path!r}")
        if entry.path in seen:
            raise InvalidInput(f"duplicate file path {entry.path!r} in manifest")
        seen.add(entry.path)
    return tuple(entries)


def canonical_manifest(files: Iterable[FileEntry]) -> bytes:
    """The exact bytes whose SHA-256 is the version digest."""
    document = {
        "files": [entry.to_dict() for entry in sorted_entries(files)],
        "format": MANIFEST_FORMAT,
    }
    return canonical_bytes(document)


def manifest_digest(files: Iterable[FileEntry]) -> str:
    """`sha256:<hex>` over the canonical manifest: the identity of a version's content."""
    return "sha256:" + hashlib.sha256(canonical_manifest(files)).hexdigest()
