"""The embedded and the remote registry offer the API `modelrepo.api` declares: the same
methods with the same parameters, documented once, in the protocols."""

from __future__ import annotations

import inspect
from types import FunctionType

import pytest

from modelrepo.api import RegistryAPI
from modelrepo.registry import Registry
from modelrepo.remote import EMBEDDED_ONLY, RemoteRegistry

METHODS = sorted(
    name
    for klass in RegistryAPI.__mro__
    for name, value in vars(klass).items()
    if isinstance(value, FunctionType) and (not name.startswith("_") or name.endswith("__"))
    and name not in ("__init__", "__subclasshook__", "__init_subclass__")
)  # fmt: skip


def test_the_protocols_declare_every_public_method_of_the_registry() -> None:
    public = {
        name
        for name, value in inspect.getmembers(Registry, inspect.isfunction)
        if not name.startswith("_")
    }
    assert public <= set(METHODS)
    assert {"register", "deploy", "log_decision", "fsck", "__enter__"} <= set(METHODS)


@pytest.mark.parametrize("name", METHODS)
def test_both_registries_take_the_parameters_the_protocol_declares(name: str) -> None:
    declared = inspect.signature(getattr(RegistryAPI, name)).parameters
    assert inspect.signature(getattr(Registry, name)).parameters == declared
    if name not in EMBEDDED_ONLY:  # each of those raises NotSupported, whatever it is given
        assert inspect.signature(getattr(RemoteRegistry, name)).parameters == declared


@pytest.mark.parametrize("name", METHODS)
def test_docstrings_are_written_once_in_the_protocols(name: str) -> None:
    """An implementation that repeats (or contradicts) the protocol's docstring would drift."""
    protocol = inspect.getattr_static(RegistryAPI, name)
    implementation = inspect.getattr_static(Registry, name)
    if isinstance(implementation, property):
        implementation = implementation.fget
    assert getattr(implementation, "__doc__", None) is None, name
    assert inspect.getdoc(getattr(Registry, name)) == inspect.getdoc(protocol)
