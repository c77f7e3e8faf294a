"""Signed versions over the API: the store's key signs; bundles made elsewhere are kept only
when a trusted, unrevoked key made them for exactly this version; keys and policies are for
administrators; an environment that requires signatures refuses an unsigned version (409);
registering with `sign` signs. Every refusal is the API's JSON error naming why."""

from __future__ import annotations

import base64
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from modelrepo.domain.attestations import MODEL_SIGNATURE_PREDICATE, PROVENANCE_PREDICATE
from modelrepo.signing import VersionSigner, signed_statements

from .conftest import Api

KEYS = "/api/v1/signing/keys"
POLICIES = "/api/v1/signing/policies"


def _version(name: str, version: int) -> str:
    return f"/api/v1/models/{name}/versions/{version}"


def _signatures(api: Api, name: str, version: int, who: str = "viewer") -> list[dict[str, Any]]:
    reply = api.client.get(f"{_version(name, version)}/signatures", headers=api.as_(who))
    assert reply.status_code == 200, reply.text
    found: list[dict[str, Any]] = reply.json()
    return found


def _statement(bundle: str) -> dict[str, Any]:
    payload = json.loads(bundle)["dsseEnvelope"]["payload"]
    found: dict[str, Any] = json.loads(base64.b64decode(payload))
    return found


def _refused(reply: Any, status: int, words: str) -> None:
    """The API's JSON error shape, with a message that says why."""
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) >= {"code", "message"}, body
    assert words in body["message"], body


def _key_file(tmp_path: Path, name: str) -> tuple[VersionSigner, str]:
    """A private key in a PEM file of its own, as a person keeps one, and its public PEM."""
    signer = VersionSigner.load_or_create(tmp_path / f"{name}.pem")
    return signer, signer.public_pem.decode()


def _trust(api: Api, public_pem: str, label: str) -> dict[str, Any]:
    reply = api.client.post(
        KEYS, headers=api.as_("admin"), json={"public_key": public_pem, "label": label}
    )
    assert reply.status_code == 201, reply.text
    found: dict[str, Any] = reply.json()
    return found


def test_the_store_key_signs_a_version_and_its_provenance(api: Api) -> None:
    made = api.upload("credit-risk")
    reply = api.client.post(
        f"{_version('credit-risk', 1)}/sign", headers=api.as_("contributor"), json={"reason": "QA"}
    )
    assert reply.status_code == 200, reply.text
    signed = reply.json()
    assert sorted(s["kind"] for s in signed) == ["model", "provenance"]
    assert {s["signed_by"] for s in signed} == {"contributor-user"}
    assert {(s["key_label"], s["standing"], s["standing_reason"]) for s in signed} == {
        ("the store's version key", "valid", None)
    }
    listed = _signatures(api, "credit-risk", 1)
    assert listed == signed
    model = next(s for s in listed if s["kind"] == "model")
    statement = _statement(model["bundle"])
    assert statement["predicateType"] == MODEL_SIGNATURE_PREDICATE
    files = {f["path"]: f["sha256"] for f in made["files"]}  # type: ignore[attr-defined]
    assert {r["name"]: r["digest"] for r in statement["predicate"]["resources"]} == files
    keys = api.client.get(KEYS, headers=api.as_("viewer")).json()
    assert [k["key_id"] for k in keys] == [model["key_id"]]
    assert keys[0]["active"] is True and keys[0]["public_key"].startswith("-----BEGIN PUBLIC")
    assert api.registry.verify_signature("credit-risk", 1).key_id == model["key_id"]

    provenance = api.client.get(
        f"{_version('credit-risk', 1)}/provenance", headers=api.as_("viewer")
    )
    assert provenance.status_code == 200, provenance.text
    assert provenance.json()["predicateType"] == PROVENANCE_PREDICATE
    assert sorted(s["name"] for s in provenance.json()["subject"]) == sorted(files)
    signed_provenance = next(s for s in listed if s["kind"] == "provenance")
    assert _statement(signed_provenance["bundle"]) == provenance.json()

    again = api.client.post(f"{_version('credit-risk', 1)}/sign", headers=api.as_("admin"))
    assert again.status_code == 200 and again.json() == signed  # nothing new
    assert _signatures(api, "credit-risk", 1) == listed
    entries = api.registry.audit_log("model:credit-risk")
    assert [e["actor"] for e in entries if e["kind"] == "version.signed"] == ["contributor-user"]
    verified = api.client.get("/api/v1/audit/verify", headers=api.as_("admin"))
    assert verified.status_code == 200 and verified.json()["ok"] is True, verified.text


