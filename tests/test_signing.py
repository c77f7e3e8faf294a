"""Signed versions through the registry: signing at registration (asked, or by policy), why a
signature does not count, environments that put only signed versions live, loading that
requires a signature, key rotation and revocation, and `audit verify` over all of it."""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from modelrepo import Conflict, InvalidInput, NotFound, Registry
from modelrepo.clock import ManualClock
from modelrepo.domain.attestations import SignatureInvalid, model_statement, read_bundle
from modelrepo.signing import VersionSigner

from .conftest import OpenRegistry
from .rawdb import Refused, raw_execute


@pytest.fixture(autouse=True)
def _version_key(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The scale-out store signs with the key file every replica is given."""
    if backend == "postgresql":
        monkeypatch.setenv("MODELREPO_SIGNING_KEY_FILE", os.fspath(tmp_path / "version-key.pem"))


def register(reg: Registry, artifact: Path, name: str = "credit-risk", **kwargs: object) -> int:
    """A new version of `name` with content of its own."""
    (artifact / "features.csv").write_text(f"{name} {os.urandom(8).hex()}\n")
    return reg.register(name, artifact, code=False, environment=False, **kwargs).version  # type: ignore[arg-type]


def key_file(path: Path) -> VersionSigner:
    """A signer's own P-256 key, written where `sign(key_file=...)` reads it."""
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return VersionSigner(key)


def forged(bundle: str, old: str, new: str) -> str:
    """`bundle` with its statement edited and its signature left as it was."""
    raw = json.loads(bundle)
    payload = base64.b64decode(raw["dsseEnvelope"]["payload"]).decode()
    assert old in payload
    raw["dsseEnvelope"]["payload"] = base64.b64encode(payload.replace(old, new).encode()).decode()
    return json.dumps(raw)


def test_a_version_registered_with_sign_is_signed_by_the_store_key(
    registry: Registry, artifact: Path
) -> None:
    register(registry, artifact, sign=True)
    register(registry, artifact)
    [store_key] = registry.signing_keys()
    assert store_key.label == "the store's version key" and store_key.active
    assert registry.store_signing_key() == store_key
    signed = registry.signatures("credit-risk", 1)
    assert [(s.kind, s.key_id, s.signed_by) for s in signed] == [
        ("model", store_key.key_id, "alice"),
        ("provenance", store_key.key_id, "alice"),
    ]
    assert registry.verify_signature("credit-risk", 1) == signed[0]
    provenance = read_bundle(signed[1].bundle).statement()
    assert provenance == registry.provenance("credit-risk", 1)
    assert registry.sign("credit-risk", 1) == signed  # the same key again adds nothing
    assert registry.signatures("credit-risk", 1) == signed
    assert registry.signatures("credit-risk", 2) == []
    with pytest.raises(SignatureInvalid, match=r"^credit-risk@2 is not signed$"):
        registry.verify_signature("credit-risk", 2)
    assert [s.kind for s in registry.sign("credit-risk", 2, reason="late")] == [
        "model",
        "provenance",
    ]
    assert registry.verify_signature("credit-risk", 2).key_id == store_key.key_id


def test_policies_say_which_registrations_are_signed_the_model_over_the_store(
    registry: Registry, artifact: Path
) -> None:
    register(registry, artifact, "plain")
    registry.set_signing_policy("store", enabled=True)
    registry.set_signing_policy("model", "fraud", enabled=False)
    registry.set_signing_policy("model", "churn", enabled=True)
    register(registry, artifact, "credit-risk")
    register(registry, artifact, "fraud")
    register(registry, artifact, "fraud", sign=True)  # asked for, whatever the policy
    registry.set_signing_policy("store", enabled=False)
    register(registry, artifact, "churn")
    register(registry, artifact, "plain")
    signed = {
        (m.name, v.version): bool(registry.signatures(m.name, v.version))
        for m in registry.models()
        for v in registry.versions(m.name)
    }
    assert signed == {
        ("churn", 1): True,
        ("credit-risk", 1): True,
        ("fraud", 1): False,
        ("fraud", 2): True,
        ("plain", 1): False,
        ("plain", 2): False,
    }
    assert [(p.scope, p.name, p.enabled) for p in registry.signing_policies()] == [
        ("model", "churn", True),
        ("model", "fraud", False),
        ("store", "", False),
    ]
    for scope, name, message in (
        ("store", "x", "takes no name"),
        ("model", "", "needs the model's name"),
        ("environment", "", "needs the environment's name"),
        ("everywhere", "", "unknown signing scope"),
    ):
        with pytest.raises(InvalidInput, match=message):
            registry.set_signing_policy(scope, name, enabled=True)


def test_the_store_key_is_made_on_first_use_where_the_store_keeps_it(
    open_registry: OpenRegistry, backend: str, clock: ManualClock, artifact: Path,
    store_dir: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    if backend == "postgresql":  # no key file named: a registration to sign is refused
        monkeypatch.delenv("MODELREPO_SIGNING_KEY_FILE")
    reg = open_registry(user="alice", clock=clock)
    reg.set_signing_policy("store", enabled=True)
    if backend == "postgresql":
        with pytest.raises(InvalidInput, match="no key to sign versions with"):
            register(reg, artifact)
        assert reg.models() == []
        return
    assert not (store_dir / "version-signing-key.pem").exists()
    register(reg, artifact)
    key = store_dir / "version-signing-key.pem"
    assert key.stat().st_mode & 0o077 == 0
    assert VersionSigner.from_file(key).key_id == reg.verify_signature("credit-risk", 1).key_id


def test_why_a_signature_does_not_count(registry: Registry, artifact: Path, tmp_path: Path) -> None:
    for _ in range(2):
        register(registry, artifact)
    mine = key_file(tmp_path / "mine.pem")
    with pytest.raises(InvalidInput, match=f"key {mine.key_id[:16]} is not trusted"):
        registry.sign("credit-risk", 1, key_file=tmp_path / "mine.pem")
    found = registry.get("credit-risk", 1)
    # made outside, with a key the store does not trust yet
    elsewhere = mine.sign_statement(model_statement(found.model, found.files))
    with pytest.raises(SignatureInvalid, match="which is not trusted here"):
        registry.add_signatures("credit-risk", 1, [elsewhere])
    registry.trust_signing_key(mine.public_pem.decode(), label="Ann's release key")
    kept = registry.add_signatures("credit-risk", 1, [elsewhere], reason="signed offline")
    assert [(s.kind, s.key_id) for s in kept] == [("model", mine.key_id)]
    assert registry.verify_signature("credit-risk", 1) == kept[0]

    # A bundle made for version 1 says nothing about version 2.
    with pytest.raises(SignatureInvalid, match="lists other files or digests"):
        registry.add_signatures("credit-risk", 2, [elsewhere])
    by_file = registry.sign("credit-risk", 1, key_file=tmp_path / "mine.pem")
    assert [s.kind for s in by_file] == ["model", "provenance"]
    provenance = by_file[1].bundle
    with pytest.raises(SignatureInvalid, match="differs from the version's recorded lineage"):
        registry.add_signatures("credit-risk", 2, [provenance])
    # Edited after signing, or not a bundle at all.
    digest = registry.get("credit-risk", 2).files[0].sha256
    own = registry.get("credit-risk", 1).files[0].sha256
    with pytest.raises(SignatureInvalid, match=f"does not verify with key {mine.key_id[:16]}"):
        registry.add_signatures("credit-risk", 2, [forged(elsewhere, own, digest)])
    with pytest.raises(SignatureInvalid, match="not a readable signature bundle"):
        registry.add_signatures("credit-risk", 2, ['{"mediaType": 1'])
    with pytest.raises(InvalidInput, match="at least one"):
        registry.add_signatures("credit-risk", 2, [])
    assert registry.signatures("credit-risk", 2) == []

    # A revoked key's signatures stop counting, and it signs nothing more.
    registry.revoke_signing_key(mine.key_id[:8], reason="laptop lost")
    with pytest.raises(SignatureInvalid) as refused:
        registry.verify_signature("credit-risk", 1)
    assert str(refused.value).startswith("no signature of credit-risk@1 counts: ")
    assert f"key {mine.key_id[:16]} that signed it was revoked on " in str(refused.value)
    assert "(laptop lost)" in str(refused.value)
    with pytest.raises(Conflict, match="is revoked: it signs nothing more"):
        registry.sign("credit-risk", 2, key_file=tmp_path / "mine.pem")
    with pytest.raises(Conflict, match="cannot be trusted again"):
        registry.trust_signing_key(mine.public_pem.decode(), label="again")
    with pytest.raises(SignatureInvalid, match="revoked on"):
        registry.add_signatures("credit-risk", 1, [elsewhere])


def test_an_environment_that_requires_signatures_refuses_unsigned_versions(
    registry: Registry, artifact: Path
) -> None:
    signed = register(registry, artifact, sign=True)
    unsigned = register(registry, artifact)
    registry.deploy("credit-risk", unsigned, env="production")
    registry.deploy("credit-risk", signed, env="production")
    registry.set_signing_policy("environment", "production", enabled=True)
    refusal = (
        r"credit-risk@2 cannot be deployed to 'production': it requires versions signed by a "
        r"trusted key, and credit-risk@2 is not signed; sign it with 'modelrepo sign "
        r"credit-risk@2'"
    )
    with pytest.raises(Conflict, match=refusal):
        registry.deploy("credit-risk", unsigned, env="production")
    with pytest.raises(Conflict, match=refusal):
        registry.deploy_split("credit-risk", {signed: 0.9, unsigned: 0.1}, env="production")
    with pytest.raises(Conflict, match=refusal):
        registry.rollback("credit-risk", env="production", reason="back to 2")
    assert [v.version for v in registry.live("credit-risk", env="production").versions] == [1]
    registry.deploy("credit-risk", unsigned, env="staging")  # no policy there
    register(registry, artifact, "fraud")
    with pytest.raises(Conflict, match="fraud@1 cannot be deployed to 'production'"):
        registry.deploy("fraud", 1, env="production")  # the policy names the environment
    registry.undeploy("credit-risk", env="production", reason="retired")  # never refused
    registry.sign("credit-risk", unsigned)
    registry.deploy_split("credit-risk", {signed: 0.5, unsigned: 0.5}, env="production")
    registry.set_signing_policy("environment", "production", enabled=False)
    registry.deploy("fraud", 1, env="production")


def test_a_rollback_to_an_unsigned_version_is_refused_until_it_is_signed(
    registry: Registry, artifact: Path
) -> None:
    unsigned = register(registry, artifact)
    signed = register(registry, artifact, sign=True)
    registry.deploy("credit-risk", unsigned, env="production")
    registry.deploy("credit-risk", signed, env="production")
    registry.set_signing_policy("environment", "production", enabled=True)
    with pytest.raises(Conflict, match="credit-risk@1 cannot be deployed to 'production'"):
        registry.rollback("credit-risk", env="production", reason="regression")
    registry.sign("credit-risk", unsigned)
    registry.rollback("credit-risk", env="production", reason="regression")
    assert [v.version for v in registry.live("credit-risk", env="production").versions] == [1]


def test_approving_a_request_checks_the_signature_then(
    registry: Registry, artifact: Path, tmp_path: Path
) -> None:
    bob = registry.as_user("bob")
    release = key_file(tmp_path / "release.pem")
    registry.trust_signing_key(release.public_pem.decode(), label="the release team's key")
    signed = register(registry, artifact)
    registry.sign("credit-risk", signed, key_file=tmp_path / "release.pem")
    unsigned = register(registry, artifact)
    registry.protect("credit-risk", env="production")
    asked = registry.deploy("credit-risk", unsigned, env="production", reason="better").request
    assert asked is not None
    # Signing is on for protected environments: the request signed it with the store's key.
    store_key = registry.store_signing_key().key_id
    assert {s.key_id for s in registry.signatures("credit-risk", unsigned)} == {store_key}
    registry.set_signing_policy(
        "environment", "production", enabled=True, keys=[release.key_id[:12]]
    )
    assert registry.signing_policies()[0].keys == (release.key_id,)
    with pytest.raises(Conflict, match="credit-risk@2 cannot be deployed to 'production'"):
        bob.approve(asked.request_id, reason="four eyes")
    assert registry.request(asked.request_id).status == "pending"
    with pytest.raises(Conflict, match="is not one this environment accepts"):
        registry.deploy("credit-risk", unsigned, env="production")  # nor asked for again
    registry.sign("credit-risk", unsigned, key_file=tmp_path / "release.pem")
    assert bob.approve(asked.request_id, reason="four eyes").status == "approved"
    assert [v.version for v in registry.live("credit-risk", env="production").versions] == [2]
    later = registry.deploy("credit-risk", signed, env="production").request
    assert later is not None
    registry.revoke_signing_key(release.key_id, reason="rotated out")
    with pytest.raises(Conflict, match="was revoked on"):
        bob.approve(later.request_id)
    assert bob.reject(later.request_id, reason="key revoked").status == "rejected"


def test_loading_can_require_a_signature_and_an_environment_can_demand_one(
    registry: Registry, artifact: Path
) -> None:
    unsigned = register(registry, artifact)
    registry.deploy("credit-risk", unsigned, env="production")
    registry.load("credit-risk", unsigned)
    with pytest.raises(SignatureInvalid, match="credit-risk@1 is not signed"):
        registry.load("credit-risk", unsigned, verify_signature=True)
    registry.load_live("credit-risk", env="production").close()
    registry.set_signing_policy("environment", "production", enabled=True)
    with pytest.raises(SignatureInvalid, match="credit-risk@1 is not signed"):
        registry.load_live("credit-risk", env="production")
    with pytest.raises(SignatureInvalid, match="credit-risk@1 is not signed"):
        registry.load("credit-risk", unsigned, environment="production")
    registry.load("credit-risk", unsigned, environment="staging")
    registry.sign("credit-risk", unsigned)
    assert registry.load("credit-risk", unsigned, verify_signature=True).version == 1
    handle = registry.load_live("credit-risk", env="production")
    assert handle.version == 1
    handle.close()


def test_a_rotated_key_keeps_old_signatures_valid_until_it_is_revoked(
    open_registry: OpenRegistry, registry: Registry, backend: str, clock: ManualClock,
    artifact: Path, tmp_path: Path,
) -> None:  # fmt: skip
    first = register(registry, artifact, sign=True)
    second = register(registry, artifact, sign=True)
    old = registry.store_signing_key()
    if backend == "sqlite":
        new = registry.rotate_signing_key()
        reg = registry
    else:  # an operator's key file: replaced on every replica, by the operator
        with pytest.raises(InvalidInput, match="rotate it by replacing that file"):
            registry.rotate_signing_key()
        path = Path(os.environ["MODELREPO_SIGNING_KEY_FILE"])
        path.rename(tmp_path / "retired.pem")
        reg = open_registry(user="alice", clock=clock)
        new = reg.store_signing_key()
    assert new.key_id != old.key_id
    assert [k.key_id for k in reg.signing_keys()] == [old.key_id, new.key_id]
    assert reg.verify_signature("credit-risk", first).key_id == old.key_id
    third = register(reg, artifact, sign=True)
    assert reg.verify_signature("credit-risk", third).key_id == new.key_id
    reg.sign("credit-risk", first)
    assert reg.verify_signature("credit-risk", first).key_id == new.key_id  # the newest
    reg.revoke_signing_key(old.key_id, reason="rotated out")
    assert reg.verify_signature("credit-risk", first).key_id == new.key_id
    with pytest.raises(SignatureInvalid, match=f"key {old.key_id[:16]} that signed it was"):
        reg.verify_signature("credit-risk", second)
    with pytest.raises(InvalidInput, match="at least 8 characters"):
        reg.revoke_signing_key(new.key_id[:7], reason="x")
    with pytest.raises(InvalidInput, match="needs a reason"):
        reg.revoke_signing_key(new.key_id, reason=" ")
    assert reg.audit_verify().ok


def signed_store(reg: Registry, artifact: Path, tmp_path: Path) -> None:
    """A store that has seen every signing change: versions signed at registration, by
    policy, with a key file and with bundles made elsewhere; keys trusted, rotated (embedded
    store) and revoked; policies of every scope set and replaced; a signed model renamed."""
    reg.set_signing_policy("store", enabled=True)
    reg.set_signing_policy("model", "fraud", enabled=False)
    reg.set_signing_policy("model", "credit-risk", enabled=True)
    reg.set_signing_policy("environment", "production", enabled=True)
    register(reg, artifact)
    register(reg, artifact, "fraud")
    mine = key_file(tmp_path / "mine.pem")
    reg.trust_signing_key(mine.public_pem.decode(), label="Ann's key")
    reg.sign("fraud", 1, key_file=tmp_path / "mine.pem", reason="by hand")
    register(reg, artifact, "fraud")
    found = reg.get("fraud", 2)
    reg.add_signatures("fraud", 2, [mine.sign_statement(model_statement("fraud", found.files))])
    reg.deploy("credit-risk", 1, env="production")
    reg.rename_model("credit-risk", "scoring", reason="renamed")
    register(reg, artifact, "scoring")
    if reg.backend.metadata.dialect == "sqlite":  # type: ignore[attr-defined]
        reg.rotate_signing_key()
    reg.revoke_signing_key(mine.key_id, reason="left the team")
    reg.set_signing_policy("environment", "production", enabled=False)


KEY = "signing key [0-9a-f]{64}"


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "UPDATE version_events SET value = replace(value, '\"sig\": \"M', '\"sig\": \"N') "
            "WHERE kind = 'signed' AND substr(key, 1, 6) = 'model:' AND version_id = "
            "(SELECT v.id FROM versions v JOIN models m ON m.id = v.model_id "
            "WHERE m.name = 'fraud' AND v.number = 1)",
            r"version fraud@1 no longer matches entry \d+ \(events\)",
        ),
        (
            "DELETE FROM version_events WHERE kind = 'signed' AND version_id = "
            "(SELECT v.id FROM versions v JOIN models m ON m.id = v.model_id "
            "WHERE m.name = 'fraud' AND v.number = 2)",
            r"version fraud@2 no longer matches entry \d+ \(events\)",
        ),
        ("UPDATE signing_keys SET revoked_at = NULL, revoked_by = NULL, revoked_reason = NULL "
         "WHERE label = 'Ann''s key'",
         rf"{KEY} no longer matches entry \d+ \(revoked_at, revoked_by, revoked_reason\)"),
        ("UPDATE signing_keys SET label = 'the store''s version key' WHERE label = 'Ann''s key'",
         rf"{KEY} no longer matches entry \d+ \(label\)"),
        ("DELETE FROM signing_keys WHERE label = 'Ann''s key'", rf"{KEY} of entry \d+ is gone"),
        ("UPDATE signing_policies SET enabled = TRUE WHERE scope = 'environment'",
         r"signing environment production no longer matches entry \d+ \(enabled\)"),
        ("UPDATE signing_policies SET name = 'prod' WHERE scope = 'environment'",
         "signing environment prod has no audit entry"),
        ("DELETE FROM signing_policies WHERE scope = 'model' AND name = 'scoring'",
         "signing model scoring of entry 4 is gone"),
        ("INSERT INTO signing_policies (scope, name, enabled, set_at, set_by) "
         "VALUES ('environment', 'canary', TRUE, 0, 'mallory')",
         "signing environment canary has no audit entry"),
    ],
)  # fmt: skip
def test_audit_verify_names_a_signature_key_or_policy_changed_behind_the_store(
    registry: Registry, artifact: Path, tmp_path: Path, sql: str, expected: str
) -> None:
    """On either database: signatures are append-only there too, and keys and policies,
    which the store changes in place, are checked against the entries that set them."""
    signed_store(registry, artifact, tmp_path)
    assert registry.audit_verify().ok, registry.audit_verify().problems
    if "version_events" in sql:
        with pytest.raises(Refused, match="version_events is append-only"):
            raw_execute(registry, sql)
        if registry.backend.metadata.dialect == "sqlite":  # type: ignore[attr-defined]
            for trigger in ("version_events_no_update", "version_events_no_delete"):
                raw_execute(registry, f"DROP TRIGGER {trigger}")
        else:
            raw_execute(registry, "DROP TRIGGER version_events_no_update_delete ON version_events")
    raw_execute(registry, sql)
    report = registry.audit_verify()
    assert not report.ok
    assert any(re.search(expected, p) for p in report.problems), report.problems
    if "'signed'" in sql and "UPDATE" in sql:  # and the signature itself no longer counts
        with pytest.raises(SignatureInvalid, match="no signature of fraud@1 counts"):
            registry.verify_signature("fraud", 1)


