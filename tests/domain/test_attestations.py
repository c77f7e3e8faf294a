"""The signed-version documents: the model statement as the stock OpenSSF `model_signing`
tool makes it for a folder, the DSSE encoding, reading bundles, and the policy rules."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from modelrepo.domain import attestations as att
from modelrepo.domain.errors import Conflict, InvalidInput, NotFound
from modelrepo.domain.manifest import FileEntry

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def files(*paths: str) -> list[FileEntry]:
    """Files whose content is their own path (as written for the stock tool's run below)."""
    return [FileEntry(p, len(p), hashlib.sha256(p.encode()).hexdigest(), False) for p in paths]


def names(statement: dict[str, Any]) -> list[str]:
    return [r["name"] for r in statement["predicate"]["resources"]]


# A folder holding these files, each containing its own path, signed by model-signing 1.1.1
# (`model_signing sign key FOLDER --signature ../out.sig`): the resources in this order and
# this subject digest.
STOCK_PATHS = (
    "a/b", "a/c/d", "a-b", "a.b", "b", "B", "é", "z.sig", ".gitignore", ".gitattributes",
    ".gitmodules", ".github/w/x", "sub/.gitignore", ".git/HEAD", "model.sig",
)  # fmt: skip
STOCK_ORDER = [
    ".gitmodules", "B", "a/b", "a/c/d", "a-b", "a.b", "b", "model.sig", "sub/.gitignore",
    "z.sig", "é",
]  # fmt: skip
STOCK_DIGEST = "b8f56b57603a50a823661b47e556cdce3cf7326558eb3dc87a96bd23c80c7776"


def test_the_statement_lists_files_as_the_stock_tool_does() -> None:
    statement = att.model_statement("m", files(*STOCK_PATHS))
    assert names(statement) == STOCK_ORDER
    assert statement["subject"] == [{"name": "m", "digest": {"sha256": STOCK_DIGEST}}]
    assert statement["_type"] == att.STATEMENT_TYPE
    assert statement["predicateType"] == "https://model_signing/signature/v1.0"


def test_paths_sort_by_component_not_by_bytes() -> None:
    """'a/b' is inside folder 'a', which comes before 'a-b': byte order would swap them."""
    listed = names(att.model_statement("m", files("a-b", "a/b", "a.b", "a/a/z", "a0")))
    assert listed == ["a/a/z", "a/b", "a-b", "a.b", "a0"]
    assert sorted(["a-b", "a/b"]) == ["a-b", "a/b"]  # what a plain sort would have said


def test_the_subject_digest_hashes_the_file_digests_in_order() -> None:
    found = files("b", "a/x")
    expected = hashlib.sha256(b"".join(bytes.fromhex(f.sha256) for f in reversed(found)))
    statement = att.model_statement("credit-risk", found)
    assert statement["subject"][0] == {
        "name": "credit-risk",
        "digest": {"sha256": expected.hexdigest()},
    }
    assert statement["predicate"]["resources"][0] == {
        "name": "a/x",
        "algorithm": "sha256",
        "digest": found[1].sha256,
    }


def test_only_top_level_git_files_and_the_signature_are_left_out() -> None:
    kept = files(".git/config", ".github/ci.yml", ".gitignore", ".gitattributes",
                 "sub/.git/config", "sub/.gitignore", ".gitmodules", ".git-blame", "w")  # fmt: skip
    assert names(att.model_statement("m", kept)) == [
        ".git-blame", ".gitmodules", "sub/.git/config", "sub/.gitignore", "w"
    ]  # fmt: skip
    assert att.model_statement("m", kept)["predicate"]["serialization"] == {
        "method": "files",
        "hash_type": "sha256",
        "allow_symlinks": False,
        "ignore_paths": [".git", ".gitignore", ".gitattributes", ".github", "model.sig"],
    }


def test_a_file_named_like_the_signature_is_signed_and_the_signature_moves_aside() -> None:
    assert att.signature_file_name(files("w")) == "model.sig"
    assert att.signature_file_name(files("model.sig")) == "model.sig.modelrepo"
    both = files("model.sig", "model.sig.modelrepo", "sub/model.sig")
    assert att.signature_file_name(both) == "model.sig.modelrepo.modelrepo"
    statement = att.model_statement("m", both)
    assert names(statement) == ["model.sig", "model.sig.modelrepo", "sub/model.sig"]
    ignored = statement["predicate"]["serialization"]["ignore_paths"]
    assert ignored[-1] == "model.sig.modelrepo.modelrepo"
    assert att.signed_files(files("model.sig", "w"), "model.sig") == files("w")


def test_a_statement_must_list_exactly_the_version_files() -> None:
    found = files("a", "b/c")
    att.check_model_statement(att.model_statement("any name", found), found)
    other = att.model_statement("m", files("a", "b/d"))
    with pytest.raises(att.SignatureInvalid, match="lists other files or digests"):
        att.check_model_statement(other, found)
    wrong_subject = att.model_statement("m", found)
    wrong_subject["subject"][0]["digest"]["sha256"] = "0" * 64
    with pytest.raises(att.SignatureInvalid, match="subject digest does not match"):
        att.check_model_statement(wrong_subject, found)
    two_subjects = att.model_statement("m", found)
    two_subjects["subject"] *= 2
    with pytest.raises(att.SignatureInvalid, match="no single subject"):
        att.check_model_statement(two_subjects, found)
    provenance = {**att.model_statement("m", found), "predicateType": att.PROVENANCE_PREDICATE}
    with pytest.raises(att.SignatureInvalid, match="not a model signature"):
        att.check_model_statement(provenance, found)


def test_pae_is_the_dsse_v1_encoding() -> None:
    # The example of the DSSE v1 protocol description.
    assert att.pae(b"hello world", "http://example.com/HelloWorld") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert att.pae(b"") == b"DSSEv1 28 application/vnd.in-toto+json 0 "
    assert att.pae("é".encode()) == b"DSSEv1 28 application/vnd.in-toto+json 2 \xc3\xa9"


def test_the_payload_is_compact_sorted_json() -> None:
    assert att.statement_payload({"b": 1, "a": ["é", {"d": None, "c": 2}]}) == (
        '{"a":["é",{"c":2,"d":null}],"b":1}'.encode()
    )


def bundle(**changes: Any) -> dict[str, Any]:
    payload = att.statement_payload(att.model_statement("m", files("w")))
    found: dict[str, Any] = json.loads(att.bundle_text(payload, b"\x30\x01sig", b"PEM"))
    for path, value in changes.items():
        *parents, last = path.split(".")
        where = found
        for part in parents:
            where = where[part]
        where[last] = value
    return found


def test_a_bundle_reads_back_what_it_holds() -> None:
    payload = att.statement_payload(att.model_statement("m", files("w")))
    text = att.bundle_text(payload, b"\x30\x01sig", b"PEM")
    envelope = att.read_bundle(text)
    assert envelope == att.Envelope(payload, b"\x30\x01sig", hashlib.sha256(b"PEM").hexdigest())
    assert envelope.statement() == att.model_statement("m", files("w"))
    assert att.read_bundle(text.encode()) == envelope
    raw = json.loads(text)
    assert raw["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert raw["verificationMaterial"] == {
        "publicKey": {"hint": hashlib.sha256(b"PEM").hexdigest()},
        "tlogEntries": [],
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not a readable signature bundle"),
        ("[]", "not a readable signature bundle"),
        ("{}", "not a readable signature bundle"),
        (json.dumps(bundle(mediaType="application/vnd.dev.sigstore.bundle+json;version=0.1")),
         "not a Sigstore bundle v0.3"),
        (json.dumps(bundle(verificationMaterial={"certificate": {}})),
         "not a readable signature bundle"),
        (json.dumps(bundle(**{"dsseEnvelope.payloadType": "text/plain"})),
         "one signature over an in-toto payload"),
        (json.dumps(bundle(**{"dsseEnvelope.signatures": []})),
         "one signature over an in-toto payload"),
        (json.dumps(bundle(**{"dsseEnvelope.signatures": [{"sig": "AA=="}, {"sig": "AA=="}]})),
         "one signature over an in-toto payload"),
        (json.dumps(bundle(**{"dsseEnvelope.payload": "not base64!"})),
         "not a readable signature bundle"),
        (json.dumps(bundle(**{"dsseEnvelope.signatures": [{"sig": 7}]})),
         "not a readable signature bundle"),
        (json.dumps(bundle(**{"dsseEnvelope.signatures": [{}]})),
         "not a readable signature bundle"),
    ],
)  # fmt: skip
def test_a_malformed_bundle_is_refused(text: str, message: str) -> None:
    with pytest.raises(att.SignatureInvalid, match=message):
        att.read_bundle(text)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\xff", "not JSON"),
        (b"[1]", "not an in-toto statement v1"),
        (b'{"_type": "https://in-toto.io/Statement/v0.1"}', "not an in-toto statement v1"),
    ],
)
def test_a_payload_that_is_not_a_statement_is_refused(payload: bytes, message: str) -> None:
    text = json.dumps(bundle(**{"dsseEnvelope.payload": base64.b64encode(payload).decode()}))
    envelope = att.read_bundle(text)
    with pytest.raises(att.SignatureInvalid, match=message):
        envelope.statement()


