"""The public API is exactly what `__all__` says, and every name in it exists."""

from __future__ import annotations

import modelrepo

EXPECTED = {
    "VerifyReport",
    "Allocation",
    "DeploymentEvent",
    "DeploymentOutcome",
    "DeploymentRequest",
    "Environment",
    "Interval",
    "LiveState",
    "LiveVersion",
    "AlreadyExists",
    "ApprovalRequired",
    "Forbidden",
    "StorageError",
    "CodeRef",
    "Conflict",
    "CorruptBlobError",
    "DataRef",
    "FileEntry",
    "FsckReport",
    "GcReport",
    "IntegrityError",
    "InvalidInput",
    "Lineage",
    "ManualClock",
    "MissingBlobError",
    "Model",
    "ModelVersion",
    "ModelrepoError",
    "NotFound",
    "PythonEnvironment",
    "Registry",
    "StoreNotFound",
    "SystemClock",
    "VersionDiff",
    "__version__",
    "canonical_manifest",
    "manifest_digest",
}


def test_all_is_exact() -> None:
    assert set(modelrepo.__all__) == EXPECTED
    for name in modelrepo.__all__:
        assert hasattr(modelrepo, name), name


def test_public_names_have_docstrings() -> None:
    for name in modelrepo.__all__:
        obj = getattr(modelrepo, name)
        if callable(obj):
            assert obj.__doc__, name
