"""Creating a store's folders and files with the store's mode (`domain.permissions`),
whatever the umask: each is created no wider than the mode, then given exactly that mode."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from ..domain.permissions import PRIVATE, StoreMode, mode_of_store


def store_mode(folder: Path) -> StoreMode:
    """The policy of the store in `folder` (private if it does not exist yet)."""
    try:
        return mode_of_store(folder.stat().st_mode)
    except FileNotFoundError:
        return PRIVATE


def make_folder(path: Path, mode: StoreMode) -> None:
    """Create `path` (and missing parents inside it) with the store's folder mode; an
    existing folder is left as it is (`fsck` reports one that is too open)."""
    if path.is_dir():
        return
    if not path.parent.exists():
        make_folder(path.parent, mode)
    try:
        path.mkdir(mode=mode.folder & 0o777)
    except FileExistsError:
        return
    os.chmod(path, mode.folder)  # mkdir is subject to the umask, and drops set-group-ID


def open_new(path: Path, flags: int, mode: int) -> int:
    """`os.open(path, flags | O_CREAT)`; a file this call creates gets exactly `mode`."""
    fd = os.open(path, flags | os.O_CREAT, mode & 0o777)
    try:
        info = os.fstat(fd)
        if stat.S_IMODE(info.st_mode) != mode and info.st_uid == os.geteuid():
            os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


def create_file(path: Path, mode: int) -> bool:
    """Create the empty file `path` with `mode` if it does not exist; whether this call made
    it (another process may have, at the same moment)."""
    try:
        os.close(open_new(path, os.O_WRONLY | os.O_EXCL, mode))
    except FileExistsError:
        return False
    return True


def seal_tree(root: Path, mode: StoreMode) -> None:
    """Give a tree written once inside the store (a cached copy of a version) the store's
    modes: folders `mode.folder`, files `mode.sealed` (with execute where the owner had it).
    Entries another user owns (a group store's) are theirs to set."""
    me = os.geteuid()
    for folder, _dirs, files in os.walk(root):
        base = Path(folder)
        if base.lstat().st_uid == me:
            os.chmod(base, mode.folder)
        for name in files:
            path = base / name
            info = path.lstat()
            if stat.S_ISREG(info.st_mode) and info.st_uid == me:
                execute = (mode.sealed >> 2) & 0o111 if info.st_mode & stat.S_IXUSR else 0
                os.chmod(path, mode.sealed | execute)


def too_open(root: Path, mode: StoreMode) -> Iterator[tuple[str, int]]:
    """(path relative to `root`, permission bits) of every folder and file under `root`,
    `root` included, whose permissions are wider than `mode` allows. Links are not
    followed."""
    entries = [(root, ".")]
    for folder, dirs, files in os.walk(root):
        base = Path(folder)
        entries += [(base / n, (base / n).relative_to(root).as_posix()) for n in (*dirs, *files)]
    for path, relative in entries:
        try:
            info = path.lstat()
        except FileNotFoundError:  # removed while walking (a finished upload)
            continue
        if not stat.S_ISLNK(info.st_mode) and mode.excess(info.st_mode):
            yield relative, stat.S_IMODE(info.st_mode)


def write_whole(path: Path, data: bytes, mode: int) -> None:
    """Replace `path` with `data` whole or not at all: written beside it with `mode`,
    synced, renamed into place, and the rename synced."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = open_new(tmp, os.O_WRONLY | os.O_TRUNC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (renames, new files) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
