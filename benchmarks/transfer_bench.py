"""Large files through a real server against in-process, in the same run.

For each size (1 GiB and 5 GiB by default) one file of random bytes is registered and
downloaded, round after round, both through a real `modelrepo serve` on loopback with the
remote SDK and in-process with `Registry` on the same embedded store. The two sides take
turns and swap who goes first each round, so drift in the machine touches both alike.

Targets (the issue's): HTTP at least 0.6x the in-process MB/s, upload and download alike,
and the server's resident memory growing less than 100 MiB during a transfer (VmRSS,
sampled every 50 ms on a thread: peak minus the value just before the transfer).

    .venv/bin/python benchmarks/transfer_bench.py                  # 1 and 5 GiB, 3 rounds
    .venv/bin/python benchmarks/transfer_bench.py --sizes 1024     # 1 GiB only
    .venv/bin/python benchmarks/transfer_bench.py --quick --json   # 64 MiB, 1 round

Every register writes the whole file into the store and fsyncs it, even when that content
is stored already (the blob store drops its copy afterwards); one untimed register per
size first makes every timed one take that same path on both sides.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from registry_bench import SETTLE_PAUSE_S, _settle, filesystem_of, make_big_file
from server_bench import MIB, first_answer, rss_mib, server, verdict, warm_memory

from modelrepo import Registry
from modelrepo.remote import RemoteRegistry

REPO_ROOT = Path(__file__).resolve().parent.parent
RATIO_TARGET = 0.6
RSS_TARGET_MIB = 100.0
SAMPLE_S = 0.05


def log(message: str) -> None:
    print(f"[transfer-bench] {message}", file=sys.stderr, flush=True)


class RssPeak:
    """The server's VmRSS sampled every 50 ms on a thread while a transfer runs: `growth`
    is the peak minus the value just before it began."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.before = self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            self.peak = max(self.peak, rss_mib(self.pid))

    def __enter__(self) -> RssPeak:
        self.before = self.peak = rss_mib(self.pid)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mib(self.pid))

    @property
    def growth(self) -> float:
        return self.peak - self.before


def check_disk(work: Path, sizes: list[int]) -> None:
    """Refuse to start without room: every size's blob stays in the store, and while one
    size runs, its source and a second copy (being stored, or downloaded) sit beside it;
    1 GiB more for the database and slack."""
    need = (sum(sizes) + 2 * max(sizes)) * MIB + (1 << 30)
    free = shutil.disk_usage(work).free
    if free < need:
        raise SystemExit(
            f"error: {work} has {free / (1 << 30):.1f} GiB free; sizes {sizes} MiB need "
            f"{need / (1 << 30):.1f} GiB (pass --work on a larger disk, or smaller --sizes)"
        )
    fs = filesystem_of(work)["fstype"]
    if fs in ("tmpfs", "ramfs"):
        raise SystemExit(f"error: {work} is on {fs}, where fsync costs nothing; pass --work")


def settle_store(store: Path) -> None:
    """Untimed, after a register: let the store's disk finish, as `_settle` does for a file."""
    subprocess.run(["sync", "-f", str(store)], check=True)
    time.sleep(SETTLE_PAUSE_S)


def upload_options(remote: RemoteRegistry, part_mib: int | None) -> dict[str, Any]:
    """`part_size` for the SDK's register when asked for and when it takes one (resumable
    uploads in parts); the benchmark runs on code without it too."""
    if part_mib is None:
        return {}
    if "part_size" not in inspect.signature(remote.register).parameters:
        log("--part-mib ignored: this RemoteRegistry.register takes no part_size")
        return {}
    return {"part_size": part_mib * MIB}


