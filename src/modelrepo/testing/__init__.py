"""Contract suites every backend must pass; subclass them in a backend's tests.

class TestMyBlobs(BlobStoreContract):
    @pytest.fixture
    def blobs(self, tmp_path):
        return MyBlobStore(tmp_path)

A metadata store runs every suite of `metadata_suites()`, each with its `store` fixture.
"""

from __future__ import annotations


def metadata_suites() -> dict[str, type]:
    """Every contract a `MetadataStore` passes, by concept: together they call each method
    of the metadata ports (tests/contract/test_port_coverage.py checks that they do)."""
    from .attestations import AttestationStoreContract
    from .audit import AuditStoreContract
    from .decisions import DecisionStoreContract
    from .denials import DenialStoreContract
    from .deployments import DeploymentStoreContract
    from .metadata import MetadataStoreContract
    from .roles import RoleBindingStoreContract
    from .serving import ServingStoreContract
    from .sessions import WebSessionStoreContract
    from .tokens import TokenStoreContract
    from .webhooks import WebhookStoreContract

    return {
        "Metadata": MetadataStoreContract,
        "Deployments": DeploymentStoreContract,
        "Decisions": DecisionStoreContract,
        "Serving": ServingStoreContract,
        "Tokens": TokenStoreContract,
        "Roles": RoleBindingStoreContract,
        "WebSessions": WebSessionStoreContract,
        "Webhooks": WebhookStoreContract,
        "Denials": DenialStoreContract,
        "Audit": AuditStoreContract,
        "Attestations": AttestationStoreContract,
    }
