"""Every mounted route and method of the real app, sent as every role, with a token for every
model, one whose scope covers the model asked about and one whose scope does not: each answer
is the one `domain.access.OPERATIONS` (and so the documented role table) says."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import tarfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from modelrepo import ManualClock, Registry
from modelrepo.domain.access import MODEL, OPERATIONS, ROLE_ACTIONS, STORE
from modelrepo.server import create_app
from modelrepo.server.auth import route_operation

from ..conftest import T0

MODEL_NAME = "credit-risk"
PART = b"0123456789"
PART_SHA = hashlib.sha256(PART).digest()
SCOPES = (None, "credit-*", "fraud-*")  # every model, in scope, out of scope
M = f"/api/v1/models/{MODEL_NAME}"
RM, MV = "/api/2.0/mlflow/registered-models", "/api/2.0/mlflow/model-versions"


V = "/api/v1"
N = f"{V}/models/{{name}}"
E = f"{N}/environments/{{env}}"
D = f"{V}/decisions"
A = f"{V}/audit"
W = f"{V}/webhooks"
ART = "/api/2.0/mlflow-artifacts/artifacts"
SPEC: dict[str, list[str]] = {
    "service.health": ["GET /healthz", "GET /readyz"],
    "service.describe": ["GET /openapi.json", "GET /docs", "GET /docs/oauth2-redirect",
                         "GET /redoc", "GET /docs/assets/swagger-ui-bundle.js",
                         "GET /docs/assets/swagger-ui.css", "GET /docs/assets/redoc.standalone.js",
                         "GET /docs/assets/favicon.png"],
    "ui.static": ["GET /", "GET /ui", "GET /ui/", "GET /ui/app.css", "GET /ui/app.mjs",
                  "GET /ui/timeline.mjs"],
    "ui.signin": ["GET /api/v1/auth/config", "GET /ui/login", "GET /ui/callback",
                  "POST /ui/logout"],
    "service.metrics": ["GET /metrics"],
    "identity.read": [f"GET {V}/whoami", f"GET {V}/session"],
    "model.list": [f"GET {V}/models", f"GET {RM}/search"],
    "model.read": [f"GET {N}", f"GET {N}/events", f"GET {RM}/get",
                   f"GET {RM}/get-latest-versions", f"POST {RM}/get-latest-versions"],
    "model.create": [f"POST {V}/models", f"POST {RM}/create"],
    "model.tag": [f"PUT {N}/tags/{{key}}", f"DELETE {N}/tags/{{key}}", f"POST {RM}/set-tag",
                  f"DELETE {RM}/delete-tag"],
    "model.describe": [f"PUT {N}/description", f"PATCH {RM}/update"],
    "model.rename": [f"POST {N}/rename", f"POST {RM}/rename"],
    "model.delete": [f"DELETE {N}", f"DELETE {RM}/delete"],
    "version.list": [f"GET {N}/versions"],
    "version.search": [f"GET {MV}/search"],
    "version.read": [f"GET {N}/versions/{{version}}", f"GET {N}/versions/{{version}}/events",
                     f"GET {MV}/get"],
    "version.diff": [f"GET {N}/diff"],
    "version.resolve": [f"GET {V}/resolve/{{ref}}", f"GET {RM}/alias"],
    "version.download": [f"GET {N}/versions/{{version}}/files/{{path:path}}",
                         f"GET {MV}/get-download-uri", f"GET {ART}",
                         f"GET {ART}/models/{{name}}/versions/{{version}}/{{path:path}}"],
    "version.register": [f"POST {N}/versions", f"POST {N}/versions/archive",
                         f"POST {N}/versions/source", f"POST {MV}/create", f"POST {N}/uploads",
                         f"GET {N}/uploads/{{upload_id}}",
                         f"PUT {N}/uploads/{{upload_id}}/parts/{{number}}",
                         f"POST {N}/uploads/{{upload_id}}/complete",
                         f"DELETE {N}/uploads/{{upload_id}}"],
    "version.record_deleted": [f"POST {N}/deleted-versions"],
    "version.tag": [f"PUT {N}/versions/{{version}}/tags/{{key}}",
                    f"DELETE {N}/versions/{{version}}/tags/{{key}}", f"POST {MV}/set-tag",
                    f"DELETE {MV}/delete-tag"],
    "version.describe": [f"PATCH {MV}/update"],
    "version.deprecate": [f"POST {N}/versions/{{version}}/deprecation"],
    "version.trust": [f"POST {N}/versions/{{version}}/trust"],
    "version.sign": [f"POST {N}/versions/{{version}}/sign",
                     f"POST {N}/versions/{{version}}/signatures"],
    "version.signatures": [f"GET {N}/versions/{{version}}/signatures",
                           f"GET {N}/versions/{{version}}/provenance"],
    "signing.read": [f"GET {V}/signing/keys", f"GET {V}/signing/policies"],
    "signing.manage": [f"POST {V}/signing/keys", f"POST {V}/signing/keys/{{key_id}}/revoke",
                       f"POST {V}/signing/store-key", f"POST {V}/signing/rotate",
                       f"PUT {V}/signing/policies"],
    "version.delete": [f"DELETE {N}/versions/{{version}}", f"DELETE {MV}/delete"],
    "deployment.read": [f"GET {N}/environments", f"GET {E}/live", f"GET {N}/history",
                        f"GET {N}/timeline"],
    "deployment.deploy": [f"POST {E}/deploy", f"POST {RM}/alias", f"POST {MV}/transition-stage"],
    "deployment.undeploy": [f"POST {E}/undeploy", f"DELETE {RM}/alias"],
    "deployment.rollback": [f"POST {E}/rollback"],
    "deployment.import": [f"POST {N}/deployments/import"],
    "environment.protect": [f"POST {E}/protect"],
    "environment.unprotect": [f"POST {E}/unprotect"],
    "serving.read": [f"GET {E}/serving"],
    "serving.report": [f"POST {E}/serving", f"POST {E}/serving/{{instance_id}}/heartbeat",
                       f"POST {E}/serving/{{instance_id}}/stop"],
    "request.list": [f"GET {V}/requests"],
    "request.read": [f"GET {V}/requests/{{request_id}}"],
    "request.approve": [f"POST {V}/requests/{{request_id}}/approve"],
    "request.reject": [f"POST {V}/requests/{{request_id}}/reject"],
    "decision.log": [f"POST {D}", f"POST {D}/batch", f"POST {N}/decisions/columns",
                     f"POST {D}/import"],
    "decision.list": [f"GET {N}/decisions"],
    "decision.read": [f"GET {D}/{{decision_id:path}}"],
    "decision.inputs": [f"GET {V}/decision-inputs/{{decision_id:path}}"],
    "decision.replay": [f"POST {D}/{{decision_id:path}}/replay"],
    "decision.policy": [f"PUT {N}/decisions/policy"],
    "decision.purge": [f"POST {D}/purge"],
    "report.model": [f"GET {N}/report"],
    "report.decision": [f"GET {D}/{{decision_id:path}}/report"],
    "audit.read": [f"GET {A}/verify", f"GET {A}/checkpoints", f"GET {A}/proofs/{{seq}}",
                   f"GET {A}/key", f"GET {A}/log", f"GET {A}/consistency"],
    "audit.checkpoint": [f"POST {A}/checkpoints"],
    "audit.denied": [f"GET {A}/denied"],
    "store.maintain": [f"POST {V}/admin/fsck", f"POST {V}/admin/gc"],
    "webhook.create": [f"POST {W}"],
    "webhook.list": [f"GET {W}"],
    "webhook.disable": [f"POST {W}/{{webhook_id}}/disable"],
    "webhook.deliveries": [f"GET {W}/deliveries", f"GET {W}/deliveries/{{delivery_id}}/attempts"],
    "token.create": [f"POST {V}/tokens"],
    "token.list": [f"GET {V}/tokens"],
    "token.revoke": [f"POST {V}/tokens/{{token_id}}/revoke"],
    "role.grant": [f"POST {V}/roles"],
    "role.list": [f"GET {V}/roles"],
    "role.revoke": [f"POST {V}/roles/{{binding_id}}/revoke"],
}  # fmt: skip
"""What each route does, as the review states it (not as the routes declare it): the
expectations below come from here and the table, so a route that declares another operation
than this (the MLflow delete once needed only `register`) fails."""
EXPECTED = {route: operation for operation, routes in SPEC.items() for route in routes}


def _seed(reg: Registry, tmp: Path) -> dict[str, Any]:
    """credit-risk@1..5 with tags, live in production (then protected, two requests pending)
    and champion, a decision, two serving instances, a webhook with a delivery, a spare
    token and role binding in scope: something real behind every route."""
    folder = tmp / "artifact"
    (folder / "model").mkdir(parents=True)
    (folder / "model" / "coefficients.json").write_text('{"income": 0.25}\n')
    (folder / "score.sh").write_text("#!/bin/sh\necho scoring\n")
    versions = [reg.register(MODEL_NAME, folder, params={"n": n}) for n in (1, 2, 3, 4, 5)]
    for key in ("k1", "k2"):
        reg.tag(MODEL_NAME, 1, key, "v")
        reg.tag_model(MODEL_NAME, key, "v")
    hook, _ = reg.add_webhook("https://hooks.example/mr", events=["deployed"])
    for env in ("production", "champion"):
        reg.deploy(MODEL_NAME, 1, env=env)
    reg.protect(MODEL_NAME, env="production")
    first = reg.deploy(MODEL_NAME, 2, env="production").request
    second = reg.deploy(MODEL_NAME, 3, env="production").request
    assert first is not None and second is not None
    reg.log_decision(MODEL_NAME, inputs={"x": 1}, output=1, version=1, decision_id="d-1")
    for pod in ("pod-1", "pod-2"):
        reg.serving_start(MODEL_NAME, env="production", instance_id=pod, host="h",
                          version=1, digest=versions[0].digest)  # fmt: skip
    binding = reg.grant_role(
        "spare@bank.example", "viewer", issuer="https://idp.example", model_pattern="credit-*"
    )
    assert reg.deliverer().fan_out() >= 1
    from modelrepo.signing import VersionSigner

    spare_key = reg.trust_signing_key(
        VersionSigner.generate().public_pem.decode(), label="a spare key, to revoke"
    )
    return {
        "key": spare_key.key_id,
        "request": first.request_id,
        "other_request": second.request_id,
        "digest": versions[0].digest,
        "webhook": hook.webhook_id,
        "delivery": reg.webhook_deliveries()[0].delivery_id,
        "token": "",  # set per role: see the test
        "binding": binding.binding_id,
    }


def _archive() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo("model.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    return out.getvalue()


def _sample(method: str, path: str, seeded: dict[str, Any], pattern: str | None) -> Any:
    """(url, request kwargs) of one request to the route, about credit-risk."""
    decision = {"model": MODEL_NAME, "version": 1, "inputs": 1, "output": 1}
    name = {"name": MODEL_NAME}
    version = {**name, "version": "1"}
    bodies: dict[tuple[str, str], Any] = {
        ("PUT", f"{M}/tags/k3"): {"json": {"value": "v"}},
        ("PUT", f"{M}/description"): {"json": {"description": "d"}},
        ("POST", f"{M}/versions"): {"files": [("files", ("a.txt", b"x"))]},
        ("POST", f"{M}/uploads"): {"json": {"size": len(PART)}},
        ("PUT", f"{M}/uploads/{seeded['upload']}/parts/1"): {
            "content": PART,
            "headers": {"Content-Digest": f"sha-256=:{base64.b64encode(PART_SHA).decode()}:"},
        },
        ("POST", f"{M}/uploads/{seeded['upload']}/complete"): {"json": {"sha256": PART_SHA.hex()}},
        ("PUT", f"{M}/versions/1/tags/k3"): {"json": {"value": "v"}},
        ("POST", f"{M}/versions/1/deprecation"): {"json": {}},
        ("POST", f"{M}/versions/1/trust"): {"json": {"types": ["numpy.dtype"], "reason": "r"}},
        ("POST", f"{M}/versions/archive"): {"files": [("archive", ("a.tar", _archive()))]},
        ("POST", f"{M}/versions/source"): {"json": {"source": "https://u:p@ci.example/a.tar"}},
        ("POST", f"{M}/deleted-versions"): {"json": {"number": 9, "reason": "gone elsewhere"}},
        ("POST", f"{M}/deployments/import"): {
            "json": {
                "source": "old",
                "records": [
                    {
                        "environment": "legacy",
                        "effective_at": "2026-01-01T00:00:00Z",
                        "versions": {"1": 1.0},
                    }
                ],
            }
        },
        ("POST", f"{M}/environments/staging/deploy"): {"json": {"version": 1}},
        ("POST", f"{M}/environments/production/serving"): {
            "json": {"instance_id": "pod-3", "host": "h", "version": 1, "digest": seeded["digest"]}
        },
        ("POST", "/api/v1/decisions"): {"json": decision},
        ("POST", "/api/v1/decisions/batch"): {
            "json": {"decisions": [{**decision, "decision_id": "d-2"}]}
        },
        ("POST", f"{M}/decisions/columns"): {"json": {"outputs": [1], "version": 1}},
        ("POST", "/api/v1/decisions/import"): {
            "content": json.dumps({**decision, "decision_id": "d-3"}).encode() + b"\n",
            "headers": {"Content-Type": "application/x-ndjson"},
        },
        ("PUT", f"{M}/decisions/policy"): {"json": {"inputs": "digest"}},
        ("POST", "/api/v1/decisions/purge"): {"json": {"model": MODEL_NAME}},
        ("POST", "/api/v1/admin/gc"): {"json": {"dry_run": True}},
        ("POST", "/api/v1/webhooks"): {
            "json": {"url": "https://hooks.example/b", "events": ["deployed"]}
        },
        ("POST", "/api/v1/tokens"): {
            "json": {"role": "viewer", "model_pattern": pattern}  # one's own, within one's grant
        },
        ("POST", "/api/v1/roles"): {
            "json": {
                "principal": "eve@bank.example",
                "role": "viewer",
                "issuer": "https://idp.example",
                "model_pattern": pattern,
            }
        },
        ("POST", f"{M}/versions/1/signatures"): {"json": {"bundles": ["{}"]}},
        ("POST", "/api/v1/signing/keys"): {"json": {"public_key": "k", "label": "l"}},
        ("POST", f"/api/v1/signing/keys/{seeded['key']}/revoke"): {"json": {"reason": "r"}},
        ("PUT", "/api/v1/signing/policies"): {
            "json": {"scope": "environment", "name": "qa", "enabled": True}
        },
        ("POST", f"{RM}/create"): {"json": name},
        ("POST", "/api/v1/models"): {"json": name},
        ("POST", f"{M}/rename"): {"json": {"new_name": MODEL_NAME}},  # refused: no change
        ("POST", f"{RM}/rename"): {"json": {**name, "new_name": MODEL_NAME}},
        ("PATCH", f"{RM}/update"): {"json": {**name, "description": "d"}},
        ("DELETE", f"{RM}/delete"): {"json": name},
        ("POST", f"{RM}/set-tag"): {"json": {**name, "key": "k3", "value": "v"}},
        ("DELETE", f"{RM}/delete-tag"): {"json": {**name, "key": "k2"}},
        ("POST", f"{RM}/get-latest-versions"): {"json": name},
        ("POST", f"{RM}/alias"): {"json": {**version, "alias": "challenger"}},
        ("DELETE", f"{RM}/alias"): {"json": {**name, "alias": "champion"}},
        ("POST", f"{MV}/create"): {"json": {**name, "source": "models:/m-0a"}},
        ("PATCH", f"{MV}/update"): {"json": {**version, "description": "d"}},
        ("DELETE", f"{MV}/delete"): {"json": {**name, "version": "5"}},
        ("POST", f"{MV}/set-tag"): {"json": {**version, "key": "k3", "value": "v"}},
        ("DELETE", f"{MV}/delete-tag"): {"json": {**version, "key": "k2"}},
        ("POST", f"{MV}/transition-stage"): {"json": {**version, "stage": "Staging"}},
    }
    queries = {
        f"{M}/diff": {"a": 1, "b": 2},
        "/api/v1/audit/consistency": {"old_size": 0},
        f"{RM}/get": name,
        f"{RM}/get-latest-versions": name,
        f"{RM}/alias": {**name, "alias": "production"},
        f"{MV}/get": version,
        f"{MV}/get-download-uri": version,
        "/api/2.0/mlflow-artifacts/artifacts": {"path": f"models/{MODEL_NAME}/versions/1"},
    }
    values = {
        "name": MODEL_NAME,
        "version": "4" if path.endswith("{version}") else "1",  # the native delete: 4
        "key": "k1" if method == "DELETE" else "k3",
        "env": {
            "deploy": "staging",
            "undeploy": "staging",
            "rollback": "staging",
            "protect": "qa",
        }.get(path.rsplit("/", 1)[-1], "production"),
        "path": "score.sh",
        "path:path": "score.sh",
        "ref": f"{MODEL_NAME}@1",
        "request_id": str(seeded["other_request" if path.endswith("reject") else "request"]),
        "decision_id:path": "d-1",
        "seq": "1",
        "webhook_id": seeded["webhook"],
        "delivery_id": str(seeded["delivery"]),
        "token_id": seeded["token"],
        "binding_id": seeded["binding"],
        "key_id": seeded["key"],
        "upload_id": seeded["upload"],
        "number": "1",
        "instance_id": "pod-2" if path.endswith("stop") else "pod-1",
    }
    url = re.sub(r"\{([^}]+)\}", lambda m: values[m[1]], path)
    kwargs = dict(bodies.get((method, url), {}))
    if method == "GET" and path in queries:
        kwargs["params"] = queries[path]
    return url, kwargs


def _expected(operation: str, role: str, pattern: str | None) -> str:
    """What the table says: allowed, refused for the role (403), refused for a scoped token
    on the whole store (403), or answered as absent (404)."""
    op = OPERATIONS[operation]
    if op.action is None:
        return "allowed"
    if op.action not in ROLE_ACTIONS[role]:
        return "role"
    if op.target == STORE and pattern is not None:
        return "store"
    if op.target == MODEL and pattern == "fraud-*":
        return "absent"
    return "allowed"


def _error(reply: Any) -> tuple[str, str]:
    body = reply.json()
    if "error_code" in body:
        return body["error_code"], body["message"]
    return body["code"], body["message"]


def _walk(app_routes: list[BaseRoute]) -> list[tuple[str, str, str]]:
    """(method, path, operation) of every mounted route."""
    found = []
    for route in app_routes:
        operation = route_operation(route)
        assert operation is not None, route
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                found.append((method, str(getattr(route, "path", "")), operation))
    return found


@pytest.mark.parametrize("role", list(ROLE_ACTIONS))
def test_every_route_answers_every_role_and_scope_as_the_table_says(
    role: str, tmp_path: Path
) -> None:
    wrong: list[str] = []
    walked = 0
    for i, pattern in enumerate(SCOPES):
        reg = Registry(
            tmp_path / f"store-{i}", user="seeder", clock=ManualClock(T0, step=timedelta(seconds=1))
        )
        seeded = _seed(reg, tmp_path / f"seed-{i}")
        # Minted on the server's host by an operator, not by the seeder who asked for the
        # changes an approver decides (a token its requester minted is no second pair of eyes).
        ops = reg.as_user("ops")
        _, secret = ops.create_token(f"{role}-user", role, model_pattern=pattern)
        # The token the revocation route revokes: one of the caller's own, which every role
        # may revoke (an admin, any inside its scope).
        spare, _ = ops.create_token(f"{role}-user", role, model_pattern=pattern)
        seeded["token"] = spare.token_id
        # A resumable upload of the caller's own: a session answers its owner only.
        mine = reg.as_user(f"{role}-user").start_upload(MODEL_NAME, len(PART))
        seeded["upload"] = mine.session.id
        headers = {"Authorization": f"Bearer {secret}"}
        with TestClient(create_app(reg)) as client:
            routes = _walk(client.app.routes)  # type: ignore[attr-defined]
            for method, path, declared in routes:
                operation = EXPECTED.get(f"{method} {path}", "")
                if declared != operation:
                    wrong.append(f"{method} {path} declares {declared}, not {operation!r}")
                if not operation:
                    continue
                url, kwargs = _sample(method, path, seeded, pattern)
                extra = kwargs.pop("headers", {})
                reply = client.request(method, url, headers={**headers, **extra}, **kwargs)
                expected = _expected(operation, role, pattern)
                problem = _check(reply, expected, role, pattern, url, kwargs)
                if problem:
                    wrong.append(f"{method} {path} ({operation}) as {role} {pattern}: {problem}")
                walked += 1
        reg.close()
    assert not wrong, "\n".join(wrong)
    assert walked == 3 * len(routes) and len(routes) == len(EXPECTED) >= 100
    assert set(SPEC) == set(OPERATIONS)


def _check(
    reply: Any, expected: str, role: str, pattern: str | None, url: str, sent: dict[str, Any]
) -> str | None:
    """Why the reply is not what `expected` means, or None."""
    status = reply.status_code
    if expected == "allowed":
        return f"refused: {status} {reply.text[:200]}" if status in (401, 403, 404) else None
    if expected == "absent":
        code, message = _error(reply) if status == 404 else ("", "")
        if code not in ("not_found", "RESOURCE_DOES_NOT_EXIST"):
            return f"expected 404 as if absent, got {status} {reply.text[:200]}"
        named = MODEL_NAME in url or MODEL_NAME in json.dumps(sent, default=str)
        if MODEL_NAME in message and not named:
            return f"names a model it was not asked about: {message}"
        return None
    code, message = _error(reply) if status == 403 else ("", "")
    if code not in ("forbidden", "PERMISSION_DENIED"):
        return f"expected 403 ({expected}), got {status} {reply.text[:200]}"
    if expected == "role" and not message.startswith(f"role {role} may not "):
        return f"refused for another reason: {message}"
    if expected == "store" and message != (
        f"a token scoped to {pattern!r} cannot act on the whole store"
    ):
        return f"refused for another reason: {message}"
    return None
