"""Signed versions through the remote registry, against a real `modelrepo serve`: the store's
key signs at registration; a person's key file signs on the client (its private key never
sent) once an administrator trusts it; a download writes `model.sig` beside the files only
when a signature counts, and refuses without one when asked; a revoked key's signatures stop
counting, and an environment that requires signatures refuses what no longer counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelrepo import Registry
from modelrepo.domain.attestations import PROVENANCE_PREDICATE, SignatureInvalid
from modelrepo.domain.errors import Conflict, Forbidden, InvalidInput
from modelrepo.remote import RemoteRegistry
from modelrepo.signing import VersionSigner

from ..serving import serve

pytestmark = pytest.mark.sqlite_only  # the transport is under test; the stores elsewhere


def test_sign_verify_and_download_through_a_real_server(
    store_dir: Path, tmp_path: Path, artifact: Path
) -> None:
    with Registry(store_dir, user="ops") as local:
        _, admin = local.create_token("alice", "admin")
        _, contributor = local.create_token("carl", "contributor")
    carl_key = VersionSigner.load_or_create(tmp_path / "carl.pem")
    cache = tmp_path / "cache"
    with (
        serve(["--store", str(store_dir)], {}, tmp_path / "server.log") as (url, _),
        Registry(url, token=admin, cache_dir=cache) as alice,
        Registry(url, token=contributor, cache_dir=cache) as carl,
    ):
        assert isinstance(alice, RemoteRegistry) and isinstance(carl, RemoteRegistry)
        signed = carl.register("credit-risk", artifact, code=False, sign=True)
        (artifact / "features.csv").write_text("name,type\nincome,double\nage,int\n")
        unsigned = carl.register("credit-risk", artifact, code=False)
        store_key = alice.store_signing_key()
        assert store_key.label == "the store's version key"
        by_store = carl.signatures("credit-risk", signed.version)
        assert sorted(s.kind for s in by_store) == ["model", "provenance"]
        assert {s.key_id for s in by_store} == {store_key.key_id}
        assert carl.verify_signature("credit-risk", signed.version).key_id == store_key.key_id
        provenance = carl.provenance("credit-risk", signed.version)
        assert provenance["predicateType"] == PROVENANCE_PREDICATE

        out = carl.download("credit-risk", signed.version, tmp_path / "signed")
        model_signature = next(s for s in by_store if s.kind == "model")
        assert (out / "model.sig").read_text() == model_signature.bundle
        plain = carl.download("credit-risk", unsigned.version, tmp_path / "plain")
        assert not (plain / "model.sig").exists()
        with pytest.raises(SignatureInvalid, match="is not signed"):
            carl.download(
                "credit-risk", unsigned.version, tmp_path / "refused", verify_signature=True
            )
        assert not (tmp_path / "refused").exists()

        with pytest.raises(InvalidInput, match="not trusted"):
            carl.sign("credit-risk", unsigned.version, key_file=tmp_path / "carl.pem")
        with pytest.raises(Forbidden):
            carl.trust_signing_key(carl_key.public_pem.decode(), label="carl")
        trusted = alice.trust_signing_key(carl_key.public_pem.decode(), label="Carl's laptop")
        made = carl.sign("credit-risk", unsigned.version, key_file=tmp_path / "carl.pem")
        assert {(s.kind, s.key_id) for s in made} == {
            ("model", carl_key.key_id), ("provenance", carl_key.key_id)
        }  # fmt: skip
        assert carl.verify_signature("credit-risk", unsigned.version).key_id == carl_key.key_id
        out = carl.download(
            "credit-risk", unsigned.version, tmp_path / "now-signed", verify_signature=True
        )
        assert (out / "model.sig").exists()

        alice.set_signing_policy("environment", "prod", enabled=True)
        assert [(p.scope, p.name, p.enabled) for p in carl.signing_policies()] == [
            ("environment", "prod", True)
        ]
        alice.deploy("credit-risk", unsigned.version, env="prod")
        alice.revoke_signing_key(trusted.key_id[:10], reason="laptop stolen")
        with pytest.raises(SignatureInvalid, match="revoked"):
            carl.verify_signature("credit-risk", unsigned.version)
        with pytest.raises(Conflict, match="requires versions signed by a trusted key"):
            alice.deploy("credit-risk", unsigned.version, env="prod")
        alice.deploy("credit-risk", signed.version, env="prod")
        rotated = alice.rotate_signing_key()
        assert rotated.key_id != store_key.key_id
        keys = {k.key_id: k.active for k in carl.signing_keys()}
        assert keys == {store_key.key_id: True, carl_key.key_id: False, rotated.key_id: True}
    with Registry(store_dir) as local:
        assert local.audit_verify().ok
