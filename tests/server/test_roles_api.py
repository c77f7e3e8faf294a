"""/api/v1/roles: admins only; nobody binds a role that may do more than their own token, or
reach models outside its scope; the issuer defaults to the server's identity provider; every
grant and revocation is audited with how its actor authenticated, and verifies."""

from __future__ import annotations

import pytest

from modelrepo.domain.access import ROLE_ACTIONS

from .conftest import Api

URL = "/api/v1/roles"
IDP = "https://idp.bank.example"


def _grant(api: Api, who: str, **body: object) -> object:
    return api.client.post(URL, headers=api.as_(who), json={"issuer": IDP, **body})


def test_only_admins_manage_role_bindings(api: Api) -> None:
    for role in [r for r, actions in ROLE_ACTIONS.items() if "tokens" not in actions]:
        granted = _grant(api, role, principal="eve@bank.example", role="viewer")
        assert granted.status_code == 403, role  # type: ignore[attr-defined]
        assert api.client.get(URL, headers=api.as_(role)).status_code == 403, role
    assert api.client.get(URL).status_code == 401
    assert api.client.post(URL, json={"principal": "eve", "role": "viewer"}).status_code == 401
    assert api.registry.role_bindings() == []


def test_a_binding_is_granted_listed_and_gives_its_grants(api: Api) -> None:
    body = {"principal": "carol@bank.example", "role": "deployer", "model_pattern": "fraud-*"}
    reply = api.client.post(URL, headers=api.as_("admin"), json={**body, "issuer": IDP})
    assert reply.status_code == 201, reply.text
    made = reply.json()
    assert {k: made[k] for k in body} == body and made["issuer"] == IDP
    assert (made["granted_by"], made["revoked_at"]) == ("admin-user", None)
    listed = api.client.get(URL, headers=api.as_("admin")).json()
    assert listed == [made]
    grants = api.registry.grants_for(IDP, "carol@bank.example")
    assert [(g.role, g.model_pattern) for g in grants] == [("deployer", "fraud-*")]
    assert api.registry.grants_for(IDP, "Carol@bank.example") == ()
    twice = api.client.post(URL, headers=api.as_("admin"), json={**body, "issuer": IDP})
    assert twice.status_code == 409 and made["binding_id"] in twice.json()["message"]


def test_the_issuer_defaults_to_the_servers_identity_provider(api: Api) -> None:
    body = {"principal": "dave@bank.example", "role": "viewer"}
    refused = api.client.post(URL, headers=api.as_("admin"), json=body)
    assert refused.status_code == 400, refused.text
    assert "no identity provider configured" in refused.json()["message"]
    api.client.app.state.oidc_issuer = IDP  # type: ignore[attr-defined]
    made = api.client.post(URL, headers=api.as_("admin"), json=body)
    assert made.status_code == 201 and made.json()["issuer"] == IDP
    other = api.client.post(
        URL, headers=api.as_("admin"), json={**body, "issuer": "https://other.example"}
    )
    assert other.status_code == 201 and other.json()["issuer"] == "https://other.example"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"principal": "svc:scorer", "role": "viewer"}, 422, "service account"),
        ({"principal": "eve", "role": "boss"}, 422, ""),
        ({"principal": "eve", "role": "viewer", "model_pattern": "a/b"}, 422, "model pattern"),
        ({"principal": "eve", "role": "viewer", "extra": 1}, 422, ""),
        ({"principal": "eve", "role": "viewer", "issuer": ""}, 422, ""),
    ],
)
def test_what_cannot_be_bound_is_refused(
    api: Api, body: dict[str, object], status: int, message: str
) -> None:
    reply = api.client.post(URL, headers=api.as_("admin"), json={"issuer": IDP, **body})
    assert reply.status_code == status, reply.text
    assert message in reply.text
    assert api.registry.role_bindings() == []


