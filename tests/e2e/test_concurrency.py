"""Several processes registering versions of one model get gap-free, distinct numbers."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ..processes import outputs

WORKER = textwrap.dedent(
    """
    import json, sys, pathlib
    from modelrepo import Registry
    store, worker, count, scratch = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    numbers = []
    with Registry(store, user="worker-" + worker) as reg:
        for i in range(count):
            path = pathlib.Path(scratch) / f"w{worker}-{i}.json"
            path.write_text(json.dumps({"worker": worker, "i": i}))
            numbers.append(reg.register("shared", path, code=False).version)
    print(json.dumps(numbers))
    """
)


@pytest.mark.parametrize("made_first", [True, False], ids=["store made first", "made by a write"])
def test_two_processes_register_100_gap_free_versions(tmp_path: Path, made_first: bool) -> None:
    """Also when the store does not exist yet: both first writes create it at once."""
    store = tmp_path / "store"
    if made_first:
        subprocess.run(
            [sys.executable, "-c",
             f"from modelrepo import Registry; Registry({str(store)!r}).create_store()"],
            check=True,
        )  # fmt: skip
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(store), str(w), "50", str(tmp_path)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for w in range(2)
    ]
    results = [json.loads(out) for out in outputs(procs)]
    everything = results[0] + results[1]
    assert len(set(everything)) == 100
    assert sorted(everything) == list(range(1, 101))
    for numbers in results:
        assert numbers == sorted(numbers)
    from modelrepo import Registry

    with Registry(store, create=False) as reg:
        versions = reg.versions("shared")
        assert [v.version for v in versions] == list(range(1, 101))
        assert {v.created_by for v in versions} == {"worker-0", "worker-1"}
        assert reg.fsck().ok
