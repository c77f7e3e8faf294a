"""/api/v1/tokens: a token acts as whoever mints it (admins also mint service accounts');
it never may do more than its minter or reach models outside its minter's scope; secrets are
shown once, hashes never."""

from __future__ import annotations

import hashlib

import pytest

from modelrepo.domain.access import ROLE_ACTIONS

from .conftest import Api

URL = "/api/v1/tokens"


def test_only_admins_mint_for_service_accounts_and_nobody_for_another_person(api: Api) -> None:
    for role in [r for r, actions in ROLE_ACTIONS.items() if "tokens" not in actions]:
        for user in ("eve", "svc:eve"):
            created = api.client.post(
                URL, headers=api.as_(role), json={"user": user, "role": "viewer"}
            )
            assert created.status_code == 403, (role, user)
        listed = api.client.get(URL, headers=api.as_(role))
        assert listed.status_code == 200, role
        assert {t["user"] for t in listed.json()} == {f"{role}-user"}
    assert api.client.get(URL).status_code == 401


def test_a_created_token_is_shown_once_and_works_with_its_role_and_scope(api: Api) -> None:
    body = {"user": "svc:carol-ci", "role": "deployer", "model_pattern": "fraud-*"}
    reply = api.client.post(URL, headers=api.as_("admin"), json=body)
    assert reply.status_code == 201, reply.text
    created = reply.json()
    secret = created.pop("token")
    assert secret.startswith(f"mr_{created['token_id']}_")
    assert (created["created_by"], created["revoked_at"]) == ("admin-user", None)
    assert created["kind"] == "service"
    me = api.client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"}).json()
    assert (me["user"], me["role"], me["model_pattern"], me["token_id"]) == (
        "svc:carol-ci", "deployer", "fraud-*", created["token_id"]
    )  # fmt: skip
    assert me["service_account"] is True
    assert me["authentication"] == {
        "method": "token",
        "token_id": created["token_id"],
        "minted_by": "admin-user",
        "minted_via": f"API token {created['minted_auth']['token_id']}",
    }
    listed = api.client.get(URL, headers=api.as_("admin"))
    assert created in listed.json()
    digest = hashlib.sha256(secret.encode()).hexdigest()
    for text in (listed.text, str(api.registry.audit_log())):
        assert secret not in text and digest not in text
    assert all(set(t) == set(created) for t in listed.json())


@pytest.mark.parametrize(
    ("pattern", "allowed"),
    [
        ("fraud-*", True),
        ("fraud-cards", True),
        ("fraud-cards-*", True),
        ("fraud-?", True),
        (None, False),
        ("*", False),
        ("fraud*", False),
        ("credit-*", False),
        ("*-fraud-*", False),
        ("[a-z]*", False),
    ],
)
def test_a_scoped_admin_grants_only_inside_its_scope(
    api: Api, pattern: str | None, allowed: bool
) -> None:
    reply = api.client.post(
        URL,
        headers=api.as_("fraud-admin"),
        json={"user": "svc:dave", "role": "admin", "model_pattern": pattern},
    )
    assert reply.status_code == (201 if allowed else 403), reply.text
    if not allowed:
        assert "scoped to 'fraud-*'" in reply.json()["message"]
    assert any(t.user == "svc:dave" for t in api.registry.tokens()) == allowed


def test_a_token_cannot_grant_more_than_its_own_role(api: Api) -> None:
    from modelrepo.domain.access import check_grant
    from modelrepo.domain.errors import Forbidden
    from modelrepo.testing.tokens import token

    # Every role but admin lacks `tokens`, so over HTTP only admins get this far; the rule
    # itself compares actions, whatever the roles become.
    deployer = token(role="deployer", model_pattern=None).principal()
    check_grant(deployer, "viewer", "fraud-*")
    check_grant(deployer, "deployer", None)
    for role in ("contributor", "approver", "admin"):
        with pytest.raises(Forbidden, match=f"cannot grant role {role}"):
            check_grant(deployer, role, None)
    admin = token(role="admin", model_pattern=None).principal()
    for role in ROLE_ACTIONS:
        check_grant(admin, role, None)


def test_listing_and_revoking_stay_inside_the_scope(api: Api) -> None:
    records = {t.user: t for t in api.registry.tokens()}
    listed = api.client.get(URL, headers=api.as_("fraud-admin")).json()
    assert {t["user"] for t in listed} == {"fraud-team", "fraud-lead"}
    admin_id = records["admin-user"].token_id
    refused = api.client.post(f"{URL}/{admin_id}/revoke", headers=api.as_("fraud-admin"))
    assert refused.status_code == 404  # outside the scope: as if there were no such token
    assert refused.json()["message"] == f"token {admin_id} not found"
    fraud_id = records["fraud-team"].token_id
    revoked = api.client.post(f"{URL}/{fraud_id}/revoke", headers=api.as_("fraud-admin"))
    assert revoked.status_code == 200 and revoked.json()["revoked_by"] == "fraud-lead"
    again = api.client.post(f"{URL}/{fraud_id}/revoke", headers=api.as_("admin"))
    assert again.status_code == 409
    assert api.client.get("/api/v1/whoami", headers=api.as_("fraud-deployer")).status_code == 401
    active = api.client.get(URL, headers=api.as_("admin"), params={"include_revoked": False})
    assert fraud_id not in {t["token_id"] for t in active.json()}
    missing = api.client.post(f"{URL}/ffffffffffff/revoke", headers=api.as_("admin"))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    kinds = [(e["kind"], e["actor"]) for e in api.registry.audit_log(f"token:{fraud_id}")]
    assert kinds == [("token.created", "alice"), ("token.revoked", "fraud-lead")]
