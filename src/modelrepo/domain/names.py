"""Names and references: what a model, a tag key or `NAME@N` may look like."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidInput

MODEL_NAME_PATTERN = r"[a-z0-9][a-z0-9._-]{0,127}"
_MODEL_NAME = re.compile(MODEL_NAME_PATTERN)
_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}")
_VERSION = re.compile(r"[1-9][0-9]{0,17}")
_FLAVOR = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
MAX_NUMBER = 2**62
"""The largest version, id or count accepted from a caller: inside a signed 64-bit database
column with room to spare, so a larger one is refused as input, not by the database."""
IDEMPOTENCY_KEY_PATTERN = r"[!-~]{1,128}"  # printable ASCII, no space
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)


def validate_model_name(name: str) -> str:
    """Return `name` if it is a valid model name, else raise InvalidInput saying why."""
    if not isinstance(name, str) or not _MODEL_NAME.fullmatch(name):
        raise InvalidInput(
            f"invalid model name {name!r}: use 1-128 characters of a-z, 0-9, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_version(version: object, what: str = "version") -> int:
    """A version number: an int (not a bool) from 1 to `MAX_NUMBER`."""
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_NUMBER:
        raise InvalidInput(f"invalid {what} {version!r}: expected an integer from 1 to 2**62")
    return version


def validate_key(key: str, what: str = "key") -> str:
    """Keys of params, metrics and tags: short, printable, no spaces or '='."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise InvalidInput(
            f"invalid {what} {key!r}: use 1-128 characters of A-Z, a-z, 0-9, '_', '.', ':', "
            "'/' or '-'"
        )
    return key


def validate_flavor(flavor: str) -> str:
    """Flavors name a loader (sklearn, onnx, text-coefficients, generic, ...)."""
    if not isinstance(flavor, str) or not _FLAVOR.fullmatch(flavor):
        raise InvalidInput(f"invalid flavor {flavor!r}: use a-z, 0-9, '.', '_' or '-'")
    return flavor


def validate_idempotency_key(key: str) -> str:
    """A client's key for one registration, so a retried request cannot register twice:
    1-128 printable ASCII characters, no whitespace (it travels as an HTTP header)."""
    if not isinstance(key, str) or not _IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidInput(
            f"invalid idempotency key {key!r}: use 1-128 printable ASCII characters, without spaces"
        )
    return key


@dataclass(frozen=True, slots=True)
class VersionRef:
    """A parsed `NAME@N` reference."""

    model: str
    version: int

    def __str__(self) -> str:
        return f"{self.model}@{self.version}"


def parse_version_ref(text: str) -> VersionRef:
    """Parse `NAME@N` (N a positive integer)."""
    name, sep, number = text.partition("@")
    if not sep:
        raise InvalidInput(f"invalid reference {text!r}: expected NAME@VERSION, e.g. churn@3")
    validate_model_name(name)
    if not _VERSION.fullmatch(number):
        raise InvalidInput(f"invalid version {number!r} in {text!r}: expected a positive integer")
    return VersionRef(name, int(number))


@dataclass(frozen=True, slots=True)
class Ref:
    """A parsed `NAME@N` or `NAME@ENV` reference (exactly one of version, environment)."""

    model: str
    version: int | None = None
    environment: str | None = None


def parse_ref(text: str) -> Ref:
    """Parse `NAME@N` (a version) or `NAME@ENV` (what is live in ENV now)."""
    name, sep, rest = text.partition("@")
    if not sep:
        raise InvalidInput(
            f"invalid reference {text!r}: expected NAME@VERSION or NAME@ENVIRONMENT, "
            "e.g. churn@3 or churn@production"
        )
    validate_model_name(name)
    if re.fullmatch(r"[0-9-]*", rest):
        return Ref(name, version=parse_version_ref(text).version)
    if not _MODEL_NAME.fullmatch(rest):
        raise InvalidInput(f"invalid version or environment {rest!r} in {text!r}")
    return Ref(name, environment=rest)
