"""The lifecycle endpoints through the real app: source URIs checked against the allow-list
and fetched safely, serving reports, replay and pickle trust, reports, the API description."""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from modelrepo import Registry
from modelrepo.domain.errors import InvalidInput
from modelrepo.server import create_app
from modelrepo.sources import SourcePolicy, parse_source

from .conftest import Api

pytestmark = pytest.mark.sqlite_only  # the HTTP layer is under test; stores: the SDK contract

SOURCE = "/api/v1/models/credit-risk/versions/source"


def _app(registry: Registry, **options: object) -> Api:
    api = Api(TestClient(create_app(registry, **options)), registry)  # type: ignore[arg-type]
    for role in ("viewer", "contributor", "deployer", "admin"):
        api.token(role, f"{role}-user", role)
    api.token("fraud-deployer", "fraud-team", "deployer", "fraud-*")
    return api


def test_sources_are_refused_unless_the_server_allows_some(api: Api) -> None:
    reply = api.client.post(
        SOURCE, headers=api.as_("contributor"), json={"source": "https://models.example/a.tar"}
    )
    assert reply.status_code == 403 and "--allow-source" in reply.json()["message"]


@pytest.mark.parametrize(
    ("uri", "status", "message"),
    [
        ("https://models.example.com.evil.example/a.tar", 403, "not under a prefix"),
        ("https://evil.example/models/a.tar", 403, "not under a prefix"),
        ("https://models.example.com/modelsX/a.tar", 403, "not under a prefix"),
        ("https://models.example.com:8443/models/a.tar", 403, "not under a prefix"),
        ("https://models.example.com@evil.example/models/a.tar", 422, "credentials"),
        ("https://user:pw@models.example.com/models/a.tar", 422, "credentials"),
        ("https://models.example.com/models/../secrets/a.tar", 422, "'..'"),
        ("https://models.example.com/models/%2e%2e/secrets", 422, "encoded"),
        ("https://models.example.com/models%2f..%2fsecrets", 422, "encoded"),
        ("https://models.example.com/models/a.tar?x=1", 422, "query"),
        ("https://models.example.com/models/a.tar#frag", 422, "fragment"),
        ("http://models.example.com/models/a.tar", 422, "https"),
        ("file:///etc/passwd", 422, "https"),
        ("ftp://models.example.com/models/a", 422, "https:// or s3://"),
        ("https://2130706433/models/a", 422, "write the address fully"),
        ("https://models.example.com\\@evil/models/a", 422, "backslash"),
        ("s3://other-bucket/models/a.tar", 403, "not under a prefix"),
        ("s3://Inbox/models/a.tar", 422, "bucket"),
        ("s3://inbox/models//a.tar", 422, "empty"),
    ],
)
def test_hostile_source_uris(registry: Registry, uri: str, status: int, message: str) -> None:
    policy = SourcePolicy(("https://models.example.com/models/", "s3://inbox/models/"))
    api = _app(registry, sources=policy)
    reply = api.client.post(SOURCE, headers=api.as_("contributor"), json={"source": uri})
    assert reply.status_code == status, reply.text
    assert message in reply.json()["message"]
    assert api.registry.models() == []


def test_a_source_resolving_inside_is_refused_at_connect_time(registry: Registry) -> None:
    """The name passes the allow-list; the address it resolves to is checked when the
    connection is made (a rebinding name cannot reach the loopback or private networks)."""
    for address in ("127.0.0.1", "10.0.0.8", "169.254.169.254", "::ffff:127.0.0.1"):
        policy = SourcePolicy(
            ("https://models.example.com/",), resolver=lambda host, port, a=address: [a]
        )
        api = _app(registry, sources=policy)
        reply = api.client.post(
            SOURCE,
            headers=api.as_("contributor"),
            json={"source": "https://models.example.com/a.tar"},
        )
        assert reply.status_code == 422, reply.text
        assert "source https://models.example.com/a.tar refused: " in reply.json()["message"]
    assert registry.models() == []


def test_prefixes_are_checked_when_the_server_starts() -> None:
    with pytest.raises(InvalidInput, match="--allow-source"):
        SourcePolicy(("http://models.example.com/",))
    with pytest.raises(InvalidInput, match="--allow-source"):
        SourcePolicy(("https://models.example.com/../",))
    assert parse_source("HTTPS://Models.Example.COM/a").uri == "https://models.example.com/a"


