"""Out of scope looks like absent: what lies outside a token's model scope answers exactly as
a missing thing (same status, same body but for the id), so a scoped token learns neither the
names of other models nor whether an id exists."""

from __future__ import annotations

from typing import Any

from .conftest import Api

SCOPED = "fraud-admin"  # an admin token scoped to fraud-*: every role, only fraud-* models


def _seed(api: Api) -> int:
    """credit-risk@1 live in production, then production protected and a request pending;
    a decision of credit-risk, `loan-1`, with stored inputs."""
    api.upload("credit-risk", who="admin")
    m = "/api/v1/models/credit-risk/environments/production"
    assert api.client.post(f"{m}/deploy", headers=api.as_("admin"), json={"version": 1}).is_success
    api.client.post(f"{m}/protect", headers=api.as_("admin"))
    reply = api.client.post(f"{m}/deploy", headers=api.as_("admin"), json={"version": 1})
    assert reply.status_code == 202, reply.text
    logged = api.client.post(
        "/api/v1/decisions",
        headers=api.as_("admin"),
        json={
            "model": "credit-risk",
            "decision_id": "loan-1",
            "version": 1,
            "inputs": {"x": 1},
            "output": 1,
        },
    )
    assert logged.status_code == 201, logged.text
    return int(reply.json()["request_id"])


def _same(hidden: Any, missing: Any, *swap: tuple[str, str]) -> None:
    """`hidden` answers exactly as `missing`, byte for byte once `swap` (the id or name
    asked for) is applied to the missing one's body."""
    body = missing.content
    for old, new in swap:
        body = body.replace(old.encode(), new.encode())
    assert (hidden.status_code, hidden.content) == (missing.status_code, body)
    assert hidden.headers["content-type"] == missing.headers["content-type"]
    assert hidden.status_code == 404, hidden.text


def test_a_request_outside_the_scope_answers_as_a_missing_request(api: Api) -> None:
    request_id = _seed(api)
    gone = request_id + 1000
    for method, path, body in (
        ("GET", "/api/v1/requests/{}", None),
        ("POST", "/api/v1/requests/{}/approve", {}),
        ("POST", "/api/v1/requests/{}/reject", {}),
    ):
        sent = {"json": body} if body is not None else {}
        hidden = api.client.request(method, path.format(request_id), headers=api.as_(SCOPED),
                                    **sent)  # fmt: skip
        missing = api.client.request(method, path.format(gone), headers=api.as_("admin"),
                                     **sent)  # fmt: skip
        _same(hidden, missing, (str(gone), str(request_id)))
        assert "credit-risk" not in hidden.text
    assert api.registry.request(request_id).status == "pending"
    # Asked by model: a model outside the scope is a missing model, not an empty list.
    hidden = api.client.get("/api/v1/requests?model=credit-risk", headers=api.as_(SCOPED))
    missing = api.client.get("/api/v1/requests?model=no-such", headers=api.as_("admin"))
    _same(hidden, missing, ("no-such", "credit-risk"))


def test_a_decision_outside_the_scope_answers_as_a_missing_decision(api: Api) -> None:
    _seed(api)
    for method, path in (
        ("GET", "/api/v1/decisions/{}"),
        ("GET", "/api/v1/decision-inputs/{}"),
        ("POST", "/api/v1/decisions/{}/replay"),
    ):
        sent = {"json": {}} if method == "POST" else {}
        hidden = api.client.request(method, path.format("loan-1"), headers=api.as_(SCOPED),
                                    **sent)  # fmt: skip
        missing = api.client.request(method, path.format("loan-9"), headers=api.as_("admin"),
                                     **sent)  # fmt: skip
        _same(hidden, missing, ("loan-9", "loan-1"))
        assert "credit-risk" not in hidden.text


def test_reports_refuse_a_scoped_token_alike_whether_or_not_the_subject_exists(api: Api) -> None:
    """Evidence reports verify the whole audit log: a scoped token is refused (403) before
    anything is looked up, with the same answer for what exists and what does not."""
    _seed(api)
    for there, gone in (
        ("/api/v1/decisions/loan-1/report", "/api/v1/decisions/loan-9/report"),
        ("/api/v1/models/credit-risk/report", "/api/v1/models/no-such/report"),
    ):
        hidden = api.client.get(there, headers=api.as_(SCOPED))
        missing = api.client.get(gone, headers=api.as_(SCOPED))
        assert hidden.status_code == 403
        assert (hidden.status_code, hidden.content) == (missing.status_code, missing.content)
        assert "credit-risk" not in hidden.text
        assert api.client.get(gone, headers=api.as_("admin")).status_code == 404


MODEL_ROUTES = [
    ("GET", "/api/v1/models/{}", None),
    ("GET", "/api/v1/models/{}/events", None),
    ("GET", "/api/v1/models/{}/environments", None),
    ("GET", "/api/v1/models/{}/history", None),
    ("GET", "/api/v1/models/{}/decisions", None),
    ("GET", "/api/v1/models/{}/versions", None),
    ("PUT", "/api/v1/models/{}/tags/k", {"value": "v"}),
    ("PUT", "/api/v1/models/{}/decisions/policy", {"inputs": "digest"}),
]


