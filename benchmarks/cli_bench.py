"""CLI start-up benchmark: the wall time of whole `modelrepo` commands on an embedded store.

Times, as separate processes and next to a bare `python -c pass` in the same run:
`import modelrepo`, `modelrepo --help`, `modelrepo live NAME --env production --json`,
`modelrepo show NAME@1` and `modelrepo versions NAME`, on a store with a few versions and a
deployment. The commands take turns round after round, so a burst of load elsewhere on the
machine falls on all of them alike; best and median wall time and the median CPU time
(user + system) of each are printed.

    .venv/bin/python benchmarks/cli_bench.py                  # 20 rounds, a few seconds
    .venv/bin/python benchmarks/cli_bench.py --runs 50 --json
    .venv/bin/python benchmarks/cli_bench.py --baseline-src /tmp/old/src   # before/after

`--baseline-src DIR` also times the same commands with the `modelrepo` package in DIR (say
an older commit: `git archive REV src | tar -x -C /tmp/old`) first on `PYTHONPATH`, in the
same rounds. Processes run as installed software runs, with compiled bytecode (a first
untimed run writes it).

Target: each `modelrepo` command at most 100 ms wall (median).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 100.0
MODEL = "credit-risk"


def make_store(folder: Path) -> Path:
    """A store with three versions of one model, the second live in production."""
    from modelrepo import Registry

    store = folder / "store"
    with Registry(store, user="bench") as reg:
        for n in range(3):
            source = folder / f"model-{n}"
            source.mkdir()
            (source / "weights.bin").write_bytes(os.urandom(1024))
            (source / "params.json").write_text(json.dumps({"C": 0.5 + n}))
            reg.register(MODEL, source, metrics={"auc": 0.9 + n / 100})
        reg.deploy(MODEL, 2, env="production")
    return store


def commands(store: Path) -> dict[str, tuple[list[str], bool]]:
    """Label: (argv, whether the 100 ms target applies)."""
    python = sys.executable
    exe = str(Path(python).with_name("modelrepo"))
    on = ["--store", str(store)]
    return {
        "python -c pass": ([python, "-c", "pass"], False),
        "python -c 'import modelrepo'": ([python, "-c", "import modelrepo"], False),
        "modelrepo --help": ([exe, "--help"], True),
        "modelrepo live NAME --env production --json": (
            [exe, *on, "live", MODEL, "--env", "production", "--json"],
            True,
        ),
        "modelrepo show NAME@1": ([exe, *on, "show", f"{MODEL}@1"], True),
        "modelrepo versions NAME": ([exe, *on, "versions", MODEL], True),
    }


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def git_commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed rounds (20)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--dir", type=Path, default=REPO_ROOT / ".bench-tmp")
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="also time the modelrepo package in this folder (e.g. an older checkout's src)",
    )
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="cli-", dir=args.dir))
    # As installed software runs: with compiled bytecode; no store chosen by the caller.
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("MODELREPO_")
    }
    variants = {"": env}
    if args.baseline_src is not None:
        src = str(args.baseline_src.resolve())
        variants["baseline"] = {**env, "PYTHONPATH": src}
    load_start = os.getloadavg()
    try:
        store = make_store(folder)
        table = commands(store)
        runs = [(label, variant) for variant in variants for label in table]
        for label, variant in runs:  # untimed: writes bytecode, warms the page cache
            run_once(table[label][0], variants[variant])
        samples: dict[tuple[str, str], list[tuple[float, float]]] = {key: [] for key in runs}
        for _ in range(args.runs):
            for label, variant in runs:
                samples[label, variant].append(run_once(table[label][0], variants[variant]))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    load_end = os.getloadavg()

    import modelrepo

    out: dict[str, Any] = {
        "python": sys.version.split()[0],
        "cores": os.cpu_count(),
        "modelrepo": str(Path(modelrepo.__file__).parent),
        "commit": git_commit(),
        "baseline_src": None if args.baseline_src is None else str(args.baseline_src),
        "runs": args.runs,
        "loadavg_start": load_start[0],
        "loadavg_end": load_end[0],
        "target_ms": TARGET_MS,
        "results": [],
    }
    for (label, variant), found in samples.items():
        walls = [w * 1000 for w, _ in found]
        cpus = [c * 1000 for _, c in found]
        targeted = table[label][1]
        median = statistics.median(walls)
        out["results"].append(
            {
                "command": label,
                "variant": variant or "current",
                "best_ms": min(walls),
                "median_ms": median,
                "cpu_median_ms": statistics.median(cpus),
                "target": (("PASS" if median <= TARGET_MS else "MISS") if targeted else None),
            }
        )
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(
        f"modelrepo {out['modelrepo']} (commit {out['commit']}), Python {out['python']}, "
        f"{out['cores']} cores, {args.runs} rounds; load average "
        f"{out['loadavg_start']:.2f} at start, {out['loadavg_end']:.2f} at end"
    )
    if args.baseline_src is not None:
        print(f"baseline: the modelrepo package in {args.baseline_src}")
    print(
        f"{'command':<46} {'variant':<9} {'best':>8} {'median':>8} {'cpu':>8}  "
        f"target <= {TARGET_MS:.0f} ms"
    )
    for r in out["results"]:
        verdict = r["target"] if r["target"] is not None else "(reference)"
        print(
            f"{r['command']:<46} {r['variant']:<9} {r['best_ms']:6.1f}ms {r['median_ms']:6.1f}ms "
            f"{r['cpu_median_ms']:6.1f}ms  {verdict}"
        )


if __name__ == "__main__":
    main()
