"""Two versions of the code, one benchmark, the same run: each figure before and after a
change, side by side, measured alternately on the same machine within minutes.

A refactor must leave the figures unchanged, and this machine's speed drifts several-fold
from hour to hour, so a figure is only comparable with one measured next to it. This script
checks the base revision out into a temporary git worktree, then runs each benchmark's own
script of each side (`--json`), base and head alternately, `--rounds` times, and prints the
median of every numeric figure of both sides with their ratio.

    .venv/bin/python benchmarks/compare.py --base v0.3.0                # every benchmark
    .venv/bin/python benchmarks/compare.py --base HEAD~3 deployments audit --quick
    .venv/bin/python benchmarks/compare.py --base main --rounds 3 -- --versions 100

Arguments after `--` go to every benchmark script. The exit status is 0 whatever the
figures say; a benchmark that fails on either side is reported and the others go on.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = (
    "registry",
    "deployments",
    "audit",
    "decisions",
    "scaleout",
    "ui",
    "server",
    "remote_decisions",
    "partitions",
    "denied",
    "cli",
    "search",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the git revision to compare against")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each side (median)")
    parser.add_argument("--quick", action="store_true", help="pass --quick where supported")
    parser.add_argument(
        "--head-scripts",
        action="store_true",
        help="run this tree's benchmark scripts on both sides (where the base's own is broken)",
    )
    parser.add_argument("names", nargs="*", help=f"benchmarks (default all: {BENCHMARKS})")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    extra = argv[cut + 1 :]
    names = args.names or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    with _worktree(args.base) as base:
        for name in names:
            sides: dict[str, list[dict[str, float] | str]] = {"base": [], "head": []}
            failed = False
            for _ in range(args.rounds):
                for side, root in (("base", base), ("head", REPO_ROOT)):
                    script = REPO_ROOT if args.head_scripts else root
                    figures = _run(root, script, name, args.quick, extra)
                    if figures is None:
                        failed = True
                        break
                    sides[side].append(figures)
                if failed:
                    break
            print(f"\n## {name}_bench.py  (base {args.base}, head working tree)")
            if failed:
                print("   failed on one side: see the output above")
                continue
            if all(isinstance(run, dict) for run in sides["base"] + sides["head"]):
                _table(sides["base"], sides["head"])  # type: ignore[arg-type]
                continue
            for side in ("base", "head"):
                print(f"--- {side}")
                for run in sides[side]:
                    print(run)
    return 0


@contextmanager
def _worktree(revision: str) -> Iterator[Path]:
    """The base revision checked out beside this one, removed at the end."""
    with tempfile.TemporaryDirectory(prefix="modelrepo-base-") as tmp:
        path = Path(tmp) / "base"
        subprocess.run(
            ["git", "-C", str(REPO_ROOT), "worktree", "add", "--detach", str(path), revision],
            check=True,
            capture_output=True,
        )
        try:
            yield path
        finally:
            subprocess.run(
                ["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(path)],
                check=False,
                capture_output=True,
            )


def _run(
    root: Path, scripts: Path, name: str, quick: bool, extra: list[str]
) -> dict[str, float] | str | None:
    """One run of the benchmark script in `scripts` against `root`'s source: its numeric
    figures, flattened to dotted names, or its printed report if it has no `--json` (None if
    it failed)."""
    script = scripts / "benchmarks" / f"{name}_bench.py"
    if not script.exists():
        print(f"   {script} does not exist on that side", file=sys.stderr)
        return None
    text = script.read_text()
    as_json = '"--json"' in text
    command = [sys.executable, str(script), *(["--json"] if as_json else []), *extra]
    if quick and '"--quick"' in text:
        command.append("--quick")
    # The side's own source first on the path, ahead of the installed (editable) package; its
    # subprocesses (the CLI, a server) inherit it.
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return None
    if not as_json:
        return done.stdout
    out = done.stdout.strip()
    for candidate in (out, out.splitlines()[-1] if out else ""):
        try:
            return dict(_numbers(json.loads(candidate)))
        except json.JSONDecodeError:
            continue
    print(f"   {name}: no JSON on stdout", file=sys.stderr)
    return None


def _numbers(value: Any, prefix: str = "") -> Iterator[tuple[str, float]]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield prefix, float(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _numbers(item, f"{prefix}[{i}]")


def _table(base: list[dict[str, float]], head: list[dict[str, float]]) -> None:
    keys = [k for k in base[0] if all(k in run for run in base + head)]
    width = max((len(k) for k in keys), default=10)
    print(f"   {'figure':<{width}}  {'base':>14}  {'head':>14}  {'head/base':>9}")
    for key in keys:
        before = statistics.median(run[key] for run in base)
        after = statistics.median(run[key] for run in head)
        ratio = f"{after / before:9.2f}" if before else f"{'-':>9}"
        print(f"   {key:<{width}}  {before:14.6g}  {after:14.6g}  {ratio}")


if __name__ == "__main__":
    sys.exit(main())