@pytest.fixture
def inbox(s3_endpoint: str, tmp_path: Path) -> Iterator[tuple[object, str]]:
    import boto3

    from modelrepo.testing.s3server import new_bucket

    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    yield s3, new_bucket(s3)


def test_an_allowed_s3_source_is_fetched_and_unpacked(
    registry: Registry, inbox: tuple[object, str], artifact: Path, tmp_path: Path
) -> None:
    from modelrepo.testing.lifecycle import tar_of

    s3, bucket = inbox
    packed = tar_of(artifact, tmp_path / "v.tar.gz").read_bytes()
    s3.put_object(Bucket=bucket, Key="models/v1.tar.gz", Body=packed)  # type: ignore[attr-defined]
    s3.put_object(Bucket=bucket, Key="models/coef.json", Body=b"{}")  # type: ignore[attr-defined]
    s3.put_object(Bucket=bucket, Key="secret/x", Body=b"no")  # type: ignore[attr-defined]
    policy = SourcePolicy((f"s3://{bucket}/models/",), s3_client=s3)
    api = _app(registry, sources=policy)
    body = {"source": f"s3://{bucket}/models/v1.tar.gz", "metadata": {"metrics": {"auc": 0.9}}}
    reply = api.client.post(SOURCE, headers=api.as_("contributor"), json=body)
    assert reply.status_code == 201, reply.text
    made = reply.json()
    assert made["digest"] == registry.register("x", artifact, code=False).digest
    assert made["metrics"] == {"auc": 0.9} and made["created_by"] == "contributor-user"
    single = api.client.post(
        SOURCE, headers=api.as_("contributor"), json={"source": f"s3://{bucket}/models/coef.json"}
    )
    assert [f["path"] for f in single.json()["files"]] == ["coef.json"]
    refused = api.client.post(
        SOURCE, headers=api.as_("contributor"), json={"source": f"s3://{bucket}/secret/x"}
    )
    assert refused.status_code == 403
    missing = api.client.post(
        SOURCE, headers=api.as_("contributor"), json={"source": f"s3://{bucket}/models/nope"}
    )
    assert missing.status_code == 503 and "cannot fetch" in missing.json()["message"]
    small = _app(registry, sources=SourcePolicy((f"s3://{bucket}/models/",), s3_client=s3,
                                                max_bytes=100))  # fmt: skip
    too_big = small.client.post(
        SOURCE, headers=small.as_("contributor"), json={"source": f"s3://{bucket}/models/v1.tar.gz"}
    )
    assert too_big.status_code == 422 and "larger than 100 bytes" in too_big.json()["message"]
    from modelrepo.remote import RemoteRegistry

    remote = RemoteRegistry(
        "http://testserver",
        token=api.tokens["contributor"],
        client=api.client,
        allow_insecure_http=True,
        cache_dir=tmp_path / "cache",
    )
    through_sdk = remote.register_source(
        "credit-risk", f"s3://{bucket}/models/v1.tar.gz", code=False
    )
    assert through_sdk.digest == made["digest"] and through_sdk.version == 3
    assert registry.model("credit-risk").version_count == 3


def _coefficients(api: Api, tmp_path: Path) -> None:
    folder = tmp_path / "score"
    folder.mkdir()
    doc = {"features": ["x"], "coefficients": {"x": 1.0}, "intercept": 0.0}
    (folder / "coefficients.json").write_text(json.dumps(doc))
    api.registry.register("score", folder, flavor="text-coefficients", code=False)


