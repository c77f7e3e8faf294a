"""The `generic` flavor: the files, verified, and no way to predict without your own loader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..domain.errors import InvalidInput


class FilesOnly:
    """A version whose flavor modelrepo cannot run: use `handle.path` with your own code."""

    def __init__(self, folder: Path) -> None:
        self.path = folder

    def predict(self, inputs: Any) -> Any:
        raise InvalidInput(
            "a generic version has no loader: read its files at handle.path, or register it "
            "with a flavor modelrepo can run"
        )
