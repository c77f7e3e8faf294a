"""/api/v1/audit/log (in pages) and /api/v1/audit/consistency: store-wide, read-only."""

from __future__ import annotations

from modelrepo.verifier import canonical_json, leaf_hash, root_from_leaf_hashes, verify_consistency

from .conftest import Api


def test_the_log_reads_in_pages_for_a_token_for_every_model(api: Api) -> None:
    api.upload("credit-risk", who="admin")
    api.upload("credit-risk", who="admin")
    everything = api.registry.audit_log()
    url = "/api/v1/audit/log"
    assert api.client.get(url, headers=api.as_("fraud-admin")).status_code == 403
    seen: list[dict[str, object]] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.client.get(url, headers=api.as_("viewer"), params=params).json()
        assert len(page["items"]) <= 3
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything
    mine = api.client.get(
        url, headers=api.as_("viewer"), params={"subject": "model:credit-risk", "limit": 1}
    ).json()
    assert [e["kind"] for e in mine["items"]] == ["version.registered"]
    rest = api.client.get(
        url,
        headers=api.as_("viewer"),
        params={"subject": "model:credit-risk", "cursor": mine["next_cursor"]},
    ).json()
    assert [e["change"]["version"] for e in mine["items"] + rest["items"]] == [1, 2]
    assert rest["next_cursor"] is None


def test_a_consistency_proof_checks_out_offline(api: Api) -> None:
    old = len(api.registry.audit_log())
    api.upload("credit-risk", who="admin")
    entries = api.registry.audit_log()
    url = "/api/v1/audit/consistency"
    reply = api.client.get(url, headers=api.as_("viewer"), params={"old_size": old})
    assert reply.status_code == 200, reply.text
    proof = reply.json()
    assert (proof["old_size"], proof["new_size"]) == (old, len(entries))
    leaves = [leaf_hash(canonical_json(e)) for e in entries]
    path = [bytes.fromhex(h) for h in proof["proof"]]
    assert verify_consistency(
        old,
        len(entries),
        path,
        root_from_leaf_hashes(leaves[:old])[0],
        root_from_leaf_hashes(leaves)[0],
    )
    too_far = api.client.get(url, headers=api.as_("viewer"), params={"old_size": 10**6})
    assert too_far.status_code == 422 and too_far.json()["code"] == "invalid_input"
    assert (
        api.client.get(url, headers=api.as_("fraud-admin"), params={"old_size": 1}).status_code
        == 403
    )
