"""Revision 0016 adds the trusted keys and signing policies and takes them away again; every
revision since the decision log was partitioned goes down and back up."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from modelrepo.domain.attestations import SignatureInvalid
from modelrepo.stores.sql.schema import MIGRATIONS

from ..conftest import OpenRegistry


@pytest.fixture(autouse=True)
def _version_key(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if backend == "postgresql":
        monkeypatch.setenv("MODELREPO_SIGNING_KEY_FILE", os.fspath(tmp_path / "version-key.pem"))


def _alembic(engine: sa.Engine, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, action)(config, revision)


def _revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def _guards(engine: sa.Engine) -> list[str]:
    """Every trigger with its definition (and, on PostgreSQL, every trigger function)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            query = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
        else:
            query = (
                "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal "
                "UNION ALL SELECT proname, prosrc FROM pg_proc "
                "WHERE pronamespace = 'public'::regnamespace ORDER BY 1, 2"
            )
        return [f"{name}: {sql}" for name, sql in conn.exec_driver_sql(query)]


def test_a_store_taken_below_0016_and_back_names_the_keys_and_policies_it_lost(
    open_registry: OpenRegistry, artifact: Path
) -> None:
    reg = open_registry(user="alice")
    reg.set_signing_policy("environment", "production", enabled=True)
    reg.register("credit-risk", artifact, code=False, sign=True)
    reg.deploy("credit-risk", 1, env="production")
    store_key = reg.store_signing_key()
    engine: sa.Engine = reg.backend.metadata.engine  # type: ignore[attr-defined]
    assert _revision(engine) == "0016"

    _alembic(engine, "downgrade", "0015")
    assert {"signing_keys", "signing_policies"} & _tables(engine) == set()
    with engine.connect() as conn:  # the signatures are version events: they stay
        kept = conn.exec_driver_sql(
            "SELECT count(*) FROM version_events WHERE kind = 'signed'"
        ).scalar()
    assert kept == 2
    _alembic(engine, "upgrade", "head")

    assert reg.signing_keys() == [] and reg.signing_policies() == []
    assert len(reg.signatures("credit-risk", 1)) == 2
    with pytest.raises(SignatureInvalid, match="which is not trusted here"):
        reg.verify_signature("credit-risk", 1)
    problems = reg.audit_verify().problems
    assert len(problems) == 2, problems
    assert re.fullmatch(r"signing environment production of entry \d+ is gone", problems[0])
    assert re.fullmatch(rf"signing key {store_key.key_id} of entry \d+ is gone", problems[1])


def test_every_revision_since_the_partitioned_log_goes_down_and_back_up(
    open_registry: OpenRegistry, artifact: Path
) -> None:
    """One revision at a time, down to 0007 (which partitions the decision log and is not
    undone), then back up to the head; the store opens and signs as before."""
    reg = open_registry(user="alice")
    reg.register("credit-risk", artifact, code=False, sign=True)
    engine: sa.Engine = reg.backend.metadata.engine  # type: ignore[attr-defined]
    made, guards = _tables(engine), _guards(engine)
    scripts = ScriptDirectory(str(MIGRATIONS))
    assert scripts.get_heads() == [_revision(engine)]
    passed = []
    while True:
        current = _revision(engine)
        down = scripts.get_revision(current).down_revision
        try:
            _alembic(engine, "downgrade", str(down))
        except NotImplementedError as exc:
            assert str(exc) == "the decision log is not un-partitioned"
            break
        assert _revision(engine) == down
        passed.append(current)
    assert passed == [f"{n:04d}" for n in range(16, 7, -1)]
    assert _revision(engine) == "0007"
    _alembic(engine, "upgrade", "head")
    assert _tables(engine) == made
    assert _guards(engine) == guards  # every guard is back, exactly as it was
    reg.close()
    again = open_registry(user="alice")
    again.register("credit-risk", artifact, code=False, sign=True)
    assert again.verify_signature("credit-risk", 1).version == 1