@pytest.mark.parametrize(
    ("pattern", "allowed"),
    [
        ("fraud-*", True),
        ("fraud-cards", True),
        ("fraud-cards-*", True),
        (None, False),
        ("*", False),
        ("fraud*", False),
        ("credit-*", False),
    ],
)
def test_a_scoped_admin_grants_only_inside_its_scope(
    api: Api, pattern: str | None, allowed: bool
) -> None:
    reply = _grant(api, "fraud-admin", principal="dave@bank.example", role="admin",
                   model_pattern=pattern)  # fmt: skip
    assert reply.status_code == (201 if allowed else 403), reply.text  # type: ignore[attr-defined]
    if not allowed:
        message = reply.json()["message"]  # type: ignore[attr-defined]
        assert message.startswith("this token is scoped to 'fraud-*': it cannot grant a role")
    assert any(b.principal == "dave@bank.example" for b in api.registry.role_bindings()) == allowed


def test_nobody_binds_a_role_wider_than_their_own() -> None:
    from modelrepo.domain.access import check_grant
    from modelrepo.domain.errors import Forbidden
    from modelrepo.domain.principals import Grant, Principal

    # Over HTTP only admins may bind (no other role has `tokens`); the rule compares actions.
    deployer = Principal("dan", grants=(Grant("deployer", "fraud-*"),))
    check_grant(deployer, "viewer", "fraud-cards", what="a role binding")
    for role in ("contributor", "approver", "admin"):
        with pytest.raises(Forbidden, match=f"cannot grant role {role}"):
            check_grant(deployer, role, "fraud-*", what="a role binding")


def test_listing_and_revoking_stay_inside_the_scope(api: Api) -> None:
    wide = api.registry.grant_role("erin@bank.example", "admin", issuer=IDP)
    fraud = api.registry.grant_role("frank@bank.example", "viewer", issuer=IDP,
                                    model_pattern="fraud-cards")  # fmt: skip
    listed = api.client.get(URL, headers=api.as_("fraud-admin")).json()
    assert [b["binding_id"] for b in listed] == [fraud.binding_id]
    refused = api.client.post(f"{URL}/{wide.binding_id}/revoke", headers=api.as_("fraud-admin"))
    assert refused.status_code == 404  # outside the scope: as if there were no such binding
    assert refused.json()["message"] == f"role binding {wide.binding_id} not found"
    revoked = api.client.post(f"{URL}/{fraud.binding_id}/revoke", headers=api.as_("fraud-admin"))
    assert revoked.status_code == 200 and revoked.json()["revoked_by"] == "fraud-lead"
    again = api.client.post(f"{URL}/{fraud.binding_id}/revoke", headers=api.as_("admin"))
    assert again.status_code == 409
    assert api.registry.grants_for(IDP, "frank@bank.example") == ()
    active = api.client.get(URL, headers=api.as_("admin"), params={"include_revoked": False})
    assert [b["binding_id"] for b in active.json()] == [wide.binding_id]
    missing = api.client.post(f"{URL}/ffffffffffff/revoke", headers=api.as_("admin"))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    malformed = api.client.post(f"{URL}/nope/revoke", headers=api.as_("admin"))
    assert malformed.status_code == 422
    viewer = api.client.post(f"{URL}/{wide.binding_id}/revoke", headers=api.as_("viewer"))
    assert viewer.status_code == 403


def test_grants_and_revocations_are_audited_and_verify(api: Api) -> None:
    made = _grant(api, "admin", principal="gina@bank.example", role="approver").json()  # type: ignore[attr-defined]
    binding_id = made["binding_id"]
    api.client.post(f"{URL}/{binding_id}/revoke", headers=api.as_("fraud-admin"))  # out of scope
    api.client.post(f"{URL}/{binding_id}/revoke", headers=api.as_("admin"))
    entries = api.registry.audit_log(f"role:{binding_id}")
    assert [(e["kind"], e["actor"]) for e in entries] == [
        ("role.granted", "admin-user"),
        ("role.revoked", "admin-user"),
    ]
    change = entries[0]["change"]
    assert {k: change[k] for k in ("principal", "issuer", "role", "model_pattern")} == {
        "principal": "gina@bank.example", "issuer": IDP, "role": "approver",
        "model_pattern": None,
    }  # fmt: skip
    assert change["auth"] == made["granted_auth"] and "method" in change["auth"]
    verified = api.client.get("/api/v1/audit/verify", headers=api.as_("admin"))
    assert verified.status_code == 200 and verified.json()["ok"] is True, verified.text
