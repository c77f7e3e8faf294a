"""Benchmark scripts run end to end in their smallest form, so they cannot rot unnoticed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"


def run_script(name: str, *args: str) -> dict[str, Any]:
    """The script's one JSON object, run on this tree's source without MODELREPO_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELREPO_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), "--json", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.slow
def test_transfer_bench_quick_measures_both_sides_and_cleans_up(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    result = run_script("transfer_bench.py", "--quick", "--work", str(work))
    (size,) = result["sizes"]
    assert size["mib"] == 64
    assert set(size["mb_per_s"]) == {
        "local_upload",
        "local_download",
        "http_upload",
        "http_download",
    }
    assert all(rate > 0 for rate in size["mb_per_s"].values())
    assert size["rss_growth_max_mib"] >= 0
    assert result["server_rss_idle_mib"] > 0
    assert list(work.iterdir()) == []  # the files, the store and the downloads are gone


def test_transfer_bench_passes_part_size_only_to_a_register_that_takes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from transfer_bench import MIB, upload_options

    class Parts:
        def register(self, name: str, path: str, *, part_size: int = 0) -> None: ...

    class Whole:
        def register(self, name: str, path: str) -> None: ...

    assert upload_options(Parts(), 8) == {"part_size": 8 * MIB}  # type: ignore[arg-type]
    assert upload_options(Whole(), 8) == {}  # type: ignore[arg-type]
    assert upload_options(Parts(), None) == {}  # type: ignore[arg-type]
