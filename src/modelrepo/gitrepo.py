"""Reading and writing Git repositories with the `git` program itself.

Used by the GTO importer (tags, trees and blobs of tagged commits) and by `export --git`
(commits of the exported tree). Everything goes through one runner that refuses to prompt,
speaks the C locale, treats paths literally and turns failures into `InvalidInput`.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from .domain.errors import InvalidInput

# Variables that would point git at another repository than the one we name.
_INHERITED = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY")


def _env(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _INHERITED}
    env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C", GIT_LITERAL_PATHSPECS="1")
    env.update(extra or {})
    return env


def git(
    repo: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    ok_codes: tuple[int, ...] = (0,),
) -> bytes:
    """Run `git -C repo ARGS`; its stdout, or InvalidInput with git's own complaint."""
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            timeout=300,
            check=False,
            env=_env(env),
        )
    except FileNotFoundError:
        raise InvalidInput(
            "git is not installed (needed to read or write Git repositories)"
        ) from None
    except subprocess.TimeoutExpired:
        raise InvalidInput(f"git {args[0]} in {repo} did not finish in 300 s") from None
    if done.returncode not in ok_codes:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        why = lines[-1] if lines else f"exit code {done.returncode}"
        raise InvalidInput(f"git {args[0]} failed in {repo}: {why}")
    return done.stdout


def repo_root(path: Path) -> Path:
    """The top of the work tree containing `path`, or InvalidInput if there is none."""
    if not path.is_dir():
        raise InvalidInput(f"{path} is not a folder")
    try:
        out = git(path, "rev-parse", "--show-toplevel")
    except InvalidInput:
        raise InvalidInput(f"{path} is not a Git repository") from None
    return Path(out.decode().strip())


@dataclass(frozen=True, slots=True)
class TagRef:
    """A tag as Git stores it; `tagger` and `tagged_at` are None for a lightweight tag."""

    name: str
    object: str  # the tag object (annotated) or the commit (lightweight)
    target: str  # the commit (or whatever) the tag points to
    target_type: str
    tagger: str | None
    tagger_email: str | None
    tagged_at: datetime | None
    subject: str

    @property
    def annotated(self) -> bool:
        return self.tagger is not None


_TAG_FORMAT = "%00".join(
    (
        "%(refname:strip=2)",
        "%(objecttype)",
        "%(objectname)",
        "%(*objectname)",
        "%(*objecttype)",
        "%(taggername)",
        "%(taggeremail:trim)",
        "%(taggerdate:iso-strict)",
        "%(contents:subject)",
    )
)


def list_tags(repo: Path) -> list[TagRef]:
    """Every tag of the repository, each with its tagger and time when annotated."""
    out = git(repo, "for-each-ref", f"--format={_TAG_FORMAT}", "refs/tags")
    tags = []
    for line in out.decode("utf-8", errors="replace").splitlines():
        fields = line.split("\x00")
        if len(fields) != 9:
            continue
        name, kind, obj, peeled, peeled_kind, tagger, email, date, subject = fields
        if kind == "tag":
            when = datetime.fromisoformat(date).astimezone(UTC) if date else None
            tags.append(TagRef(name, obj, peeled, peeled_kind, tagger, email, when, subject))
        else:
            tags.append(TagRef(name, obj, obj, kind, None, None, None, subject))
    return tags


def tag_message(repo: Path, tag_object: str) -> str:
    """The full message of an annotated tag (without its signature, if any)."""
    raw = git(repo, "cat-file", "tag", tag_object).decode("utf-8", errors="replace")
    _, _, message = raw.partition("\n\n")
    return message.split("-----BEGIN PGP SIGNATURE-----", 1)[0].strip()


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """A blob of a commit's tree: its mode, object id and path from the repository root."""

    mode: str
    kind: str
    object: str
    path: str


def check_repo_path(path: str, what: str) -> str:
    """A path inside the repository, '/'-separated, that cannot climb out of it."""
    if not isinstance(path, str) or not path.strip():
        raise InvalidInput(f"{what}: empty path")
    if "\x00" in path or "\\" in path:
        raise InvalidInput(f"{what}: path {path!r} has a NUL or a backslash")
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts:
        raise InvalidInput(f"{what}: path {path!r} escapes the repository")
    parts = [p for p in pure.parts if p != "."]
    if not parts:
        raise InvalidInput(f"{what}: path {path!r} is the whole repository")
    return "/".join(parts)


def tree_entries(repo: Path, commit: str, path: str) -> list[TreeEntry]:
    """The entries at or under `path` in `commit` (recursively); empty if it is absent."""
    out = git(repo, "ls-tree", "-r", "-z", "--full-tree", commit, "--", path)
    entries = []
    for record in out.split(b"\x00"):
        if not record:
            continue
        head, _, name = record.partition(b"\t")
        mode, kind, obj = head.decode().split(" ")
        entry_path = name.decode("utf-8", errors="surrogateescape")
        if entry_path != path and not entry_path.startswith(path + "/"):
            continue
        entries.append(TreeEntry(mode, kind, obj, entry_path))
    return entries


def read_blob(repo: Path, commit: str, path: str) -> bytes | None:
    """The content of the regular file `path` in `commit`, or None if there is no such file."""
    entries = tree_entries(repo, commit, path)
    if len(entries) != 1 or entries[0].path != path:
        return None
    entry = entries[0]
    if entry.mode == "120000":
        raise InvalidInput(f"{path} is a symbolic link in commit {commit[:12]}; links are refused")
    if entry.kind != "blob":
        return None
    return git(repo, "cat-file", "blob", entry.object)


def write_blob(repo: Path, obj: str, dest: Path) -> None:
    """Stream a blob into a new file (no whole-file copy in memory)."""
    with open(dest, "xb") as stream:
        try:
            done = subprocess.run(
                ["git", "-C", str(repo), "cat-file", "blob", obj],
                stdout=stream,
                stderr=subprocess.PIPE,
                timeout=300,
                check=False,
                env=_env(None),
            )
        except subprocess.TimeoutExpired:
            raise InvalidInput(f"git cat-file in {repo} did not finish in 300 s") from None
    if done.returncode != 0:
        raise InvalidInput(f"git cat-file failed in {repo}: {done.stderr.decode().strip()}")
