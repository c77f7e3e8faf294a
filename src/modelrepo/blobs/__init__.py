"""Blob stores: content-addressed bytes behind `modelrepo.ports.BlobStore`.

To add a backend, implement the seven methods of `BlobStore` (put, open, exists, delete, list,
partials, delete_partial) and subclass `modelrepo.testing.blobs.BlobStoreContract` in a test.
Hashing, verification on read and manifests are shared code above this layer.
"""

from .local import LocalBlobStore
from .memory import MemoryBlobStore

__all__ = ["LocalBlobStore", "MemoryBlobStore"]
