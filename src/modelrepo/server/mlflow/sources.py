"""Where the server may fetch a model version's files from when an MLflow client creates a
version from a `source` URI.

An MLflow client does not upload a version's files to the registry: it sends the URI where
they already are (`models:/m-<id>` for a logged model, or an artifact location). The server
copies them only from the locations it was told to trust (`serve --mlflow-source`,
$MODELREPO_MLFLOW_SOURCES), never from anywhere a client names. A location is a `file:`
folder on the server's host (an MLflow artifact root, e.g. a shared volume).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import yaml

from ...domain.errors import InvalidInput
from ...domain.manifest import check_file_name

ENVIRONMENT_VARIABLE = "MODELREPO_MLFLOW_SOURCES"
_LOGGED_MODEL = re.compile(r"models:/(m-[0-9a-f]{1,64})/?")


def _local_path(uri: str) -> Path | None:
    """The absolute path of a `file:` URI (or of a plain absolute path), else None."""
    if uri.startswith("/"):
        return Path(uri)
    parsed = urlparse(uri)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    if parsed.query or parsed.fragment or not parsed.path.startswith("/"):
        return None
    return Path(unquote(parsed.path))


@dataclass(frozen=True)
class Sources:
    """The allowed source folders, each resolved (symbolic links followed) once."""

    roots: tuple[Path, ...] = ()

    @classmethod
    def parse(cls, uris: Iterable[str]) -> Sources:
        roots = []
        for uri in uris:
            path = _local_path(uri)
            if path is None:
                raise InvalidInput(
                    f"MLflow source {uri!r}: give a folder on this host as file:///path"
                )
            if not path.is_dir():
                raise InvalidInput(f"MLflow source {uri!r}: {path} is not a folder")
            roots.append(Path(os.path.realpath(path)))
        return cls(tuple(roots))

    @classmethod
    def from_environment(cls) -> Sources:
        return cls.parse(os.environ.get(ENVIRONMENT_VARIABLE, "").split())

    def resolve(self, source: str) -> Path:
        """The folder holding the files of `source`, checked to be inside an allowed root.

        `models:/m-<id>` (an MLflow logged model) is looked up where MLflow stores logged
        models under an artifact root: `<root>/models/<id>/artifacts` or
        `<root>/<experiment>/models/<id>/artifacts`."""
        if not self.roots:
            raise InvalidInput(
                f"cannot fetch source {source!r}: this server fetches no MLflow sources "
                "(start it with --mlflow-source file:///path/to/artifact-root)"
            )
        logged = _LOGGED_MODEL.fullmatch(source)
        if logged is not None:
            model_id = logged[1]
            for root in self.roots:
                for candidate in (root / "models", *root.glob("*/models")):
                    found = candidate / model_id / "artifacts"
                    if found.is_dir():
                        return self._inside(found, source)
            raise InvalidInput(
                f"logged model {model_id} is not under any allowed MLflow source folder"
            )
        path = _local_path(source)
        if path is None:
            raise InvalidInput(
                f"cannot fetch source {source!r}: only models:/m-<id> and file: sources "
                "inside the server's allowed MLflow source folders are fetched"
            )
        return self._inside(path, source)

    def _inside(self, path: Path, source: str) -> Path:
        try:
            check_path(str(path), source)
            real = Path(os.path.realpath(path))
            for root in self.roots:
                if real == root or real.is_relative_to(root):
                    if not real.exists():
                        raise InvalidInput(f"source {source!r} does not exist")
                    check_tree(real, source)
                    return real
        except OSError as exc:  # named by the client's URI, never by the server's path
            raise InvalidInput(f"source {source!r} cannot be read: {exc.strerror}") from None
        raise InvalidInput(f"source {source!r} is outside the server's allowed MLflow sources")


_METADATA_MAX = 1 << 20


def source_run_id(folder: Path) -> str | None:
    """The run that logged the model whose files are in `folder` (a folder already resolved
    inside an allowed root), as MLflow records it: `source_run_id` in the logged model's
    `meta.yaml` beside its `artifacts` folder, else `run_id` in its `MLmodel`. None when
    neither says (a plain folder of files)."""
    candidates = [(folder / "MLmodel", "run_id")]
    if folder.name == "artifacts":
        candidates.insert(0, (folder.parent / "meta.yaml", "source_run_id"))
    for path, key in candidates:
        try:
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode) or info.st_size > _METADATA_MAX:
                continue
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        value = loaded.get(key) if isinstance(loaded, dict) else None
        if isinstance(value, str) and value:
            return value
    return None


def check_path(path: str, source: str) -> str:
    """A path named by a client, before the OS sees it: no NUL, no step or whole longer than
    file systems take (which the OS would answer with an error naming the server's path).
    The refusal names the source as the client gave it."""
    try:
        return check_file_name(path, "path", whole=True)
    except InvalidInput as exc:
        reason = str(exc).rpartition(": ")[2]
        shown = source if len(source) <= 100 else source[:80] + "..."
        raise InvalidInput(f"source {shown!r}: {reason}") from None


def check_tree(root: Path, source: str) -> None:
    """Refuse a source holding anything but regular files and folders, or a file with
    another name elsewhere (a hard link: whoever may write under an allowed root could link
    any file the server can read, its signing key say, and have it registered and served).
    Refusals name the path inside the source, not on the server."""
    if root.is_file():
        entries: Iterable[tuple[Path, str]] = [(root, root.name)]
    else:
        entries = (
            (Path(folder) / name, (Path(folder) / name).relative_to(root).as_posix())
            for folder, dirs, files in os.walk(root)
            for name in (*dirs, *files)
        )
    files = 0
    for path, relative in entries:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            raise InvalidInput(f"source {source!r}: {relative!r} is a symbolic link (refused)")
        if stat.S_ISDIR(info.st_mode):
            continue
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput(f"source {source!r}: {relative!r} is not a regular file")
        if info.st_nlink > 1:
            raise InvalidInput(
                f"source {source!r}: {relative!r} is a hard link ({info.st_nlink} names): "
                "refused, as symbolic links are"
            )
        files += 1
    if not files:
        raise InvalidInput(f"source {source!r} holds no files")
