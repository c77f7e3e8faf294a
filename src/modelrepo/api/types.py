"""Values the registry takes and returns, the same from an embedded store and a server."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..domain.model import DataRef
from ..ports import BlobInfo, BlobWriter, FileReference, Progress

ProgressFactory = Callable[[str, int], Progress]
"""Given a file's path and size, returns the callback that is fed bytes moved."""

DataInput = DataRef | str | tuple[str, str | None]
"""A data reference as given: `URI[#DIGEST]`, a DataRef, or (uri, digest)."""


@dataclass(frozen=True)
class StagedFile:
    """One file of an upload for `Registry.register_stored`: its bytes if small, else a
    writer of the store's blobs that has them staged."""

    path: str
    content: bytes | BlobWriter
    executable: bool = False


@dataclass
class FsckReport:
    """What `fsck` found; `ok` means every referenced blob is present and intact."""

    blobs_checked: int = 0
    bytes_checked: int = 0
    missing: list[FileReference] = field(default_factory=list)
    corrupt: list[FileReference] = field(default_factory=list)
    orphaned: list[BlobInfo] = field(default_factory=list)
    partials: list[BlobInfo] = field(default_factory=list)
    too_open: list[tuple[str, int]] = field(default_factory=list)
    """(path in the store folder, permission bits) of what others than the store's owner
    (or group) may read or write: decision inputs are personal data."""

    @property
    def ok(self) -> bool:
        return not self.missing and not self.corrupt

    def to_dict(self) -> dict[str, Any]:
        def ref(r: FileReference) -> dict[str, Any]:
            return {
                "model": r.model,
                "version": r.version,
                "path": r.path,
                "sha256": r.sha256,
                "size": r.size,
            }

        return {
            "ok": self.ok,
            "blobs_checked": self.blobs_checked,
            "bytes_checked": self.bytes_checked,
            "missing": [ref(r) for r in self.missing],
            "corrupt": [ref(r) for r in self.corrupt],
            "orphaned": [{"sha256": b.sha256, "size": b.size} for b in self.orphaned],
            "partial_uploads": [{"name": b.sha256, "size": b.size} for b in self.partials],
            "too_open": [{"path": p, "mode": f"{m:04o}"} for p, m in self.too_open],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FsckReport:
        """The inverse of `to_dict` (a server's answer)."""

        def ref(r: Mapping[str, Any]) -> FileReference:
            return FileReference(
                r["model"], int(r["version"]), r["path"], r["sha256"], int(r["size"])
            )

        return cls(
            blobs_checked=int(data["blobs_checked"]),
            bytes_checked=int(data["bytes_checked"]),
            missing=[ref(r) for r in data["missing"]],
            corrupt=[ref(r) for r in data["corrupt"]],
            orphaned=[BlobInfo(b["sha256"], int(b["size"])) for b in data["orphaned"]],
            partials=[BlobInfo(b["name"], int(b["size"])) for b in data["partial_uploads"]],
            too_open=[(e["path"], int(e["mode"], 8)) for e in data.get("too_open", [])],
        )


@dataclass
class GcReport:
    """What `gc` removed (or, in a dry run, would remove)."""

    dry_run: bool
    blobs_removed: int = 0
    bytes_freed: int = 0
    partials_removed: int = 0
    uploads_removed: int = 0
    """Resumable upload sessions that lapsed, with everything they held."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "blobs_removed": self.blobs_removed,
            "bytes_freed": self.bytes_freed,
            "partial_uploads_removed": self.partials_removed,
            "upload_sessions_removed": self.uploads_removed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GcReport:
        return cls(
            dry_run=bool(data["dry_run"]),
            blobs_removed=int(data["blobs_removed"]),
            bytes_freed=int(data["bytes_freed"]),
            partials_removed=int(data["partial_uploads_removed"]),
            uploads_removed=int(data.get("upload_sessions_removed", 0)),
        )
