"""Names and references: what a model, an environment, a tag key or `NAME@N` may look like.

A model name is what MLflow accepts for a registered model (`mlflow/utils/validation.py`,
`_validate_model_name`, MLflow 3.17): not empty or only whitespace, at most 256 characters
(the width of MLflow's name columns), no `/` or `:`, and not `.` or anything starting with
`..`. Names are case-sensitive and kept as given: `CreditRisk` and `creditrisk` are two
models, and `Credit Risk` or `modèle-crédit` are names. Where MLflow is looser than is safe,
a name is refused here on purpose: a control, format, surrogate, private-use or unassigned
character (Unicode category C: NUL, newlines, tabs, bidirectional overrides...) could hide a
name's real spelling in a log, a terminal or a page.

An environment (an MLflow alias) is 1-255 characters of letters, digits, `_`, `-` and `.`
(MLflow's aliases are `[\\w-]+`; the dot keeps every earlier environment name valid), not
starting with a dot: no spaces, so that `NAME@ENV` parses.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from .errors import InvalidInput

MAX_NAME_LENGTH = 256
"""MLflow's registered-model name columns are 256 characters wide."""
MAX_ENVIRONMENT_LENGTH = 255
"""MLflow's longest alias."""
ENVIRONMENT_PATTERN = r"[\w-][\w.-]{0,254}"
_PLAIN_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,127}")
"""The model names of earlier releases: stand for themselves in file names."""
_SLUG_PARTS = re.compile(r"[a-z0-9]+")
_ENVIRONMENT = re.compile(ENVIRONMENT_PATTERN)
_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}")
_VERSION = re.compile(r"[1-9][0-9]{0,17}")
_FLAVOR = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
MAX_NUMBER = 2**62
"""The largest version, id or count accepted from a caller: inside a signed 64-bit database
column with room to spare, so a larger one is refused as input, not by the database."""
IDEMPOTENCY_KEY_PATTERN = r"[!-~]{1,128}"  # printable ASCII, no space
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)


def model_name_problem(name: object) -> str | None:
    """Why `name` is no model name (None: it is one)."""
    problem = name_text_problem(name)
    if problem is None and isinstance(name, str) and (name == "." or name.startswith("..")):
        return "a name cannot be '.' or start with '..'"
    return problem


def name_text_problem(text: object) -> str | None:
    """Why `text` could not stand for model names, the dot rule aside (None: it could):
    what a name and a model-name glob (`Credit*`) share."""
    if not isinstance(text, str):
        return "a name is a string"
    if not text.strip():
        return "a name cannot be empty or only whitespace"
    if len(text) > MAX_NAME_LENGTH:
        return f"a name has at most {MAX_NAME_LENGTH} characters, this one has {len(text)}"
    for bad in ("/", ":"):
        if bad in text:
            return f"a name cannot contain {bad!r}"
    for char in text:
        if unicodedata.category(char).startswith("C"):
            return f"a name cannot contain the control or invisible character U+{ord(char):04X}"
    return None


def shown(text: object, limit: int = 80) -> str:
    """`text` as an error message quotes it: its repr, cut short when it is long."""
    if isinstance(text, str) and len(text) > limit:
        return f"{text[:limit]!r}... ({len(text)} characters)"
    return repr(text)


def validate_model_name(name: str) -> str:
    """Return `name` if it is a valid model name, else raise InvalidInput saying why."""
    problem = model_name_problem(name)
    if problem is not None:
        raise InvalidInput(f"invalid model name {shown(name)}: {problem}")
    return name


def file_name(name: str) -> str:
    """A file or folder name standing for model `name`, safe on any file system.

    A name that was valid before names followed MLflow's rule (`credit-risk`) stands for
    itself, so that earlier exports keep their paths. Any other (`Credit Risk`, `CON`,
    `a..`) becomes its lowercase letters and digits, with other runs as '-', then `~` and
    12 hex digits of its SHA-256: never a path of its own (no '.', '..', separator or
    reserved device name), never a folder name another name has, even where the file
    system ignores case (`CreditRisk` and `creditrisk` get two folders), and `~` is never
    in a name of the earlier form."""
    if _PLAIN_NAME.fullmatch(name):
        return name
    slug = "-".join(_SLUG_PARTS.findall(name.lower()))[:64] or "model"
    return f"{slug}~{hashlib.sha256(name.encode()).hexdigest()[:12]}"


def check_environment_name(name: str) -> str:
    """Return `name` if it is a valid environment name, else raise InvalidInput saying why."""
    if not isinstance(name, str) or not _ENVIRONMENT.fullmatch(name):
        raise InvalidInput(
            f"invalid environment name {shown(name)}: use 1-{MAX_ENVIRONMENT_LENGTH} letters, "
            "digits, '_', '-' or '.', not starting with '.' (no spaces)"
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
    """Parse `NAME@N` (N a positive integer). A name may hold `@` (MLflow's may): the
    reference splits at its last one, as MLflow's `models:/NAME@ALIAS` does."""
    name, sep, number = text.rpartition("@")
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
    """Parse `NAME@N` (a version) or `NAME@ENV` (what is live in ENV now), split at the
    last `@`."""
    name, sep, rest = text.rpartition("@")
    if not sep:
        raise InvalidInput(
            f"invalid reference {text!r}: expected NAME@VERSION or NAME@ENVIRONMENT, "
            "e.g. churn@3 or churn@production"
        )
    validate_model_name(name)
    if re.fullmatch(r"[0-9-]*", rest):
        return Ref(name, version=parse_version_ref(text).version)
    if not _ENVIRONMENT.fullmatch(rest):
        raise InvalidInput(f"invalid version or environment {rest!r} in {text!r}")
    return Ref(name, environment=rest)


def ref_or_name(text: str) -> Ref | None:
    """`text` as a reference when it reads as one (`NAME@N`, `NAME@ENV`), None when it is a
    bare name: `Credit Risk`, or `risk@v2 (EU)`, whose part after its last `@` is neither
    a version nor an environment."""
    if "@" not in text:
        return None
    try:
        return parse_ref(text)
    except InvalidInput:
        return None