def test_serving_instances_are_touched_only_through_their_model(api: Api, tmp_path: Path) -> None:
    _coefficients(api, tmp_path)
    api.upload("fraud-cards", who="admin")
    digest = api.registry.get("score", 1).digest
    base = "/api/v1/models/score/environments/production/serving"
    started = api.client.post(
        base,
        headers=api.as_("deployer"),
        json={"instance_id": "pod-1", "host": "node-7", "version": 1, "digest": digest},
    )
    assert started.status_code == 204, started.text
    wrong = api.client.post(
        base,
        headers=api.as_("deployer"),
        json={"instance_id": "pod-2", "version": 1, "digest": "sha256:" + "0" * 64},
    )
    assert wrong.status_code == 422 and "not the digest" in wrong.json()["message"]
    other = "/api/v1/models/fraud-cards/environments/production/serving/pod-1/stop"
    assert api.client.post(other, headers=api.as_("fraud-deployer")).status_code == 404
    beat = api.client.post(f"{base}/pod-1/heartbeat", headers=api.as_("deployer"))
    assert beat.status_code == 204
    report = api.client.get(base, headers=api.as_("viewer"), params={"ttl": 60}).json()
    assert [(s["instance_id"], s["host"]) for s in report["serving"]] == [("pod-1", "node-7")]
    assert api.client.post(f"{base}/pod-1/stop", headers=api.as_("deployer")).status_code == 204
    assert api.client.get(base, headers=api.as_("viewer")).json()["serving"] == []


def _pickled(api: Api, tmp_path: Path) -> str:
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path / "pickled"
    folder.mkdir()
    fitted = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    (folder / "model.pkl").write_bytes(pickle.dumps(fitted))
    api.registry.register("pickled", folder, flavor="pickle", code=False)
    output = float(fitted.predict_proba([[2.5]])[:, -1][0])
    api.registry.log_decision("pickled", version=1, inputs=[2.5], output=output, decision_id="p-1")
    return "/api/v1/decisions/p-1/replay"


def test_replay_loads_a_pickle_only_on_a_trusting_server_when_asked(
    registry: Registry, tmp_path: Path
) -> None:
    api = _app(registry)
    url = _pickled(api, tmp_path)
    refused = api.client.post(url, headers=api.as_("viewer"), json={})
    assert refused.status_code == 422 and "trust_pickle" in refused.json()["message"]
    asked = api.client.post(url, headers=api.as_("viewer"), json={"trust_pickle": True})
    assert asked.status_code == 403 and "--trust-pickle" in asked.json()["message"]
    assert not [e for e in registry.audit_log() if e["kind"] == "model.pickle_trusted"]
    trusting = _app(registry, trust_pickle=True)
    unasked = trusting.client.post(url, headers=trusting.as_("viewer"), json={})
    assert unasked.status_code == 422
    done = trusting.client.post(url, headers=trusting.as_("viewer"), json={"trust_pickle": True})
    assert done.status_code == 200, done.text
    assert done.json()["match"] and done.json()["version"] == 1
    trusted = [e for e in registry.audit_log() if e["kind"] == "model.pickle_trusted"]
    assert [e["actor"] for e in trusted] == ["viewer-user"]


def test_reports_need_a_whole_store_token(api: Api, tmp_path: Path) -> None:
    _coefficients(api, tmp_path)
    api.token("scoped-viewer", "scoped", "viewer", "score")
    url = "/api/v1/models/score/report"
    assert api.client.get(url, headers=api.as_("scoped-viewer")).status_code == 403
    report = api.client.get(url, headers=api.as_("viewer"))
    assert report.status_code == 200 and report.json()["model"] == "score"
    missing = api.client.get("/api/v1/decisions/nope/report", headers=api.as_("viewer"))
    assert missing.status_code == 404


def test_delete_and_maintenance_are_for_admins(api: Api) -> None:
    api.upload("credit-risk")
    url = "/api/v1/models/credit-risk/versions/1"
    assert api.client.delete(url, headers=api.as_("contributor")).status_code == 403
    gone = api.client.delete(url, headers=api.as_("admin"), params={"reason": "withdrawn"})
    assert gone.status_code == 200 and gone.json()["deleted_by"] == "admin-user"
    assert api.client.get(f"{url}/files/score.sh", headers=api.as_("viewer")).status_code == 409
    dry = api.client.post("/api/v1/admin/gc", headers=api.as_("admin"), json={"dry_run": True})
    assert dry.json()["dry_run"] and dry.json()["blobs_removed"] >= 0
    checked = api.client.post("/api/v1/admin/fsck", headers=api.as_("admin"))
    assert checked.status_code == 200 and checked.json()["ok"]


