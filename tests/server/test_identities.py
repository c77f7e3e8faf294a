"""Identities nobody can make up: a token acts as the identity that mints it (or a service
account), and a second pair of eyes belongs to another real person.

The attack these tests replay, step by step: one admin (even one scoped to `a*`) protects an
environment, requests a deployment, mints an approver token for a made-up user, and approves
its own request. Every step that can fail does."""

from __future__ import annotations

from typing import Any

import pytest

from modelrepo import Registry

from .conftest import Api

TOKENS = "/api/v1/tokens"
MODEL = "apex"


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def mint(registry: Registry, user: str, role: str, pattern: str | None = None) -> str:
    """A token minted on the server's host (how the first admin is made)."""
    return registry.create_token(user, role, model_pattern=pattern)[1]


def prepare(api: Api, admin: dict[str, str]) -> int:
    """A version of MODEL, its production protected by `admin`, and a deployment it
    requested there: the request's id."""
    api.upload(MODEL)
    protect = api.client.post(
        f"/api/v1/models/{MODEL}/environments/production/protect", headers=admin
    )
    assert protect.status_code == 200, protect.text
    asked = api.client.post(
        f"/api/v1/models/{MODEL}/environments/production/deploy",
        headers=admin,
        json={"version": 1},
    )
    assert asked.status_code == 202, asked.text
    request_id: int = asked.json()["request_id"]
    return request_id


def approve(api: Api, request_id: int, headers: dict[str, str]) -> Any:
    return api.client.post(f"/api/v1/requests/{request_id}/approve", headers=headers, json={})


def test_the_self_minted_second_identity_attack_fails_at_every_step(api: Api) -> None:
    admin = bearer(mint(api.registry, "mallory", "admin", "a*"))
    request_id = prepare(api, admin)
    # No token for a made-up person, nor for a real one.
    for user in ("second-pair-of-eyes", "approver-user"):
        made = api.client.post(TOKENS, headers=admin, json={"user": user, "role": "approver"})
        assert made.status_code == 403, made.text
        assert "acts as the identity that mints it" in made.json()["message"]
    assert not any(t.user == "second-pair-of-eyes" for t in api.registry.tokens())
    # A service account's token can be made, but a machine is no second pair of eyes.
    service = api.client.post(
        TOKENS,
        headers=admin,
        json={"user": "svc:scorer", "role": "approver", "model_pattern": "a*"},
    )
    assert service.status_code == 201, service.text
    assert service.json()["kind"] == "service"
    refused = approve(api, request_id, bearer(service.json()["token"]))
    assert refused.status_code == 403, refused.text
    assert "svc:scorer is a service account" in refused.json()["message"]
    # A token the admin mints for itself is still the admin.
    own = api.client.post(TOKENS, headers=admin, json={"role": "approver", "model_pattern": "a*"})
    assert own.status_code == 201, own.text
    assert own.json()["user"] == "mallory"
    refused = approve(api, request_id, bearer(own.json()["token"]))
    assert refused.status_code == 403
    assert "second identity must decide" in refused.json()["message"]
    assert api.registry.request(request_id).status == "pending"
    # A real second person approves, and the records say how each one authenticated.
    done = approve(api, request_id, api.as_("approver"))
    assert done.status_code == 200, done.text
    decided = api.registry.request(request_id)
    assert decided.status == "approved"
    assert decided.requested_auth is not None and decided.requested_auth.method == "token"
    assert decided.decided_auth is not None and decided.decided_auth.minted_via is not None
    assert "local command on the server's host" in decided.decided_auth.minted_via
    event = api.registry.history(MODEL, env="production")[-1]
    assert (event.actor, event.approved_by) == ("mallory", "approver-user")
    assert event.approved_auth == decided.decided_auth


def test_a_scoped_admin_cannot_mint_for_someone_else_even_inside_its_scope(api: Api) -> None:
    made = api.client.post(
        TOKENS,
        headers=api.as_("fraud-admin"),
        json={"user": "fraud-team", "role": "deployer", "model_pattern": "fraud-*"},
    )
    assert made.status_code == 403
    assert not any(t.created_by == "fraud-lead" for t in api.registry.tokens())


