"""`modelrepo sign`, `attest`, `signing ...`, `register --sign`, `download
--verify-signature` and `audit key --versions` through the real CLI on an embedded store:
signatures made with the store's key and a trusted key file, provenance naming the recorded
digests, keys trusted, revoked and rotated, and policies that sign or refuse."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .conftest import Run

pytestmark = pytest.mark.sqlite_only

HOLDOUT = "s3://bucket/holdout.parquet#sha256:" + "ab" * 32


def register(run: Run, path: Path, *extra: str, name: str = "credit-risk") -> dict:
    return run("register", name, str(path), "--no-code", "--json", *extra).json


def one_line_error(result: object, *, code: int = 1) -> str:
    """The error a command ended with, checked to be one line on stderr and exit `code`."""
    assert result.code == code, result  # type: ignore[attr-defined]
    err: str = result.err  # type: ignore[attr-defined]
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def statement_of(bundle_text: str) -> dict:
    """The in-toto statement a Sigstore bundle signs."""
    payload = json.loads(bundle_text)["dsseEnvelope"]["payload"]
    return json.loads(base64.b64decode(payload))


def key_files(folder: Path, password: bytes) -> tuple[Path, Path]:
    """A new P-256 private key (encrypted with `password`) and its public key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = folder / "team.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(password),
        )
    )
    public = folder / "team.pub.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def test_sign_with_the_store_key_and_attest_the_recorded_lineage(
    run: Run, artifact: Path, tmp_path: Path
) -> None:
    data = tmp_path / "train.csv"
    data.write_text("x\n1\n")
    made = register(run, artifact, "--data", str(data), "--data", HOLDOUT, "--param", "C=0.5")
    assert run("signing", "keys").out == "no trusted signing keys\n"

    statement = json.loads(run("attest", "credit-risk@1").out)
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    assert {s["name"]: s["digest"]["sha256"] for s in statement["subject"]} == {
        f["path"]: f["sha256"] for f in made["files"]
    }
    build = statement["predicate"]["buildDefinition"]
    assert build["externalParameters"]["params"] == {"C": 0.5}
    assert build["internalParameters"]["versionDigest"] == made["digest"]
    assert [d["digest"] for d in build["resolvedDependencies"]] == [
        {"sha256": hashlib.sha256(b"x\n1\n").hexdigest()},
        {"sha256": "ab" * 32},
    ]
    unsigned = run("attest", "credit-risk@1", "--signed", ok=False)
    assert "credit-risk@1 provenance is not signed" in one_line_error(unsigned)

    signed = run("sign", "credit-risk@1", "--reason", "validated")
    store_key = run("signing", "keys", "--json").json
    assert [k["label"] for k in store_key] == ["the store's version key"]
    key_id = store_key[0]["key_id"]
    assert signed.out == (
        f"Signed credit-risk@1 with key {key_id[:16]} (the store's version key): "
        "model, provenance\n"
    )
    again = run("sign", "credit-risk@1", "--json").json  # the same key again adds nothing
    assert (again["key_id"], len(again["signatures"])) == (key_id, 2)
    assert {s["kind"] for s in again["signatures"]} == {"model", "provenance"}

    out = tmp_path / "provenance.sigstore.json"
    written = run("attest", "credit-risk@1", "--signed", "--out", str(out))
    assert written.out == f"Signed provenance of credit-risk@1 written to {out}\n"
    bundle = json.loads(out.read_text())
    assert bundle["verificationMaterial"]["publicKey"]["hint"] == key_id
    assert statement_of(out.read_text()) == statement
    assert run("attest", "credit-risk@1", "--signed").out == out.read_text()

    log = run("audit", "log", "--model", "credit-risk", "--json").json["entries"]
    signings = [e for e in log if e["kind"] == "version.signed"]
    assert [e["change"]["reason"] for e in signings] == ["validated"]
    assert run("audit", "verify", "--json").json["ok"] is True


