"""DVC's own files, read without DVC: `dvc.lock`, `*.dvc`, its config and its cache layout.

What a version was made from, as DVC recorded it: every dependency of every stage in
`dvc.lock` and every output of a `.dvc` file, each with the MD5 that DVC computed. A data
reference is `dvc://PATH` (the path from the repository root) with the digest `md5:HEX`, or
`md5dir:HEX` for a folder (DVC's `.dir` listing). Content is found, when it can be, in the
local cache or in a default remote that is a folder (`files/md5/AB/CDEF...`, or the DVC 2
layout `AB/CDEF...`), and used only if its MD5 matches.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .domain.errors import InvalidInput
from .domain.model import DataRef
from .gitrepo import check_repo_path

_MD5 = re.compile(r"[0-9a-f]{32}(\.dir)?")
# Folders never searched for `.dvc` files: DVC's own, Git's, and this project's store.
_SKIP_DIRS = {".git", ".dvc", ".modelrepo", "node_modules", ".venv", "__pycache__"}


def load_yaml(text: str | bytes, where: str) -> Any:
    """Parse YAML safely (no tags that build objects); InvalidInput naming the file."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InvalidInput(f"{where} is not valid YAML: {problem}{at}") from None


@dataclass(frozen=True, slots=True)
class DvcEntry:
    """A file or folder DVC tracks: its repository path and the MD5 it recorded."""

    path: str
    md5: str  # 32 hex digits, with ".dir" for a folder
    where: str  # the file that recorded it

    @property
    def is_dir(self) -> bool:
        return self.md5.endswith(".dir")

    def data_ref(self) -> DataRef:
        if self.is_dir:
            return DataRef(f"dvc://{self.path}", "md5dir:" + self.md5[:-4])
        return DataRef(f"dvc://{self.path}", "md5:" + self.md5)


def _entry(raw: Any, base: str, where: str) -> DvcEntry | None:
    if not isinstance(raw, dict) or "path" not in raw:
        raise InvalidInput(f"{where}: every entry needs a path")
    md5 = raw.get("md5")
    if md5 is None:  # e.g. a remote dependency DVC could not hash, or a frozen import
        return None
    if not isinstance(md5, str) or not _MD5.fullmatch(md5):
        raise InvalidInput(f"{where}: {raw['path']!r} has an invalid md5 {md5!r}")
    joined = str(PurePosixPath(base, str(raw["path"]))) if base else str(raw["path"])
    return DvcEntry(check_repo_path(joined, where), md5, where)


def dvc_file_outs(doc: Any, base: str, where: str) -> list[DvcEntry]:
    """The outputs of a `.dvc` file; paths are relative to the folder holding it."""
    if not isinstance(doc, dict) or not isinstance(doc.get("outs"), list):
        raise InvalidInput(f"{where} is not a .dvc file: it has no 'outs' list")
    return [e for raw in doc["outs"] if (e := _entry(raw, base, where)) is not None]


def lock_deps(doc: Any, base: str, where: str, *, outs: bool = False) -> list[DvcEntry]:
    """Every stage's dependencies in a `dvc.lock` (and its outputs too, if asked)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("stages"), dict):
        raise InvalidInput(f"{where} is not a dvc.lock: it has no 'stages' mapping")
    found = []
    for name, stage in doc["stages"].items():
        if not isinstance(stage, dict):
            raise InvalidInput(f"{where}: stage {name!r} is not a mapping")
        for key in ("deps", "outs") if outs else ("deps",):
            for raw in stage.get(key) or ():
                entry = _entry(raw, base, f"{where} stage {name}")
                if entry is not None:
                    found.append(entry)
    return found


def _tracking_files(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(files):
            if name == "dvc.lock" or name.endswith(".dvc"):
                yield Path(folder, name)


def work_tree_lineage(root: Path) -> list[DataRef]:
    """The data lineage DVC recorded in the work tree at `root`: dvc.lock deps and .dvc outs.

    Sorted by path and de-duplicated; InvalidInput if there is no DVC file at all.
    """
    entries: list[DvcEntry] = []
    seen_any = False
    for path in _tracking_files(root):
        if path.is_symlink():
            raise InvalidInput(f"{path} is a symbolic link; DVC files are read only as files")
        seen_any = True
        rel = path.relative_to(root).as_posix()
        base = PurePosixPath(rel).parent.as_posix()
        base = "" if base == "." else base
        doc = load_yaml(path.read_bytes(), rel)
        if path.name == "dvc.lock":
            entries.extend(lock_deps(doc, base, rel))
        else:
            entries.extend(dvc_file_outs(doc, base, rel))
    if not seen_any:
        raise InvalidInput(f"--dvc: no dvc.lock or .dvc file in {root}")
    return unique_refs(e.data_ref() for e in entries)


def unique_refs(refs: Iterable[DataRef]) -> list[DataRef]:
    return sorted(set(refs), key=lambda r: (r.uri, r.digest or ""))


# -- content from the cache or a folder remote ------------------------------------------------


def folder_remote(config_text: str | None, dvc_dir: Path) -> Path | None:
    """The default remote of a `.dvc/config`, when it is a folder on this machine."""
    if not config_text:
        return None
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(config_text)
    except configparser.Error:
        return None
    default = parser.get("core", "remote", fallback=None)
    if not default:
        return None
    for section in parser.sections():
        match = re.fullmatch(r"""'?remote\s+"(.+)"'?""", section.strip())
        if match and match.group(1) == default:
            url = parser.get(section, "url", fallback="")
            if url.startswith("file://"):
                url = url[len("file://") :]
            elif "://" in url or not url:
                return None  # s3://, gs://, ssh://, http://...: not reached here
            folder = (dvc_dir / url).resolve()
            return folder if folder.is_dir() else None
    return None


def _candidates(md5: str, stores: Iterable[Path]) -> Iterator[Path]:
    for store in stores:
        yield store / "files" / "md5" / md5[:2] / md5[2:]
        yield store / md5[:2] / md5[2:]


def _md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _find(md5: str, stores: list[Path]) -> Path | None:
    """A stored copy whose bytes hash to `md5` (a `.dir` listing is stored with its suffix)."""
    for path in _candidates(md5, stores):
        if path.is_file() and not path.is_symlink() and _md5_of(path) == md5.removesuffix(".dir"):
            return path
    return None


def fetch(entry: DvcEntry, stores: list[Path], dest: Path) -> bool:
    """Copy the content DVC tracks for `entry` to `dest` (a file, or a folder for `.dir`).

    Every file must be found with a matching MD5; otherwise nothing is left at `dest` and
    the answer is False.
    """
    if not entry.is_dir:
        found = _find(entry.md5, stores)
        if found is None:
            return False
        shutil.copyfile(found, dest)
        return True
    listing = _find(entry.md5, stores)
    if listing is None:
        return False
    try:
        items = json.loads(listing.read_text(encoding="utf-8"))
        pairs = [(str(item["relpath"]), str(item["md5"])) for item in items]
    except (ValueError, KeyError, TypeError):
        return False
    dest.mkdir(parents=True, exist_ok=True)
    try:
        for relpath, md5 in pairs:
            safe = check_repo_path(relpath, f"{entry.path} listing")
            found = _find(md5, stores) if _MD5.fullmatch(md5) else None
            if found is None:
                raise LookupError(relpath)
            target = dest / safe
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(found, target)
    except LookupError:
        shutil.rmtree(dest, ignore_errors=True)
        return False
    return True
