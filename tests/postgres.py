"""Throwaway PostgreSQL databases for tests, made fast by cloning one migrated template.

The server is the one the machine runs (`MODELREPO_TEST_POSTGRES`, default
`postgresql://postgres@127.0.0.1:5432/test`); these tests never skip. Each test gets its own
database, created from a template that already holds the migrated schema, and dropped after.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

ADMIN_URL = os.environ.get("MODELREPO_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def url_of(database: str) -> str:
    base = ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{database}"


def _admin() -> psycopg.Connection:
    return psycopg.connect(ADMIN_URL, autocommit=True)


def _create_template(name: str) -> None:
    from modelrepo.stores.sql import SqlMetadataStore

    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    SqlMetadataStore.open_postgresql(url_of(name)).close()  # migrate once


@contextmanager
def template_database(worker: str) -> Iterator[str]:
    """A migrated template for this test process; removed at the end."""
    name = f"mr_tmpl_{worker}_{uuid.uuid4().hex[:8]}"
    _create_template(name)
    try:
        yield name
    finally:
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(template: str | None) -> Iterator[str]:
    """A new database (from `template` if given, else empty); its URL, dropped afterwards."""
    name = f"mr_test_{uuid.uuid4().hex[:12]}"
    with _admin() as conn:
        if template:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url_of(name)
    finally:
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
