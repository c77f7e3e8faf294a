"""The embedded and the remote registry are two implementations of the API `modelrepo.api`
declares, side by side, neither a subclass of the other: the same public names, each of the
same kind with the same parameters and return types, documented once, in the protocols. A
member added to one registry and not the other, or documented again in one, fails here.
The constructors differ by design (a store's location and settings; a server's URL, token
and HTTP client)."""

from __future__ import annotations

import ast
import inspect
from types import FunctionType
from typing import Any

import pytest

from modelrepo.api import RegistryAPI
from modelrepo.registry import Registry
from modelrepo.remote import RemoteRegistry

REGISTRIES = (Registry, RemoteRegistry)

PROTOCOLS = tuple(k for k in RegistryAPI.__mro__ if k.__module__.startswith("modelrepo.api"))
"""`RegistryAPI` and the protocol of each concept it combines."""

MEMBERS = sorted(
    name
    for klass in PROTOCOLS
    for name, value in vars(klass).items()
    if isinstance(value, FunctionType | property)
    and (not name.startswith("_") or name.endswith("__"))
    and name not in ("__init__", "__subclasshook__", "__init_subclass__")
)
"""The methods and properties the protocols declare."""

UNDECLARED = {
    "in_memory": "a constructor, of a registry in this process: an embedded one (a remote "
    "registry refuses it, pointing to `Registry.in_memory()`)",
}
"""Public names both registries have that no protocol declares, each with the reason."""

REMOTE_ONLY = {
    "register_source": "the server fetches the URL, under the prefixes it allows; in this "
    "process there is no such allow-list, so an embedded registry registers what it holds",
}
"""Public names only a remote registry has, each with the reason."""

EMBEDDED_ONLY = {
    "as_principal": "the server acts as each request's authenticated principal on the store "
    "it holds; a remote registry always acts as the principal of its own credential",
    "receive_part": "the server streams a part's body into the store as it arrives; a client "
    "sends parts with `put_part`",
    "staged_upload": "the server hands a complete session to the registration that names it; "
    "a client names it in the registration it sends",
}
"""Public names only an embedded registry has, each with the reason."""

OWN_KIND = {"as_user", "in_memory", "__enter__"}
"""Members that return a registry of their own kind: `Registry` on one, `RemoteRegistry` (or
`Self`) on the other."""


def public(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def signature(found: Any) -> inspect.Signature:
    """The signature of what `inspect.getattr_static` found: a function, a property's getter
    or a classmethod's function."""
    if isinstance(found, property):
        return inspect.signature(found.fget)  # type: ignore[arg-type]
    if isinstance(found, classmethod):
        return inspect.signature(found.__func__)
    return inspect.signature(found)


def returns(cls: type, name: str) -> str:
    """The return annotation as written, a registry of the class's own kind as `Registry`."""
    text = str(signature(inspect.getattr_static(cls, name)).return_annotation)
    if name in OWN_KIND:
        text = text.replace("RemoteRegistry", "Registry").replace("Self", "Registry")
    return text


def test_the_remote_registry_is_not_a_subclass_of_the_embedded_one() -> None:
    assert not issubclass(RemoteRegistry, Registry)
    assert all(RegistryAPI in cls.__mro__ for cls in REGISTRIES)


def test_every_public_name_of_either_registry_is_declared_by_a_protocol_or_listed() -> None:
    assert {"register", "deploy", "log_decision", "fsck", "location", "__enter__"} <= set(MEMBERS)
    assert not set(REMOTE_ONLY) & public(Registry), "no longer remote-only: drop it from the list"
    assert public(Registry) - set(MEMBERS) == set(UNDECLARED) | set(EMBEDDED_ONLY)
    assert public(RemoteRegistry) - set(MEMBERS) == set(UNDECLARED) | set(REMOTE_ONLY)


@pytest.mark.parametrize("name", MEMBERS)
def test_both_registries_implement_it_with_the_parameters_the_protocol_declares(name: str) -> None:
    declared = inspect.getattr_static(RegistryAPI, name)
    for cls in REGISTRIES:
        found = inspect.getattr_static(cls, name)
        owner = next(klass for klass in cls.__mro__ if name in vars(klass))
        assert owner not in PROTOCOLS, f"{cls.__name__} inherits the protocol's empty {name}"
        assert type(found) is type(declared), f"{cls.__name__}.{name}"
        assert signature(found).parameters == signature(declared).parameters, cls.__name__


@pytest.mark.parametrize("name", sorted(UNDECLARED))
def test_what_no_protocol_declares_takes_the_same_parameters_on_both(name: str) -> None:
    embedded, remote = (inspect.getattr_static(cls, name) for cls in REGISTRIES)
    assert type(embedded) is type(remote)
    assert signature(embedded).parameters == signature(remote).parameters


@pytest.mark.parametrize("name", sorted([*MEMBERS, *UNDECLARED]))
def test_both_registries_return_the_same_types(name: str) -> None:
    # mypy holds each to the protocol, which a narrower type satisfies; this holds them to
    # each other, so a caller of both meets no difference.
    assert returns(Registry, name) == returns(RemoteRegistry, name)


@pytest.mark.parametrize("name", MEMBERS)
def test_docstrings_are_written_once_in_the_protocols(name: str) -> None:
    """An implementation that repeats (or contradicts) the protocol's docstring would drift."""
    protocol = inspect.getattr_static(RegistryAPI, name)
    assert inspect.getdoc(protocol), f"{name} has no docstring in its protocol"
    for cls in REGISTRIES:
        implementation = inspect.getattr_static(cls, name)
        if isinstance(implementation, property):
            implementation = implementation.fget
        assert getattr(implementation, "__doc__", None) is None, f"{cls.__name__}.{name}"
        assert inspect.getdoc(getattr(cls, name)) == inspect.getdoc(protocol), cls.__name__


def test_every_protocol_and_attribute_it_declares_has_a_docstring() -> None:
    attributes = set()
    for klass in PROTOCOLS:
        assert inspect.getdoc(klass), klass.__name__
        (tree,) = ast.parse(inspect.getsource(klass)).body
        assert isinstance(tree, ast.ClassDef)
        for statement, following in zip(tree.body, [*tree.body[1:], None], strict=True):
            if isinstance(statement, ast.AnnAssign):
                name = ast.unparse(statement.target)
                attributes.add(name)
                assert (
                    isinstance(following, ast.Expr)
                    and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)
                ), f"{klass.__name__}.{name} has no docstring"
    assert {"user", "clock"} <= attributes
