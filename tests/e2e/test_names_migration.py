"""Revision 0012 widens name columns on a store holding rows, keeping every row and guard."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from modelrepo.stores.sql.schema import MIGRATIONS

from ..conftest import OpenRegistry

LONG_NAME = "Crédit Risk " + "x" * 244  # 256 characters
LONG_ENV = "e" * 255
WIDE = {
    ("models", "name"): 256,
    ("environments", "name"): 255,
    ("decisions", "environment"): 255,
    ("serving_periods", "environment"): 255,
    ("api_tokens", "model_pattern"): 256,
    ("webhooks", "model_pattern"): 256,
    ("access_denials", "model"): 256,
}


def _alembic(engine: sa.Engine, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, action)(config, revision)


def _widths(engine: sa.Engine) -> dict[tuple[str, str], int]:
    inspector = sa.inspect(engine)
    found = {}
    for table, column in WIDE:
        (col,) = [c for c in inspector.get_columns(table) if c["name"] == column]
        found[(table, column)] = col["type"].length
    return found


def _triggers(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            query = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
        else:
            query = (
                "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger "
                "WHERE NOT tgisinternal ORDER BY tgrelid::regclass::text, tgname"
            )
        return [f"{name}: {sql}" for name, sql in conn.exec_driver_sql(query)]


def test_a_store_made_before_wider_names_is_widened_in_place(
    open_registry: OpenRegistry, artifact: Path
) -> None:
    reg = open_registry(user="alice")
    reg.register("credit-risk", artifact)
    reg.deploy("credit-risk", 1, env="production")
    reg.log_decision("credit-risk", inputs={"x": 1}, output=1, environment="production")
    reg.create_token("bob", "viewer", model_pattern="credit-*")
    engine: sa.Engine = reg.backend.metadata.engine  # type: ignore[attr-defined]
    guards = _triggers(engine)

    _alembic(engine, "downgrade", "0011")
    assert set(_widths(engine).values()) == {128}
    if engine.dialect.name == "postgresql":
        with pytest.raises(sa.exc.DBAPIError, match="too long"), engine.begin() as conn:
            conn.exec_driver_sql(f"UPDATE models SET name = '{LONG_NAME}'")
    _alembic(engine, "upgrade", "head")

    assert _widths(engine) == WIDE
    assert _triggers(engine) == guards  # every guard is back, exactly as it was
    refused = pytest.raises(sa.exc.DBAPIError, match="immutable|only moves|revoked")
    with refused, engine.begin() as conn:
        conn.exec_driver_sql("UPDATE api_tokens SET model_pattern = 'x'")
    reg.register(LONG_NAME, artifact)
    reg.deploy(LONG_NAME, 1, env=LONG_ENV)
    reg.log_decision(LONG_NAME, inputs={"x": 2}, output=0, environment=LONG_ENV)
    reg.create_token("carol", "viewer", model_pattern=LONG_NAME[:255] + "*")
    assert reg.live(LONG_NAME, env=LONG_ENV).versions[0].version == 1
    assert reg.live("credit-risk", env="production").versions[0].version == 1
    # Going down past 0015 dropped how the deployer and bob's token's minter authenticated;
    # the log still says it, and verification names exactly that.
    problems = reg.audit_verify().problems
    assert len(problems) == 2, problems
    assert "(actor_auth)" in problems[0] and "(minted_auth)" in problems[1], problems
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