def test_a_signature_is_an_invalid_input() -> None:
    assert issubclass(att.SignatureInvalid, InvalidInput)  # answered 422, one line in the CLI


def test_the_same_key_signs_once_even_within_one_request() -> None:
    wanted = [("model:k1", "b1"), ("provenance:k1", "b2"), ("model:k1", "b3"), ("model:k2", "b4")]
    assert att.new_signatures(["model:k2"], wanted) == [("model:k1", "b1"), ("provenance:k1", "b2")]
    assert att.parse_event_key("model:" + "ab" * 32) == ("model", "ab" * 32)
    assert att.signature_event_key("provenance", "k") == "provenance:k"


def key(key_id: str, revoked: bool = False) -> att.SigningKey:
    return att.SigningKey(
        key_id, "PEM", "label", T0, "admin",
        revoked_at=T0 if revoked else None, revoked_by="carol" if revoked else None,
        revoked_reason="lost" if revoked else None,
    )  # fmt: skip


def test_keys_are_found_by_a_unique_prefix_of_eight_characters_or_more() -> None:
    keys = [key("abcdef0123"), key("abcdef0199"), key("0123456789")]
    assert att.find_key(keys, " ABCDEF0123 ") == keys[0]
    assert att.find_key(keys, "01234567") == keys[2]
    assert att.find_key(keys, "ffffffff") is None
    with pytest.raises(InvalidInput, match="several signing keys"):
        att.find_key(keys, "abcdef01")
    with pytest.raises(InvalidInput, match="at least 8 characters"):
        att.find_key(keys, "abcdef0")


