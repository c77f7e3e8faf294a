"""An API client on a real store (SQLite, and PostgreSQL + S3), with a token per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from modelrepo import Registry
from modelrepo.server import create_app

if TYPE_CHECKING:
    from ..oidc_provider import Provider


@dataclass
class Api:
    client: TestClient
    registry: Registry
    tokens: dict[str, str] = field(default_factory=dict)

    def as_(self, who: str) -> dict[str, str]:
        """Headers of the token named `who` (e.g. "deployer", "fraud-deployer")."""
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def token(self, name: str, user: str, role: str, pattern: str | None = None) -> str:
        _, secret = self.registry.create_token(user, role, model_pattern=pattern)
        self.tokens[name] = secret
        return secret

    def upload(self, name: str, who: str = "contributor", **metadata: object) -> dict[str, object]:
        import json

        files = [
            ("files", ("model/coefficients.json", b'{"income": 0.25}\n')),
            ("files", ("score.sh", b"#!/bin/sh\necho scoring\n")),
        ]
        reply = self.client.post(
            f"/api/v1/models/{name}/versions",
            headers=self.as_(who),
            files=files,
            data={"metadata": json.dumps(metadata)},
        )
        assert reply.status_code == 201, reply.text
        result: dict[str, object] = reply.json()
        return result


@pytest.fixture
def api(registry: Registry) -> Iterator[Api]:
    api = Api(TestClient(create_app(registry)), registry)
    for role in ("viewer", "contributor", "deployer", "approver", "admin"):
        api.token(role, f"{role}-user", role)
    api.token("approver2", "second-approver", "approver")
    api.token("deployer-as-approver", "deployer-user", "approver")
    api.token("fraud-deployer", "fraud-team", "deployer", "fraud-*")
    api.token("fraud-admin", "fraud-lead", "admin", "fraud-*")
    with api.client:
        yield api


@pytest.fixture
def oidc_provider() -> Iterator[Provider]:
    """A real OpenID provider on a loopback port (tests/oidc_provider.py), of this test
    alone: free to stop, restart, rotate its key. Takes a few seconds to start."""
    from ..oidc_provider import provider

    with provider() as running:
        yield running


@pytest.fixture(scope="module")
def shared_oidc_provider() -> Iterator[Provider]:
    """One provider for a module's tests that only add users and sign them in (each with
    users of its own): never stopped or rotated by a test."""
    from ..oidc_provider import provider

    with provider() as running:
        yield running
