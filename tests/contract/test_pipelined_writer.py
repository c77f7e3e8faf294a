"""The pipeline under every blob writer: bytes in order, bounded memory, failures reported."""

from __future__ import annotations

import hashlib
import os
import threading

import pytest

from modelrepo.streams import Aborted, PipelinedWriter


def test_bytes_arrive_in_order_and_hash_as_one_stream() -> None:
    out = bytearray()
    pipe = PipelinedWriter(out.extend, chunk=1000, depth=2)
    data = os.urandom(123_457)
    for start in range(0, len(data), 777):
        pipe.write(data[start : start + 777])
    assert pipe.finish() == (hashlib.sha256(data).hexdigest(), len(data))
    assert bytes(out) == data


def test_offer_never_waits_and_holds_at_most_depth_buffers() -> None:
    release = threading.Event()
    out = bytearray()

    def slow(view: memoryview) -> None:
        release.wait()
        out.extend(view)

    pipe = PipelinedWriter(slow, chunk=100, depth=3)
    rest = pipe.offer(b"x" * 1000)
    assert len(rest) == 1000 - 300  # three buffers taken, the sink holds them all
    release.set()
    while len(rest):
        pipe.wait()
        rest = pipe.offer(rest)
    assert pipe.finish()[1] == 1000 and bytes(out) == b"x" * 1000


def test_a_failing_sink_is_reported_and_the_threads_end() -> None:
    before = threading.active_count()

    def full(view: memoryview) -> None:
        raise OSError(28, "No space left on device")

    pipe = PipelinedWriter(full, chunk=100, depth=2)
    with pytest.raises(OSError, match="No space"):
        for _ in range(1000):
            pipe.write(b"y" * 50)
    with pytest.raises(OSError, match="No space"):
        pipe.finish()
    assert threading.active_count() == before


def test_a_small_file_needs_no_thread_and_an_aborted_one_refuses_more() -> None:
    before = threading.active_count()
    out = bytearray()
    small = PipelinedWriter(out.extend, chunk=1000)
    small.write(b"tiny")
    assert threading.active_count() == before
    assert small.finish() == (hashlib.sha256(b"tiny").hexdigest(), 4)
    big = PipelinedWriter(out.extend, chunk=10)
    big.write(b"z" * 100)
    big.abort()
    big.abort()
    assert threading.active_count() == before
    with pytest.raises(Aborted):
        big.write(b"more")
    with pytest.raises(ValueError, match="finished"):
        small.write(b"more")
