"""Every method of every port is called by a contract suite: the suites run on in-process
ports that record the calls (port_calls.py), and the calls must be exactly the methods the
protocols in `modelrepo.ports` declare. A port method added without a contract test, or a
port without a suite, fails here."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import modelrepo.ports as ports

HERE = Path(__file__).parent
SUITES_BY_PORT = {
    "MetadataStore",
    "BlobStore",
    "BlobWriter",
    "UploadStore",
    "PartSink",
    "StoreLock",
    "Signer",
    "StatementSigner",
    "Clock",
}


def protocols() -> dict[str, type]:
    every = {name: getattr(ports, name) for name in ports.__all__}  # loaded on first use
    return {
        name: value
        for name, value in every.items()
        if inspect.isclass(value) and getattr(value, "_is_protocol", False)
    }


def declared(port: type) -> set[str]:
    """The methods, properties and attributes `port` declares (and `__call__`, for a port
    that is a callable), with those of the protocols it combines."""
    names = set()
    for cls in port.__mro__:
        if cls.__module__.startswith("modelrepo.ports"):
            names |= {
                name
                for name, member in vars(cls).items()
                if (not name.startswith("_") or name == "__call__") and (
                    inspect.isfunction(member) or isinstance(member, property))
            }  # fmt: skip
            names |= {n for n in vars(cls).get("__annotations__", {}) if not n.startswith("_")}
    return names


def test_every_port_is_part_of_the_metadata_store_or_has_its_own_suite() -> None:
    found = protocols()
    parts = {cls.__name__ for cls in ports.MetadataStore.__mro__ if cls.__name__ in found}
    assert set(found) == SUITES_BY_PORT | parts


def test_the_contract_suites_call_every_port_method(tmp_path: Path) -> None:
    out = tmp_path / "calls.json"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--noconftest",
         "-p", "no:randomly", str(HERE / "port_calls.py")],
        cwd=HERE.parent.parent, env={**os.environ, "MODELREPO_PORT_CALLS": str(out)},
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    called = set(json.loads(out.read_text()))
    found = protocols()
    missing = {
        name: sorted(declared(found[name]) - {c.split(".", 1)[1] for c in called
                                               if c.startswith(f"{port}.")})
        for name, port in (
            *((part, "MetadataStore") for part in found if part not in SUITES_BY_PORT),
            *((port, port) for port in SUITES_BY_PORT),
        )
    }  # fmt: skip
    assert {name: gaps for name, gaps in missing.items() if gaps} == {}
    # ... and nothing else: a suite that reached past the port would not run on another backend.
    every = {f"{port}.{name}" for port in SUITES_BY_PORT for name in declared(found[port])}
    assert called - every == set()