def test_a_model_outside_the_scope_answers_as_a_missing_model(api: Api) -> None:
    _seed(api)
    for method, path, body in MODEL_ROUTES:
        sent = {"json": body} if body is not None else {}
        hidden = api.client.request(method, path.format("credit-risk"), headers=api.as_(SCOPED),
                                    **sent)  # fmt: skip
        missing = api.client.request(method, path.format("no-such"), headers=api.as_("admin"),
                                     **sent)  # fmt: skip
        _same(hidden, missing, ("no-such", "credit-risk"))
    # On every route with the model in its path, an existing model and a missing one outside
    # the scope answer alike, whatever the route would say of a missing one.
    for method, path in (
        ("GET", "/api/v1/models/{}/versions/1"),
        ("GET", "/api/v1/models/{}/environments/production/live"),
        ("DELETE", "/api/v1/models/{}/versions/1"),
        ("POST", "/api/v1/models/{}/environments/production/rollback"),
    ):
        hidden = api.client.request(method, path.format("credit-risk"), headers=api.as_(SCOPED))
        absent = api.client.request(method, path.format("credit-gone"), headers=api.as_(SCOPED))
        _same(hidden, absent, ("credit-gone", "credit-risk"))
    # A model named in the body or the query: the same.
    decision = {"model": "credit-risk", "version": 1, "inputs": 1, "output": 1}
    hidden = api.client.post("/api/v1/decisions", headers=api.as_(SCOPED), json=decision)
    missing = api.client.post(
        "/api/v1/decisions", headers=api.as_("admin"), json={**decision, "model": "no-such"}
    )
    _same(hidden, missing, ("no-such", "credit-risk"))
    diff = "/api/v1/models/fraud-cards/diff?a=1&b=1&b_model={}"
    api.upload("fraud-cards", who="admin")
    hidden = api.client.get(diff.format("credit-risk"), headers=api.as_(SCOPED))
    missing = api.client.get(diff.format("no-such"), headers=api.as_("admin"))
    _same(hidden, missing, ("no-such", "credit-risk"))


def test_the_mlflow_api_answers_a_model_outside_the_scope_as_a_missing_one(api: Api) -> None:
    _seed(api)
    rm, mv = "/api/2.0/mlflow/registered-models", "/api/2.0/mlflow/model-versions"
    for method, path, sent in (
        ("GET", f"{rm}/get", {"params": {"name": "{}"}}),
        ("GET", f"{mv}/get", {"params": {"name": "{}", "version": "1"}}),
        ("DELETE", f"{mv}/delete", {"json": {"name": "{}", "version": "1"}}),
    ):

        def asking(name: str, sent: dict[str, Any] = sent) -> dict[str, Any]:
            return {k: {f: name if v == "{}" else v for f, v in d.items()} for k, d in sent.items()}

        hidden = api.client.request(method, path, headers=api.as_(SCOPED), **asking("credit-risk"))
        absent = api.client.request(method, path, headers=api.as_(SCOPED), **asking("credit-gone"))
        _same(hidden, absent, ("credit-gone", "credit-risk"))
        assert hidden.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    missing = api.client.get(f"{rm}/get", params={"name": "no-such"}, headers=api.as_("admin"))
    hidden = api.client.get(f"{rm}/get", params={"name": "credit-risk"}, headers=api.as_(SCOPED))
    _same(hidden, missing, ("no-such", "credit-risk"))
    files = "/api/2.0/mlflow-artifacts/artifacts/models/{}/versions/1/score.sh"
    hidden = api.client.get(files.format("credit-risk"), headers=api.as_(SCOPED))
    absent = api.client.get(files.format("credit-gone"), headers=api.as_(SCOPED))
    _same(hidden, absent, ("credit-gone", "credit-risk"))


def test_a_token_outside_the_scope_answers_as_a_missing_token(api: Api) -> None:
    other = next(t for t in api.registry.tokens() if t.user == "viewer-user")
    hidden = api.client.post(f"/api/v1/tokens/{other.token_id}/revoke", headers=api.as_(SCOPED))
    missing = api.client.post("/api/v1/tokens/0123456789ab/revoke", headers=api.as_(SCOPED))
    _same(hidden, missing, ("0123456789ab", other.token_id))
    assert next(t for t in api.registry.tokens() if t.user == "viewer-user").active


def test_a_wrong_role_is_still_forbidden_and_names_nothing(api: Api) -> None:
    request_id = _seed(api)
    api.token("fraud-viewer", "fraud-reader", "viewer", "fraud-*")
    for path in (f"/api/v1/requests/{request_id}/approve", "/api/v1/requests/99999/approve"):
        reply = api.client.post(path, headers=api.as_("fraud-viewer"), json={})
        assert reply.status_code == 403
        assert reply.json() == {"code": "forbidden", "message": "role viewer may not approve"}


def test_lists_and_searches_leave_out_what_lies_outside_the_scope(api: Api) -> None:
    _seed(api)
    rm, mv = "/api/2.0/mlflow/registered-models", "/api/2.0/mlflow/model-versions"
    for path, key in ((f"{rm}/search", "registered_models"), (f"{mv}/search", "model_versions")):
        for query in ("name = 'credit-risk'", "name = 'no-such'", None):
            params = {"filter": query} if query else {}
            found = api.client.get(path, params=params, headers=api.as_(SCOPED))
            assert found.status_code == 200 and found.json().get(key, []) == [], found.text
    for path in ("/api/v1/models", "/api/v1/requests", "/api/v1/tokens"):
        listed = api.client.get(path, headers=api.as_(SCOPED))
        assert listed.status_code == 200 and "credit-risk" not in listed.text
        assert "admin-user" not in listed.text
