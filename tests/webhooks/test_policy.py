"""The pure parts of webhooks: target policy, signatures, event payloads, backoff."""

from __future__ import annotations

import json
import random

import pytest

from modelrepo.domain.errors import InvalidInput
from modelrepo.domain.webhooks import (
    address_problem,
    backoff,
    check_address,
    check_events,
    check_url,
    signature,
    verify_signature,
)
from modelrepo.outbound import checked_addresses

REFUSED = [
    "127.0.0.1",
    "127.8.9.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "0.0.0.0",
    "100.64.0.1",
    "224.0.0.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "2002:7f00:1::",
]


@pytest.mark.parametrize("address", REFUSED)
def test_internal_addresses_are_refused_unless_allowed(address: str) -> None:
    assert address_problem(address) is not None
    with pytest.raises(InvalidInput, match="refused"):
        check_address(address, allow_private=False)
    check_address(address, allow_private=True)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_pass(address: str) -> None:
    assert address_problem(address) is None


def test_every_resolved_address_is_checked() -> None:
    def resolver(host: str, port: int) -> list[str]:
        return {"hooks.example": ["93.184.215.14", "10.0.0.7"]}.get(host, [])

    with pytest.raises(InvalidInput, match="10.0.0.7 is private"):
        checked_addresses("hooks.example", 443, allow_private=False, resolver=resolver)
    with pytest.raises(InvalidInput, match="no address"):
        checked_addresses("nowhere.example", 443, allow_private=False, resolver=resolver)
    assert checked_addresses("hooks.example", 443, allow_private=True, resolver=resolver) == [
        "93.184.215.14",
        "10.0.0.7",
    ]


def test_urls_are_parsed_not_matched_as_text() -> None:
    target = check_url("https://Hooks.Example:8443/in?x=1")
    assert (target.host, target.port, target.url) == (
        "hooks.example",
        8443,
        "https://hooks.example:8443/in?x=1",
    )
    assert check_url("https://[::1]/").host == "::1"
    for bad in [
        "http://hooks.example/",
        "ftp://hooks.example/",
        "https://user:pw@hooks.example/",
        "https://hooks.example@10.0.0.1/",
        "https://hooks.example/#frag",
        "https:///path",
        "https://127.1/",
        "https://0x7f.1/",
        "https://hooks example/",
        "https://hooks.example\\@evil/",
        "https://hooks.example:99999/",
        "",
    ]:
        with pytest.raises(InvalidInput):
            check_url(bad)
    assert check_url("http://127.0.0.1:8080/x", allow_http=True).port == 8080


def test_signatures_verify_only_the_same_body_secret_and_time() -> None:
    body = json.dumps({"id": "s:1"}).encode()
    header = signature("s3cret", 1_700_000_000, body)
    assert header.startswith("t=1700000000,v1=")
    assert verify_signature("s3cret", body, header, now=1_700_000_100)
    assert not verify_signature("other", body, header, now=1_700_000_100)
    assert not verify_signature("s3cret", body + b" ", header, now=1_700_000_100)
    assert not verify_signature("s3cret", body, header, now=1_700_001_000)  # a replay
    assert not verify_signature("s3cret", body, "v1=abc", now=1_700_000_000)


def test_events_are_checked() -> None:
    assert check_events(["deployed", "deployed", "registered"]) == ("deployed", "registered")
    with pytest.raises(InvalidInput):
        check_events([])
    with pytest.raises(InvalidInput, match="unknown event kind"):
        check_events(["deleted"])


def test_backoff_grows_with_jitter_up_to_a_cap() -> None:
    rng = random.Random(7)
    delays = [backoff(n, base=1.0, cap=60.0, rng=rng) for n in range(1, 10)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(60.0, 2.0 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert backoff(500, base=1.0, cap=60.0) <= 60.0