def test_audit_verify_passes_after_every_signing_change(
    registry: Registry, artifact: Path, tmp_path: Path
) -> None:
    signed_store(registry, artifact, tmp_path)
    report = registry.audit_verify()
    assert report.ok, report.problems
    kinds = [e["kind"] for e in registry.audit_log()]
    for kind in ("version.signed", "signing_key.trusted", "signing_key.revoked",
                 "signing.policy_set"):  # fmt: skip
        assert kind in kinds
    assert [(p.scope, p.name) for p in registry.signing_policies()] == [
        ("environment", "production"),
        ("model", "fraud"),
        ("model", "scoring"),
        ("store", ""),
    ]


def test_a_download_carries_the_signature_that_counts_beside_the_files(
    registry: Registry, artifact: Path, tmp_path: Path
) -> None:
    unsigned = register(registry, artifact)
    with pytest.raises(SignatureInvalid, match="credit-risk@1 is not signed"):
        registry.download("credit-risk", unsigned, tmp_path / "refused", verify_signature=True)
    assert not (tmp_path / "refused").exists()
    plain = registry.download("credit-risk", unsigned, tmp_path / "plain")
    assert not (plain / "model.sig").exists()
    [model, _] = registry.sign("credit-risk", unsigned)
    out = registry.download("credit-risk", unsigned, tmp_path / "out", verify_signature=True)
    assert (out / "model.sig").read_text() == model.bundle
    registry.revoke_signing_key(model.key_id, reason="rotated out")
    later = registry.download("credit-risk", unsigned, tmp_path / "later")
    assert not (later / "model.sig").exists()  # a signature that no longer counts is left out


