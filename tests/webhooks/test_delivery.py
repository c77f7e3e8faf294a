"""Deliveries to a real HTTP receiver on loopback (allowed explicitly for these tests)."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from modelrepo import Registry
from modelrepo.clock import ManualClock
from modelrepo.domain.errors import InvalidInput
from modelrepo.domain.webhooks import EVENT_KINDS, SIGNATURE_HEADER, verify_signature

ALL = list(EVENT_KINDS)


@dataclass
class Receiver:
    """Answers POSTs with the next planned status (then 204), recording each request."""

    url: str = ""
    plan: list[int] = field(default_factory=list)
    location: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def bodies(self) -> list[dict[str, object]]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((dict(self.headers.items()), body))
            status = state.plan.pop(0) if state.plan else 204
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", state.location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


def _verified(registry: Registry, secret: str, receiver: Receiver) -> list[dict[str, object]]:
    for headers, body in receiver.received:
        sent = int(headers[SIGNATURE_HEADER].split(",")[0][2:])
        assert verify_signature(secret, body, headers[SIGNATURE_HEADER], now=sent)
        assert not verify_signature("whsec_other", body, headers[SIGNATURE_HEADER], now=sent)
    return receiver.bodies()


def test_every_kind_of_change_reaches_the_subscriber_signed(
    registry: Registry, artifact: Path, receiver: Receiver
) -> None:
    hook, secret = registry.add_webhook(
        receiver.url, model_pattern="fraud-*", events=ALL, allow_private=True
    )
    registry.register("fraud-score", artifact, code=False, environment=False)
    registry.register("credit-risk", artifact, code=False, environment=False)  # not matched
    registry.register("fraud-score", artifact, code=False, environment=False)
    registry.deploy("fraud-score", 1, env="staging")
    registry.deploy("fraud-score", 2, env="staging")
    registry.rollback("fraud-score", env="staging")
    registry.protect("fraud-score", env="prod")
    request = registry.deploy("fraud-score", 2, env="prod").request
    assert request is not None
    registry.as_user("bob").approve(request.request_id)
    outcome = registry.deliverer(resolver=lambda host, port: [host]).run_once()
    assert outcome.to_dict() == {"enqueued": 8, "delivered": 8, "retrying": 0, "failed": 0}

    bodies = _verified(registry, secret, receiver)
    assert [b["kind"] for b in bodies] == [
        "registered",
        "registered",
        "deployed",
        "deployed",
        "rolled_back",
        "deployment_requested",
        "deployed",
        "approved",
    ]
    assert {b["model"] for b in bodies} == {"fraud-score"}
    assert [b.get("version") for b in bodies[:2]] == [1, 2]
    assert bodies[4]["versions"] == [{"version": 1, "weight": 1.0}]
    assert bodies[5]["request_id"] == bodies[7]["request_id"] == request.request_id
    assert (bodies[6]["approved_by"], bodies[7]["actor"]) == ("bob", "bob")
    assert bodies[6]["deployment_event_id"] == bodies[7]["deployment_event_id"]
    assert len({b["id"] for b in bodies}) == 8
    headers = receiver.received[0][0]
    assert headers["X-Modelrepo-Event"] == "registered"
    assert headers["X-Modelrepo-Delivery"] == bodies[0]["id"]
    # Everything was sent once: another round sends nothing.
    assert registry.deliverer(resolver=lambda host, port: [host]).run_once().to_dict() == {
        "enqueued": 0,
        "delivered": 0,
        "retrying": 0,
        "failed": 0,
    }
    log = registry.webhook_deliveries(hook.webhook_id)
    assert [d.status for d in log] == ["delivered"] * 8


def test_filters_by_model_pattern_and_kind_and_starts_at_creation(
    tmp_path: Path, clock: ManualClock, artifact: Path, receiver: Receiver
) -> None:
    registry = Registry(tmp_path / "store", user="alice", clock=clock)
    registry.register("credit-a", artifact, code=False, environment=False)  # before: not sent
    registry.add_webhook(
        receiver.url, model_pattern="credit-*", events=["deployed"], allow_private=True
    )
    registry.register("credit-a", artifact, code=False, environment=False)
    registry.register("fraud-a", artifact, code=False, environment=False)
    registry.deploy("credit-a", 1, env="prod")
    registry.deploy("fraud-a", 1, env="prod")
    registry.undeploy("credit-a", env="prod")
    registry.deliverer(resolver=lambda host, port: [host]).run_once()
    assert [(b["kind"], b["model"]) for b in receiver.bodies()] == [("deployed", "credit-a")]


def test_a_failing_receiver_is_retried_with_backoff_and_every_attempt_logged(
    tmp_path: Path, clock: ManualClock, artifact: Path, receiver: Receiver
) -> None:
    registry = Registry(tmp_path / "store", user="alice", clock=clock)
    hook, _ = registry.add_webhook(receiver.url, events=["registered"], allow_private=True)
    registry.register("m", artifact, code=False, environment=False)
    receiver.plan = [500, 503]
    deliverer = registry.deliverer(
        resolver=lambda host, port: [host], base_delay=10.0, rng=random.Random(1)
    )
    assert deliverer.run_once().retrying == 1
    (delivery,) = registry.webhook_deliveries(hook.webhook_id)
    first_wait = delivery.next_attempt_at - clock.now()
    assert timedelta(seconds=3) <= first_wait <= timedelta(seconds=10)
    assert deliverer.run_once().to_dict()["retrying"] == 0  # not due yet: nothing is sent
    assert len(receiver.received) == 1
    clock.advance(timedelta(seconds=10))
    assert deliverer.run_once().retrying == 1
    (delivery,) = registry.webhook_deliveries(hook.webhook_id)
    assert delivery.next_attempt_at - clock.now() >= timedelta(seconds=8)  # grew
    clock.advance(timedelta(seconds=20))
    assert deliverer.run_once().delivered == 1
    (delivery,) = registry.webhook_deliveries(hook.webhook_id)
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    attempts = registry.delivery_attempts(delivery.delivery_id)
    assert [(a.attempt, a.ok, a.status_code, a.error) for a in attempts] == [
        (1, False, 500, "HTTP 500"),
        (2, False, 503, "HTTP 503"),
        (3, True, 204, None),
    ]
    assert len({b["id"] for b in receiver.bodies()}) == 1  # the same event each time


def test_a_redirect_is_not_followed_and_gives_up_after_max_attempts(
    tmp_path: Path, clock: ManualClock, artifact: Path, receiver: Receiver
) -> None:
    registry = Registry(tmp_path / "store", user="alice", clock=clock)
    registry.add_webhook(receiver.url, events=["registered"], allow_private=True)
    registry.register("m", artifact, code=False, environment=False)
    receiver.location = "http://169.254.169.254/latest/meta-data/"
    receiver.plan = [302, 307]
    deliverer = registry.deliverer(resolver=lambda host, port: [host], max_attempts=2)
    deliverer.run_once()
    clock.advance(timedelta(hours=1))
    assert deliverer.run_once().failed == 1
    (delivery,) = registry.webhook_deliveries()
    assert delivery.status == "failed"
    assert "redirects are not followed" in (delivery.last_error or "")
    assert len(receiver.received) == 2  # only the subscriber was asked, never the Location


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.0.0.8", "169.254.169.254", "::1", "::ffff:127.0.0.1"]
)
def test_a_target_resolving_inside_is_refused_at_connect_time(
    tmp_path: Path, clock: ManualClock, artifact: Path, receiver: Receiver, address: str
) -> None:
    registry = Registry(tmp_path / "store", user="alice", clock=clock)
    # A public-looking name that resolves (now) to an internal address: DNS rebinding.
    registry.add_webhook("https://hooks.example/in", events=["registered"])
    registry.register("m", artifact, code=False, environment=False)
    deliverer = registry.deliverer(resolver=lambda host, port: [address], max_attempts=1)
    assert deliverer.run_once().failed == 1
    (delivery,) = registry.webhook_deliveries()
    assert "webhook target refused" in (delivery.last_error or "")
    assert receiver.received == []


def test_targets_are_checked_when_added(tmp_path: Path, clock: ManualClock) -> None:
    registry = Registry(tmp_path / "store", user="alice", clock=clock)
    with pytest.raises(InvalidInput, match="https"):
        registry.add_webhook("http://hooks.example/", events=["registered"])
    with pytest.raises(InvalidInput, match="credentials"):
        registry.add_webhook("https://a@hooks.example/", events=["registered"])
    assert not (tmp_path / "store").exists(), "refused before writing: no store was made"


def test_a_disabled_subscription_is_sent_nothing_more(
    tmp_path: Path, clock: ManualClock, artifact: Path, receiver: Receiver
) -> None:
    registry = Registry(tmp_path / "store", user="alice", clock=clock)
    hook, _ = registry.add_webhook(receiver.url, events=["registered"], allow_private=True)
    registry.register("m", artifact, code=False, environment=False)
    registry.deliverer().fan_out()
    registry.disable_webhook(hook.webhook_id)
    registry.register("m", artifact, code=False, environment=False)
    assert registry.deliverer(resolver=lambda host, port: [host]).run_once().delivered == 0
    assert receiver.received == []
