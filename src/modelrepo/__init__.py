"""modelrepo: a versioned model repository that can prove which model made a decision."""

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
from .domain.errors import (
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
from .domain.manifest import FileEntry, canonical_manifest, manifest_digest
from .domain.model import CodeRef, DataRef, Lineage, Model, ModelVersion, PythonEnvironment
from .service import FsckReport, GcReport, Registry

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # Loaded on first use: keeps `import modelrepo` (and every CLI call) fast.
    if name == "VersionDiff":
        from .domain.diff import VersionDiff

        return VersionDiff
    raise AttributeError(f"module 'modelrepo' has no attribute {name!r}")


__all__ = [
    "Allocation",
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
