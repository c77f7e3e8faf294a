"""Unpacking a version sent as one tar or zip archive, refusing anything that could escape.

Every member is checked before a byte is written: a relative path without `..`, NUL or
backslash (`validate_relative_path`), a regular file or a folder (no symbolic or hard links,
devices or FIFOs), no name given twice, and limits on the member count and the total
uncompressed size (a zip bomb stops at the limit, not at the disk's end). Tar members are then
extracted with the standard library's `data` filter as a second guard. Whatever is refused
leaves nothing behind: the caller extracts into a fresh staging folder it removes on error.
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .domain.errors import InvalidInput
from .domain.manifest import PathTree, validate_relative_path

CHUNK = 1 << 20


@dataclass(frozen=True)
class ArchiveLimits:
    """How much one archive may unpack to: members (files and folders) and total bytes."""

    members: int = 100_000
    total_bytes: int = 64 * (1 << 30)


@dataclass(frozen=True)
class _Member:
    path: str
    is_dir: bool
    size: int
    executable: bool


class _Plan:
    """The members seen so far, checked against each other and the limits."""

    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits = limits
        self.members: list[_Member] = []
        self.paths = PathTree()
        self.total = 0

    def add(self, raw_name: str, *, is_dir: bool, size: int, executable: bool) -> _Member | None:
        """The member, checked; None for the archive's own top folder (`./`)."""
        name = raw_name[:-1] if is_dir and raw_name.endswith("/") else raw_name
        if name.startswith("./"):  # `tar -C dir .` writes ./a, ./b: the same relative paths
            name = name[2:]
        if is_dir and name in ("", "."):
            return None
        path = _checked_name(name, raw_name)
        if len(self.members) >= self.limits.members:
            raise InvalidInput(f"archive has more than {self.limits.members} members")
        self.total += max(0, size)
        if self.total > self.limits.total_bytes:
            raise InvalidInput(
                f"archive unpacks to more than {self.limits.total_bytes} bytes: refused"
            )
        if not self.paths.add(path, is_dir=is_dir):
            raise InvalidInput(f"archive member {raw_name!r} is given twice or is also a folder")
        member = _Member(path, is_dir, size, executable)
        self.members.append(member)
        return member


def _checked_name(name: str, raw_name: str) -> str:
    if not name or name == ".":
        raise InvalidInput(f"invalid archive member {raw_name!r}: empty name")
    try:
        return validate_relative_path(name)
    except InvalidInput as exc:
        raise InvalidInput(f"archive member {raw_name!r} refused: {exc}") from None


def extract(archive: Path, dest: Path, limits: ArchiveLimits | None = None) -> list[str]:
    """Unpack `archive` (tar, optionally compressed, or zip) into the empty folder `dest`;
    returns the files' paths. InvalidInput, before anything is written, for a hostile one."""
    limits = limits or ArchiveLimits()
    if zipfile.is_zipfile(archive):
        return _extract_zip(archive, dest, limits)
    try:
        is_tar = tarfile.is_tarfile(archive)
    except (OSError, EOFError, tarfile.TarError):
        is_tar = False
    if not is_tar:
        raise InvalidInput("the upload is not a tar or zip archive")
    return _extract_tar(archive, dest, limits)


def _extract_tar(archive: Path, dest: Path, limits: ArchiveLimits) -> list[str]:
    plan = _Plan(limits)
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            chosen: list[tarfile.TarInfo] = []
            # One member at a time, so a bomb stops at the limit instead of being read whole.
            while (info := tar.next()) is not None:
                if "\x00" in info.name:
                    raise InvalidInput(f"archive member {info.name!r} refused: NUL in its name")
                if not (info.isreg() or info.isdir()):
                    kind = "link" if info.issym() or info.islnk() else "special file"
                    raise InvalidInput(f"archive member {info.name!r} refused: a {kind}")
                member = plan.add(
                    info.name,
                    is_dir=info.isdir(),
                    size=info.size if info.isreg() else 0,
                    executable=bool(info.mode & stat.S_IXUSR),
                )
                if member is not None:
                    info.name = member.path
                    chosen.append(info)
            tar.extractall(dest, members=chosen, filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise InvalidInput(
            f"the tar archive cannot be read: {_reason(exc, archive, dest)}"
        ) from None
    return sorted(m.path for m in plan.members if not m.is_dir)


def _extract_zip(archive: Path, dest: Path, limits: ArchiveLimits) -> list[str]:
    plan = _Plan(limits)
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            if len(infos) > limits.members:
                raise InvalidInput(f"archive has more than {limits.members} members")
            chosen: list[tuple[zipfile.ZipInfo, _Member]] = []
            for info in infos:
                if info.flag_bits & 0x1:
                    raise InvalidInput(f"archive member {info.filename!r} refused: encrypted")
                mode = info.external_attr >> 16
                kind = stat.S_IFMT(mode)
                if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                    what = "link" if kind == stat.S_IFLNK else "special file"
                    raise InvalidInput(f"archive member {info.filename!r} refused: a {what}")
                member = plan.add(
                    info.filename,
                    is_dir=info.is_dir(),
                    size=0 if info.is_dir() else info.file_size,
                    executable=bool(mode & stat.S_IXUSR),
                )
                if member is not None:
                    chosen.append((info, member))
            for info, member in chosen:
                target = dest.joinpath(*member.path.split("/"))
                if member.is_dir:
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as source, open(target, "xb") as out:
                    _copy_at_most(source, out, member.size, member.path)
                if member.executable:
                    target.chmod(target.stat().st_mode | stat.S_IXUSR)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise InvalidInput(
            f"the zip archive cannot be read: {_reason(exc, archive, dest)}"
        ) from None
    return sorted(m.path for m in plan.members if not m.is_dir)


def _reason(exc: BaseException, archive: Path, dest: Path) -> str:
    """Why unpacking failed, in words that name no server folder: an OS error by its reason
    alone, any other message with the staging paths taken out (members are named as the
    archive names them)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc)
    for folder in (str(dest), str(archive), str(dest.parent)):
        text = text.replace(folder + "/", "").replace(folder, "the archive")
    return text


def _copy_at_most(source: IO[bytes], out: IO[bytes], size: int, path: str) -> None:
    """Copy a member, refusing one that unpacks to more than it declared."""
    left = size
    while block := source.read(min(CHUNK, left + 1)):
        left -= len(block)
        if left < 0:
            raise InvalidInput(f"archive member {path!r} is larger than it declares")
        out.write(block)


def extract_to_staging(archive: Path, staging: Path, limits: ArchiveLimits | None) -> Path:
    """`extract` into `staging/version` (created here); on refusal that folder is removed."""
    root = staging / "version"
    root.mkdir()
    try:
        extract(archive, root, limits)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    if not any(root.iterdir()):
        raise InvalidInput("the archive holds no files")
    return root


def is_archive(path: Path) -> bool:
    """Whether `path` looks like a zip or tar archive (by its bytes, not its name)."""
    if zipfile.is_zipfile(path):
        return True
    try:
        return tarfile.is_tarfile(path)
    except (OSError, EOFError, tarfile.TarError):
        return False
