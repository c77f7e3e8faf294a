"""The registry over HTTP: a versioned JSON API (`/api/v1`), API tokens, roles.

Needs the `server` extra (FastAPI, uvicorn); nothing else in modelrepo imports this package.
`create_app(registry)` builds the ASGI application; `modelrepo serve` runs it under uvicorn.
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
