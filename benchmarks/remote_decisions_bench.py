"""Decisions through a server: what the HTTP API costs next to the embedded store.

A real `modelrepo serve` on loopback over a SQLite store; the same decisions (one model, a
given version, inline inputs) are recorded, in turns so they share the machine's mood, by:

- the embedded store, `log_decision_columns` (the baseline: no HTTP at all);
- a remote registry, `log_decision_columns` (one JSON document of columns per batch);
- a remote registry, `log_decisions` (one JSON object per decision, 10,000 per request);
- a remote registry, `import_decisions` of a JSON Lines file (uploaded as it is).

    .venv/bin/python benchmarks/remote_decisions_bench.py           # 50,000 per round
    .venv/bin/python benchmarks/remote_decisions_bench.py --quick   # 10,000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from modelrepo import Registry
from modelrepo.testing.s3server import free_port


def start_server(store: Path, log: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "modelrepo", "--store", str(store), "serve", "--port", str(port)],
        stdout=open(log, "wb"),  # noqa: SIM115 - lives as long as the process
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return base, process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the server did not start: {log.read_text()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    count = 10_000 if args.quick else 50_000
    folder = Path(tempfile.mkdtemp(prefix="modelrepo-remote-bench-"))
    store = folder / "store"
    embedded = Registry(store, user="bench")
    model = folder / "model"
    model.mkdir()
    (model / "coefficients.json").write_text('{"income": 0.25}')
    embedded.register("credit-risk", model, code=False, environment=False)
    _, secret = embedded.create_token("bench", "admin")
    url, server = start_server(store, folder / "server.log")
    remote = Registry(url, token=secret)
    inputs = [{"income": i, "debt": i % 97} for i in range(count)]
    outputs = [{"score": (i % 1000) / 1000} for i in range(count)]
    times: dict[str, list[float]] = {}

    def ids(tag: str, round_: int) -> list[str]:
        return [f"{tag}-{round_}-{i}" for i in range(count)]

    def columns(reg: Registry, tag: str, round_: int) -> None:
        reg.log_decision_columns(
            "credit-risk", outputs=outputs, version=1, inputs=inputs, decision_ids=ids(tag, round_)
        )

    def records(round_: int) -> None:
        rows = [
            {"model": "credit-risk", "version": 1, "inputs": i, "output": o, "decision_id": d}
            for i, o, d in zip(inputs, outputs, ids("records", round_), strict=True)
        ]
        for start in range(0, count, 10_000):
            remote.log_decisions(rows[start : start + 10_000])

    def write_file(round_: int) -> Path:
        path = folder / f"round-{round_}.jsonl"
        with open(path, "w") as out:
            for i, o, d in zip(inputs, outputs, ids("import", round_), strict=True):
                out.write(json.dumps({"model": "credit-risk", "version": 1, "inputs": i,
                                      "output": o, "decision_id": d}) + "\n")  # fmt: skip
        return path

    files = [write_file(r) for r in range(args.rounds)]  # written before any clock starts

    def imported(round_: int) -> None:
        remote.import_decisions(files[round_])

    ways: dict[str, Callable[[int], None]] = {
        "embedded log_decision_columns (baseline)": lambda r: columns(embedded, "embedded", r),
        "remote log_decision_columns": lambda r: columns(remote, "columns", r),
        "remote log_decisions (10,000 a request)": records,
        "remote import_decisions (JSON Lines)": imported,
    }
    try:
        for round_ in range(args.rounds):
            for name, way in ways.items():
                began = time.perf_counter()
                way(round_)
                times.setdefault(name, []).append(time.perf_counter() - began)
    finally:
        remote.close()
        server.terminate()
        server.wait(timeout=30)
        embedded.close()
    print(
        f"{count:,} decisions per round, median of {args.rounds} rounds, on {os.cpu_count()} CPUs"
    )
    base = statistics.median(times["embedded log_decision_columns (baseline)"])
    for name, spent in times.items():
        median = statistics.median(spent)
        print(f"  {name:<44} {count / median:>10,.0f} decisions/s  {median / base:5.1f}x")


if __name__ == "__main__":
    main()
