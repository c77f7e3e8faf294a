"""A TCP proxy that mistreats connections on command, to test what clients see when the
network between the registry and its database or object store fails.

    proxy = FaultyProxy("127.0.0.1", 5432)
    url = f"postgresql://postgres@127.0.0.1:{proxy.port}/db"
    proxy.drop()          # reset every open connection now
    proxy.delay = 0.05    # hold each chunk relayed for 50 ms
    proxy.refuse = True   # reset new connections as they arrive
    proxy.close()
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time


def _reset(sock: socket.socket) -> None:
    """Cut the connection now, as a crashed peer or middlebox would. `shutdown` first: a bare
    `close` would wait for the relay thread blocked reading this socket, and cut nothing."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class FaultyProxy:
    """Relays TCP from a loopback port to `host:port`; faults are switched on by the test."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.delay = 0.0
        self.refuse = False
        self.accepted = 0
        self.dropped = 0
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            if self.refuse:
                _reset(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                _reset(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._pairs.append((client, server))
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                if self.delay:
                    time.sleep(self.delay)
                dst.sendall(data)
        except OSError:  # one side failed: cut the other too, as a middlebox would
            _reset(src)
            _reset(dst)
        else:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def drop(self) -> int:
        """Reset every open connection, both ends; how many were cut."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for client, server in pairs:
            _reset(client)
            _reset(server)
        self.dropped += len(pairs)
        return len(pairs)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.close()
        self.drop()
