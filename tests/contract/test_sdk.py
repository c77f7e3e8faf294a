"""One SDK contract, four ways of opening a registry: the embedded store (SQLite), the
scale-out store (PostgreSQL + S3), the in-memory store, and a server through the remote
registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from modelrepo import ManualClock, Registry
from modelrepo.remote import RemoteRegistry
from modelrepo.server import create_app
from modelrepo.testing.registry import RegistryContract


class TestEmbedded(RegistryContract):
    """On SQLite and on PostgreSQL + S3 (the `registry` fixture runs on both)."""

    @pytest.fixture
    def reg(self, registry: Registry) -> Registry:
        return registry

    @pytest.fixture
    def bob(self, registry: Registry) -> Registry:
        return registry.as_user("bob")


class TestInMemory(RegistryContract):
    """On the memory store, the reference the others are compared with."""

    @pytest.fixture
    def reg(self, clock: ManualClock) -> Iterator[Registry]:
        reg = Registry.in_memory(user="alice", clock=clock)
        yield reg
        reg.close()

    @pytest.fixture
    def bob(self, reg: Registry) -> Registry:
        return reg.as_user("bob")


@pytest.mark.sqlite_only  # the transport is under test here; the stores are covered above
class TestRemote(RegistryContract):
    """Through the HTTP API in-process (the app on a SQLite store), one token per user."""

    @pytest.fixture
    def client(self, registry: Registry) -> Iterator[TestClient]:
        with TestClient(create_app(registry)) as client:
            yield client

    def _open(self, registry: Registry, client: TestClient, user: str, cache: Path) -> Registry:
        # Minted on the server's host by an operator: neither user minted the other's token.
        _, secret = registry.as_user("ops").create_token(user, "admin")
        return RemoteRegistry(
            "http://testserver",
            token=secret,
            client=client,
            allow_insecure_http=True,
            cache_dir=cache,
        )

    @pytest.fixture
    def behind(self, registry: Registry) -> Registry:
        return registry

    @pytest.fixture
    def reg(self, registry: Registry, client: TestClient, tmp_path: Path) -> Iterator[Registry]:
        with self._open(registry, client, "alice", tmp_path / "cache") as remote:
            yield remote

    @pytest.fixture
    def bob(self, registry: Registry, client: TestClient, tmp_path: Path) -> Iterator[Registry]:
        with self._open(registry, client, "bob", tmp_path / "cache-bob") as remote:
            yield remote