def test_the_new_endpoints_are_described(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    for path, method in [
        ("/api/v1/models/{name}/versions/archive", "post"),
        ("/api/v1/models/{name}/versions/source", "post"),
        ("/api/v1/models/{name}/versions/{version}", "delete"),
        ("/api/v1/resolve/{ref}", "get"),
        ("/api/v1/models/{name}/deployments/import", "post"),
        ("/api/v1/models/{name}/environments/{env}/serving", "get"),
        ("/api/v1/models/{name}/environments/{env}/serving", "post"),
        ("/api/v1/models/{name}/environments/{env}/serving/{instance_id}/heartbeat", "post"),
        ("/api/v1/models/{name}/environments/{env}/serving/{instance_id}/stop", "post"),
        ("/api/v1/decisions/{decision_id}/replay", "post"),
        ("/api/v1/models/{name}/report", "get"),
        ("/api/v1/decisions/{decision_id}/report", "get"),
        ("/api/v1/admin/fsck", "post"),
        ("/api/v1/admin/gc", "post"),
    ]:
        assert method in paths[path], (path, method)
        assert paths[path][method].get("security"), (path, method)


@pytest.fixture
def https_origin(tmp_path: Path, artifact: Path) -> Iterator[tuple[str, object]]:
    """An https server on loopback with its own certificate for models.example.com, serving
    an archive, a redirect to it and a 404; yields its port and a client TLS context."""
    import datetime
    import http.server
    import ssl
    import threading

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from modelrepo.testing.lifecycle import tar_of

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "models.example.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("models.example.com")]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    packed = tar_of(artifact, tmp_path / "v.tar.gz").read_bytes()

    class Origin(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/models/v1.tar.gz":
                self.send_response(200)
                self.send_header("Content-Length", str(len(packed)))
                self.end_headers()
                self.wfile.write(packed)
            elif self.path == "/models/moved":
                self.send_response(302)
                self.send_header("Location", "https://models.example.com/models/v1.tar.gz")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield str(server.server_address[1]), ssl.create_default_context(cafile=cert_file)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_an_allowed_https_source_is_fetched_without_following_redirects(
    registry: Registry, https_origin: tuple[str, object], artifact: Path
) -> None:
    port, trusted = https_origin
    prefix = f"https://models.example.com:{port}/models/"
    policy = SourcePolicy(
        (prefix,),
        resolver=lambda host, _port: ["127.0.0.1"],
        allow_private=True,  # the test origin is on loopback
        ssl_context=trusted,
    )
    api = _app(registry, sources=policy)

    def post(path: str) -> object:
        return api.client.post(
            SOURCE, headers=api.as_("contributor"), json={"source": prefix + path}
        )

    made = post("v1.tar.gz")
    assert made.status_code == 201, made.text  # type: ignore[attr-defined]
    expected = registry.register("x", artifact, code=False).digest
    assert made.json()["digest"] == expected  # type: ignore[attr-defined]
    moved = post("moved")
    assert moved.status_code == 422  # type: ignore[attr-defined]
    assert "answered 302" in moved.json()["message"]  # type: ignore[attr-defined]
    assert post("missing").status_code == 422  # type: ignore[attr-defined]
    untrusted = _app(registry, sources=SourcePolicy(
        (prefix,), resolver=lambda host, _port: ["127.0.0.1"], allow_private=True))  # fmt: skip
    reply = untrusted.client.post(
        SOURCE, headers=untrusted.as_("contributor"), json={"source": prefix + "v1.tar.gz"}
    )
    assert reply.status_code == 503 and "CERTIFICATE_VERIFY_FAILED" in reply.json()["message"]
    assert registry.model("credit-risk").version_count == 1


def test_deleting_a_version_needs_a_reason(api: Api, tmp_path: Path) -> None:
    (tmp_path / "m.txt").write_text("model\n")
    api.registry.register("score", tmp_path / "m.txt", code=False)
    url = "/api/v1/models/score/versions/1"
    for params in ({}, {"reason": ""}, {"reason": " \n"}):
        refused = api.client.delete(url, params=params, headers=api.as_("admin"))
        assert refused.status_code == 422 and "needs a reason" in refused.text, refused.text
    assert api.registry.get("score", 1).deleted_at is None
    done = api.client.delete(url, params={"reason": "withdrawn"}, headers=api.as_("admin"))
    assert done.status_code == 200 and done.json()["deleted_at"] is not None
