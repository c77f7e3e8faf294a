"""The embedded and the remote registry are two implementations of one interface, side by
side: every public method and property of one is on the other, with the same signature, so
a method added to one and not the other fails here. The constructors differ by design (a
store's location and settings; a server's URL, token and HTTP client)."""

from __future__ import annotations

import inspect

import httpx
import pytest

from modelrepo import Registry
from modelrepo.domain.errors import NotSupported
from modelrepo.remote import EMBEDDED_ONLY, RemoteRegistry

pytestmark = pytest.mark.sqlite_only

REMOTE_ONLY = {
    "register_source": "the server fetches the URL, under the prefixes it allows; in this "
    "process there is no such allow-list, so an embedded registry registers what it holds",
}
"""Public names only a remote registry has, each with the reason."""

OWN_KIND = {"as_user", "in_memory"}
"""Methods that return a registry of their own kind: `Registry` on one, `RemoteRegistry` on
the other."""


def public(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def shape(cls: type, name: str) -> tuple[object, ...]:
    """What a caller relies on: the kind of attribute, and each parameter's name, kind,
    default and annotation (as written), and the return annotation."""
    found = inspect.getattr_static(cls, name)
    function = found.fget if isinstance(found, property) else getattr(cls, name)
    signature = inspect.signature(function)
    returns = str(signature.return_annotation)
    if name in OWN_KIND:
        returns = returns.replace("RemoteRegistry", "Registry")
    parameters = [
        (p.name, p.kind, repr(p.default), str(p.annotation)) for p in signature.parameters.values()
    ]
    return type(found).__name__, parameters, returns


def test_the_remote_registry_is_not_a_subclass() -> None:
    assert not issubclass(RemoteRegistry, Registry)


def test_both_have_the_same_public_names() -> None:
    assert not set(REMOTE_ONLY) & public(Registry), "no longer remote-only: drop it from the list"
    assert public(RemoteRegistry) - set(REMOTE_ONLY) == public(Registry)


@pytest.mark.parametrize("name", sorted(public(Registry)))
def test_each_has_the_same_signature(name: str) -> None:
    assert shape(RemoteRegistry, name) == shape(Registry, name)


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