def test_bundles_made_elsewhere_are_kept_only_when_they_count(api: Api, tmp_path: Path) -> None:
    api.upload("credit-risk")
    api.upload("credit-risk", params={"depth": 3}, tags={"other": "files"})
    other_reply = api.client.post(
        "/api/v1/models/other-model/versions",
        headers=api.as_("contributor"),
        files=[("files", ("model/coefficients.json", b'{"income": 0.5}\n'))],
    )
    assert other_reply.status_code == 201, other_reply.text
    v1 = api.registry.get("credit-risk", 1)
    ours, ours_pem = _key_file(tmp_path, "ml-team")
    stranger, _ = _key_file(tmp_path, "stranger")
    url = f"{_version('credit-risk', 1)}/signatures"

    def post(bundles: list[str], who: str = "contributor") -> Any:
        return api.client.post(url, headers=api.as_(who), json={"bundles": bundles, "reason": "r"})

    bundles = [b for _, b in signed_statements(ours, v1)]
    _refused(post(bundles), 422, "not trusted here")
    key = _trust(api, ours_pem, "ML team release key")
    assert (key["key_id"], key["label"], key["added_by"]) == (
        ours.key_id, "ML team release key", "admin-user"
    )  # fmt: skip
    _refused(post([b for _, b in signed_statements(stranger, v1)]), 422, "not trusted here")
    other_files = api.registry.get("other-model", 1)
    other = dict(signed_statements(ours, other_files))
    _refused(post([other[f"model:{ours.key_id}"]]), 422, "lists other files or digests")
    _refused(post([other[f"provenance:{ours.key_id}"]]), 422, "provenance differs")
    _refused(post(["{not json"]), 422, "not a readable signature bundle")
    assert _signatures(api, "credit-risk", 1) == []  # nothing kept from a refused request

    kept = post(bundles)
    assert kept.status_code == 200, kept.text
    assert sorted((s["kind"], s["key_id"], s["key_label"]) for s in kept.json()) == [
        ("model", ours.key_id, "ML team release key"),
        ("provenance", ours.key_id, "ML team release key"),
    ]
    assert {s["bundle"] for s in kept.json()} == set(bundles)
    assert post(bundles).json() == kept.json()  # the same bundles again: nothing new
    assert post([], who="contributor").status_code == 422

    revoked = api.client.post(
        f"{KEYS}/{ours.key_id[:12]}/revoke",
        headers=api.as_("admin"),
        json={"reason": "laptop lost"},
    )
    assert revoked.status_code == 200, revoked.text
    assert (revoked.json()["active"], revoked.json()["revoked_reason"]) == (False, "laptop lost")
    listed = _signatures(api, "credit-risk", 1)
    assert {(s["standing"], s["key_label"]) for s in listed} == {
        ("key revoked", "ML team release key")
    }
    assert all("laptop lost" in s["standing_reason"] for s in listed)
    v2 = api.registry.get("credit-risk", 2)
    refused = api.client.post(
        f"{_version('credit-risk', 2)}/signatures",
        headers=api.as_("contributor"),
        json={"bundles": [b for _, b in signed_statements(ours, v2)]},
    )
    _refused(refused, 422, "was revoked")
    again = api.client.post(
        f"{KEYS}/{ours.key_id}/revoke", headers=api.as_("admin"), json={"reason": "x"}
    )
    _refused(again, 409, "already revoked")
    _refused(_retrust(api, ours_pem), 409, "cannot be trusted again")
    unknown = api.client.post(
        f"{KEYS}/{'0' * 16}/revoke", headers=api.as_("admin"), json={"reason": "x"}
    )
    _refused(unknown, 404, "no signing key")
    no_reason = api.client.post(f"{KEYS}/{ours.key_id}/revoke", headers=api.as_("admin"), json={})
    _refused(no_reason, 422, "reason")
    short = api.client.post(f"{KEYS}/abc/revoke", headers=api.as_("admin"), json={"reason": "x"})
    assert short.status_code == 422
    entries = [e["kind"] for e in api.registry.audit_log(f"signing-key:{ours.key_id}")]
    assert entries == ["signing_key.trusted", "signing_key.revoked"], entries
    verified = api.client.get("/api/v1/audit/verify", headers=api.as_("admin"))
    assert verified.status_code == 200 and verified.json()["ok"] is True, verified.text


