"""A bounded schemathesis run of every endpoint: no 5xx, responses match the schema, and no
answer names a server path (the store's folder, an MLflow source root, a staging folder)."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")

import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis import checks  # noqa: E402

from modelrepo import Registry  # noqa: E402
from modelrepo.server import create_app  # noqa: E402
from modelrepo.server.mlflow.sources import Sources  # noqa: E402

# Stores on disk, and an MLflow source folder, so that a message naming a server path would
# name one of these.
FOLDER = Path(tempfile.mkdtemp(prefix="modelrepo-schema-"))
atexit.register(shutil.rmtree, FOLDER, ignore_errors=True)
MLRUNS = FOLDER / "mlruns"
(MLRUNS / "models" / "m-1" / "artifacts").mkdir(parents=True)
(MLRUNS / "models" / "m-1" / "artifacts" / "MLmodel").write_text("flavors: {}\n")
SERVER_PATHS = (str(FOLDER), str(Path(tempfile.gettempdir()) / "modelrepo-"))


def _app(registry: Registry) -> object:
    return create_app(registry, mlflow_sources=Sources.parse([MLRUNS.as_uri()]))


registry = Registry(FOLDER / "read", user="schema")
_, TOKEN = registry.create_token("schema", "viewer")


def _seed() -> None:
    """Something to find: a model with a version, deployed, and a decision."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "coefficients.json").write_text('{"income": 0.25}')
        registry.register("credit-risk", folder, code=False, environment=False)
    registry.deploy("credit-risk", 1, env="production")
    registry.log_decision("credit-risk", inputs=[1], output=0, environment="production")


_seed()
schema = schemathesis.openapi.from_asgi("/openapi.json", _app(registry))


@schema.include(method="GET").parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_read_only_endpoints(case: schemathesis.Case) -> None:
    # Requests the schema admits but the registry refuses (a time that is not ISO-8601, a
    # model that does not exist) are fine: what must never happen is a 5xx or a response
    # that does not match the schema.
    _call_and_validate(case, TOKEN)


# -- every mutating endpoint, as an admin, on a throwaway store ------------------------------

# A decisions file travels as the bytes it is (JSON Lines or Parquet), like any file.
schemathesis.serializer.alias(
    ["application/x-ndjson", "application/jsonl", "application/vnd.apache.parquet"],
    "application/octet-stream",
)
changes = Registry(FOLDER / "changes", user="schema")
_, ADMIN = changes.create_token("schema-admin", "admin")
mutating = schemathesis.openapi.from_asgi("/openapi.json", _app(changes))


@mutating.include(method=["POST", "PUT", "DELETE"]).parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_mutating_endpoints(case: schemathesis.Case) -> None:
    # Refusals (422, 404, 409, 403 when a token would exceed its own rights, 413, 415) are
    # fine; a 5xx or an answer outside the schema is a bug.
    _call_and_validate(case, ADMIN)


def no_server_path(_ctx: object, response: object, _case: object) -> bool | None:
    """No answer names the server's folders: messages name the caller's input."""
    text = response.text  # type: ignore[attr-defined]
    for path in SERVER_PATHS:
        assert path not in text, f"the answer names a server path: {text[:500]}"
    return None


def _call_and_validate(case: schemathesis.Case, token: str) -> None:
    """A 5xx, an undocumented status or content type, an answer outside the schema, or one
    that names a server path fails."""
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        checks=[
            no_server_path,  # type: ignore[list-item]
            checks.not_a_server_error,
            checks.status_code_conformance,
            checks.content_type_conformance,
            checks.response_schema_conformance,
        ],
        excluded_checks=[checks.positive_data_acceptance],
    )