def one_size(
    store: Path,
    pid: int,
    remote: RemoteRegistry,
    work: Path,
    mib: int,
    rounds: int,
    options: dict[str, Any],
) -> dict[str, Any]:
    """Seconds of every register and download on each side, and the server's RSS growth
    during each HTTP transfer."""
    src = work / f"random-{mib}.bin"
    log(f"writing {mib} MiB of random bytes")
    make_big_file(src, mib)
    model = f"big-{mib}"
    seconds: dict[str, list[float]] = {
        k: [] for k in ("local_upload", "local_download", "http_upload", "http_download")
    }
    growth: dict[str, list[float]] = {"upload": [], "download": []}
    with Registry(store, user="bench") as reg:
        reg.register(model, src, code=False, environment=False)  # untimed: see the docstring
        settle_store(store)

        def local(turn: int) -> None:
            begin = time.perf_counter()
            version = reg.register(model, src, code=False, environment=False).version
            seconds["local_upload"].append(time.perf_counter() - begin)
            settle_store(store)
            target = work / f"local-{turn}"
            begin = time.perf_counter()
            reg.download(model, version, target)
            seconds["local_download"].append(time.perf_counter() - begin)
            check_size(target / src.name, mib)
            _settle(target)

        def http(turn: int) -> None:
            with RssPeak(pid) as rss:
                begin = time.perf_counter()
                version = remote.register(model, src, code=False, **options).version
                seconds["http_upload"].append(time.perf_counter() - begin)
            growth["upload"].append(rss.growth)
            settle_store(store)
            target = work / f"http-{turn}"
            with RssPeak(pid) as rss:
                begin = time.perf_counter()
                remote.download(model, version, target)
                seconds["http_download"].append(time.perf_counter() - begin)
            growth["download"].append(rss.growth)
            check_size(target / src.name, mib)
            _settle(target)

        for turn in range(rounds):
            log(f"{mib} MiB round {turn + 1}/{rounds}")
            for step in (local, http) if turn % 2 == 0 else (http, local):
                step(turn)
    src.unlink()
    return {"seconds": seconds, "rss_growth_mib": growth}


def check_size(path: Path, mib: int) -> None:
    if path.stat().st_size != mib * MIB:
        raise RuntimeError(f"{path} has the wrong size")


def summary(mib: int, raw: dict[str, Any]) -> dict[str, Any]:
    """MB/s medians per side and direction, the HTTP / in-process ratios, the largest RSS
    growth, and the verdicts."""
    size_mb = mib * MIB / 1e6
    rate = {k: size_mb / statistics.median(v) for k, v in raw["seconds"].items()}
    ratio = {d: rate[f"http_{d}"] / rate[f"local_{d}"] for d in ("upload", "download")}
    growth = max(max(v) for v in raw["rss_growth_mib"].values())
    return {
        "mib": mib,
        "mb_per_s": rate,
        "ratio": ratio,
        "ratio_met": {d: r >= RATIO_TARGET for d, r in ratio.items()},
        "rss_growth_max_mib": growth,
        "rss_met": growth < RSS_TARGET_MIB,
        **raw,
    }


def write_floors(work: Path, mib: int) -> dict[str, dict[str, float]]:
    """Writing `mib` MiB into a new file and syncing it, through the page cache and around
    it (`O_DIRECT`, 4 MiB page-aligned writes, the copy into the aligned buffer included,
    as `streams.DirectFileSink` does): wall and CPU seconds of each, in this run."""
    import mmap
    import resource

    def cpu() -> float:
        used = resource.getrusage(resource.RUSAGE_SELF)
        return used.ru_utime + used.ru_stime

    block = 4 << 20
    source = os.urandom(block)
    aligned = mmap.mmap(-1, block)
    floors: dict[str, dict[str, float]] = {}
    for mode in ("page_cache", "direct"):
        path = work / f"floor-{mode}"
        flags = os.O_WRONLY | os.O_CREAT | (os.O_DIRECT if mode == "direct" else 0)
        start_cpu, start = cpu(), time.perf_counter()
        fd = os.open(path, flags, 0o600)
        try:
            for offset in range(0, mib << 20, block):
                if mode == "direct":
                    aligned[:] = source
                    os.pwrite(fd, aligned, offset)
                else:
                    os.pwrite(fd, source, offset)
            os.fdatasync(fd)
        finally:
            os.close(fd)
        floors[mode] = {"wall_s": time.perf_counter() - start, "cpu_s": cpu() - start_cpu}
        _settle(path)
    return floors


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    check_disk(work, args.sizes)
    out: dict[str, Any] = {
        "load_average_at_start": os.getloadavg(),
        "filesystem": filesystem_of(work),
        "rounds": args.rounds,
    }
    store = work / "store"
    with Registry(store, user="bench") as reg:
        _, token = reg.create_token("bench", "admin")
    if args.warm_gib:
        log(f"touching {args.warm_gib} GiB of memory once (see server_bench.warm_memory)")
        out["warm_memory_s"] = warm_memory(args.warm_gib)
    with server(store, 1, work) as (port, process):
        first_answer(port, "/api/v1/models", token, process)
        # A long timeout: on a busy machine, registering 5 GiB can take minutes.
        remote = RemoteRegistry(f"http://127.0.0.1:{port}", token=token, timeout=1800)
        options = upload_options(remote, args.part_mib)
        out["part_size"] = options.get("part_size")
        out["server_rss_idle_mib"] = rss_mib(process.pid)
        out["sizes"] = [
            summary(mib, one_size(store, process.pid, remote, work, mib, args.rounds, options))
            for mib in args.sizes
        ]
        remote.close()
    if hasattr(os, "O_DIRECT") and not args.quick:
        out["write_floors"] = write_floors(work, max(args.sizes))
    out["load_average_at_end"] = os.getloadavg()
    return out


