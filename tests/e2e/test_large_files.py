"""A 2 GiB artifact registers and downloads with bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, resource, sys, pathlib
    from modelrepo import Registry

    def peak_mib():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    store, big, small, dest = sys.argv[1:5]
    with Registry(store) as reg:
        reg.register("warm", small, code=False)
        reg.download("warm", 1, dest + "-warm")
        before = peak_mib()
        v = reg.register("big", big, code=False)
        after_register = peak_mib()
        reg.download("big", 1, dest)
        after_download = peak_mib()
    print(json.dumps({"before": before, "register": after_register,
                      "download": after_download, "digest": v.digest, "size": v.size}))
    """
)


@pytest.mark.slow
def test_two_gib_register_and_download_memory(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    size = 2 << 30
    with open(big, "wb") as f:
        block = bytes(range(256)) * 4096  # 1 MiB, not sparse so the disk really works
        for _ in range(size >> 20):
            f.write(block)
    small = tmp_path / "small.txt"
    small.write_text("warm-up")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "s"), str(big), str(small),
         str(tmp_path / "out")],
        capture_output=True, text=True, timeout=900, check=True,
    )  # fmt: skip
    figures = json.loads(done.stdout)
    assert figures["size"] == size
    assert figures["register"] - figures["before"] < 100, figures
    assert figures["download"] - figures["before"] < 100, figures
    assert (tmp_path / "out" / "big.bin").stat().st_size == size