def _retrust(api: Api, pem: str) -> Any:
    return api.client.post(KEYS, headers=api.as_("admin"), json={"public_key": pem, "label": "x"})


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"public_key": "not a key", "label": "x"}, "not a readable PEM public key"),
        ({"public_key": "", "label": "x"}, "public_key"),
        ({"label": "x"}, "public_key"),
        ({"public_key": "k", "label": ""}, "label"),
        ({"public_key": "k", "label": "x", "extra": 1}, "extra"),
    ],
)
def test_keys_that_cannot_be_trusted_are_refused(
    api: Api, body: dict[str, object], words: str
) -> None:
    _refused(api.client.post(KEYS, headers=api.as_("admin"), json=body), 422, words)
    assert api.client.get(KEYS, headers=api.as_("admin")).json() == []


def test_an_ed25519_key_is_refused(api: Api) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    pem = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    reply = api.client.post(
        KEYS, headers=api.as_("admin"), json={"public_key": pem.decode(), "label": "x"}
    )
    _refused(reply, 422, "elliptic-curve")


def test_the_store_key_is_shown_and_rotated(api: Api, backend: str) -> None:
    api.upload("credit-risk")
    first = api.client.post("/api/v1/signing/store-key", headers=api.as_("admin"))
    assert first.status_code == 200, first.text
    assert first.json()["label"] == "the store's version key" and first.json()["active"]
    assert (
        api.client.post("/api/v1/signing/store-key", headers=api.as_("admin")).json()
        == first.json()
    )
    rotated = api.client.post("/api/v1/signing/rotate", headers=api.as_("admin"))
    if backend == "postgresql":  # the operator's key file: replaced by the operator
        _refused(rotated, 422, "$MODELREPO_SIGNING_KEY_FILE")
        return
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()
    assert new["key_id"] != first.json()["key_id"] and new["active"]
    keys = api.client.get(KEYS, headers=api.as_("viewer")).json()
    assert [(k["key_id"], k["active"]) for k in keys] == [
        (first.json()["key_id"], True), (new["key_id"], True)
    ]  # fmt: skip
    signed = api.client.post(f"{_version('credit-risk', 1)}/sign", headers=api.as_("contributor"))
    assert {s["key_id"] for s in signed.json()} == {new["key_id"]}


