"""The client for user-named URLs: checked addresses only, httpx's errors, no redirects."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from modelrepo import InvalidInput
from modelrepo.outbound import outbound_client


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = f"host={self.headers['Host']} agent={self.headers['User-Agent']}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


def local(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


def test_the_connection_goes_to_the_checked_address_and_names_the_host(port: int) -> None:
    with outbound_client(allow_private=True, resolver=local, timeout=5) as client:
        reply = client.get(f"http://hooks.example:{port}/")
        assert reply.status_code == 200
        assert reply.text == f"host=hooks.example:{port} agent=modelrepo-webhooks/1"
        assert client.get(f"http://hooks.example:{port}/moved").status_code == 302


def test_a_private_address_is_refused_before_connecting(port: int) -> None:
    with (
        outbound_client(allow_private=False, resolver=local, timeout=5) as client,
        pytest.raises(InvalidInput, match="127.0.0.1"),
    ):
        client.get(f"http://hooks.example:{port}/")


def test_network_failures_are_httpx_errors() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with (
        outbound_client(allow_private=True, resolver=local, timeout=5) as client,
        pytest.raises(httpx.ConnectError) as caught,
    ):
        client.get(f"http://hooks.example:{closed}/")
    assert caught.value.request.url.host == "hooks.example"
