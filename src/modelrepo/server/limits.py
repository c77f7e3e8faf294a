"""Request bodies have a size limit, so no client can fill the server's disk or memory.

A declared `Content-Length` over the limit is answered 413 before the body is read; a body
sent without one (chunked) is counted as it arrives, and the request fails with 413 as soon
as it passes the limit, and nothing of it is kept (an upload's files are staged in the store
and registered only when the whole body has arrived; staged files are removed)."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import body

MiB = 1 << 20
DEFAULT_JSON_LIMIT = 64 * MiB
DEFAULT_UPLOAD_LIMIT = 64 * 1024 * MiB  # 64 GiB: a version's files, in one request
DEFAULT_IMPORT_LIMIT = 256 * MiB  # a decisions file, read whole by the import
MIN_LIMIT = 1
MAX_LIMIT = 1 << 50  # 1 PiB: more than any disk, less than overflows anything
IMPORT_PATH = "/api/v1/decisions/import"


class TooLarge(HTTPException):
    """The body passed its limit while being read: an HTTP 413, which the framework's body
    parsing passes on as it is (any other error there would become a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes")


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        body("too_large", f"the request body is larger than the limit of {limit} bytes"),
        status_code=413,
    )


def check_limit(value: int, what: str) -> int:
    """A body limit: a positive number of bytes up to 1 PiB; ValueError naming `what`
    otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be a whole number of bytes, not {value!r}")
    if not MIN_LIMIT <= value <= MAX_LIMIT:
        raise ValueError(f"{what} must be between 1 byte and 1 PiB, not {value}")
    return value


class BodyLimit:
    """ASGI middleware: `upload_limit` for version uploads (multipart, or a resumable
    upload's parts), `import_limit` for
    decision imports (a file), `json_limit` for every other body."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        json_limit: int = DEFAULT_JSON_LIMIT,
        upload_limit: int = DEFAULT_UPLOAD_LIMIT,
        import_limit: int = DEFAULT_IMPORT_LIMIT,
    ) -> None:
        self.app = app
        self.json_limit = check_limit(json_limit, "the JSON body limit")
        self.upload_limit = check_limit(upload_limit, "the upload limit")
        self.import_limit = check_limit(import_limit, "the import limit")

    def _limit(self, scope: Scope) -> int:
        if scope["method"] == "PUT" and "/uploads/" in scope["path"]:
            return self.upload_limit  # a part of a resumable upload
        if scope["method"] != "POST":
            return self.json_limit
        if scope["path"].endswith(("/versions", "/versions/archive")):
            return self.upload_limit
        return self.import_limit if scope["path"] == IMPORT_PATH else self.json_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge(limit)
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracking)
        except TooLarge:
            if not started:
                await _too_large(limit)(scope, receive, send)