def test_contributors_sign_and_only_administrators_manage_keys_and_policies(
    api: Api, tmp_path: Path
) -> None:
    api.upload("credit-risk")
    api.upload("fraud-score")
    _, pem = _key_file(tmp_path, "k")
    manage = [
        ("POST", KEYS, {"public_key": pem, "label": "x"}),
        ("POST", f"{KEYS}/{'a' * 16}/revoke", {"reason": "x"}),
        ("POST", "/api/v1/signing/store-key", None),
        ("POST", "/api/v1/signing/rotate", None),
        ("PUT", POLICIES, {"scope": "store", "enabled": True}),
    ]
    for who in ("viewer", "contributor", "deployer", "approver", "fraud-admin"):
        for method, url, body in manage:
            reply = api.client.request(method, url, headers=api.as_(who), json=body)
            _refused(reply, 403, "")
    for who in ("viewer", "contributor", "deployer", "approver"):
        assert api.client.get(KEYS, headers=api.as_(who)).status_code == 200
        assert api.client.get(POLICIES, headers=api.as_(who)).status_code == 200
    for who in ("viewer", "deployer", "approver"):
        refused = api.client.post(f"{_version('credit-risk', 1)}/sign", headers=api.as_(who))
        _refused(refused, 403, "")
    assert api.client.get(KEYS).status_code == 401
    out_of_scope = api.client.post(
        f"{_version('credit-risk', 1)}/sign", headers=api.as_("fraud-admin")
    )
    assert out_of_scope.status_code == 404, out_of_scope.text  # as if the model did not exist
    in_scope = api.client.post(f"{_version('fraud-score', 1)}/sign", headers=api.as_("fraud-admin"))
    assert in_scope.status_code == 200, in_scope.text
    signed = api.client.post(f"{_version('credit-risk', 1)}/sign", headers=api.as_("contributor"))
    assert signed.status_code == 200 and len(signed.json()) == 2
    assert api.registry.signing_policies() == []


def test_policies_are_set_and_an_environment_refuses_unsigned_versions(api: Api) -> None:
    api.upload("credit-risk")
    api.upload("credit-risk", params={"depth": 2})
    put = api.client.put(
        POLICIES,
        headers=api.as_("admin"),
        json={"scope": "environment", "name": "prod", "enabled": True},
    )
    assert put.status_code == 200, put.text
    assert {k: put.json()[k] for k in ("scope", "name", "enabled", "set_by")} == {
        "scope": "environment", "name": "prod", "enabled": True, "set_by": "admin-user"
    }  # fmt: skip
    assert api.client.get(POLICIES, headers=api.as_("viewer")).json() == [put.json()]

    def deploy(env: str, version: int) -> Any:
        url = f"/api/v1/models/credit-risk/environments/{env}/deploy"
        return api.client.post(url, headers=api.as_("deployer"), json={"version": version})

    _refused(deploy("prod", 1), 409, "requires versions signed by a trusted key")
    assert deploy("staging", 1).status_code == 200
    api.client.post(f"{_version('credit-risk', 1)}/sign", headers=api.as_("contributor"))
    assert deploy("prod", 1).status_code == 200
    key_id = _signatures(api, "credit-risk", 1)[0]["key_id"]
    api.client.post(f"{KEYS}/{key_id}/revoke", headers=api.as_("admin"), json={"reason": "leak"})
    _refused(deploy("prod", 1), 409, "revoked")
    off = api.client.put(
        POLICIES,
        headers=api.as_("admin"),
        json={"scope": "environment", "name": "prod", "enabled": False},
    )
    assert off.status_code == 200 and off.json()["enabled"] is False
    assert deploy("prod", 2).status_code == 200
    verified = api.client.get("/api/v1/audit/verify", headers=api.as_("admin"))
    assert verified.status_code == 200 and verified.json()["ok"] is True, verified.text


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"scope": "store", "name": "x", "enabled": True}, "takes no name"),
        ({"scope": "model", "enabled": True}, "needs the model's name"),
        ({"scope": "model", "name": "a/b", "enabled": True}, "model name"),
        ({"scope": "environment", "name": "", "enabled": True}, "environment's name"),
        ({"scope": "team", "name": "x", "enabled": True}, "scope"),
        ({"scope": "store"}, "enabled"),
        ({"scope": "store", "enabled": True, "extra": 1}, "extra"),
        ({"scope": "model", "name": "m", "enabled": True, "keys": ["0" * 16]}, "only an env"),
        ({"scope": "environment", "name": "p", "enabled": True, "keys": ["ab"]}, "keys"),
        ({"scope": "environment", "name": "p", "enabled": True, "keys": ["XYZ" * 4]}, "keys"),
    ],
)
def test_policies_that_make_no_sense_are_refused(
    api: Api, body: dict[str, object], words: str
) -> None:
    _refused(api.client.put(POLICIES, headers=api.as_("admin"), json=body), 422, words)
    assert api.client.get(POLICIES, headers=api.as_("admin")).json() == []


