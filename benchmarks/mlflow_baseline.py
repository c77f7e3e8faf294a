"""MLflow model-registry baseline: write and read speed in-process on SQLite.

This script gives modelrepo's own benchmarks an external reference point. It runs with
the Python of a side virtual environment that has mlflow installed (mlflow is not a
dependency of modelrepo), for example::

    .bench-venv/mlflow/bin/python benchmarks/mlflow_baseline.py --dir /tmp/x --json

It uses only the standard library and mlflow. With ``--json`` it prints exactly one JSON
object on stdout; everything MLflow prints or logs goes to stderr, so a caller can parse
stdout directly.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import math
import os
import statistics
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

MODEL_NAME = "baseline-model"
ALIAS = "champion"
WARMUP_VERSIONS = 5


def _quiet_mlflow_env() -> None:
    """Set env vars before mlflow is imported: no telemetry (no network), no trace noise."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    # Spans and traces are not part of this benchmark; keep them off.
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")


def _quiet_logging() -> None:
    """Lower log levels so migration and store messages do not clutter the output."""
    for name in ("mlflow", "alembic", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.simplefilter("ignore")


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[TextIO]:
    """Send fd 1 and sys.stdout to stderr, and yield a stream to the real stdout.

    This works at file-descriptor level, so output from C extensions or subprocesses also
    stays off the real stdout, which then carries only the script's own result.
    """
    sys.stdout.flush()
    saved_fd = os.dup(1)
    real_stdout = io.TextIOWrapper(os.fdopen(saved_fd, "wb", closefd=True), encoding="utf-8")
    os.dup2(2, 1)
    saved_sys_stdout = sys.stdout
    sys.stdout = sys.stderr
    try:
        yield real_stdout
    finally:
        sys.stdout.flush()
        sys.stdout = saved_sys_stdout
        os.dup2(saved_fd, 1)
        real_stdout.flush()
        real_stdout.close()


def _percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile, so p99 is a value that was actually observed."""
    if not sorted_values:
        raise ValueError("no samples")
    rank = max(1, min(len(sorted_values), math.ceil(pct / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


def run_benchmark(directory: Path, versions: int, reads: int) -> dict[str, Any]:
    """Create a fresh SQLite-backed registry in ``directory`` and time writes and reads."""
    import mlflow
    from mlflow.tracking import MlflowClient

    _quiet_logging()
    directory.mkdir(parents=True, exist_ok=True)
    db_uri = f"sqlite:///{directory.resolve() / 'mlflow.db'}"
    artifact_root = directory.resolve() / "artifacts"
    artifact_root.mkdir()
    mlflow.set_tracking_uri(db_uri)
    mlflow.set_registry_uri(db_uri)

    # Opening the store runs the schema migrations on the new file; that happens here,
    # outside any timed section.
    client = MlflowClient(tracking_uri=db_uri, registry_uri=db_uri)
    client.create_experiment("baseline", artifact_location=artifact_root.as_uri())
    client.create_registered_model(MODEL_NAME)

    def create(i: int) -> Any:
        source = (artifact_root / f"model-{i}").as_uri()
        return client.create_model_version(MODEL_NAME, source=source, run_id=None)

    for i in range(WARMUP_VERSIONS):
        create(i)

    start = time.perf_counter()
    for i in range(WARMUP_VERSIONS, WARMUP_VERSIONS + versions):
        last = create(i)
    write_s = time.perf_counter() - start

    client.set_registered_model_alias(MODEL_NAME, ALIAS, last.version)
    for _ in range(min(reads, 50)):  # warm-up, not timed
        client.get_model_version_by_alias(MODEL_NAME, ALIAS)

    samples_us: list[float] = []
    for _ in range(reads):
        t0 = time.perf_counter_ns()
        mv = client.get_model_version_by_alias(MODEL_NAME, ALIAS)
        samples_us.append((time.perf_counter_ns() - t0) / 1000)
    if str(mv.version) != str(last.version):
        raise RuntimeError(f"alias resolved to version {mv.version}, expected {last.version}")
    samples_us.sort()

    return {
        "mlflow_version": mlflow.__version__,
        "create_model_version_per_s": round(versions / write_s, 1),
        "get_model_version_by_alias_p50_us": round(statistics.median(samples_us), 1),
        "get_model_version_by_alias_p99_us": round(_percentile(samples_us, 99), 1),
        "versions": versions,
        "reads": reads,
    }


def _print_summary(result: dict[str, Any], out: TextIO) -> None:
    """Human-readable form of the result."""
    print(f"MLflow {result['mlflow_version']} model registry, SQLite, in-process", file=out)
    print(
        f"  create_model_version:       {result['create_model_version_per_s']:>10.1f} versions/s"
        f"  ({result['versions']} versions)",
        file=out,
    )
    print(
        f"  get_model_version_by_alias: p50 {result['get_model_version_by_alias_p50_us']:.1f} us,"
        f" p99 {result['get_model_version_by_alias_p99_us']:.1f} us  ({result['reads']} reads)",
        file=out,
    )


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1, since zero timed operations give no rate."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the benchmark, print the result; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--dir",
        type=Path,
        required=True,
        help="new or empty directory for the SQLite store and artifacts",
    )
    parser.add_argument("--versions", type=_positive_int, default=300)
    parser.add_argument("--reads", type=_positive_int, default=2000)
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    args = parser.parse_args(argv)

    if args.dir.exists() and (not args.dir.is_dir() or any(args.dir.iterdir())):
        print(f"error: --dir {args.dir} exists and is not an empty directory", file=sys.stderr)
        return 2

    _quiet_mlflow_env()
    with _stdout_to_stderr() as out:
        try:
            import mlflow  # noqa: F401
        except Exception as exc:  # a broken install can raise more than ImportError
            print(
                f"error: mlflow is not importable with {sys.executable} "
                f"({type(exc).__name__}: {exc}); "
                "see benchmarks/README.md to create the side venv",
                file=sys.stderr,
            )
            return 3
        result = run_benchmark(args.dir, args.versions, args.reads)
        if args.json:
            out.write(json.dumps(result) + "\n")
        else:
            _print_summary(result, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