def test_anyone_mints_tokens_for_themselves_never_wider_than_their_own(api: Api) -> None:
    mine = api.client.post(TOKENS, headers=api.as_("deployer"), json={"role": "viewer"})
    assert mine.status_code == 201, mine.text
    record = mine.json()
    assert (record["user"], record["created_by"], record["kind"]) == (
        "deployer-user",
        "deployer-user",
        "person",
    )
    assert record["minted_auth"]["method"] == "token"
    wider = api.client.post(TOKENS, headers=api.as_("deployer"), json={"role": "approver"})
    assert wider.status_code == 403
    # A deployer sees its own tokens only, and no one else's.
    listed = api.client.get(TOKENS, headers=api.as_("deployer")).json()
    assert {t["user"] for t in listed} == {"deployer-user"}
    other = next(t for t in api.registry.tokens() if t.user == "viewer-user")
    refused = api.client.post(f"{TOKENS}/{other.token_id}/revoke", headers=api.as_("deployer"))
    assert refused.status_code == 404
    # Only an admin makes a service account's token.
    machine = api.client.post(
        TOKENS, headers=api.as_("deployer"), json={"user": "svc:ci", "role": "viewer"}
    )
    assert machine.status_code == 403


def test_a_token_minted_by_the_requester_is_no_second_pair_of_eyes(api: Api) -> None:
    # On the server's host, mallory bootstraps a token for "bob" (allowed, recorded as minted
    # by mallory): bob's approval of mallory's request is refused all the same.
    mallory = bearer(mint(api.registry.as_user("mallory"), "mallory", "admin"))
    bob = bearer(mint(api.registry.as_user("mallory"), "bob", "approver"))
    request_id = prepare(api, mallory)
    refused = approve(api, request_id, bob)
    assert refused.status_code == 403, refused.text
    assert "bob's token was minted by mallory" in refused.json()["message"]
    rejected = api.client.post(f"/api/v1/requests/{request_id}/reject", headers=bob, json={})
    assert rejected.status_code == 403


def test_service_accounts_never_request_changes_to_a_protected_environment(api: Api) -> None:
    api.upload(MODEL)
    api.registry.protect(MODEL, env="production")
    machine = bearer(mint(api.registry, "svc:deployer", "deployer"))
    asked = api.client.post(
        f"/api/v1/models/{MODEL}/environments/production/deploy",
        headers=machine,
        json={"version": 1},
    )
    assert asked.status_code == 403, asked.text
    assert "service account" in asked.json()["message"]
    assert api.registry.requests(MODEL) == []
    # An unprotected environment takes its deployments as before.
    staged = api.client.post(
        f"/api/v1/models/{MODEL}/environments/staging/deploy",
        headers=machine,
        json={"version": 1},
    )
    assert staged.status_code == 200, staged.text


def test_an_environment_that_requires_sso_refuses_token_users(api: Api) -> None:
    api.upload(MODEL)
    protect = api.client.post(
        f"/api/v1/models/{MODEL}/environments/production/protect?require_sso=true",
        headers=api.as_("admin"),
    )
    assert protect.status_code == 200, protect.text
    assert protect.json()["require_sso"] is True
    asked = api.client.post(
        f"/api/v1/models/{MODEL}/environments/production/deploy",
        headers=api.as_("deployer"),
        json={"version": 1},
    )
    assert asked.status_code == 403, asked.text
    assert "requires single sign-on" in asked.json()["message"]
    env = api.registry.environments(MODEL)[0]
    assert [c.kind for c in env.changes] == ["sso_required"]
    assert env.changes[0].actor_auth is not None and env.changes[0].actor_auth.method == "token"


@pytest.mark.parametrize("require_sso", [False, True])
def test_protecting_again_tightens_and_is_audited(api: Api, require_sso: bool) -> None:
    api.upload(MODEL)
    api.registry.protect(MODEL, env="production")
    again = api.registry.protect(MODEL, env="production", require_sso=require_sso)
    assert again.require_sso is require_sso
    kinds = [c.kind for c in again.changes]
    assert kinds == (["protected", "sso_required"] if require_sso else ["protected"])
    assert api.registry.audit_verify().ok
