"""modelrepo's own benchmark: write rate, read latency and large-file throughput.

Every figure is put next to a baseline measured in the same run, on the same disk:

1. a bare durable SQLite commit rate (APSW, WAL, synchronous=FULL): the disk's speed limit
   for one durable transaction;
2. `Registry.register` of small, distinct artifacts (versions/s);
3. `Registry.get` latency (p50/p99, µs) and the wall time of `modelrepo show --json`;
4. registering and downloading one large file, next to `cp` and `cp` + fsync of it;
5. MLflow's `create_model_version` rate, from `benchmarks/mlflow_baseline.py` run in the
   MLflow side venv (see benchmarks/README.md), when that venv is available.

Everything runs in a temporary directory on the repository's filesystem (or under `--dir`),
removed at the end. Run it from the repository root::

    .venv/bin/python benchmarks/registry_bench.py            # or: make bench
    .venv/bin/python benchmarks/registry_bench.py --quick    # smoke run, ~30 s
    .venv/bin/python benchmarks/registry_bench.py --json     # one JSON object on stdout
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import math
import os
import platform
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TMP_PARENT = REPO_ROOT / ".bench-tmp"
MLFLOW_ENV = "MODELREPO_BENCH_MLFLOW_PYTHON"
MLFLOW_VENV_PYTHON = REPO_ROOT / ".bench-venv" / "mlflow" / "bin" / "python"
# The pinned MLflow of the compatibility test (`make compat-venv`), when there is no other.
COMPAT_VENV_PYTHON = REPO_ROOT / ".compat-venv" / "bin" / "python"
MLFLOW_SCRIPT = REPO_ROOT / "benchmarks" / "mlflow_baseline.py"
MLFLOW_VERSIONS = 300

MODEL = "bench-model"
BIG_MODEL = "big"
WARMUP_REGISTERS = 5
WARMUP_COMMITS = 10
WARMUP_READS = 50
CLI_RUNS = 10
CHUNK = 1 << 20
SETTLE_PAUSE_S = 1.0

# Targets, as minimum ratios.
TARGET_REGISTER_VS_MLFLOW = 5.0
TARGET_BIG_VS_CP = 0.7

PAGE_CACHE_NOTE = (
    "big-file figures are warm-cache: the source file sits in the page cache for every "
    "contender alike (dropping the cache needs root); each copy is written to disk, and only "
    "'cp' itself returns before its data is durable; before each timed step the previous "
    "output is fsynced, deleted and its blocks discarded (sync -f, 1 s pause), and an "
    "untimed copy is deleted so every step fills the page cache from just-freed memory"
)


# -- small helpers ----------------------------------------------------------------------


@dataclass
class Figure:
    """One measured number, with the target it is judged against (if any)."""

    key: str
    label: str
    value: float | None
    unit: str
    target: str = ""
    ok: bool | None = None  # None: informational, no target
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.ok is None:
            return "info" if self.value is not None else "n/a"
        return "PASS" if self.ok else "MISS"


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile, so p99 is a value that was actually observed."""
    if not sorted_values:
        raise ValueError("no samples")
    rank = max(1, min(len(sorted_values), math.ceil(pct / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def filesystem_of(path: Path) -> dict[str, str]:
    """Mount point, type and source of the filesystem holding `path` (Linux; else unknown)."""
    found = {"mount_point": "?", "fstype": "unknown", "source": "?"}
    target = str(path.resolve())
    best = -1
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 2:
            continue
        mount = fields[4].replace("\\040", " ")
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) > best:
            best = len(mount)
            found = {"mount_point": mount, "fstype": tail[0], "source": tail[1]}
    return found


def git_state() -> str:
    """The repository's HEAD commit, with "+dirty" if src/ has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def machine_info(work_dir: Path) -> dict[str, Any]:
    import apsw

    import modelrepo

    mem_kib = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    usage = shutil.disk_usage(work_dir)
    return {
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "modelrepo_source": str(Path(modelrepo.__file__).parent),
        "git": git_state(),
        "cpus": os.cpu_count(),
        "memory_gib": round(mem_kib / (1 << 20), 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "modelrepo": getattr(modelrepo, "__version__", "?"),
        "apsw": apsw.apsw_version(),
        "sqlite": apsw.sqlite_lib_version(),
        "filesystem": filesystem_of(work_dir),
        "disk_free_gib": round(usage.free / (1 << 30), 1),
        "work_dir": str(work_dir),
    }


# -- 1. bare durable SQLite commits -----------------------------------------------------


def bench_sqlite_commits(directory: Path, commits: int) -> float:
    """Commits/s of single-row `BEGIN IMMEDIATE; INSERT; COMMIT` on WAL, synchronous=FULL."""
    import apsw

    directory.mkdir(parents=True)
    db = apsw.Connection(str(directory / "bare.db"))
    try:
        mode = db.execute("PRAGMA journal_mode=WAL").fetchall()
        if mode != [("wal",)]:
            raise RuntimeError(f"could not enable WAL: {mode}")
        db.execute("PRAGMA synchronous=FULL").fetchall()
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
        payload = "x" * 200

        def one() -> None:
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO t (payload) VALUES (?)", (payload,))
            db.execute("COMMIT")

        for _ in range(WARMUP_COMMITS):
            one()
        start = time.perf_counter()
        for _ in range(commits):
            one()
        elapsed = time.perf_counter() - start
    finally:
        db.close()
    return commits / elapsed


# -- 2. register rate -------------------------------------------------------------------


def make_artifacts(directory: Path, count: int, seed: int) -> list[Path]:
    """`count` ~200-byte JSON files, each with distinct content (nothing deduplicates)."""
    directory.mkdir(parents=True)
    rng = random.Random(seed)
    paths = []
    for i in range(count):
        doc: dict[str, Any] = {
            "index": i,
            "nonce": rng.getrandbits(64),
            "weights": [round(rng.uniform(-1, 1), 6) for _ in range(12)],
        }
        text = json.dumps(doc)
        text = text[:-1] + ', "pad": "' + "p" * max(0, 200 - len(text) - 11) + '"}'
        path = directory / f"model-{i:06d}.json"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def _params(i: int) -> dict[str, Any]:
    return {"lr": 0.01, "depth": i % 8, "optimizer": "adam", "seed": i}


def _metrics(rng: random.Random) -> dict[str, float]:
    return {"auc": rng.uniform(0.8, 0.95), "loss": rng.uniform(0.1, 0.5)}


def bench_register(store: Path, artifacts: list[Path], versions: int) -> tuple[float, int]:
    """Versions/s of `register` (after untimed warm-ups); returns (rate, last version)."""
    from modelrepo import Registry

    rng = random.Random(1)
    with Registry(store, user="bench") as reg:
        warm, timed = artifacts[:WARMUP_REGISTERS], artifacts[WARMUP_REGISTERS:]
        if len(timed) != versions:
            raise ValueError("artifact count does not match warm-ups + versions")
        for i, path in enumerate(warm):
            reg.register(MODEL, path, params=_params(i), metrics=_metrics(rng), code=False)
        start = time.perf_counter()
        for i, path in enumerate(timed, start=len(warm)):
            last = reg.register(MODEL, path, params=_params(i), metrics=_metrics(rng), code=False)
        elapsed = time.perf_counter() - start
    return versions / elapsed, last.version


# -- 3. show latency --------------------------------------------------------------------


def bench_get(store: Path, latest: int, reads: int) -> tuple[float, float]:
    """p50 and p99 (µs) of `Registry.get` of random versions."""
    from modelrepo import Registry

    rng = random.Random(2)
    with Registry(store, user="bench", create=False) as reg:
        for _ in range(WARMUP_READS):
            reg.get(MODEL, rng.randint(1, latest))
        wanted = [rng.randint(1, latest) for _ in range(reads)]
        samples: list[float] = []
        for number in wanted:
            t0 = time.perf_counter_ns()
            found = reg.get(MODEL, number)
            samples.append((time.perf_counter_ns() - t0) / 1000)
            if found.version != number:
                raise RuntimeError(f"get returned {found.version}, expected {number}")
    samples.sort()
    return statistics.median(samples), percentile(samples, 99)


def cli_command() -> list[str]:
    """The `modelrepo` console script beside this interpreter, else `python -m`."""
    script = Path(sys.executable).parent / "modelrepo"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "modelrepo.cli"]


def bench_cli_show(store: Path, latest: int, runs: int, pycache: Path) -> float:
    """Median wall time (ms) of `modelrepo --store DIR show NAME@N --json` in a subprocess."""
    rng = random.Random(3)
    base = cli_command()
    # Bytecode is cached as on an ordinary install, even where PYTHONDONTWRITEBYTECODE is set,
    # but in the work directory, so nothing is written next to the sources.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    times: list[float] = []
    for run in range(runs + 1):  # the first run fills the caches and is not counted
        number = rng.randint(1, latest)
        argv = [*base, "--store", str(store), "show", f"{MODEL}@{number}", "--json"]
        t0 = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
        elapsed = time.perf_counter() - t0
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()}")
        if json.loads(done.stdout)["version"] != number:
            raise RuntimeError("modelrepo show returned the wrong version")
        if run:
            times.append(elapsed * 1000)
    return statistics.median(times)


# -- 4. big file ------------------------------------------------------------------------


def make_big_file(path: Path, mib: int) -> None:
    """`mib` MiB of random bytes, fsynced so its writeback does not leak into timings."""
    with open(path, "wb", buffering=0) as out:
        for _ in range(mib):
            out.write(os.urandom(CHUNK))
        os.fsync(out.fileno())


def _settle(path: Path) -> None:
    """Untimed: make `path` durable, remove it, and let the filesystem finish with it.

    Then one step's writeback never runs during the next step's timing, and every step
    writes to disk blocks in the same state. That matters on a filesystem mounted with
    `discard` over a thin-provisioned (virtual) disk: blocks freed a moment ago and not yet
    discarded take writes several times faster than blocks already handed back, so whoever
    ran right after a delete would win. `sync -f` commits the journal, which issues the
    discards; the pause lets the disk act on them.
    """
    if path.is_dir():
        for child in path.rglob("*"):
            if child.is_file():
                _fsync_path(child)
        shutil.rmtree(path)
    else:
        _fsync_path(path)
        path.unlink()
    subprocess.run(["sync", "-f", str(path.parent)], check=True)
    time.sleep(SETTLE_PAUSE_S)


def bench_big(work: Path, mib: int, rounds: int) -> dict[str, list[float]]:
    """Seconds per round for cp, cp + fsync, register and download of one `mib` MiB file.

    The contenders take turns within each round, in an order that rotates from round to
    round, so drift in the disk's speed (a shared virtual disk, say) touches all of them
    alike; every register goes to a fresh store, so each one writes a new blob.

    Each timed copy also starts right after an untimed copy of the same size was deleted
    ("room"), so every contender fills the page cache from memory freed a moment ago. On a
    VM with free-page reporting (virtio-balloon), memory freed a few seconds earlier has gone
    back to the host, and filling it again costs a host page fault per page: measured here,
    a 1 GiB kernel copy took 0.35 s into just-freed memory and 1.0-1.3 s into returned
    memory. Without the room, download (the only step that needs a second copy's worth of
    memory while the first is still held) pays that alone. On bare metal this is a no-op.
    """
    from modelrepo import Registry

    src = work / "big.bin"
    _log(f"writing a {mib} MiB source file")
    make_big_file(src, mib)
    dst = work / "cp.bin"

    def cp(target: Path = dst) -> None:
        subprocess.run(["cp", str(src), str(target)], check=True)

    def cp_sync() -> None:
        cp()
        subprocess.run(["sync", str(dst)], check=True)  # fsync(2) of that one file

    def make_room(count: int) -> list[Path]:
        # Never written back: deleted (by free_room) before the kernel flushes it.
        rooms = [work / f"room-{i}.bin" for i in range(count)]
        for room in rooms:
            cp(room)
        return rooms

    def free_room(room: Path) -> None:
        room.unlink()

    # Untimed warm-up: reads the source into the page cache and runs the copy path once.
    cp()
    _settle(dst)

    seconds: dict[str, list[float]] = {"cp": [], "cp_sync": [], "register": [], "download": []}

    def time_cp() -> None:
        (room,) = make_room(1)
        free_room(room)
        seconds["cp"].append(_timed(cp))
        _settle(dst)

    def time_cp_sync() -> None:
        (room,) = make_room(1)
        free_room(room)
        seconds["cp_sync"].append(_timed(cp_sync))
        _settle(dst)

    def time_registry(turn: int) -> None:
        store = work / f"big-store-{turn}"
        dest = work / f"download-{turn}"
        with Registry(store, user="bench") as reg:
            first, second = make_room(2)
            free_room(first)
            t0 = time.perf_counter()
            version = reg.register(BIG_MODEL, src, code=False).version
            seconds["register"].append(time.perf_counter() - t0)
            free_room(second)
            t1 = time.perf_counter()
            reg.download(BIG_MODEL, version, dest)
            seconds["download"].append(time.perf_counter() - t1)
        if (dest / src.name).stat().st_size != mib * CHUNK:
            raise RuntimeError("downloaded file has the wrong size")
        shutil.rmtree(store)
        _settle(dest)

    steps: list[Callable[[int], None]] = [
        lambda _turn: time_cp(),
        lambda _turn: time_cp_sync(),
        time_registry,
    ]
    for turn in range(rounds):
        _log(f"big file round {turn + 1}/{rounds}")
        # Rotate who goes first, so no contender always runs right after another's work.
        for step in steps[turn % 3 :] + steps[: turn % 3]:
            step(turn)
    src.unlink()
    return seconds


# -- 5. MLflow --------------------------------------------------------------------------


def mlflow_python() -> Path | None:
    """The side venv's interpreter: $MODELREPO_BENCH_MLFLOW_PYTHON, else .bench-venv/mlflow,
    else .compat-venv (the compatibility test's)."""
    named = os.environ.get(MLFLOW_ENV)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise SystemExit(f"error: ${MLFLOW_ENV}={named} is not a file")
        return path
    return next((p for p in (MLFLOW_VENV_PYTHON, COMPAT_VENV_PYTHON) if p.is_file()), None)


def bench_mlflow(python: Path, directory: Path, versions: int) -> dict[str, Any]:
    """Run mlflow_baseline.py in the side venv and return its JSON result."""
    argv = [
        str(python),
        str(MLFLOW_SCRIPT),
        "--dir",
        str(directory),
        "--versions",
        str(versions),
        "--json",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=1800)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"mlflow baseline failed (exit {done.returncode}):\n{tail}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- profile ----------------------------------------------------------------------------


def profile_register(directory: Path, count: int, out: TextIO, top: int = 30) -> None:
    """cProfile over `count` registers on a fresh store; print the top entries to `out`."""
    from modelrepo import Registry

    artifacts = make_artifacts(directory / "profile-artifacts", count + WARMUP_REGISTERS, 4)
    rng = random.Random(4)
    with Registry(directory / "profile-store", user="bench") as reg:
        for i, path in enumerate(artifacts[:WARMUP_REGISTERS]):
            reg.register(MODEL, path, params=_params(i), metrics=_metrics(rng), code=False)
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.enable()
        for i, path in enumerate(artifacts[WARMUP_REGISTERS:], start=WARMUP_REGISTERS):
            reg.register(MODEL, path, params=_params(i), metrics=_metrics(rng), code=False)
        profiler.disable()
        elapsed = time.perf_counter() - start
    print(
        f"\ncProfile of {count} registers: {elapsed:.2f} s under the profiler "
        f"({count / elapsed:.0f} versions/s, profiler overhead included)",
        file=out,
    )
    for order in ("cumulative", "tottime"):
        buffer = io.StringIO()
        stats = pstats.Stats(profiler, stream=buffer)
        stats.strip_dirs().sort_stats(order).print_stats(top if order == "cumulative" else 20)
        print(f"\n--- top entries by {order} ---", file=out)
        text = buffer.getvalue()
        print(text[text.find("   ncalls") :].rstrip(), file=out)


# -- the run ----------------------------------------------------------------------------


@dataclass
class Options:
    versions: int
    reads: int
    big_mib: int
    big_rounds: int
    skip_big: bool
    skip_mlflow: bool
    profile: int
    as_json: bool
    parent: Path


@contextlib.contextmanager
def work_directory(parent: Path) -> Iterator[Path]:
    """A fresh temporary directory under `parent`, removed (with `parent` if we made it)."""
    made_parent = not parent.exists()
    parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="registry-bench-", dir=parent))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if made_parent:
            with contextlib.suppress(OSError):
                parent.rmdir()


def run(opts: Options, work: Path) -> dict[str, Any]:
    info = machine_info(work)
    fs = info["filesystem"]
    if fs["fstype"] in ("tmpfs", "ramfs"):
        raise SystemExit(
            f"error: {work} is on {fs['fstype']}, where fsync costs nothing; "
            "pass --dir on a disk-backed filesystem"
        )
    figures: list[Figure] = []
    raw: dict[str, Any] = {}

    _log(f"bare SQLite: {opts.versions} durable commits")
    sqlite_rate = bench_sqlite_commits(work / "bare-sqlite", opts.versions)
    figures.append(
        Figure(
            "sqlite_commits_per_s",
            "bare SQLite commit (WAL, sync=FULL)",
            sqlite_rate,
            "commits/s",
            note="the disk's durable-transaction reference",
        )
    )

    _log(f"register: {WARMUP_REGISTERS} warm-up + {opts.versions} timed versions")
    store = work / "store"
    artifacts = make_artifacts(work / "artifacts", WARMUP_REGISTERS + opts.versions, 0)
    register_rate, latest = bench_register(store, artifacts, opts.versions)
    shutil.rmtree(work / "artifacts")
    figures.append(
        Figure(
            "register_per_s",
            "register (200 B artifact, distinct)",
            register_rate,
            "versions/s",
            note=f"{register_rate / sqlite_rate:.2f}x the bare SQLite commit rate",
        )
    )
    raw["register_vs_sqlite"] = register_rate / sqlite_rate

    _log(f"get: {opts.reads} reads of random versions; CLI show: {CLI_RUNS} runs")
    p50, p99 = bench_get(store, latest, opts.reads)
    figures.append(Figure("get_p50_us", "Registry.get p50", p50, "us"))
    figures.append(Figure("get_p99_us", "Registry.get p99", p99, "us"))
    cli_ms = bench_cli_show(store, latest, CLI_RUNS, work / "pycache")
    figures.append(
        Figure(
            "cli_show_ms",
            "`modelrepo show --json` wall time",
            cli_ms,
            "ms",
            note=f"median of {CLI_RUNS} runs, process start and imports included",
        )
    )

    python = None if opts.skip_mlflow else mlflow_python()
    mlflow_note = ""
    if python is None:
        mlflow_note = (
            "MLflow baseline skipped (--skip-mlflow)"
            if opts.skip_mlflow
            else "MLflow baseline not run: create the side venv (make compat-venv, or "
            "python3 -m venv .bench-venv/mlflow && .bench-venv/mlflow/bin/pip install "
            f"'mlflow>=3.17,<4') or set ${MLFLOW_ENV}; see benchmarks/README.md"
        )
        _log(mlflow_note)
        figures.append(
            Figure(
                "register_vs_mlflow",
                "register / MLflow create_model_version",
                None,
                "x",
                target=f">= {TARGET_REGISTER_VS_MLFLOW:g}x",
                note="MLflow not available",
            )
        )
    else:
        _log(f"MLflow baseline with {python} ({MLFLOW_VERSIONS} versions)")
        mlflow = bench_mlflow(python, work / "mlflow", MLFLOW_VERSIONS)
        raw["mlflow"] = mlflow
        mlflow_rate = float(mlflow["create_model_version_per_s"])
        ratio = register_rate / mlflow_rate
        figures.append(
            Figure(
                "mlflow_create_model_version_per_s",
                f"MLflow {mlflow['mlflow_version']} create_model_version",
                mlflow_rate,
                "versions/s",
                note=f"{MLFLOW_VERSIONS} versions, SQLite, in-process",
            )
        )
        figures.append(
            Figure(
                "register_vs_mlflow",
                "register / MLflow create_model_version",
                ratio,
                "x",
                target=f">= {TARGET_REGISTER_VS_MLFLOW:g}x",
                ok=ratio >= TARGET_REGISTER_VS_MLFLOW,
                note="MLflow records only a source URI; register stores the bytes durably",
            )
        )
        figures.append(
            Figure(
                "mlflow_alias_read_p50_us",
                "MLflow get_model_version_by_alias p50",
                float(mlflow["get_model_version_by_alias_p50_us"]),
                "us",
                note="compare with Registry.get p50",
            )
        )

    if not opts.skip_big:
        seconds = bench_big(work, opts.big_mib, opts.big_rounds)
        raw["big_seconds_per_round"] = seconds
        mb = opts.big_mib * CHUNK / 1e6
        rates = {k: mb / statistics.median(v) for k, v in seconds.items()}
        size = f"{opts.big_mib} MiB"
        for key, label in (
            ("cp", f"cp of {size} (not durable)"),
            ("cp_sync", f"cp + fsync of {size}"),
            ("register", f"register {size} (hashed, durable)"),
            ("download", f"download {size} (verified, durable)"),
        ):
            spread = ", ".join(f"{mb / t:.0f}" for t in seconds[key])
            figures.append(
                Figure(
                    f"big_{key}_mb_per_s",
                    label,
                    rates[key],
                    "MB/s",
                    note=f"median of {opts.big_rounds} rounds: {spread}",
                )
            )
        for op in ("register", "download"):
            for base, base_label in (("cp", "cp"), ("cp_sync", "cp + fsync")):
                ratio = rates[op] / rates[base]
                figures.append(
                    Figure(
                        f"big_{op}_vs_{base}",
                        f"{op} / {base_label}",
                        ratio,
                        "x",
                        target=f">= {TARGET_BIG_VS_CP:g}x",
                        ok=ratio >= TARGET_BIG_VS_CP,
                    )
                )

    big_note = PAGE_CACHE_NOTE
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return {
        "machine": info,
        "settings": {
            "versions": opts.versions,
            "reads": opts.reads,
            "big_mib": None if opts.skip_big else opts.big_mib,
            "big_rounds": None if opts.skip_big else opts.big_rounds,
            "mlflow_versions": MLFLOW_VERSIONS,
        },
        "figures": figures,
        "raw": raw,
        "notes": [n for n in (mlflow_note, "" if opts.skip_big else big_note) if n],
    }


def _format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "x":
        return f"{value:.3f}x"  # three places, so a 0.696x MISS never prints as 0.70x
    if value >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:.1f} {unit}"


