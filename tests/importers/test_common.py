"""The checks every importer applies to what a source hands it."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelrepo.domain.errors import InvalidInput
from modelrepo.importers.common import check_source_path, local_name, tree_manifest


@pytest.mark.parametrize(
    "path", ["../x", "a/../../x", "/etc/passwd", "a\x00b", "a\\..\\b", "a//b", "./a", ""]
)
def test_unsafe_source_paths_are_refused(path: str) -> None:
    with pytest.raises(InvalidInput, match="unsafe path from the source"):
        check_source_path(path)


def test_links_in_a_downloaded_tree_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "model.json").write_text("{}")
    assert [e.path for e in tree_manifest(root)] == ["sub/model.json"]
    (root / "sub" / "leak").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InvalidInput, match="symbolic link at 'sub/leak'"):
        tree_manifest(root)
    (root / "sub" / "leak").unlink()
    (root / "dir-link").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(InvalidInput, match="symbolic link at 'dir-link'"):
        tree_manifest(root)


def test_source_names_become_modelrepo_names() -> None:
    assert local_name("Credit Risk") == "Credit Risk"  # kept as the source has it
    assert local_name("modèle-crédit") == "modèle-crédit"
    assert local_name("Champion", "environment name") == "Champion"
    assert local_name("team/credit:v2") == "team-credit-v2"  # '/' and ':' are no name's
    assert local_name("Go Live", "environment name") == "Go-Live"
    assert local_name("!!!") == "!!!"
    assert local_name("a" * 300) == "a" * 256
    for hopeless in ("///", "...", ":/:"):
        with pytest.raises(InvalidInput):
            local_name(hopeless)
