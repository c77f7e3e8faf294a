"""Search benchmark: MLflow search filters and model-name globs on 10,000 models.

A filter's LIKE pattern and a token's model glob are written by the caller. They are matched
by `modelrepo.domain.wildcards` (greedy segments, no backtracking); this measures, per filter:

1. the match alone: `search.parse` + `search.select` over 10,000 records, as the MLflow
   routes build them (target < 50 ms for a filter of the longest length accepted, 4,096
   characters, made of wildcards);
2. the whole request: `GET /api/2.0/mlflow/registered-models/search` through the ASGI app
   on an in-memory registry of 10,000 models, as a scoped viewer (the time to list the
   models and check the token's scope is in it);
3. token globs: `in_scope` of a 128-character glob on each of the 10,000 names;
4. for scale, the former regular expression on ONE name with a pattern of nine `%a`
   (it grows exponentially with each more `%a`; the longest filter would never finish).

    .venv/bin/python benchmarks/search_bench.py
    .venv/bin/python benchmarks/search_bench.py --json
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelrepo import Registry
from modelrepo.domain.access import in_scope
from modelrepo.server.mlflow import search

MODELS = 10_000
MAX_FILTER = 4096  # Query(max_length=4096) on the search routes
PREFIX = "name LIKE '"


def _filter(body: str) -> str:
    """`name LIKE '<pattern>'` of exactly `MAX_FILTER` characters, the pattern repeating
    `body`."""
    room = MAX_FILTER - len(PREFIX) - 1
    pattern = (body * (room // len(body) + 1))[:room]
    return f"{PREFIX}{pattern}'"


FILTERS = {
    "wildcards %_ (4096 chars)": _filter("%_"),
    "wildcards % only (4096 chars)": _filter("%"),
    "wildcards _% (4096 chars)": _filter("_%"),
    "%a%a... (4096 chars)": _filter("%a"),
    "%credit%_% ... (4096 chars)": _filter("%credit%_"),
    "ILIKE %C%r%... (4096 chars)": _filter("%C%r").replace(" LIKE ", " ILIKE ", 1),
    "plain prefix 'credit-risk-0%'": "name LIKE 'credit-risk-0%'",
}


def _names() -> list[str]:
    return [f"credit-risk-{i:05d}" if i % 2 else f"aaaa-{'a' * (i % 100)}" for i in range(MODELS)]


def _best(run: Callable[[], Any], repeat: int = 7) -> tuple[float, float]:
    """(best, median) milliseconds of `repeat` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return min(times), statistics.median(times)


def match_alone() -> dict[str, Any]:
    records = [{"name": n, "tags": {"team": "risk"}} for n in _names()]
    figures = {}
    for label, text in FILTERS.items():
        found: list[Any] = []

        def run(text: str = text, found: list[Any] = found) -> None:
            found[:] = search.select(records, search.parse(text, {"name": str}))

        best, median = _best(run)
        figures[label] = {"best_ms": round(best, 2), "median_ms": round(median, 2),
                          "matched": len(found)}  # fmt: skip
    return figures


def globs() -> dict[str, Any]:
    names = _names()
    figures = {}
    for label, pattern in {
        "*a*a*... (128 chars)": ("*a" * 64)[:127] + "b",
        "*a*a...a* (128 chars)": "*a" * 63 + "**",
        "?*?*... (128 chars)": "?*" * 64,
        "[a-c]*[!x]?... (128 chars)": ("[a-c]*[!x]?" * 12)[:128],
        "credit-*": "credit-*",
    }.items():
        best, median = _best(lambda p=pattern: [n for n in names if in_scope(p, n)])
        figures[label] = {"best_ms": round(best, 2), "median_ms": round(median, 2)}
    return figures


def whole_request() -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from modelrepo.server import create_app

    registry = Registry.in_memory(user="bench")
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "coefficients.json").write_text("{}")
        for name in _names():
            registry.register(name, folder, code=False, environment=False)
    _, token = registry.create_token("viewer", "viewer", model_pattern="*")
    client = TestClient(create_app(registry))
    headers = {"Authorization": f"Bearer {token}"}
    figures = {}
    for label in ("wildcards %_ (4096 chars)", "%a%a... (4096 chars)", "plain prefix "
                  "'credit-risk-0%'"):  # fmt: skip
        params = {"filter": FILTERS[label], "max_results": 10}

        def run(params: dict[str, Any] = params) -> None:
            reply = client.get("/api/2.0/mlflow/registered-models/search", params=params,
                               headers=headers)  # fmt: skip
            assert reply.status_code == 200, reply.text

        best, median = _best(run, repeat=5)
        figures[label] = {"best_ms": round(best, 2), "median_ms": round(median, 2)}
    return figures


def former_regex() -> dict[str, Any]:
    pattern = "%a" * 9 + "%b"
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    start = time.perf_counter()
    re.fullmatch(regex, "a" * 36, re.DOTALL)
    old = (time.perf_counter() - start) * 1000
    records = [{"name": "a" * 36}] * MODELS
    best, _ = _best(lambda: search.select(records, search.parse(f"{PREFIX}{pattern}'",
                                                                {"name": str})))  # fmt: skip
    return {"pattern": pattern, "regex_one_name_ms": round(old, 1),
            "wildcards_10000_names_ms": round(best, 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = {
        "match_alone_10000": match_alone(),
        "globs_10000": globs(),
        "former_regex": former_regex(),
        "whole_request_10000": whole_request(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for section, figures in result.items():
        print(section)
        if isinstance(figures, dict) and all(isinstance(v, dict) for v in figures.values()):
            for label, values in figures.items():
                print(f"  {label:<34} {values}")
        else:
            print(f"  {figures}")


if __name__ == "__main__":
    main()
