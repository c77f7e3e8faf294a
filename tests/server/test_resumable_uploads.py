"""Resumable uploads through the HTTP API, on the folder store and on PostgreSQL + S3: parts
in any order, each checked against its Content-Digest; the whole file checked on completion;
nothing visible before a registration names the session; a session only its owner sees; a
lapsed session invisible and collected by `gc`, its bytes with it."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import timedelta
from typing import Any

import pytest

from modelrepo import ManualClock, Registry

from .conftest import Api

UPLOADS = "/api/v1/models/credit-risk/uploads"


def digest_header(data: bytes) -> str:
    return f"sha-256=:{base64.b64encode(hashlib.sha256(data).digest()).decode()}:"


def part_size(registry: Registry) -> int:
    """The smallest part the store under test takes (S3: 5 MiB), so files stay small."""
    return registry.backend.blobs.uploads.min_part_size


def start(api: Api, size: int, part: int, who: str = "contributor") -> dict[str, Any]:
    reply = api.client.post(UPLOADS, json={"size": size, "part_size": part}, headers=api.as_(who))
    assert reply.status_code == 201, reply.text
    state: dict[str, Any] = reply.json()
    return state


def put_part(
    api: Api, upload: str, number: int, data: bytes, who: str = "contributor", **headers: str
) -> Any:
    sent = {"Content-Digest": digest_header(data), **headers, **api.as_(who)}
    return api.client.put(f"{UPLOADS}/{upload}/parts/{number}", content=data, headers=sent)


def register(api: Api, uploads: dict[str, str], who: str = "contributor", **extra: Any) -> Any:
    metadata = json.dumps({"uploads": uploads, **extra})
    return api.client.post(
        "/api/v1/models/credit-risk/versions",
        files={"metadata": (None, metadata)},
        headers=api.as_(who),
    )


def test_parts_in_any_order_make_a_version_byte_for_byte(api: Api) -> None:
    part = part_size(api.registry)
    data = os.urandom(2 * part + 1234)
    state = start(api, len(data), part)
    assert (state["part_count"], state["missing"], state["complete"]) == (3, [1, 2, 3], False)
    pieces = {n: data[(n - 1) * part : n * part] for n in (1, 2, 3)}
    for number in (3, 1, 2):
        reply = put_part(api, state["id"], number, pieces[number])
        assert reply.status_code == 200, reply.text
        assert reply.json()["sha256"] == hashlib.sha256(pieces[number]).hexdigest()
    shown = api.client.get(f"{UPLOADS}/{state['id']}", headers=api.as_("contributor")).json()
    assert shown["missing"] == [] and [p["number"] for p in shown["parts"]] == [1, 2, 3]

    whole = hashlib.sha256(data).hexdigest()
    # Nothing is visible before a registration names the complete session.
    assert not api.registry.backend.blobs.exists(whole)
    done = api.client.post(
        f"{UPLOADS}/{state['id']}/complete", json={"sha256": whole}, headers=api.as_("contributor")
    )
    assert done.status_code == 200, done.text
    assert done.json()["complete"] and done.json()["sha256"] == whole
    again = api.client.post(
        f"{UPLOADS}/{state['id']}/complete", json={"sha256": whole}, headers=api.as_("contributor")
    )
    assert again.status_code == 200 and again.json()["sha256"] == whole
    assert not _has_model(api)
    assert not api.registry.backend.blobs.exists(whole)

    made = register(api, {"weights/model.bin": state["id"]}, executable=[])
    assert made.status_code == 201, made.text
    version = made.json()
    assert [(f["path"], f["sha256"], f["size"]) for f in version["files"]] == [
        ("weights/model.bin", whole, len(data))
    ]
    got = api.client.get(
        f"/api/v1/models/credit-risk/versions/{version['version']}/files/weights/model.bin",
        headers=api.as_("viewer"),
    )
    assert got.status_code == 200 and got.content == data


def _has_model(api: Api) -> bool:
    return any(m.name == "credit-risk" for m in api.registry.models())


def test_a_damaged_part_is_refused_and_sent_again(api: Api) -> None:
    part = part_size(api.registry)
    data = os.urandom(part + 10)
    state = start(api, len(data), part)
    first = data[:part]
    wrong = put_part(api, state["id"], 1, first, **{"Content-Digest": digest_header(b"other")})
    assert wrong.status_code == 422
    assert wrong.json()["code"] == "digest_mismatch"
    shown = api.client.get(f"{UPLOADS}/{state['id']}", headers=api.as_("contributor")).json()
    assert shown["missing"] == [1, 2]  # nothing of it was kept
    assert put_part(api, state["id"], 1, first).status_code == 200
    too_long = put_part(api, state["id"], 2, data[part:] + b"x")
    assert too_long.status_code == 422 and "bytes" in too_long.json()["message"]
    too_short = put_part(api, state["id"], 2, data[part:-1])
    assert too_short.status_code == 422
    assert put_part(api, state["id"], 2, data[part:]).status_code == 200
    # A part sent again replaces the one held.
    assert put_part(api, state["id"], 1, first).status_code == 200
    whole = hashlib.sha256(data).hexdigest()
    wrong_whole = api.client.post(
        f"{UPLOADS}/{state['id']}/complete",
        json={"sha256": "0" * 64},
        headers=api.as_("contributor"),
    )
    assert wrong_whole.status_code == 422 and wrong_whole.json()["code"] == "digest_mismatch"
    done = api.client.post(
        f"{UPLOADS}/{state['id']}/complete", json={"sha256": whole}, headers=api.as_("contributor")
    )
    assert done.status_code == 200, done.text


def test_completion_without_a_digest_answers_the_files(api: Api) -> None:
    part = part_size(api.registry)
    data = os.urandom(part + 7)
    state = start(api, len(data), part)
    put_part(api, state["id"], 1, data[:part])
    put_part(api, state["id"], 2, data[part:])
    path = f"{UPLOADS}/{state['id']}/complete"
    done = api.client.post(path, json={}, headers=api.as_("contributor"))
    assert done.status_code == 200 and done.json()["sha256"] == hashlib.sha256(data).hexdigest()
    wrong = api.client.post(path, json={"sha256": "1" * 64}, headers=api.as_("contributor"))
    assert wrong.status_code == 422 and wrong.json()["code"] == "digest_mismatch"


def test_completion_names_the_missing_parts(api: Api) -> None:
    part = part_size(api.registry)
    state = start(api, 3 * part, part)
    assert put_part(api, state["id"], 2, os.urandom(part)).status_code == 200
    reply = api.client.post(
        f"{UPLOADS}/{state['id']}/complete",
        json={"sha256": "a" * 64},
        headers=api.as_("contributor"),
    )
    assert reply.status_code == 409
    assert "lacks parts 1, 3" in reply.json()["message"]
    unfinished = register(api, {"model.bin": state["id"]})
    assert unfinished.status_code == 409 and "not complete" in unfinished.json()["message"]


def test_bad_requests_get_specific_errors(api: Api) -> None:
    part = part_size(api.registry)
    state = start(api, part, part)
    upload = state["id"]
    no_digest = api.client.put(
        f"{UPLOADS}/{upload}/parts/1", content=b"x", headers=api.as_("contributor")
    )
    assert no_digest.status_code == 422
    not_sha = put_part(api, upload, 1, b"x", **{"Content-Digest": "md5=:AAAA:"})
    assert not_sha.status_code == 400 and "sha-256" in not_sha.json()["message"]
    short_digest = put_part(api, upload, 1, b"x", **{"Content-Digest": "sha-256=:AAAA:"})
    assert short_digest.status_code == 400
    beyond = put_part(api, upload, 2, b"x")
    assert beyond.status_code == 422 and "no part 2" in beyond.json()["message"]
    assert put_part(api, "0" * 32, 1, b"x").status_code == 404
    assert put_part(api, "../../etc", 1, b"x").status_code in (404, 422)
    tiny = api.client.post(
        UPLOADS, json={"size": 10, "part_size": 0}, headers=api.as_("contributor")
    )
    assert tiny.status_code == 422
    many = api.client.post(
        UPLOADS, json={"size": 60 << 30, "part_size": part}, headers=api.as_("contributor")
    )
    assert many.status_code == 422 and "10000 parts" in many.json()["message"]
    over_limit = api.client.post(UPLOADS, json={"size": 10**12}, headers=api.as_("contributor"))
    assert over_limit.status_code == 413 and "upload limit" in over_limit.json()["message"]
    assert api.client.post(UPLOADS, json={"size": 10}, headers=api.as_("viewer")).status_code == 403


def test_a_session_is_its_owners_alone(api: Api) -> None:
    part = part_size(api.registry)
    data = os.urandom(part)
    state = start(api, len(data), part)
    api.token("other", "other-user", "contributor")
    path = f"{UPLOADS}/{state['id']}"
    assert api.client.get(path, headers=api.as_("other")).status_code == 404
    assert put_part(api, state["id"], 1, data, who="other").status_code == 404
    assert put_part(api, state["id"], 1, data).status_code == 200
    whole = hashlib.sha256(data).hexdigest()
    complete = f"{path}/complete"
    body = {"sha256": whole}
    assert api.client.post(complete, json=body, headers=api.as_("other")).status_code == 404
    assert api.client.post(complete, json=body, headers=api.as_("contributor")).status_code == 200
    assert register(api, {"m.bin": state["id"]}, who="other").status_code == 404
    # Another model's registration cannot name it either.
    other_model = api.client.post(
        "/api/v1/models/fraud/versions",
        files={"metadata": (None, json.dumps({"uploads": {"m.bin": state["id"]}}))},
        headers=api.as_("contributor"),
    )
    assert other_model.status_code == 404
    assert register(api, {"m.bin": state["id"]}).status_code == 201


def test_a_retried_registration_answers_the_same_version(api: Api) -> None:
    part = part_size(api.registry)
    data = os.urandom(part + 1)
    state = start(api, len(data), part)
    put_part(api, state["id"], 1, data[:part])
    put_part(api, state["id"], 2, data[part:])
    whole = hashlib.sha256(data).hexdigest()
    api.client.post(
        f"{UPLOADS}/{state['id']}/complete", json={"sha256": whole}, headers=api.as_("contributor")
    )
    headers = {**api.as_("contributor"), "Idempotency-Key": "register-weights-1"}
    metadata = json.dumps({"uploads": {"model.bin": state["id"]}})
    answers = [
        api.client.post(
            "/api/v1/models/credit-risk/versions",
            files={"metadata": (None, metadata)},
            headers=headers,
        )
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json()["version"] == answers[1].json()["version"] == 1
    assert api.registry.read_file("credit-risk", 1, "model.bin") == data


def test_an_abandoned_session_lapses_and_gc_reclaims_it(api: Api, clock: ManualClock) -> None:
    part = part_size(api.registry)
    state = start(api, 3 * part, part)
    assert put_part(api, state["id"], 1, os.urandom(part)).status_code == 200
    uploads = api.registry.backend.blobs.uploads
    held = uploads.session(state["id"])
    assert held is not None and uploads.held(held) >= part
    report = api.registry.gc()
    assert report.uploads_removed == 0  # in use: kept

    clock.advance(timedelta(hours=24, seconds=1))
    path = f"{UPLOADS}/{state['id']}"
    assert api.client.get(path, headers=api.as_("contributor")).status_code == 404
    assert put_part(api, state["id"], 2, os.urandom(part)).status_code == 404
    dry = api.registry.gc(dry_run=True)
    assert dry.uploads_removed == 1 and dry.bytes_freed >= part
    assert uploads.session(state["id"]) is not None
    report = api.registry.gc()
    assert report.uploads_removed == 1 and report.bytes_freed >= part
    assert uploads.session(state["id"]) is None
    assert list(uploads.sessions()) == []
    assert _nothing_left(api.registry, state["id"])


def test_an_aborted_session_leaves_nothing(api: Api) -> None:
    part = part_size(api.registry)
    state = start(api, 2 * part, part)
    put_part(api, state["id"], 1, os.urandom(part))
    path = f"{UPLOADS}/{state['id']}"
    api.token("other", "other-user", "contributor")
    assert api.client.delete(path, headers=api.as_("other")).status_code == 404
    assert api.client.delete(path, headers=api.as_("contributor")).status_code == 204
    assert api.client.get(path, headers=api.as_("contributor")).status_code == 404
    assert _nothing_left(api.registry, state["id"])


def _nothing_left(registry: Registry, upload_id: str) -> bool:
    """No file, object or unfinished multipart upload of the session is left."""
    blobs: Any = registry.backend.blobs
    if hasattr(blobs, "root"):
        return not (blobs.root / "uploads" / upload_id).exists() and not any(
            p.name.startswith(".drop-") for p in (blobs.root / "uploads").iterdir()
        )
    client, bucket = blobs.client, blobs.bucket
    keys = client.list_objects_v2(Bucket=bucket, Prefix=blobs.prefix).get("Contents", [])
    pending = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return not [k for k in keys if upload_id in k["Key"]] and not [
        u for u in pending if upload_id in u["Key"]
    ]


def test_both_registries_drive_a_session_one_call_at_a_time(api: Api) -> None:
    """The same calls on the embedded registry and on a remote one (over the API)."""
    from modelrepo.domain.errors import DigestMismatch, NotFound
    from modelrepo.remote import RemoteRegistry

    remote = RemoteRegistry(
        "http://testserver",
        token=api.tokens["contributor"],
        client=api.client,
        allow_insecure_http=True,
    )
    embedded = api.registry.as_user("contributor-user")
    part = part_size(api.registry)
    for reg in (embedded, remote):
        data = os.urandom(part + 99)
        state = reg.start_upload("credit-risk", len(data), part_size=part)
        assert (state.session.part_count, state.parts) == (2, [])
        upload_id = state.session.id
        with pytest.raises(DigestMismatch):
            reg.put_part("credit-risk", upload_id, 1, data[:part], "0" * 64)
        held = reg.put_part(
            "credit-risk", upload_id, 1, data[:part], hashlib.sha256(data[:part]).hexdigest()
        )
        assert (held.number, held.size) == (1, part)
        assert reg.upload("credit-risk", upload_id).session.missing(
            reg.upload("credit-risk", upload_id).parts
        ) == [2]
        rest = data[part:]
        reg.put_part("credit-risk", upload_id, 2, rest, hashlib.sha256(rest).hexdigest())
        done = reg.complete_upload("credit-risk", upload_id)
        assert done.session.sha256 == hashlib.sha256(data).hexdigest()
        reg.abort_upload("credit-risk", upload_id)
        with pytest.raises(NotFound):
            reg.upload("credit-risk", upload_id)
