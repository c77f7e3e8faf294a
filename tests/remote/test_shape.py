"""What the remote registry's shape means when it runs, beyond the declarations
`tests/test_api.py` compares: what it does not offer is refused by name, and `Registry` of a
server's URL is a `RemoteRegistry`."""

from __future__ import annotations

import inspect

import httpx
import pytest

from modelrepo import Registry
from modelrepo.domain.errors import NotSupported
from modelrepo.remote import EMBEDDED_ONLY, RemoteRegistry

pytestmark = pytest.mark.sqlite_only


def test_what_is_not_offered_remotely_is_refused_by_name() -> None:
    remote = _mock()
    for name in EMBEDDED_ONLY:
        with pytest.raises(NotSupported, match=f"{name} is not available through the server"):
            getattr(remote, name)(*[None] * _required(name))
    with pytest.raises(NotSupported, match="direct access to the store"):
        remote.deliverer()


def test_registry_of_a_url_is_a_remote_registry_made_with_the_same_arguments() -> None:
    reg = Registry("http://127.0.0.1:9", token="t", client=_client())
    assert type(reg) is RemoteRegistry and reg.user == "alice" and reg.location.endswith(":9")


def _required(name: str) -> int:
    parameters = inspect.signature(getattr(RemoteRegistry, name)).parameters.values()
    return sum(p.default is p.empty and p.name != "self" for p in parameters)


def _client() -> httpx.Client:
    whoami = {"user": "alice", "role": "admin", "model_pattern": None, "token_id": "0" * 12}

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200 if request.url.path == "/api/v1/whoami" else 404, json=whoami)

    return httpx.Client(transport=httpx.MockTransport(answer))


def _mock() -> RemoteRegistry:
    return RemoteRegistry("http://127.0.0.1:9", token="t", client=_client())
