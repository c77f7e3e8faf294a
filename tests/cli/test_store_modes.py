"""An embedded store is private to its owner whatever the umask (its database keeps decision
inputs: personal data), or shared with its folder's group when asked; `fsck` reports what
is more open than that."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelrepo import Registry

from .conftest import Run

pytestmark = pytest.mark.sqlite_only  # the embedded store's own files


@pytest.fixture(params=[0o022, 0o000], ids=["umask022", "umask000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[path.relative_to(root).as_posix()] = stat.S_IMODE(path.lstat().st_mode)
    return found


def _use(reg: Registry, tmp_path: Path) -> None:
    """Everything that writes into a store: the database and its -wal and -shm, a blob too
    large to keep inline, a blob upload in progress, checkpoint exports, the lock, the key."""
    folder = tmp_path / "artifact"
    folder.mkdir(exist_ok=True)
    (folder / "weights.bin").write_bytes(os.urandom(200_000))
    reg.register("credit-risk", folder, code=False)
    reg.deploy("credit-risk", 1, env="production")
    reg.log_decision("credit-risk", inputs={"income": 1}, output=0, environment="production")
    reg.audit_checkpoint()
    reg.load("credit-risk", 1)  # a verified copy, cached in the store
    writer = reg.backend.blobs.writer()
    writer.write(b"half an upload")
    writer.wait()


def test_a_new_store_is_private_whatever_the_umask(umask: int, tmp_path: Path) -> None:
    root = tmp_path / "store"
    with Registry(root, user="u", checkpoint_dir=root / "exports") as reg:
        _use(reg, tmp_path)
        modes = _modes(root)
        assert reg.fsck().too_open == []
    for name in ("modelrepo.db", "modelrepo.db-wal", "modelrepo.db-shm", "gc.lock",
                 "audit-signing-key.pem"):  # fmt: skip
        assert modes[name] == 0o600, name
    assert [p for p in modes if p.startswith("blobs/tmp/upload-")], modes
    assert [p for p in modes if p.startswith("cache/sha256-")], modes
    for path, mode in modes.items():
        if path.startswith(("blobs/sha256/", "exports/", "cache/")) and mode & 0o7000 == 0:
            is_dir = (root / path).is_dir()
            assert mode == (0o700 if is_dir else 0o400), (path, oct(mode))
        elif (root / path).is_dir():
            assert mode == 0o700, (path, oct(mode))
        else:
            assert mode == 0o600, (path, oct(mode))


def test_a_group_store_is_shared_with_its_group_only(umask: int, tmp_path: Path) -> None:
    root = tmp_path / "store"
    with Registry(root, user="u", group_access=True, checkpoint_dir=root / "exports") as reg:
        _use(reg, tmp_path)
        assert reg.fsck().too_open == []
    # Opened again without the option, the store stays what its folder says.
    with Registry(root, user="v") as reg:
        reg.register("credit-risk", tmp_path / "artifact", code=False, tags={"again": "1"})
        modes = _modes(root)
    assert modes["."] == 0o2770 and modes["modelrepo.db"] == 0o660
    assert modes["modelrepo.db-wal"] == 0o660 and modes["audit-signing-key.pem"] == 0o660
    for path, mode in modes.items():
        is_dir = (root / path).is_dir()
        sealed = path.startswith(("blobs/sha256/", "exports/", "cache/")) and not is_dir
        expected = 0o2770 if is_dir else 0o440 if sealed else 0o660
        assert mode == expected, (path, oct(mode))


def test_fsck_reports_what_is_too_open(run: Run, store_dir: Path, artifact: Path) -> None:
    old = os.umask(0o022)
    try:
        run("init")
        run("register", "credit-risk", str(artifact))
        assert run("fsck", "--json").json["too_open"] == []
        (store_dir / "modelrepo.db").chmod(0o644)
        (store_dir / "blobs").chmod(0o755)
        report = run("fsck", ok=False)
        assert report.code == 1 and "too open 0644 modelrepo.db" in report.out
        assert "too open 0755 blobs" in report.out and "may be read" in report.err
        listed = run("fsck", "--json", ok=False).json["too_open"]
        assert {"path": "modelrepo.db", "mode": "0644"} in listed
    finally:
        os.umask(old)


def test_init_group(run: Run, store_dir: Path) -> None:
    old = os.umask(0o022)
    try:
        run("init", "--group")
        assert stat.S_IMODE(store_dir.stat().st_mode) == 0o2770
        assert stat.S_IMODE((store_dir / "modelrepo.db").stat().st_mode) == 0o660
        assert run("fsck", "--json").json["too_open"] == []
    finally:
        os.umask(old)
