"""The dropping proxy itself: it forwards both ways, cuts where and as often as told, counts
what it forwarded, and leaves no thread behind."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from modelrepo.testing.proxy import DroppingProxy

PATTERN = bytes(range(256)) * 4096  # 1 MiB


class _Target(socketserver.StreamRequestHandler):
    """`send N`: N bytes of PATTERN then close; `take`: read to the end, answer the count."""

    def handle(self) -> None:
        with contextlib.suppress(OSError):  # cut by the proxy: what the test is about
            self._answer()

    def _answer(self) -> None:
        command = self.rfile.readline().split()
        if command[0] == b"send":
            left = int(command[1])
            while left:
                block = PATTERN[: min(left, len(PATTERN))]
                self.wfile.write(block)
                left -= len(block)
        else:
            taken = 0
            while block := self.rfile.read1(1 << 16):
                taken += len(block)
            self.wfile.write(str(taken).encode())


@pytest.fixture
def target() -> Iterator[tuple[str, int]]:
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Target) as server:
        server.daemon_threads = True
        serving = threading.Thread(target=server.serve_forever, args=(0.05,))
        serving.start()
        yield server.server_address[:2]  # type: ignore[misc]
        server.shutdown()
        serving.join()


def _receive(address: tuple[str, int], size: int) -> bytes:
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(f"send {size}\n".encode())
        parts = []
        while block := sock.recv(1 << 16):
            parts.append(block)
        return b"".join(parts)


def _expected(size: int) -> bytes:
    return (PATTERN * (size // len(PATTERN) + 1))[:size]


def test_without_cuts_it_forwards_both_ways_and_counts(target: tuple[str, int]) -> None:
    with DroppingProxy(target, cut_after=(1, 1), max_cuts=0) as proxy:
        assert _receive(proxy.address, 3 << 20) == _expected(3 << 20)
        with socket.create_connection(proxy.address, timeout=10) as sock:
            sock.sendall(b"take\n" + b"x" * 100_000)
            sock.shutdown(socket.SHUT_WR)
            assert sock.recv(100) == b"100000"
        assert proxy.cuts == 0
        assert proxy.upstream == len(f"send {3 << 20}\n") + 5 + 100_000
        assert proxy.downstream == (3 << 20) + 6


def test_downstream_cuts_fall_in_the_range_and_stop_after_max_cuts(
    target: tuple[str, int],
) -> None:
    with DroppingProxy(target, cut_after=(100_000, 900_000), max_cuts=2, seed=7) as proxy:
        got = [_receive(proxy.address, 2 << 20) for _ in range(3)]
        for part in got[:2]:  # a prefix of the right bytes, cut inside the range
            assert 100_000 <= len(part) <= 900_000 and part == _expected(len(part))
        assert got[2] == _expected(2 << 20)  # no cuts left: untouched
        assert proxy.cuts == 2
        assert proxy.downstream == sum(len(g) for g in got)
    with DroppingProxy(target, cut_after=(100_000, 900_000), max_cuts=2, seed=7) as again:
        assert [len(_receive(again.address, 2 << 20)) for _ in range(2)] == [
            len(g) for g in got[:2]
        ]  # the same seed cuts at the same points


def test_an_upstream_cut_stops_what_the_client_sends(target: tuple[str, int]) -> None:
    with (
        DroppingProxy(target, cut_after=(5_000, 5_000), directions=("upstream",)) as proxy,
        socket.create_connection(proxy.address, timeout=10) as sock,
    ):
        with pytest.raises(OSError):  # the target never answers: it never saw the end
            sock.sendall(b"take\n" + b"x" * (64 << 20))
            sock.shutdown(socket.SHUT_WR)
            if not sock.recv(100):
                raise ConnectionResetError("closed without an answer")
        assert proxy.cuts == 1 and proxy.upstream == 5_000


def test_a_reset_cut_is_seen_as_a_reset(target: tuple[str, int]) -> None:
    with DroppingProxy(target, cut_after=(1_000, 1_000), reset=True) as proxy:
        with socket.create_connection(proxy.address, timeout=10) as sock:
            sock.sendall(b"send 10000000\n")
            received = 0
            with pytest.raises(ConnectionResetError):
                while block := sock.recv(1 << 16):
                    received += len(block)
            assert received <= 1_000
        assert proxy.cuts == 1


def test_close_ends_open_connections_and_every_thread(target: tuple[str, int]) -> None:
    proxy = DroppingProxy(target, cut_after=(1, 1), max_cuts=0)
    sock = socket.create_connection(proxy.address, timeout=10)
    sock.sendall(b"take\n")  # the target waits for more: the connection stays open
    deadline = time.monotonic() + 10
    while proxy.connections == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # the proxy's accepting thread takes it up
    proxy.close()
    assert sock.recv(100) == b""  # cut by close()
    sock.close()
    assert [t.name for t in threading.enumerate() if t.name.startswith("dropping-proxy")] == []
    assert proxy.connections == 0
