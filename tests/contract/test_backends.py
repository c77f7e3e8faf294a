"""Every backend passes the same contract suites: each metadata suite on memory, SQLite and
PostgreSQL, each blob suite on memory and a local folder (S3: test_s3_blobs.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelrepo.blobs import LocalBlobStore, MemoryBlobStore
from modelrepo.ports import BlobStore, MetadataStore
from modelrepo.stores.memory import MemoryMetadataStore
from modelrepo.stores.sql import SqlMetadataStore
from modelrepo.testing import metadata_suites
from modelrepo.testing.blobs import BlobStoreContract


class Memory:
    """The reference store."""

    @pytest.fixture
    def store(self) -> MetadataStore:
        return MemoryMetadataStore()


class Sqlite:
    """A new database file per test."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[MetadataStore]:
        store = SqlMetadataStore.open_sqlite(tmp_path / "modelrepo.db")
        yield store
        store.close()


class Postgres:
    """A new database per test, made from the migrated template."""

    @pytest.fixture
    def store(self, pg_url: str) -> Iterator[MetadataStore]:
        store = SqlMetadataStore.open_postgresql(pg_url)
        yield store
        store.close()


for _backend in (Memory, Sqlite, Postgres):
    for _concept, _suite in metadata_suites().items():
        _name = f"Test{_backend.__name__}{_concept}"
        globals()[_name] = type(_name, (_backend, _suite), {"__module__": __name__})


class TestMemoryBlobs(BlobStoreContract):
    @pytest.fixture
    def blobs(self) -> BlobStore:
        return MemoryBlobStore()


class TestLocalBlobs(BlobStoreContract):
    @pytest.fixture
    def blobs(self, tmp_path: Path) -> BlobStore:
        return LocalBlobStore(tmp_path / "blobs")
