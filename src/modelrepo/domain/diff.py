"""What changed between two versions: metadata, params, metrics and files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .model import ModelVersion

TEXT_SUFFIXES = (
    ".json", ".csv", ".tsv", ".txt", ".yaml", ".yml", ".toml", ".md", ".ini", ".cfg", ".py",
    ".xml", ".jsonl", ".sql", ".r", ".pmml",
)  # fmt: skip
MAX_TEXT_DIFF_BYTES = 1 << 20


@dataclass(frozen=True)
class Change:
    """A value that differs: `old` is None when added, `new` is None when removed."""

    old: Any
    new: Any

    def to_dict(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new}


@dataclass(frozen=True)
class VersionDiff:
    """A structured comparison of version `a` to version `b`."""

    a: str
    b: str
    same_content: bool
    metadata: dict[str, Change] = field(default_factory=dict)
    params: dict[str, Change] = field(default_factory=dict)
    metrics: dict[str, Change] = field(default_factory=dict)
    tags: dict[str, Change] = field(default_factory=dict)
    files_added: list[str] = field(default_factory=list)
    files_removed: list[str] = field(default_factory=list)
    files_modified: list[str] = field(default_factory=list)
    files_unchanged: int = 0
    text_diffs: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "same_content": self.same_content,
            "metadata": {k: c.to_dict() for k, c in self.metadata.items()},
            "params": {k: c.to_dict() for k, c in self.params.items()},
            "metrics": {k: {**c.to_dict(), "delta": _delta(c)} for k, c in self.metrics.items()},
            "tags": {k: c.to_dict() for k, c in self.tags.items()},
            "files": {
                "added": self.files_added,
                "removed": self.files_removed,
                "modified": self.files_modified,
                "unchanged": self.files_unchanged,
            },
            "text_diffs": self.text_diffs,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VersionDiff:
        """The inverse of `to_dict` (metric deltas are derived, so they are not read)."""

        def changes(key: str) -> dict[str, Change]:
            return {k: Change(c["old"], c["new"]) for k, c in data.get(key, {}).items()}

        files = data.get("files", {})
        return cls(
            a=data["a"],
            b=data["b"],
            same_content=bool(data["same_content"]),
            metadata=changes("metadata"),
            params=changes("params"),
            metrics=changes("metrics"),
            tags=changes("tags"),
            files_added=list(files.get("added", [])),
            files_removed=list(files.get("removed", [])),
            files_modified=list(files.get("modified", [])),
            files_unchanged=int(files.get("unchanged", 0)),
            text_diffs=dict(data.get("text_diffs", {})),
        )


def _delta(change: Change) -> float | None:
    if isinstance(change.old, (int, float)) and isinstance(change.new, (int, float)):
        return float(change.new) - float(change.old)
    return None


def _mapping_changes(old: Any, new: Any) -> dict[str, Change]:
    keys = sorted(set(old) | set(new))
    return {
        k: Change(old.get(k), new.get(k))
        for k in keys
        if k not in old or k not in new or old[k] != new[k]
    }


def diff_versions(a: ModelVersion, b: ModelVersion) -> VersionDiff:
    """Compare two versions' records (file contents are compared by digest only here)."""
    meta_a = {
        "digest": a.digest,
        "flavor": a.flavor,
        "description": a.description,
        "created_by": a.created_by,
        "signature": a.signature,
        "lineage.data": [d.to_dict() for d in a.lineage.data],
        "lineage.code": a.lineage.code.to_dict() if a.lineage.code else None,
        "deprecated": a.deprecated,
    }
    meta_b = {
        "digest": b.digest,
        "flavor": b.flavor,
        "description": b.description,
        "created_by": b.created_by,
        "signature": b.signature,
        "lineage.data": [d.to_dict() for d in b.lineage.data],
        "lineage.code": b.lineage.code.to_dict() if b.lineage.code else None,
        "deprecated": b.deprecated,
    }
    files_a = {f.path: f for f in a.files}
    files_b = {f.path: f for f in b.files}
    modified = sorted(
        p
        for p in files_a.keys() & files_b.keys()
        if (files_a[p].sha256, files_a[p].executable) != (files_b[p].sha256, files_b[p].executable)
    )
    return VersionDiff(
        a=a.ref,
        b=b.ref,
        same_content=a.digest == b.digest,
        metadata=_mapping_changes(meta_a, meta_b),
        params=_mapping_changes(a.params, b.params),
        metrics=_mapping_changes(a.metrics, b.metrics),
        tags=_mapping_changes(a.tags, b.tags),
        files_added=sorted(files_b.keys() - files_a.keys()),
        files_removed=sorted(files_a.keys() - files_b.keys()),
        files_modified=modified,
        files_unchanged=len(files_a.keys() & files_b.keys()) - len(modified),
    )


def looks_textual(path: str) -> bool:
    """Files worth a line diff: known text formats."""
    return path.lower().endswith(TEXT_SUFFIXES)


def unified_text_diff(path: str, old: bytes, new: bytes, a: str, b: str) -> str | None:
    """A unified diff of two UTF-8 texts, or None if either is not text."""
    import difflib  # only when a text diff is asked for

    try:
        old_text = old.decode("utf-8")
        new_text = new.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = difflib.unified_diff(
        old_text.splitlines(keepends=True),
        new_text.splitlines(keepends=True),
        fromfile=f"{a}/{path}",
        tofile=f"{b}/{path}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
