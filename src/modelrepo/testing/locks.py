"""The contract every `StoreLock` passes: shared among writers, exclusive for gc.

Subclass with `lock` and `other`, a second handle on the same lock as another process
would open it (the same object where the lock lives in one process)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest

from ..ports import StoreLock

WAIT = 10.0  # seconds a lock that should be granted may take, on a loaded machine
BLOCKED = 0.3  # seconds a lock that should wait is watched not being granted


class _Holder:
    """Takes a lock in a thread of its own and holds it until released."""

    def __init__(self, take: Callable[[], AbstractContextManager[None]]) -> None:
        self.held = threading.Event()
        self._release = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(take,), daemon=True)
        self._thread.start()

    def _run(self, take: Callable[[], AbstractContextManager[None]]) -> None:
        try:
            with take():
                self.held.set()
                self._release.wait(WAIT * 3)
        except BaseException as exc:  # pragma: no cover - reported by the test
            self.error = exc
            self.held.set()

    def release(self) -> None:
        self._release.set()
        self._thread.join(WAIT)
        assert self.error is None, self.error


class StoreLockContract:
    @pytest.fixture
    def lock(self, *args: Any) -> StoreLock:
        raise NotImplementedError

    @pytest.fixture
    def other(self, *args: Any) -> StoreLock:
        raise NotImplementedError

    def test_writers_share_it(self, lock: StoreLock, other: StoreLock) -> None:
        first = _Holder(lock.shared)
        assert first.held.wait(WAIT)
        second = _Holder(other.shared)
        assert second.held.wait(WAIT)  # granted while the first still holds it
        first.release()
        second.release()

    def test_gc_waits_for_every_writer(self, lock: StoreLock, other: StoreLock) -> None:
        writer = _Holder(lock.shared)
        assert writer.held.wait(WAIT)
        gc = _Holder(other.exclusive)
        assert not gc.held.wait(BLOCKED)
        writer.release()
        assert gc.held.wait(WAIT)
        gc.release()

    def test_writers_wait_for_gc(self, lock: StoreLock, other: StoreLock) -> None:
        gc = _Holder(lock.exclusive)
        assert gc.held.wait(WAIT)
        writer = _Holder(other.shared)
        assert not writer.held.wait(BLOCKED)
        gc.release()
        assert writer.held.wait(WAIT)
        writer.release()

    def test_closing_leaves_nothing_held(self, lock: StoreLock, other: StoreLock) -> None:
        with lock.shared():
            pass
        with lock.exclusive():
            pass
        lock.close()
        gc = _Holder(other.exclusive)
        assert gc.held.wait(WAIT)
        gc.release()
