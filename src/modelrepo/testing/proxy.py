"""A TCP proxy on loopback that drops connections part-way, for testing what a client does
when the network fails in the middle of a transfer (a download resumed, an upload retried).

    with DroppingProxy(("127.0.0.1", port), cut_after=(1 << 20, 64 << 20), max_cuts=3) as proxy:
        Registry(proxy.url, token=...).download(...)
        assert proxy.cuts == 3 and proxy.downstream < size + 3 * (64 << 20)

Each connection is forwarded both ways by two threads; while cuts are left, it is cut (both
sockets shut down and closed, so the client sees a short body, or a reset with `reset=True`)
once a number of bytes drawn from `cut_after` has gone the chosen way. The draws come from
`random.Random(seed)`: a failing test fails again the same way.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
from types import TracebackType
from typing import Literal, Self

Direction = Literal["upstream", "downstream"]
"""`upstream`: bytes from the client to the server; `downstream`: from the server back."""

BUFFER = 256 << 10
ACCEPT_POLL = 0.05  # seconds: how soon the accepting thread sees `close()`


class DroppingProxy:
    """Forwards TCP connections from an ephemeral loopback port to `target`, cutting up to
    `max_cuts` of them in all after a random number of bytes (`cut_after`, inclusive range)
    in each of `directions`; then it forwards untouched. Counts bytes forwarded each way."""

    def __init__(
        self,
        target: tuple[str, int],
        *,
        cut_after: tuple[int, int],
        directions: tuple[Direction, ...] = ("downstream",),
        max_cuts: int = 1,
        seed: int = 0,
        reset: bool = False,
    ) -> None:
        low, high = cut_after
        if not 0 < low <= high:
            raise ValueError(f"cut_after must be 0 < low <= high, not {cut_after}")
        if not set(directions) <= {"upstream", "downstream"} or not directions:
            raise ValueError(f"directions must be upstream and/or downstream, not {directions}")
        self.target = target
        self._cut_after = (low, high)
        self._directions = tuple(directions)
        self._max_cuts = max_cuts
        self._reset = reset
        self._random = random.Random(seed)  # noqa: S311 - reproducible cuts, not secrets
        self._lock = threading.Lock()
        self._forwarded: dict[Direction, int] = {"upstream": 0, "downstream": 0}
        self._cuts = 0
        self._connections: set[_Connection] = set()
        self._threads: list[threading.Thread] = []
        self._closing = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(ACCEPT_POLL)
        self.address: tuple[str, int] = self._listener.getsockname()[:2]
        self._accepting = threading.Thread(
            target=self._accept, name="dropping-proxy-accept", daemon=True
        )
        self._accepting.start()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`: the proxy as an HTTP client would address it."""
        return f"http://{self.address[0]}:{self.address[1]}"

    @property
    def upstream(self) -> int:
        """Bytes forwarded from clients to the target."""
        with self._lock:
            return self._forwarded["upstream"]

    @property
    def downstream(self) -> int:
        """Bytes forwarded from the target back to clients."""
        with self._lock:
            return self._forwarded["downstream"]

    @property
    def cuts(self) -> int:
        """Connections cut so far."""
        with self._lock:
            return self._cuts

    @property
    def connections(self) -> int:
        """Connections still open."""
        with self._lock:
            return len(self._connections)

    def close(self) -> None:
        """Stop accepting, cut every open connection, and wait for every thread to end."""
        self._closing.set()
        self._accepting.join()
        self._listener.close()
        with self._lock:
            open_now = list(self._connections)
        for connection in open_now:
            connection.end(reset=False)
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- inside --------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:  # pragma: no cover - the listener failed: nothing more to accept
                return
            try:
                server = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()  # the client sees the connection refused, as without us
                continue
            client.settimeout(None)
            server.settimeout(None)
            connection = _Connection(self, client, server)
            with self._lock:
                if self._closing.is_set():
                    client.close()
                    server.close()
                    return
                if self._cuts < self._max_cuts:
                    for direction in self._directions:
                        connection.budget[direction] = self._random.randint(*self._cut_after)
                self._connections.add(connection)
                pumps = [
                    threading.Thread(
                        target=connection.pump,
                        args=(source, sink, direction),
                        name=f"dropping-proxy-{direction}",
                        daemon=True,
                    )
                    for source, sink, direction in (
                        (client, server, "upstream"),
                        (server, client, "downstream"),
                    )
                ]
                self._threads = [t for t in self._threads if t.is_alive()] + pumps
            for pump in pumps:
                pump.start()

    def _forward(self, connection: _Connection, direction: Direction, size: int) -> int:
        """How many of `size` bytes to forward before cutting (`size` when not cutting)."""
        with self._lock:
            budget = connection.budget.get(direction)
            if budget is None:
                self._forwarded[direction] += size
                return size
            if self._cuts >= self._max_cuts:  # the cuts were used up by other connections
                connection.budget.clear()
                self._forwarded[direction] += size
                return size
            allowed = min(size, budget)
            connection.budget[direction] = budget - allowed
            self._forwarded[direction] += allowed
            return allowed

    def _cut_due(self, connection: _Connection, direction: Direction) -> bool:
        with self._lock:
            if connection.budget.get(direction) != 0 or self._cuts >= self._max_cuts:
                return False
            self._cuts += 1
            connection.budget.clear()
            return True

    def _ended(self, connection: _Connection) -> None:
        with self._lock:
            self._connections.discard(connection)


class _Connection:
    """One client connection and its connection to the target."""

    def __init__(self, proxy: DroppingProxy, client: socket.socket, server: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.server = server
        self.budget: dict[Direction, int] = {}
        self._lock = threading.Lock()
        self._ended = False
        self._running = 2

    def pump(self, source: socket.socket, sink: socket.socket, direction: Direction) -> None:
        """Forward `source` to `sink` until either ends or the cut comes."""
        buffer = bytearray(BUFFER)
        view = memoryview(buffer)
        try:
            while True:
                if self.proxy._cut_due(self, direction):
                    self.end(reset=self.proxy._reset)
                    return
                try:
                    count = source.recv_into(buffer)
                except OSError:
                    count = 0
                if not count:
                    if not self._ended:  # the sender finished: pass its end on
                        with contextlib.suppress(OSError):
                            sink.shutdown(socket.SHUT_WR)
                    return
                allowed = self.proxy._forward(self, direction, count)
                try:
                    sink.sendall(view[:allowed])
                except OSError:
                    self.end(reset=False)
                    return
        finally:
            self._pump_ended()

    def end(self, *, reset: bool) -> None:
        """Shut both sockets down (closing them is left to the last pump to end)."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
        for sock in (self.client, self.server):
            try:
                if reset:  # close() then sends RST instead of FIN
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                else:
                    sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if reset:
            # The pumps are blocked in recv: shutting down only our read side wakes them
            # without sending a FIN first.
            for sock in (self.client, self.server):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RD)

    def _pump_ended(self) -> None:
        with self._lock:
            self._running -= 1
            last = self._running == 0
        if last:
            self.end(reset=False)
            self.client.close()
            self.server.close()
            self.proxy._ended(self)
