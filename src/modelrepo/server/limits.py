"""Request bodies have a size limit, so no client can fill the server's disk or memory.

A declared `Content-Length` over the limit is answered 413 before the body is read; a body
sent without one (chunked) is counted as it arrives, and the request fails with 413 as soon
as it passes the limit — before the route has written anything (uploads are staged in a
temporary folder first, and registered only when complete)."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import body

MiB = 1 << 20
DEFAULT_JSON_LIMIT = 64 * MiB
DEFAULT_UPLOAD_LIMIT = 64 * 1024 * MiB  # 64 GiB: a version's files, in one request


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


class BodyLimit:
    """ASGI middleware: `upload_limit` for version uploads (multipart), `json_limit` for
    every other body."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        json_limit: int = DEFAULT_JSON_LIMIT,
        upload_limit: int = DEFAULT_UPLOAD_LIMIT,
    ) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit

    def _limit(self, scope: Scope) -> int:
        path = scope["path"]
        upload = scope["method"] == "POST" and path.endswith(("/versions", "/versions/archive"))
        return self.upload_limit if upload else self.json_limit

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
