"""Blob stores: content-addressed bytes behind `modelrepo.ports.BlobStore`.

To add a backend, implement the seven methods of `BlobStore` (put, open, exists, delete, list,
partials, delete_partial) and subclass `modelrepo.testing.blobs.BlobStoreContract` in a test.
Hashing, verification on read and manifests are shared code above this layer.

`LocalBlobStore` keeps blobs in a folder; `modelrepo.blobs.s3.S3BlobStore` in any
S3-compatible bucket (the `s3` extra); `open_blob_store` picks one from a path or URL.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..domain.errors import InvalidInput
from .local import LocalBlobStore
from .memory import MemoryBlobStore

if TYPE_CHECKING:
    from ..ports import BlobStore

__all__ = ["LocalBlobStore", "MemoryBlobStore", "open_blob_store"]


def open_blob_store(location: str | os.PathLike[str], **options: Any) -> BlobStore:
    """The blob store at `location`: a local folder path, or `s3://bucket/prefix`.

    `options` go to `S3BlobStore` for an S3 URL (see `S3BlobStore.from_url`).
    """
    text = os.fspath(location)
    scheme, sep, _ = text.partition("://")
    if not sep:
        if options:
            raise InvalidInput(f"options {sorted(options)} only apply to S3 blob stores")
        return LocalBlobStore(text)
    if scheme == "s3":
        from .s3 import S3BlobStore

        return S3BlobStore.from_url(text, **options)
    if scheme == "file":
        return open_blob_store(text[len("file://") :], **options)
    raise InvalidInput(f"unsupported blob store URL {text!r} (use a folder path or s3://)")