def test_trusted_key_files_revoked_and_rotated(
    run: Run, artifact: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(run, artifact)
    private, public = key_files(tmp_path, b"s3cret")
    monkeypatch.setenv("TEAM_KEY_PASSWORD", "s3cret")
    assert run("audit", "key", "--versions", "--json").json == []
    assert "no version signing key is trusted yet" in run("audit", "key", "--versions").err

    untrusted = run("sign", "credit-risk@1", "--key", str(private),
                    "--key-password-env", "TEAM_KEY_PASSWORD", ok=False)  # fmt: skip
    assert "is not trusted to sign versions" in one_line_error(untrusted)
    unset = run("sign", "credit-risk@1", "--key", str(private),
                "--key-password-env", "UNSET_PASSWORD_VARIABLE", ok=False)  # fmt: skip
    assert "$UNSET_PASSWORD_VARIABLE is not set" in one_line_error(unset)
    alone = run("sign", "credit-risk@1", "--key-password-env", "TEAM_KEY_PASSWORD", ok=False)
    assert "the password of a --key file" in one_line_error(alone, code=2)

    trusted = run("signing", "trust", str(public), "--label", "ML team", "--json").json
    team = trusted["key_id"]
    assert (trusted["label"], trusted["active"]) == ("ML team", True)
    assert run("signing", "trust", str(public), "--label", "ML team").out == (
        f"trusted key {team[:16]} (ML team)\n"
    )
    signed = run("sign", "credit-risk@1", "--key", str(private),
                 "--key-password-env", "TEAM_KEY_PASSWORD")  # fmt: skip
    assert signed.out == f"Signed credit-risk@1 with key {team[:16]} (ML team): model, provenance\n"
    hint = json.loads(run("attest", "credit-risk@1", "--signed").out)
    assert hint["verificationMaterial"]["publicKey"]["hint"] == team

    published = run("audit", "key", "--versions", "--json").json
    assert published == [{"key_id": team, "label": "ML team", "public_key": public.read_text()}]
    assert run("audit", "key", "--versions").out == public.read_text()

    # An environment that accepts only the team's key: the store's signature does not do.
    release = run("signing", "policy", "--env", "release", "--on", "--key", team[:10])
    assert release.out.rstrip().endswith(f"by alice  keys {team[:16]}")
    assert run("signing", "policies", "--json").json[0]["keys"] == [team]
    (artifact / "features.csv").write_text("name,type\nincome,double\nage,int\n")
    run("register", "credit-risk", str(artifact), "--no-code", "--sign")
    other = one_line_error(run("deploy", "credit-risk@2", "--env", "release", ok=False))
    assert "is not one this environment accepts" in other
    run("deploy", "credit-risk@1", "--env", "release")
    store_only = run("signing", "policy", "--store", "--on", "--key", team[:10], ok=False)
    assert "only an environment's signing policy names" in one_line_error(store_only)

    short = run("signing", "revoke", team[:7], "--reason", "left", ok=False)
    assert "at least 8 characters" in one_line_error(short)
    revoked = run("signing", "revoke", team[:10], "--reason", "laptop stolen")
    assert revoked.out == f"revoked key {team[:16]} (ML team): laptop stolen\n"
    listed = run("signing", "keys").out
    assert f"{team[:16]}  ML team" in listed and "(laptop stolen)" in listed
    # Its signatures no longer count, and it signs nothing more.
    gone = run("attest", "credit-risk@1", "--signed", ok=False)
    assert "was revoked" in one_line_error(gone) and "laptop stolen" in gone.err
    refused = run("sign", "credit-risk@1", "--key", str(private),
                  "--key-password-env", "TEAM_KEY_PASSWORD", ok=False)  # fmt: skip
    assert "is revoked" in one_line_error(refused)
    left = run("audit", "key", "--versions", "--json").json
    assert [k["label"] for k in left] == ["the store's version key"]

    first_pem = run("signing", "store-key").out
    first = run("signing", "store-key", "--json").json
    assert first["public_key"] == first_pem and first_pem.startswith("-----BEGIN PUBLIC KEY-----")
    rotated = run("signing", "rotate", "--json").json
    assert rotated["key_id"] != first["key_id"]
    assert run("signing", "store-key", "--json").json["key_id"] == rotated["key_id"]
    states = {k["key_id"]: k["active"] for k in run("signing", "keys", "--json").json}
    assert states == {team: False, first["key_id"]: True, rotated["key_id"]: True}
    run("sign", "credit-risk@1")
    now = json.loads(run("attest", "credit-risk@1", "--signed").out)
    assert now["verificationMaterial"]["publicKey"]["hint"] == rotated["key_id"]
    kinds = [e["kind"] for e in run("audit", "log", "--json").json["entries"]]
    assert kinds.count("signing_key.trusted") == 3 and kinds.count("signing_key.revoked") == 1
    assert run("audit", "verify", "--json").json["ok"] is True


def test_policies_sign_at_registration_and_refuse_unsigned_deployments(
    run: Run, artifact: Path
) -> None:
    run("init")
    assert run("signing", "policies").out == "no signing policies set\n"
    set_env = run("signing", "policy", "--env", "production", "--on")
    assert set_env.out.startswith("environment production           on   set ")
    assert set_env.out.rstrip().endswith("by alice")

    plain = register(run, artifact)
    refused = run("deploy", "credit-risk@1", "--env", "production", ok=False)
    err = one_line_error(refused)
    assert "credit-risk@1 cannot be deployed to 'production'" in err
    assert "credit-risk@1 is not signed" in err and "modelrepo sign credit-risk@1" in err
    run("deploy", "credit-risk@1", "--env", "staging")  # no policy there

    (artifact / "features.csv").write_text("name,type\nincome,double\nage,int\n")
    signed = run("register", "credit-risk", str(artifact), "--no-code", "--sign")
    assert signed.out.rstrip().endswith(", signed") and "credit-risk@2" in signed.out
    run("deploy", "credit-risk@2", "--env", "production")
    live = run("live", "credit-risk", "--env", "production", "--json").json
    assert [v["version"] for v in live["versions"]] == [2]
    run("sign", "credit-risk@1")
    run("deploy", "credit-risk@1", "--env", "production")

    # A model's policy signs its versions at registration; the store's only when it has none.
    run("signing", "policy", "--store", "--on")
    run("signing", "policy", "--model", "credit-risk", "--off")
    (artifact / "features.csv").write_text("name,type\nincome,double\nage,int\nzip,str\n")
    third = register(run, artifact)
    assert third["version"] == 3 and plain["version"] == 1
    assert "credit-risk@3 is not signed" in one_line_error(
        run("download", "credit-risk@3", str(artifact.parent / "d3"), "--verify-signature",
            ok=False)
    )  # fmt: skip
    fourth = register(run, artifact, name="fraud")
    run("download", "fraud@1", str(artifact.parent / "fraud-1"), "--verify-signature")
    assert fourth["model"] == "fraud"

    policies = run("signing", "policies", "--json").json
    assert sorted((p["scope"], p["name"], p["enabled"], p["set_by"]) for p in policies) == [
        ("environment", "production", True, "alice"),
        ("model", "credit-risk", False, "alice"),
        ("store", "", True, "alice"),
    ]
    run("signing", "policy", "--env", "production", "--off")
    run("deploy", "credit-risk@3", "--env", "production")

    neither = run("signing", "policy", "--on", ok=False)
    assert "give one of --store, --model NAME, --env NAME" in one_line_error(neither, code=2)
    both = run("signing", "policy", "--store", "--model", "m", "--on", ok=False)
    assert "give one of" in one_line_error(both, code=2)
    no_switch = run("signing", "policy", "--store", ok=False)
    assert "give --on or --off" in one_line_error(no_switch, code=2)
    kinds = [e["kind"] for e in run("audit", "log", "--json").json["entries"]]
    assert kinds.count("signing.policy_set") == 4


def test_download_writes_the_signature_and_can_require_one(
    run: Run, artifact: Path, tmp_path: Path
) -> None:
    register(run, artifact)
    bare = run("download", "credit-risk@1", str(tmp_path / "bare"))
    assert "model.sig" not in bare.out and not (tmp_path / "bare" / "model.sig").exists()
    assert (
        run("download", "credit-risk@1", str(tmp_path / "bare-json"), "--json").json["signature"]
        is None
    )

    refused = run("download", "credit-risk@1", str(tmp_path / "strict"), "--verify-signature",
                  ok=False)  # fmt: skip
    assert one_line_error(refused) == "error: credit-risk@1 is not signed\n"
    assert not (tmp_path / "strict").exists()

    run("sign", "credit-risk@1")
    done = run("download", "credit-risk@1", str(tmp_path / "strict"), "--verify-signature")
    signature = tmp_path / "strict" / "model.sig"
    assert done.out.splitlines()[1] == f"Model signature written to {signature}"
    doc = run("download", "credit-risk@1", str(tmp_path / "as-json"), "--json").json
    assert doc["signature"] == str(tmp_path / "as-json" / "model.sig")
    statement = statement_of(signature.read_text())
    assert statement["predicateType"] == "https://model_signing/signature/v1.0"
    listed = {r["name"] for r in statement["predicate"]["resources"]}
    assert listed == {"features.csv", "model/coefficients.json", "score.sh"}
    for resource in statement["predicate"]["resources"]:
        content = (tmp_path / "strict" / resource["name"]).read_bytes()
        assert resource["digest"] == hashlib.sha256(content).hexdigest()


def test_signing_commands_against_a_real_server(
    run: Run, store_dir: Path, artifact: Path, tmp_path: Path
) -> None:
    """The same commands with `--store http://...`: the store's key signs on the server, a
    key file signs here and the server keeps the bundles once they verify, and the download
    checks the signature on this side against the keys the server trusts."""
    from click.testing import CliRunner

    from modelrepo.cli import cli as main

    from ..serving import serve
    from .conftest import Result

    run("init")
    admin = run("token", "create", "--user", "alice", "--role", "admin", "--json").json["token"]
    viewer = run("token", "create", "--user", "vic", "--role", "viewer", "--json").json["token"]
    register(run, artifact)
    (artifact / "features.csv").write_text("name,type\nincome,double\nage,int\n")
    register(run, artifact)
    private, public = key_files(tmp_path, b"s3cret")
    with serve(["--store", str(store_dir)], {}, tmp_path / "server.log") as (url, _):

        def remote(*args: str, token: str = admin, ok: bool = True) -> Result:
            done = CliRunner().invoke(
                main, ["--store", url, *args],
                env={"MODELREPO_TOKEN": token, "TEAM_KEY_PASSWORD": "s3cret"},
                catch_exceptions=False,
            )  # fmt: skip
            result = Result(done.exit_code, done.stdout, done.stderr)
            assert (result.code == 0) == ok, result
            return result

        store_pem = remote("signing", "store-key").out
        assert store_pem.startswith("-----BEGIN PUBLIC KEY-----")
        assert "Signed credit-risk@1 with key" in remote("sign", "credit-risk@1").out
        team = remote("signing", "trust", str(public), "--label", "ML team", "--json").json
        signed = remote("sign", "credit-risk@1", "--key", str(private),
                        "--key-password-env", "TEAM_KEY_PASSWORD", "--json").json  # fmt: skip
        assert (signed["key_id"], signed["label"]) == (team["key_id"], "ML team")
        assert [k["label"] for k in remote("audit", "key", "--versions", "--json").json] == [
            "the store's version key", "ML team",
        ]  # fmt: skip

        local_statement = json.loads(run("attest", "credit-risk@1").out)
        assert json.loads(remote("attest", "credit-risk@1").out) == local_statement
        bundle = remote("attest", "credit-risk@1", "--signed").out
        assert statement_of(bundle) == local_statement
        done = remote("download", "credit-risk@1", str(tmp_path / "v1"), "--verify-signature")
        assert "Model signature written to" in done.out
        assert (tmp_path / "v1" / "model.sig").is_file()
        refused = remote("download", "credit-risk@2", str(tmp_path / "v2"), "--verify-signature",
                         ok=False)  # fmt: skip
        assert one_line_error(refused) == "error: credit-risk@2 is not signed\n"

        remote("signing", "policy", "--env", "production", "--on")
        unsigned = remote("deploy", "credit-risk@2", "--env", "production", ok=False)
        assert "requires versions signed by a trusted key" in one_line_error(unsigned)
        remote("deploy", "credit-risk@1", "--env", "production")
        denied = remote("signing", "trust", str(public), "--label", "x", token=viewer, ok=False)
        assert one_line_error(denied).startswith("error: role viewer may not")
        assert [p["name"] for p in remote("signing", "policies", "--json", token=viewer).json] == [
            "production"
        ]
    assert run("audit", "verify", "--json").json["ok"] is True