def report(r: dict[str, Any]) -> None:
    print(
        f"load average {r['load_average_at_start'][0]:.2f} at start, "
        f"{r['load_average_at_end'][0]:.2f} at end; {r['rounds']} rounds, medians; "
        f"server idle RSS {r['server_rss_idle_mib']:.0f} MiB; "
        f"part_size {r['part_size'] or 'not passed'}"
    )
    rows = []
    for s in r["sizes"]:
        for d in ("upload", "download"):
            http, local = s["mb_per_s"][f"http_{d}"], s["mb_per_s"][f"local_{d}"]
            rows.append(
                (
                    f"{s['mib']} MiB {d} through the server",
                    f"{http:,.0f} MB/s",
                    f"in-process {local:,.0f} MB/s ({s['ratio'][d]:.2f}x)",
                    f">= {RATIO_TARGET}x {verdict(s['ratio_met'][d])}",
                    f"RSS +{max(s['rss_growth_mib'][d]):.0f} MiB",
                )
            )
        rows.append(
            (
                f"{s['mib']} MiB server RSS growth (peak)",
                f"{s['rss_growth_max_mib']:.0f} MiB",
                "",
                f"< {RSS_TARGET_MIB:.0f} MiB {verdict(s['rss_met'])}",
                "",
            )
        )
    for mode, floor in r.get("write_floors", {}).items():
        rows.append(
            (
                f"floor: write {max(s['mib'] for s in r['sizes'])} MiB + fdatasync, {mode}",
                f"{floor['wall_s']:.2f} s",
                f"CPU {floor['cpu_s']:.2f} s",
                "",
                "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@contextlib.contextmanager
def work_dir(parent: Path) -> Iterator[Path]:
    """A new folder under `parent` (the store's disk), removed on the way out."""
    parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="transfer-bench-", dir=parent))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 64 MiB, 1 round")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1024, 5120], help="file sizes in MiB"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--work",
        type=Path,
        default=REPO_ROOT / ".bench-tmp",
        help="parent of the temporary folder holding the files and the store (a real disk)",
    )
    parser.add_argument(
        "--warm-gib",
        type=int,
        default=8,
        help="GiB of memory to touch once before the rounds (0: none)",
    )
    parser.add_argument(
        "--part-mib",
        type=int,
        default=None,
        help="upload part size, passed to the SDK's register when it takes `part_size`",
    )
    if "--quick" in sys.argv[1:]:  # smaller defaults; options given still win
        parser.set_defaults(sizes=[64], rounds=1, warm_gib=0)
    args = parser.parse_args()
    with work_dir(args.work) as work:
        result = run(args, work)
    if args.json:
        print(json.dumps(result))
    else:
        report(result)


if __name__ == "__main__":
    main()