def test_registering_with_sign_through_the_upload_signs(api: Api) -> None:
    made = api.upload("credit-risk", sign=True)
    signed = _signatures(api, "credit-risk", int(made["version"]))  # type: ignore[call-overload]
    assert sorted(s["kind"] for s in signed) == ["model", "provenance"]
    assert {(s["signed_by"], s["standing"]) for s in signed} == {("contributor-user", "valid")}
    entries = api.registry.audit_log("model:credit-risk")
    signed_entries = [e for e in entries if e["kind"] == "version.signed"]
    assert [e["change"]["reason"] for e in signed_entries] == ["signed at registration"]
    assert _signatures(api, "credit-risk", int(api.upload("credit-risk")["version"])) == []  # type: ignore[call-overload]

    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo("weights.bin")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    unpacked = api.client.post(
        "/api/v1/models/credit-risk/versions/archive",
        headers=api.as_("contributor"),
        files=[("archive", ("model.tar", archive.getvalue()))],
        data={"metadata": json.dumps({"sign": True})},
    )
    assert unpacked.status_code == 201, unpacked.text
    from_archive = _signatures(api, "credit-risk", unpacked.json()["version"])
    assert {(s["kind"], s["standing"]) for s in from_archive} == {
        ("model", "valid"), ("provenance", "valid")
    }  # fmt: skip

    policy = {"scope": "model", "name": "credit-risk", "enabled": True}
    assert api.client.put(POLICIES, headers=api.as_("admin"), json=policy).status_code == 200
    by_policy = api.upload("credit-risk", params={"depth": 4})
    assert len(_signatures(api, "credit-risk", int(by_policy["version"]))) == 2  # type: ignore[call-overload]


def test_a_deleted_or_missing_version_has_no_signatures(api: Api) -> None:
    api.upload("credit-risk")
    for url in (f"{_version('credit-risk', 9)}/signatures", f"{_version('nope', 1)}/provenance"):
        _refused(api.client.get(url, headers=api.as_("viewer")), 404, "")
    _refused(
        api.client.post(f"{_version('credit-risk', 9)}/sign", headers=api.as_("admin")), 404, ""
    )


def test_an_environment_accepts_only_the_keys_it_names(api: Api, tmp_path: Path) -> None:
    api.upload("credit-risk")
    release, public = _key_file(tmp_path, "release")
    _trust(api, public, "the release team's key")
    unknown = api.client.put(
        POLICIES,
        headers=api.as_("admin"),
        json={"scope": "environment", "name": "prod", "enabled": True, "keys": ["f" * 64]},
    )
    _refused(unknown, 404, "no signing key")
    put = api.client.put(
        POLICIES,
        headers=api.as_("admin"),
        json={"scope": "environment", "name": "prod", "enabled": True,
              "keys": [release.key_id[:10]]},
    )  # fmt: skip
    assert put.status_code == 200 and put.json()["keys"] == [release.key_id], put.text
    url = "/api/v1/models/credit-risk/environments/prod/deploy"
    api.client.post(f"{_version('credit-risk', 1)}/sign", headers=api.as_("contributor"))
    refused = api.client.post(url, headers=api.as_("deployer"), json={"version": 1})
    _refused(refused, 409, "is not one this environment accepts")
    bundles = [
        bundle for _, bundle in signed_statements(release, api.registry.get("credit-risk", 1))
    ]
    kept = api.client.post(
        f"{_version('credit-risk', 1)}/signatures",
        headers=api.as_("contributor"),
        json={"bundles": bundles},
    )
    assert kept.status_code == 200, kept.text
    assert api.client.post(url, headers=api.as_("deployer"), json={"version": 1}).status_code == 200
