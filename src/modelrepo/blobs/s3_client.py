"""The S3 client every S3 reader and writer here uses: endpoint, retries and timeouts.

Shared by the S3 blob store and the S3 importer so that both honour `MODELREPO_S3_ENDPOINT_URL`
and the standard AWS configuration in the same way. botocore is imported only when a client is
made (`pip install 'modelrepo[s3]'`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal, cast

from ..domain.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

ENDPOINT_ENV = "MODELREPO_S3_ENDPOINT_URL"
"""Environment variable naming the S3 endpoint; unset means the standard AWS configuration."""

RetryMode = Literal["standard", "adaptive"]

_LOADER: Any = None
"""botocore's loader of service descriptions, shared so that each new store skips re-reading
the S3 model (most of the cost of making a client)."""


def endpoint_url(explicit: str | None = None) -> str | None:
    """`explicit`, else `MODELREPO_S3_ENDPOINT_URL`, else None (the standard AWS endpoint)."""
    return explicit or os.environ.get(ENDPOINT_ENV) or None


def make_client(
    *,
    endpoint: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    max_attempts: int = 8,
    retry_mode: RetryMode = "standard",
    connect_timeout: float = 10.0,
    read_timeout: float = 60.0,
) -> S3Client:
    """An S3 client resolved the standard AWS way (environment, config and credential files,
    profiles, instance roles), at `endpoint_url(endpoint)`, with these retry and timeout
    settings."""
    global _LOADER
    try:
        import botocore.session
        from botocore.config import Config
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise StorageError("S3 blob stores need boto3: pip install 'modelrepo[s3]'") from exc
    from botocore.exceptions import BotoCoreError

    config = Config(
        retries={"mode": retry_mode, "total_max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    try:
        session = botocore.session.Session(profile=profile)
        if _LOADER is None:
            _LOADER = session.get_component("data_loader")
        else:
            session.register_component("data_loader", _LOADER)
        client = session.create_client(
            "s3", region_name=region, endpoint_url=endpoint_url(endpoint), config=config
        )
    except BotoCoreError as exc:
        raise StorageError(f"cannot configure the S3 client: {exc}") from exc
    return cast("S3Client", client)


MISSING_KEY = {"NoSuchKey", "404", "NotFound"}
NO_UPLOAD = {"NoSuchUpload", "404"}


def error_code(exc: Exception) -> str:
    """The S3 error code of a botocore `ClientError` (else its HTTP status, else "")."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status:
            return str(status)
    return ""
