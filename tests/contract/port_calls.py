"""The contract suites on in-process ports wrapped to record which port methods the suites
themselves call; run by test_port_coverage.py in a pytest of its own, which writes the
names to the file named by $MODELREPO_PORT_CALLS."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from modelrepo.clock import ManualClock
from modelrepo.signing import Ed25519Signer, VersionSigner
from modelrepo.stores.locks import ThreadStoreLock
from modelrepo.stores.memory import MemoryMetadataStore
from modelrepo.testing import metadata_suites
from modelrepo.testing.blobs import BlobStoreContract
from modelrepo.testing.clocks import ClockContract
from modelrepo.testing.locks import StoreLockContract
from modelrepo.testing.signing import SignerContract, StatementSignerContract

CALLED: set[str] = set()
_LOCK = threading.Lock()
RESULTS = {"writer": "BlobWriter", "uploads": "UploadStore", "part_sink": "PartSink"}
"""Methods (or properties) whose result is itself a port."""


class Recorder:
    """Passes everything to `target`, noting `port.name` of each attribute a contract suite
    reads (reads from anywhere else, such as shared code a suite calls, are not counted)."""

    __slots__ = ("_port", "_target")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if caller.startswith("modelrepo.testing"):
            with _LOCK:
                CALLED.add(f"{self._port}.__call__")
        return self._target(*args, **kwargs)

    def __init__(self, target: Any, port: str) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_port", port)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if caller.startswith("modelrepo.testing"):
            with _LOCK:
                CALLED.add(f"{self._port}.{name}")
        if name in RESULTS and not callable(value):
            return Recorder(value, RESULTS[name])
        if name in RESULTS and callable(value):
            port, method = RESULTS[name], value

            def wrapped(*args: Any, **kwargs: Any) -> Any:
                return Recorder(method(*args, **kwargs), port)

            return wrapped
        return value


@pytest.fixture(scope="session", autouse=True)
def _write_calls() -> Iterator[None]:
    yield
    Path(os.environ["MODELREPO_PORT_CALLS"]).write_text(json.dumps(sorted(CALLED)))


for _concept, _suite in metadata_suites().items():
    _name = f"Test{_concept}"

    def _store(self: Any) -> Any:
        return Recorder(MemoryMetadataStore(), "MetadataStore")

    globals()[_name] = type(_name, (_suite,), {"store": pytest.fixture(_store)})


class TestBlobs(BlobStoreContract):
    @pytest.fixture
    def blobs(self) -> Any:
        from modelrepo.blobs import MemoryBlobStore  # after the stores: they import each other

        return Recorder(MemoryBlobStore(), "BlobStore")


class TestLock(StoreLockContract):
    @pytest.fixture
    def lock(self) -> Any:
        return Recorder(ThreadStoreLock(), "StoreLock")

    @pytest.fixture
    def other(self, lock: Any) -> Any:
        return lock


class TestSigner(SignerContract):
    @pytest.fixture
    def signer(self) -> Any:
        return Recorder(Ed25519Signer.generate(), "Signer")


class TestStatementSigner(StatementSignerContract):
    @pytest.fixture
    def statement_signer(self) -> Any:
        return Recorder(VersionSigner.generate(), "StatementSigner")


class TestClock(ClockContract):
    @pytest.fixture
    def clock(self) -> Any:
        return Recorder(
            ManualClock(datetime(2026, 3, 1, tzinfo=UTC), timedelta(seconds=1)), "Clock"
        )
