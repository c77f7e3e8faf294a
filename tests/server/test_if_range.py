"""`If-Range` on file downloads: the rest of a file only if it is still the same file."""

from __future__ import annotations

import hashlib

import pytest

from .conftest import Api

SCRIPT = b"#!/bin/sh\necho scoring\n"
URL = "/api/v1/models/credit-risk/versions/1/files/score.sh"
ETAG = f'"sha256:{hashlib.sha256(SCRIPT).hexdigest()}"'


def test_a_matching_if_range_resumes_with_the_rest(api: Api) -> None:
    api.upload("credit-risk")
    reply = api.client.get(
        URL, headers={**api.as_("viewer"), "Range": "bytes=10-", "If-Range": ETAG}
    )
    assert reply.status_code == 206 and reply.content == SCRIPT[10:]
    assert reply.headers["content-range"] == f"bytes 10-{len(SCRIPT) - 1}/{len(SCRIPT)}"
    assert reply.headers["etag"] == ETAG


@pytest.mark.parametrize(
    "validator",
    [
        f'"sha256:{hashlib.sha256(b"another file").hexdigest()}"',  # the file changed
        f"W/{ETAG}",  # weak: never matches a strong comparison
        ETAG.strip('"'),  # unquoted: malformed
        ETAG[:-2] + '"',  # a prefix of the tag
        "Sun, 06 Nov 1994 08:49:37 GMT",  # a date: this server sends no Last-Modified
        "",
    ],
)
def test_any_other_if_range_gets_the_whole_file(api: Api, validator: str) -> None:
    api.upload("credit-risk")
    reply = api.client.get(
        URL, headers={**api.as_("viewer"), "Range": "bytes=10-", "If-Range": validator}
    )
    assert reply.status_code == 200 and reply.content == SCRIPT
    assert "content-range" not in reply.headers
    assert reply.headers["etag"] == ETAG


def test_if_range_keeps_unsatisfiable_ranges_and_plain_gets(api: Api) -> None:
    api.upload("credit-risk")
    beyond = api.client.get(
        URL, headers={**api.as_("viewer"), "Range": "bytes=999-", "If-Range": ETAG}
    )
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(SCRIPT)}"
    changed = api.client.get(
        URL, headers={**api.as_("viewer"), "Range": "bytes=999-", "If-Range": '"sha256:0"'}
    )
    assert changed.status_code == 200 and changed.content == SCRIPT
    alone = api.client.get(URL, headers={**api.as_("viewer"), "If-Range": '"sha256:0"'})
    assert alone.status_code == 200 and alone.content == SCRIPT
