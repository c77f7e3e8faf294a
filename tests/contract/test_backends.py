"""Every backend passes the same contract suites."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelrepo.blobs import LocalBlobStore, MemoryBlobStore
from modelrepo.ports import BlobStore, MetadataStore
from modelrepo.stores.memory import MemoryMetadataStore
from modelrepo.stores.sql import SqlMetadataStore
from modelrepo.testing.blobs import BlobStoreContract
from modelrepo.testing.decisions import DecisionStoreContract
from modelrepo.testing.denials import DenialStoreContract
from modelrepo.testing.deployments import DeploymentStoreContract
from modelrepo.testing.metadata import MetadataStoreContract
from modelrepo.testing.tokens import TokenStoreContract
from modelrepo.testing.webhooks import WebhookStoreContract


class TestMemoryMetadata(MetadataStoreContract):
    @pytest.fixture
    def store(self) -> MetadataStore:
        return MemoryMetadataStore()


class TestSqliteMetadata(MetadataStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> MetadataStore:
        return SqlMetadataStore.open_sqlite(tmp_path / "modelrepo.db")


class TestMemoryBlobs(BlobStoreContract):
    @pytest.fixture
    def blobs(self) -> BlobStore:
        return MemoryBlobStore()


class TestLocalBlobs(BlobStoreContract):
    @pytest.fixture
    def blobs(self, tmp_path: Path) -> BlobStore:
        return LocalBlobStore(tmp_path / "blobs")


class TestMemoryDeployments(DeploymentStoreContract):
    @pytest.fixture
    def store(self) -> MetadataStore:
        return MemoryMetadataStore()


class TestSqliteDeployments(DeploymentStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> MetadataStore:
        return SqlMetadataStore.open_sqlite(tmp_path / "modelrepo.db")


class TestMemoryDecisions(DecisionStoreContract):
    @pytest.fixture
    def store(self) -> MetadataStore:
        return MemoryMetadataStore()


class TestSqliteDecisions(DecisionStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> MetadataStore:
        return SqlMetadataStore.open_sqlite(tmp_path / "modelrepo.db")


class TestPostgresMetadata(MetadataStoreContract):
    @pytest.fixture
    def store(self, pg_url: str) -> Iterator[MetadataStore]:
        store = SqlMetadataStore.open_postgresql(pg_url)
        yield store
        store.close()


class TestPostgresDeployments(DeploymentStoreContract):
    @pytest.fixture
    def store(self, pg_url: str) -> Iterator[MetadataStore]:
        store = SqlMetadataStore.open_postgresql(pg_url)
        yield store
        store.close()


class TestPostgresDecisions(DecisionStoreContract):
    @pytest.fixture
    def store(self, pg_url: str) -> Iterator[MetadataStore]:
        store = SqlMetadataStore.open_postgresql(pg_url)
        yield store
        store.close()


class TestMemoryTokens(TokenStoreContract):
    @pytest.fixture
    def store(self) -> MetadataStore:
        return MemoryMetadataStore()


class TestSqliteTokens(TokenStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> MetadataStore:
        return SqlMetadataStore.open_sqlite(tmp_path / "modelrepo.db")


class TestPostgresTokens(TokenStoreContract):
    @pytest.fixture
    def store(self, pg_url: str) -> Iterator[MetadataStore]:
        store = SqlMetadataStore.open_postgresql(pg_url)
        yield store
        store.close()


class TestMemoryWebhooks(WebhookStoreContract):
    @pytest.fixture
    def store(self) -> MetadataStore:
        return MemoryMetadataStore()


class TestSqliteWebhooks(WebhookStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> MetadataStore:
        return SqlMetadataStore.open_sqlite(tmp_path / "modelrepo.db")


class TestPostgresWebhooks(WebhookStoreContract):
    @pytest.fixture
    def store(self, pg_url: str) -> Iterator[MetadataStore]:
        store = SqlMetadataStore.open_postgresql(pg_url)
        yield store
        store.close()


class TestMemoryDenials(DenialStoreContract):
    @pytest.fixture
    def store(self) -> MetadataStore:
        return MemoryMetadataStore()


class TestSqliteDenials(DenialStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> MetadataStore:
        return SqlMetadataStore.open_sqlite(tmp_path / "modelrepo.db")


class TestPostgresDenials(DenialStoreContract):
    @pytest.fixture
    def store(self, pg_url: str) -> Iterator[MetadataStore]:
        store = SqlMetadataStore.open_postgresql(pg_url)
        yield store
        store.close()
