"""The version digest: independent of file order, sensitive to every byte, path and mode."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelrepo import FileEntry, InvalidInput, canonical_manifest, manifest_digest

SEGMENT = st.text(
    alphabet=st.characters(blacklist_characters="/\\\x00", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=8,
).filter(lambda s: s not in (".", ".."))
PATHS = st.lists(SEGMENT, min_size=1, max_size=3).map("/".join)
CONTENTS = st.binary(max_size=64)


def entry(path: str, content: bytes, executable: bool = False) -> FileEntry:
    return FileEntry(path, len(content), hashlib.sha256(content).hexdigest(), executable)


TREES = st.dictionaries(PATHS, st.tuples(CONTENTS, st.booleans()), min_size=1, max_size=6)


def entries(tree: dict[str, tuple[bytes, bool]]) -> list[FileEntry]:
    return [entry(p, c, x) for p, (c, x) in tree.items()]


@given(TREES, st.randoms())
def test_digest_is_independent_of_file_order(tree: dict, rnd) -> None:
    files = entries(tree)
    shuffled = files[:]
    rnd.shuffle(shuffled)
    assert manifest_digest(files) == manifest_digest(shuffled)


@given(TREES, st.data())
def test_digest_changes_with_any_byte(tree: dict, data) -> None:
    path = data.draw(st.sampled_from(sorted(tree)))
    content, executable = tree[path]
    if content:
        i = data.draw(st.integers(0, len(content) - 1))
        flip = data.draw(st.integers(1, 255))
        changed = content[:i] + bytes([content[i] ^ flip]) + content[i + 1 :]
    else:
        changed = b"\x00"
    other = {**tree, path: (changed, executable)}
    assert manifest_digest(entries(tree)) != manifest_digest(entries(other))


@given(TREES, st.data())
def test_digest_changes_with_any_path(tree: dict, data) -> None:
    path = data.draw(st.sampled_from(sorted(tree)))
    new_path = data.draw(PATHS.filter(lambda p: p not in tree))
    other = dict(tree)
    other[new_path] = other.pop(path)
    assert manifest_digest(entries(tree)) != manifest_digest(entries(other))


@given(TREES, st.data())
def test_digest_changes_with_the_executable_bit(tree: dict, data) -> None:
    path = data.draw(st.sampled_from(sorted(tree)))
    content, executable = tree[path]
    other = {**tree, path: (content, not executable)}
    assert manifest_digest(entries(tree)) != manifest_digest(entries(other))


def test_canonical_form_is_the_documented_one() -> None:
    """Recompute the digest with nothing but hashlib and json, as an auditor would."""
    files = [entry("b.txt", b"bee"), entry("a/ü.json", b"{}", executable=True)]
    document = {
        "files": [
            {
                "executable": f.executable,
                "path": f.path,
                "sha256": f.sha256,
                "size": f.size,
            }
            for f in sorted(files, key=lambda f: f.path.encode())
        ],
        "format": "modelrepo.manifest/1",
    }
    raw = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_manifest(files) == raw.encode()
    assert manifest_digest(files) == "sha256:" + hashlib.sha256(raw.encode()).hexdigest()


@pytest.mark.parametrize(
    "path", ["", "/abs", "a/../b", "./a", "a//b", "a/", "a\\b", "nul\x00", ".."]
)
def test_bad_paths_are_refused(path: str) -> None:
    with pytest.raises(InvalidInput):
        manifest_digest([FileEntry(path, 1, "0" * 64)])


def test_duplicate_paths_are_refused() -> None:
    with pytest.raises(InvalidInput, match="duplicate"):
        manifest_digest([entry("a", b"1"), entry("a", b"2")])
