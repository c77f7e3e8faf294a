"""modelrepo: a versioned model repository that can prove which model made a decision."""

from typing import TYPE_CHECKING

from .domain.errors import (
    AlreadyExists,
    ApprovalRequired,
    Conflict,
    CorruptBlobError,
    Forbidden,
    IntegrityError,
    InvalidInput,
    MissingBlobError,
    ModelrepoError,
    NotFound,
    StorageError,
    StoreNotFound,
)

if TYPE_CHECKING:
    from .api.types import FsckReport, GcReport
    from .auditing import VerifyReport
    from .clock import ManualClock, SystemClock
    from .domain.deployments import (
        Allocation,
        DeploymentEvent,
        DeploymentOutcome,
        DeploymentRequest,
        Environment,
        Interval,
        LiveState,
        LiveVersion,
    )
    from .domain.diff import VersionDiff
    from .domain.manifest import FileEntry, canonical_manifest, manifest_digest
    from .domain.model import CodeRef, DataRef, Lineage, Model, ModelVersion, PythonEnvironment
    from .registry import Registry

__version__ = "0.1.0"

_LAZY = {
    "VerifyReport": "auditing",
    "ManualClock": "clock",
    "SystemClock": "clock",
    "Allocation": "domain.deployments",
    "DeploymentEvent": "domain.deployments",
    "DeploymentOutcome": "domain.deployments",
    "DeploymentRequest": "domain.deployments",
    "Environment": "domain.deployments",
    "Interval": "domain.deployments",
    "LiveState": "domain.deployments",
    "LiveVersion": "domain.deployments",
    "VersionDiff": "domain.diff",
    "FileEntry": "domain.manifest",
    "canonical_manifest": "domain.manifest",
    "manifest_digest": "domain.manifest",
    "CodeRef": "domain.model",
    "DataRef": "domain.model",
    "Lineage": "domain.model",
    "Model": "domain.model",
    "ModelVersion": "domain.model",
    "PythonEnvironment": "domain.model",
    "FsckReport": "api.types",
    "GcReport": "api.types",
    "Registry": "registry",
}
"""Public names and the module that defines each, imported on first use: `import modelrepo`
(and so every CLI call, `--help` included) loads only what is used."""


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'modelrepo' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # the next lookup is an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Allocation",
    "AlreadyExists",
    "ApprovalRequired",
    "CodeRef",
    "Conflict",
    "CorruptBlobError",
    "DataRef",
    "DeploymentEvent",
    "DeploymentOutcome",
    "DeploymentRequest",
    "Environment",
    "FileEntry",
    "Forbidden",
    "FsckReport",
    "GcReport",
    "IntegrityError",
    "Interval",
    "InvalidInput",
    "Lineage",
    "LiveState",
    "LiveVersion",
    "ManualClock",
    "MissingBlobError",
    "Model",
    "ModelVersion",
    "ModelrepoError",
    "NotFound",
    "PythonEnvironment",
    "Registry",
    "StorageError",
    "StoreNotFound",
    "SystemClock",
    "VerifyReport",
    "VersionDiff",
    "__version__",
    "canonical_manifest",
    "manifest_digest",
]