def print_table(result: dict[str, Any], out: TextIO) -> None:
    m = result["machine"]
    fs = m["filesystem"]
    print(
        f"modelrepo {m['modelrepo']} | Python {m['python']} | SQLite {m['sqlite']} (APSW "
        f"{m['apsw']}) | {m['cpus']} CPUs, {m['memory_gib']} GiB RAM",
        file=out,
    )
    print(f"modelrepo imported from {m['modelrepo_source']} (repository HEAD {m['git']})", file=out)
    print(
        f"work dir {m['work_dir']} on {fs['fstype']} ({fs['source']} at {fs['mount_point']})",
        file=out,
    )
    print(
        f"load average (1/5/15 min) at start {m['load_average_at_start']}, "
        f"at end {m['load_average_at_end']}: other work on the machine skews every figure",
        file=out,
    )
    rows = [
        (f.label, _format_value(f.value, f.unit), f.target or "-", f.verdict, f.note)
        for f in result["figures"]
    ]
    headers = ("figure", "value", "target", "result", "note")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers[:4])]
    line = "  ".join(h.ljust(w) for h, w in zip(headers[:4], widths, strict=False))
    print("\n" + line + "  " + headers[4], file=out)
    print("-" * (len(line) + 6), file=out)
    for r in rows:
        cells = [r[0].ljust(widths[0]), r[1].rjust(widths[1]), r[2].ljust(widths[2])]
        print("  ".join([*cells, r[3].ljust(widths[3]), r[4]]).rstrip(), file=out)
    judged = [f for f in result["figures"] if f.ok is not None]
    missed = [f.label for f in judged if not f.ok]
    print(
        f"\n{len(judged) - len(missed)}/{len(judged)} targets met"
        + (f"; missed: {', '.join(missed)}" if missed else ""),
        file=out,
    )
    for note in result["notes"]:
        print(f"note: {note}", file=out)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--versions", type=_positive_int, default=None, help="default 500")
    parser.add_argument("--reads", type=_positive_int, default=2000, help="Registry.get calls")
    parser.add_argument("--big-mib", type=_positive_int, default=None, help="default 1024")
    parser.add_argument(
        "--big-rounds", type=_positive_int, default=3, help="big-file rounds (median is shown)"
    )
    parser.add_argument("--skip-big", action="store_true", help="skip the big-file step")
    parser.add_argument("--skip-mlflow", action="store_true", help="skip the MLflow baseline")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 50 versions, 64 MiB big file"
    )
    parser.add_argument(
        "--profile",
        type=_positive_int,
        nargs="?",
        const=300,
        default=0,
        metavar="N",
        help="after the run, cProfile N registers (default 300) and print the top entries "
        "to stderr",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=DEFAULT_TMP_PARENT,
        help="parent of the temporary work directory; must be on a real disk, not tmpfs "
        f"(default {DEFAULT_TMP_PARENT})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    args = parser.parse_args(argv)
    versions = args.versions or (50 if args.quick else 500)
    big_mib = args.big_mib or (64 if args.quick else 1024)
    return Options(
        versions=versions,
        reads=min(args.reads, 200) if args.quick else args.reads,
        big_mib=big_mib,
        big_rounds=args.big_rounds,
        skip_big=args.skip_big,
        skip_mlflow=args.skip_mlflow,
        profile=args.profile,
        as_json=args.json,
        parent=args.dir.absolute(),
    )


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    with work_directory(opts.parent) as work:
        result = run(opts, work)
        if opts.profile:
            profile_register(work / "profile", opts.profile, sys.stderr)
    if opts.as_json:
        document = {
            **result,
            "figures": {
                f.key: asdict(f)
                | {"value": None if f.value is None else round(f.value, 3), "result": f.verdict}
                for f in result["figures"]
            },
        }
        print(json.dumps(document, indent=2))
    else:
        print_table(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
