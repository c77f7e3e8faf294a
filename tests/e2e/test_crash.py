"""A register killed with SIGKILL at any point leaves no visible version and no damage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelrepo import NotFound, Registry

MODELREPO = str(Path(sys.executable).with_name("modelrepo"))


def kill_when(proc: subprocess.Popen[bytes], ready: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():  # type: ignore[operator]
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            return
        if proc.poll() is not None:
            pytest.fail(f"register finished before it could be killed (exit {proc.returncode})")
        time.sleep(0.005)
    proc.kill()
    pytest.fail("register never reached the point to kill it")


def start_register(store: Path, source: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [MODELREPO, "--store", str(store), "register", "victim", str(source), "--no-code"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def assert_no_version_and_clean_after_gc(store: Path) -> None:
    with Registry(store, create=False) as reg:
        with pytest.raises(NotFound):
            reg.versions("victim")
        report = reg.fsck()
        assert report.ok
        assert not report.missing and not report.corrupt
        assert report.orphaned or report.partials
        gc = reg.gc()
        assert gc.blobs_removed + gc.partials_removed > 0
        after = reg.fsck()
        assert after.ok and not after.orphaned and not after.partials
        assert [v.version for v in reg.versions("keeper")] == [1]


def prepare(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    keeper = tmp_path / "keeper.json"
    keeper.write_text("{}")
    with Registry(store) as reg:
        reg.register("keeper", keeper, code=False)
    return store


def test_killed_mid_upload_of_a_large_file(tmp_path: Path) -> None:
    store = prepare(tmp_path)
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        block = os.urandom(1 << 20)
        for _ in range(400):
            f.write(block)
    partials = store / "blobs" / "tmp"
    proc = start_register(store, big)
    kill_when(proc, lambda: any(p.stat().st_size > (8 << 20) for p in partials.iterdir()))
    assert_no_version_and_clean_after_gc(store)


@pytest.mark.parametrize("blobs_done", [1, 40, 100])
def test_killed_between_files_of_a_tree(tmp_path: Path, blobs_done: int) -> None:
    store = prepare(tmp_path)
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(120):
        (tree / f"part-{i:03d}.bin").write_bytes(os.urandom(80 << 10))  # above inline size
    objects = store / "blobs" / "sha256"

    def stored() -> int:
        return sum(1 for _ in objects.glob("*/*")) - 1  # minus the keeper's blob

    proc = start_register(store, tree)
    kill_when(proc, lambda: stored() >= blobs_done)
    assert_no_version_and_clean_after_gc(store)
    with Registry(store) as reg:
        v = reg.register("victim", tree, code=False)
        assert v.version == 1
        assert reg.fsck().ok
