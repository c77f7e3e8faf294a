"""`modelrepo serve`, and MLflow's own `mlflow server`, as real processes on free loopback
ports, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from modelrepo.testing.s3server import free_port


@contextmanager
def serve(
    options: Sequence[str], env: dict[str, str], log: Path, serve_options: Sequence[str] = ()
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`modelrepo [options] serve [serve_options] --port P` with `env` added to this process's
    environment; its base URL (once it answers /readyz) and the process, stopped when the
    block ends."""
    port = free_port()
    out = open(log, "wb")  # noqa: SIM115 - closed below, after the process
    process = subprocess.Popen(
        [sys.executable, "-m", "modelrepo", *options, "serve", *serve_options, "--port", str(port)],
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, **env},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/readyz", process, log, 60, "the server")
        yield base, process
    finally:
        stop(process)
        out.close()


def wait_until_up(
    url: str, process: subprocess.Popen[bytes], log: Path, seconds: float, what: str
) -> None:
    """Wait until `url` answers 200, failing with the log if the process ends first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"{what} did not start"
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes], group: bool = False) -> None:
    """Stop `process` (with its process group, if it leads one), killing it after 30 s."""
    if process.poll() is not None:
        return
    if group:
        os.killpg(process.pid, signal.SIGTERM)
    else:
        process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        if group:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
        process.wait()


@contextmanager
def mlflow_server(
    folder: Path, mlflow: Sequence[str], env: dict[str, str], artifacts: str
) -> Iterator[str]:
    """A real `mlflow server` (the command `mlflow`, e.g. `[python, "-m", "mlflow"]`) with an
    SQLite store in `folder` and artifacts at `artifacts`, on a free loopback port: its URL
    once it answers /health; the server and its workers (its own process group) stopped
    afterwards."""
    port = free_port()
    log = folder / "mlflow-server.log"
    out = open(log, "wb")  # noqa: SIM115 - closed below, after the process
    process = subprocess.Popen(
        [*mlflow, "server", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
         "--default-artifact-root", artifacts, "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],
        stdout=out, stderr=subprocess.STDOUT, env=env, cwd=folder, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/health", process, log, 120, "mlflow server")
        yield base
    finally:
        stop(process, group=True)
        out.close()
