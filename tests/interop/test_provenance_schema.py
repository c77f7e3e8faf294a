"""A version's provenance is a valid in-toto Statement v1 with an SLSA provenance v1 predicate,
by the in-toto attestation framework's own bindings (the `in-toto-attestation` package, parsed
strictly: an unknown or mistyped field fails), and it names exactly the digests lineage recorded.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from in_toto_attestation.predicates.provenance.v1.provenance_pb2 import Provenance
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import Statement
from in_toto_attestation.v1.statement_pb2 import Statement as StatementProto

from modelrepo import CodeRef, ModelVersion, Registry
from modelrepo.domain.attestations import read_bundle
from modelrepo.domain.times import parse_time

COMMIT = "3f786850e387550fdab836ed7e6dc881de23001b"
TRAIN_SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
HOLDOUT_MD5 = "098f6bcd4621d373cade4e832627b4f6"


@pytest.fixture(autouse=True)
def _version_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The scale-out store signs with the key file an operator names (made on first use)."""
    monkeypatch.setenv("MODELREPO_SIGNING_KEY_FILE", str(tmp_path / "version-key.pem"))


def validated(text: str | bytes) -> tuple[dict[str, Any], Statement, Provenance]:
    """The statement checked as the in-toto bindings check it: parsed strictly into the
    Statement proto, validated, and its predicate parsed strictly into SLSA provenance v1."""
    document = json.loads(text)
    proto = json_format.Parse(text, StatementProto())
    statement = Statement.copy_from_pb(proto)
    statement.validate()
    assert proto.predicate_type == "https://slsa.dev/provenance/v1"
    provenance = json_format.Parse(json.dumps(document["predicate"]), Provenance())
    for dependency in provenance.build_definition.resolved_dependencies:
        ResourceDescriptor.copy_from_pb(dependency).validate()
    assert provenance.build_definition.build_type
    assert provenance.run_details.builder.id
    return document, statement, provenance


def _register_with_lineage(reg: Registry, tmp_path: Path) -> tuple[ModelVersion, bytes]:
    model = tmp_path / "model"
    (model / "weights").mkdir(parents=True)
    (model / "weights" / "kernel.bin").write_bytes(bytes(range(256)))
    (model / "config.json").write_text('{"layers": 2}\n')
    features = tmp_path / "features.csv"
    features.write_bytes(b"income,age\n1200,31\n")
    version = reg.register(
        "fraud",
        model,
        params={"C": 0.5, "layers": [64, 32], "solver": "lbfgs", "early_stop": None},
        data=[
            str(features),  # a local file: its digest is computed at registration
            ("s3://lake/train.parquet", f"sha256:{TRAIN_SHA256}"),
            ("https://data.example.org/holdout.csv", f"md5:{HOLDOUT_MD5}"),
            "s3://lake/labels-unhashed.csv",  # no digest recorded
        ],
        code=CodeRef(COMMIT, dirty=True, remote="https://git.example.org/risk/fraud.git"),
        environment=True,
        sign=True,
    )
    return version, features.read_bytes()


def test_the_provenance_validates_and_names_exactly_the_recorded_digests(
    registry: Registry, tmp_path: Path
) -> None:
    version, features = _register_with_lineage(registry, tmp_path)
    recorded = [(ref.uri, ref.digest) for ref in version.lineage.data]
    assert recorded[0][1] == "sha256:" + hashlib.sha256(features).hexdigest()
    assert recorded[1:] == [
        ("s3://lake/train.parquet", f"sha256:{TRAIN_SHA256}"),
        ("https://data.example.org/holdout.csv", f"md5:{HOLDOUT_MD5}"),
        ("s3://lake/labels-unhashed.csv", None),
    ]
    assert version.lineage.environment is not None

    unsigned = registry.provenance("fraud", version.version)
    (signed,) = [s for s in registry.signatures("fraud", version.version) if s.kind == "provenance"]
    payload = read_bundle(signed.bundle).payload
    assert json.loads(payload) == unsigned
    for text in (json.dumps(unsigned), payload):
        document, statement, provenance = validated(text)

        subjects = {s.name: dict(s.digest) for s in statement.pb.subject}
        assert subjects == {f.path: {"sha256": f.sha256} for f in version.files}

        dependencies = provenance.build_definition.resolved_dependencies
        data = [d for d in dependencies if d.annotations["role"] == "data"]
        assert [(d.uri, dict(d.digest)) for d in data] == [
            (uri, dict([digest.split(":", 1)]) if digest else {}) for uri, digest in recorded
        ]
        (code,) = [d for d in dependencies if d.annotations["role"] == "code"]
        assert dict(code.digest) == {"gitCommit": COMMIT}
        assert code.uri == f"git+https://git.example.org/risk/fraud.git@{COMMIT}"
        assert code.annotations["dirty"] is True
        assert len(dependencies) == len(recorded) + 1

        definition = document["predicate"]["buildDefinition"]
        assert definition["externalParameters"]["params"] == dict(version.params)
        assert definition["internalParameters"]["environment"] == (
            version.lineage.environment.to_dict()
        )
        assert definition["internalParameters"]["versionDigest"] == version.digest
        finished = provenance.run_details.metadata.finished_on.ToDatetime(
            tzinfo=version.created_at.tzinfo
        )
        assert finished == version.created_at
        assert parse_time(document["predicate"]["runDetails"]["metadata"]["finishedOn"]) == finished


def test_a_version_without_lineage_has_valid_provenance(registry: Registry, tmp_path: Path) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(b"\x00\x01")
    version = registry.register("bare", model, code=False, environment=False)
    _, statement, provenance = validated(json.dumps(registry.provenance("bare", 1)))
    assert [(s.name, dict(s.digest)) for s in statement.pb.subject] == [
        (f.path, {"sha256": f.sha256}) for f in version.files
    ]
    assert list(provenance.build_definition.resolved_dependencies) == []


def test_the_bindings_reject_what_the_schema_does_not_allow(
    registry: Registry, tmp_path: Path
) -> None:
    """The checks above can fail: a field the schema lacks, a mistyped one, no subject."""
    version, _ = _register_with_lineage(registry, tmp_path)
    good = registry.provenance("fraud", version.version)
    validated(json.dumps(good))

    unknown = json.loads(json.dumps(good))
    unknown["predicate"]["buildDefinition"]["resolvedDependencies"][0]["sha256"] = "ab"
    with pytest.raises(json_format.ParseError):
        validated(json.dumps(unknown))
    mistyped = json.loads(json.dumps(good))
    mistyped["predicate"]["runDetails"]["metadata"]["finishedOn"] = "yesterday"
    with pytest.raises(json_format.ParseError):
        validated(json.dumps(mistyped))
    no_subject = {**good, "subject": []}
    with pytest.raises(ValueError, match="subject"):
        validated(json.dumps(no_subject))
