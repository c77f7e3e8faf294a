"""A real S3 endpoint for tests and benchmarks: moto's standalone server (the `dev` extra)
in a child process on loopback.

The server runs in its own process, so stores speak to it exactly as to any S3 endpoint:
through boto3, HTTP and the endpoint URL from `MODELREPO_S3_ENDPOINT_URL`; memory measured
in the test process is the client's alone.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def moto_server(log: Path) -> Iterator[str]:
    """Start the server on a free loopback port; its endpoint URL until the block ends."""
    port = free_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"moto server exited: {log.read_text()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"moto server did not start: {log.read_text()}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def aws_test_environment(endpoint: str, scratch: Path) -> dict[str, str | None]:
    """Dummy credentials and the endpoint; None unsets a variable (no real AWS configuration)."""
    from ..blobs.s3 import ENDPOINT_ENV

    return {
        "AWS_PROFILE": None,
        "AWS_SESSION_TOKEN": None,
        "AWS_ENDPOINT_URL": None,
        "AWS_ENDPOINT_URL_S3": None,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.fspath(scratch / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.fspath(scratch / "no-aws-credentials"),
        ENDPOINT_ENV: endpoint,
    }


def new_bucket(s3: Any, **options: Any) -> str:
    name = f"modelrepo-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name, **options)
    return name
