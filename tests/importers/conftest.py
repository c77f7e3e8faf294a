"""Helpers for the importer tests: the digest of a folder, recomputed independently."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def folder_digest(root: Path) -> str:
    """The manifest digest of docs/concepts.md, with the standard library only."""
    files = []
    for p in sorted(root.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            files.append(
                {
                    "executable": bool(p.stat().st_mode & 0o100),
                    "path": p.relative_to(root).as_posix(),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "size": len(data),
                }
            )
    files.sort(key=lambda f: f["path"].encode())
    doc = {"files": files, "format": "modelrepo.manifest/1"}
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(raw.encode()).hexdigest()
