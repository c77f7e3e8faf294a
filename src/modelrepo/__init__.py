"""modelrepo: a versioned model repository that can prove which model made a decision."""

from .clock import ManualClock, SystemClock
from .domain.diff import VersionDiff
from .domain.errors import (
    Conflict,
    CorruptBlobError,
    IntegrityError,
    InvalidInput,
    MissingBlobError,
    ModelrepoError,
    NotFound,
    StoreNotFound,
)
from .domain.manifest import FileEntry, canonical_manifest, manifest_digest
from .domain.model import CodeRef, DataRef, Lineage, Model, ModelVersion, PythonEnvironment
from .service import FsckReport, GcReport, Registry

__version__ = "0.1.0"

__all__ = [
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
]
