"""Metadata in a relational database (SQLite now, PostgreSQL through the same migrations)."""

from .store import SqlMetadataStore

__all__ = ["SqlMetadataStore"]
