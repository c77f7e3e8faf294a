"""Signing benchmark: what signing a version and checking its signature cost, next to
registering the same files, in one run on one embedded store.

A version's statements are built from the digests its manifest recorded, so signing reads
none of its bytes: its cost grows with the number of files, not their size. Measured for
versions of 1, 100 and 10,000 small files and one of 256 MiB:

1. `register` of the folder (the baseline: hashing, storing, one transaction);
2. `sign` with the store's key (both statements, one transaction, one audit entry);
3. `verify_signature` (read the signatures and trusted keys, ECDSA check, file list match);
4. `deploy` into an environment that requires signatures, next to the same deploy into one
   that does not.

    .venv/bin/python benchmarks/signing_bench.py
    .venv/bin/python benchmarks/signing_bench.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelrepo import Registry


def clock(call: Callable[[], Any], rounds: int = 1) -> float:
    """Median seconds of `rounds` calls."""
    spent = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        spent.append(time.perf_counter() - start)
    return sorted(spent)[len(spent) // 2]


def make_folder(root: Path, files: int, size: int) -> Path:
    root.mkdir(parents=True)
    for n in range(files):
        sub = root / f"part-{n // 1000:03d}"
        sub.mkdir(exist_ok=True)
        (sub / f"w{n:05d}.bin").write_bytes(os.urandom(size))
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        reg = Registry(base / "store", user="bench")
        reg.set_signing_policy("environment", "production", enabled=True)
        shapes = [("1 file", 1, 1024), ("100 files", 100, 1024), ("10,000 files", 10_000, 64)]
        shapes.append(("1 file of 256 MiB", 1, 256 * 1024 * 1024))
        for label, files, size in shapes:
            folder = make_folder(base / f"m-{files}-{size}", files, size)
            name = f"bench-{files}-{size}"
            start = time.perf_counter()
            made = reg.register(name, folder, code=False, environment=False)
            registered = time.perf_counter() - start
            signed = clock(lambda: reg.sign(name, made.version))  # noqa: B023
            verified = clock(lambda: reg.verify_signature(name, made.version), rounds=21)  # noqa: B023
            results[label] = {
                "register_ms": round(registered * 1e3, 2),
                "sign_ms": round(signed * 1e3, 2),
                "sign_vs_register": round(signed / registered, 3),
                "verify_ms": round(verified * 1e3, 3),
            }
        name = "bench-100-1024"
        plain, required = [], []
        for round_ in range(200):
            start = time.perf_counter()
            reg.deploy(name, 1, env=f"staging-{round_ % 2}")
            plain.append(time.perf_counter() - start)
            start = time.perf_counter()
            reg.deploy(name, 1, env="production")
            required.append(time.perf_counter() - start)
        p50 = sorted(plain)[len(plain) // 2]
        q50 = sorted(required)[len(required) // 2]
        results["deploy (100 files)"] = {
            "no requirement_ms": round(p50 * 1e3, 3),
            "signature required_ms": round(q50 * 1e3, 3),
            "overhead": f"{(q50 / p50 - 1) * 100:+.1f}%",
        }
        reg.close()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for label, figures in results.items():
        print(f"{label:>22}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
