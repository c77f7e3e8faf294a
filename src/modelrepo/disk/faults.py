"""The words for a store's disk failing, shared by the SQLite store and the blob folder: a
full disk must say so (with what is free), and a folder that cannot be written says which."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..domain.errors import StoreDamaged, StoreFull, StoreReadOnly

LOW_SPACE = 1 << 20
"""Below this much free space, an I/O error on the store is taken for a full disk: SQLite
reports a full disk as a plain "disk I/O error" when the write that failed was to its
shared-memory file or a journal's."""


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    return f"{n / 1024:.0f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.0f} MiB"


def free_space(folder: Path) -> int | None:
    """Bytes free on the disk holding `folder` (None if it cannot be told)."""
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def full(folder: Path, free: int | None = None) -> StoreFull:
    """The error for a full disk under `folder`."""
    free = free_space(folder) if free is None else free
    shown = "no space left" if free is None else f"{_size(free)} free"
    return StoreFull(f"the disk holding {folder} is full ({shown}); free space and retry")


def writable(folder: Path) -> bool:
    """Whether this process may create files in `folder` (false on a read-only mount, even
    for root, who passes every permission check)."""
    return os.access(folder, os.W_OK | os.X_OK)


def why_read_only(folder: Path) -> str:
    """Why `folder` cannot be written: its file system, or its permissions."""
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "read-only file system"
    except OSError:
        pass
    return "permission denied"


def read_only(folder: Path, why: str) -> StoreReadOnly:
    return StoreReadOnly(
        f"cannot write to the store folder {folder} ({why}); make it writable "
        "(remount it read-write, or fix its owner or mode) and retry"
    )


def missing_blob_folder(folder: Path) -> StoreDamaged:
    return StoreDamaged(
        f"the store's blob folder {folder} is missing (deleted or moved?): put it back, or "
        "create it empty and run 'modelrepo fsck' to list the files that are lost"
    )
