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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from ...domain.errors import InvalidInput

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
        real = Path(os.path.realpath(path))
        for root in self.roots:
            if real == root or real.is_relative_to(root):
                if not real.exists():
                    raise InvalidInput(f"source {source!r} does not exist")
                return real
        raise InvalidInput(f"source {source!r} is outside the server's allowed MLflow sources")