def test_only_an_environment_policy_names_keys_and_only_trusted_ones(
    registry: Registry, tmp_path: Path
) -> None:
    outsider = key_file(tmp_path / "outsider.pem")
    with pytest.raises(InvalidInput, match="only an environment's signing policy names"):
        registry.set_signing_policy("model", "credit-risk", enabled=True, keys=["0" * 16])
    with pytest.raises(NotFound, match="no signing key"):
        registry.set_signing_policy("environment", "production", enabled=True,
                                    keys=[outsider.key_id])  # fmt: skip
    with pytest.raises(InvalidInput, match="at least 8 characters"):
        registry.set_signing_policy("environment", "production", enabled=True, keys=["abc"])
    assert registry.signing_policies() == []


def test_signatures_still_count_after_the_model_is_renamed(
    registry: Registry, artifact: Path
) -> None:
    register(registry, artifact, sign=True)
    registry.rename_model("credit-risk", "credit-risk-eu", reason="one model per region")
    assert registry.verify_signature("credit-risk-eu", 1).kind == "model"
    kinds = {s.kind for s in registry.signatures("credit-risk-eu", 1)}
    assert kinds == {"model", "provenance"}
    registry.add_signatures(
        "credit-risk-eu", 1, [s.bundle for s in registry.signatures("credit-risk-eu", 1)]
    )  # the provenance signed under the old name is still this version's
    assert registry.audit_verify().ok