def test_a_key_is_trusted_once_and_revoked_once_for_good() -> None:
    assert att.check_new_key(key("k"), None) is True
    assert att.check_new_key(key("k"), key("k")) is False
    with pytest.raises(Conflict, match="cannot be trusted again"):
        att.check_new_key(key("k"), key("k", revoked=True))
    revoked = att.revoked_key(key("k"), "k", actor="carol", at=T0, reason="lost")
    assert (revoked.active, revoked.revoked_by, revoked.revoked_reason) == (False, "carol", "lost")
    with pytest.raises(Conflict, match="already revoked"):
        att.revoked_key(revoked, "k", actor="carol", at=T0, reason="again")
    with pytest.raises(NotFound, match="no signing key 'nope'"):
        att.revoked_key(None, "nope", actor="carol", at=T0, reason="x")
    with pytest.raises(InvalidInput, match="needs a reason"):
        att.revoked_key(key("k"), "k", actor="carol", at=T0, reason="  ")
    assert att.signature_trouble(key("k"), "k") is None
    assert "not trusted here" in (att.signature_trouble(None, "f" * 64) or "")
    assert "(lost)" in (att.signature_trouble(revoked, "k") or "")


def policy(scope: str, name: str = "", enabled: bool = True) -> att.SigningPolicy:
    return att.SigningPolicy(scope, name, enabled, T0, "admin")


def test_the_model_policy_decides_over_the_store_policy() -> None:
    assert att.signs_at_registration([], "m") is False
    store_on = [policy("store")]
    assert att.signs_at_registration(store_on, "m") is True
    assert att.signs_at_registration([*store_on, policy("model", "m", False)], "m") is False
    assert att.signs_at_registration([*store_on, policy("model", "m", False)], "n") is True
    assert att.signs_at_registration([policy("model", "m")], "m") is True
    assert att.signs_at_registration([policy("environment", "m")], "m") is False


def test_an_environment_requires_signatures_by_its_exact_name() -> None:
    policies = [policy("environment", "production"), policy("environment", "staging", False),
                policy("model", "canary")]  # fmt: skip
    assert att.requires_signature(policies, "production") is True
    assert att.requires_signature(policies, "Production") is False
    assert att.requires_signature(policies, "staging") is False
    assert att.requires_signature(policies, "canary") is False


@pytest.mark.parametrize(
    ("scope", "name", "message"),
    [
        ("store", "m", "takes no name"),
        ("model", "", "needs the model's name"),
        ("environment", "", "needs the environment's name"),
        ("STORE", "", "unknown signing scope"),
    ],
)
def test_a_policy_names_a_known_scope(scope: str, name: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        att.check_scope_name(scope, name)


def test_records_round_trip_through_their_dicts() -> None:
    signature = att.VersionSignature("m", 2, "model", "ab" * 32, "{}", T0, "alice")
    assert att.VersionSignature.from_dict(signature.to_dict(bundle=True)) == signature
    assert "bundle" not in signature.to_dict()
    assert signature.to_dict()["bundle_sha256"] == hashlib.sha256(b"{}").hexdigest()
    revoked = key("k", revoked=True)
    assert att.SigningKey.from_dict(revoked.to_dict()) == revoked
    assert att.SigningPolicy.from_dict(policy("model", "m").to_dict()) == policy("model", "m")
