"""`export --git`: the registry as a Git-friendly text tree, committed when it changed.

One folder per model under `models/` (named by `domain.names.file_name`: the model's name
when it is a plain lowercase one, else a safe name with a hash of it; `model.json` holds the
name itself): `model.json`, one `versions/N.json` per version (its
full record and its tag and deprecation history), the files of a `text-coefficients`
version as text under `versions/N/`, `deployments.json` (every event, in effective order),
`environments.json` and `requests.json`. Everything is JSON with sorted keys and two-space
indents, and carries only the registry's own times, so exporting an unchanged registry
writes the same bytes: no diff and no commit. Files no longer wanted inside a model folder
(the text of a deleted version) are removed; nothing else in the folder is touched.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .domain.errors import InvalidInput
from .domain.names import file_name
from .flavors.coefficients import FILE as COEFFICIENTS_FILE
from .gitrepo import git

if TYPE_CHECKING:
    from .registry import Registry

FORMAT = "modelrepo-git-export/1"
DEFAULT_AUTHOR = "modelrepo <modelrepo@localhost>"
INDEX = "modelrepo-export.json"


def _json(document: Any) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def export_tree(reg: Registry) -> dict[str, bytes]:
    """Every file of the export, by path: a pure function of the registry's content."""
    files: dict[str, bytes] = {}
    models = reg.models()
    files[INDEX] = _json({"format": FORMAT, "models": [m.name for m in models]})
    for model in models:
        base = f"models/{file_name(model.name)}"
        record = model.to_dict()
        record["changes"] = [e.to_dict() for e in reg.model_events(model.name)]
        files[f"{base}/model.json"] = _json(record)
        for version in reg.versions(model.name, include_deleted=True):
            record = version.to_dict()
            record["changes"] = [e.to_dict() for e in reg.events(model.name, version.version)]
            files[f"{base}/versions/{version.version}.json"] = _json(record)
            if version.flavor == "text-coefficients" and version.deleted_at is None:
                for entry in version.files:
                    if entry.path == COEFFICIENTS_FILE:
                        content = reg.read_file(model.name, version.version, entry.path)
                        files[f"{base}/versions/{version.version}/{entry.path}"] = content
        files[f"{base}/deployments.json"] = _json([e.to_dict() for e in reg.history(model.name)])
        files[f"{base}/environments.json"] = _json(
            [e.to_dict() for e in sorted(reg.environments(model.name), key=lambda e: e.name)]
        )
        files[f"{base}/requests.json"] = _json([r.to_dict() for r in reg.requests(model.name)])
    return files


def parse_author(text: str) -> tuple[str, str]:
    """`NAME <EMAIL>` -> (NAME, EMAIL)."""
    name, sep, rest = text.strip().partition("<")
    email = rest.rstrip().removesuffix(">")
    if not sep or not name.strip() or not email or "<" in email or ">" in email:
        raise InvalidInput(f"invalid author {text!r}: expected 'NAME <EMAIL>'")
    return name.strip(), email.strip()


@dataclass
class ExportResult:
    """Where the export went, which files changed, and the commit made (None if none)."""

    path: str
    commit: str | None
    changed: list[str] = field(default_factory=list)
    files: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "commit": self.commit,
            "changed": self.changed,
            "files": self.files,
        }


def _no_links(root: Path, rel: str) -> Path:
    """`root/rel`, refusing a symbolic link anywhere on the way (it could lead outside)."""
    path = root
    for part in rel.split("/"):
        path = path / part
        if path.is_symlink():
            raise InvalidInput(f"{path} is a symbolic link; the export does not follow links")
    return path


def _write(path: Path, content: bytes) -> None:
    """Replace `path` atomically, and only if its bytes differ."""
    if path.is_file() and path.read_bytes() == content:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".export-")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export_git(
    reg: Registry,
    dest: str | os.PathLike[str],
    *,
    author: str = DEFAULT_AUTHOR,
    message: str | None = None,
) -> ExportResult:
    """Write the export tree into the Git repository `dest` (created if absent) and commit
    what changed as `author`; commit nothing when nothing changed."""
    name, email = parse_author(author)
    root = Path(dest)
    if root.exists() and not root.is_dir():
        raise InvalidInput(f"{root} is not a folder")
    files = export_tree(reg)
    root.mkdir(parents=True, exist_ok=True)
    if not (root / ".git").exists():
        git(root, "init", "-q")
    owned = {INDEX} | {p.split("/", 2)[0] + "/" + p.split("/", 2)[1] for p in files if "/" in p}
    for rel, content in files.items():
        _write(_no_links(root, rel), content)
    for folder in sorted(o for o in owned if o != INDEX):
        _no_links(root, folder)
        for path in sorted((root / folder).rglob("*")):
            rel = path.relative_to(root).as_posix()
            if (path.is_file() or path.is_symlink()) and rel not in files:
                path.unlink()
        for path in sorted((root / folder).rglob("*"), reverse=True):
            if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
                path.rmdir()
    paths = sorted(owned)
    git(root, "add", "-A", "--", *paths)
    staged = git(root, "diff", "--cached", "--name-only", "--no-renames", "-z", "--", *paths)
    changed = sorted(p for p in staged.decode().split("\x00") if p)
    if not changed:
        return ExportResult(str(root), None, [], len(files))
    identity = {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }
    summary = message or f"modelrepo export of {reg.location}"
    body = "\n".join(f"  {path}" for path in changed)
    git(
        root,
        "-c",
        "commit.gpgsign=false",
        "commit",
        "-q",
        "--no-verify",
        "-m",
        f"{summary}\n\n{len(changed)} files changed:\n{body}",
        "--",
        *paths,
        env=identity,
    )
    commit = git(root, "rev-parse", "HEAD").decode().strip()
    return ExportResult(str(root), commit, changed, len(files))
