"""The ports a registry holds beside its stores pass their contracts: the store lock (a
folder's file, in-process, PostgreSQL), the audit signer (new, or from its key file) and
the version signer (new, stored, or a key file on each curve model-signing accepts) and the
clocks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    PrivateFormat,
)

from modelrepo.clock import ManualClock, SystemClock
from modelrepo.ports import Clock, Signer, StatementSigner, StoreLock
from modelrepo.signing import Ed25519Signer, VersionSigner
from modelrepo.stores.locks import FileStoreLock, PostgresStoreLock, ThreadStoreLock
from modelrepo.stores.sql.store import postgresql_conninfo
from modelrepo.testing.clocks import ClockContract
from modelrepo.testing.locks import StoreLockContract
from modelrepo.testing.signing import SignerContract, StatementSignerContract


class TestFileLock(StoreLockContract):
    @pytest.fixture
    def lock(self, tmp_path: Path) -> StoreLock:
        return FileStoreLock(tmp_path / "gc.lock")

    @pytest.fixture
    def other(self, tmp_path: Path) -> StoreLock:
        return FileStoreLock(tmp_path / "gc.lock")


class TestThreadLock(StoreLockContract):
    @pytest.fixture
    def lock(self) -> StoreLock:
        return ThreadStoreLock()

    @pytest.fixture
    def other(self, lock: StoreLock) -> StoreLock:
        return lock


class TestPostgresLock(StoreLockContract):
    @pytest.fixture
    def lock(self, pg_url: str) -> Iterator[StoreLock]:
        lock = PostgresStoreLock(postgresql_conninfo(pg_url))
        yield lock
        lock.close()

    @pytest.fixture
    def other(self, pg_url: str) -> Iterator[StoreLock]:
        lock = PostgresStoreLock(postgresql_conninfo(pg_url))
        yield lock
        lock.close()


class TestNewSigner(SignerContract):
    @pytest.fixture
    def signer(self) -> Signer:
        return Ed25519Signer.generate()


class TestSignerFromKeyFile(SignerContract):
    @pytest.fixture
    def signer(self, tmp_path: Path) -> Signer:
        made = Ed25519Signer.load_or_create(tmp_path / "key.pem")
        loaded = Ed25519Signer.load_or_create(tmp_path / "key.pem")
        assert loaded.key_id == made.key_id
        return loaded


class TestNewVersionSigner(StatementSignerContract):
    @pytest.fixture
    def statement_signer(self) -> StatementSigner:
        return VersionSigner.generate()


class TestStoredVersionSigner(StatementSignerContract):
    @pytest.fixture
    def statement_signer(self, tmp_path: Path) -> StatementSigner:
        made = VersionSigner.load_or_create(tmp_path / "version-signing-key.pem")
        loaded = VersionSigner.load_or_create(tmp_path / "version-signing-key.pem")
        assert loaded.key_id == made.key_id
        return loaded


class TestVersionSignerFromKeyFile(StatementSignerContract):
    @pytest.fixture(params=[ec.SECP256R1, ec.SECP384R1, ec.SECP521R1])
    def statement_signer(self, tmp_path: Path, request: pytest.FixtureRequest) -> StatementSigner:
        key = ec.generate_private_key(request.param())
        path = tmp_path / "signing.pem"
        path.write_bytes(
            key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(b"pw"))
        )
        return VersionSigner.from_file(path, b"pw")


class TestSystemClock(ClockContract):
    @pytest.fixture
    def clock(self) -> Clock:
        return SystemClock()


class TestManualClock(ClockContract):
    @pytest.fixture
    def clock(self) -> Clock:
        return ManualClock(datetime(2026, 3, 1, tzinfo=UTC), step=timedelta(microseconds=1))
