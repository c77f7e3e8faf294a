"""Canonical JSON: the one text every digest, signature, audit entry and JSON column is made of.

Keys sorted, no whitespace, Python's number forms (`1.0`, `1e+20`, integers of any size
exactly). Two forms, because two kinds of bytes already exist and must keep verifying:

- `canonical_text` / `canonical_bytes`: non-ASCII characters as themselves (UTF-8 bytes), NaN
  and infinities refused. Version and manifest digests, audit entries, decision inputs and
  outputs, and the SQL store's JSON columns have always been this (their values are checked
  finite before they get here, so refusing NaN changes no byte ever written).
- `canonical_ascii`: non-ASCII characters as `\\uXXXX`, NaN written as `NaN`. Webhook bodies
  have always been this: receivers check an HMAC over the exact bytes, and the bodies are
  made from entries already in the log, which must never be refused.

The standalone verifier (`modelrepo.verifier`) keeps its own copy of the first form, so an
auditor can run that one file alone; a test pins both to the same bytes. RFC 8785 (JCS) is
not used: it writes `1.0` as `1` and refuses integers beyond 2**53, so every stored metric
would hash differently.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from itertools import repeat
from operator import itemgetter
from typing import Any

CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
"""One encoder, made once: building one per call costs more than encoding a small record."""

_ASCII = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def _one_shot_encoder() -> tuple[Callable[[Any], str], Callable[[list[Any]], list[str]]]:
    """`CANONICAL.encode` of one value and of each value of a list, without building an
    encoder per call (the C encoder, made once, and checked to give the same text; the
    pure-Python encoder where it is unavailable)."""
    try:
        from json.encoder import (  # type: ignore[attr-defined]
            c_make_encoder,
            encode_basestring,
        )

        if c_make_encoder is None:
            raise ImportError
        # No circular-reference markers: a shared marker dict would be left dirty by a failed
        # call; a circular value then raises RecursionError, which callers report.
        made = c_make_encoder(None, CANONICAL.default, encode_basestring, None, ":", ",",
                              True, False, False)  # fmt: skip
        join = "".join

        def encode(value: Any) -> str:
            return join(made(value, 0))

        def encode_each(values: list[Any]) -> list[str]:
            records = number_records(values)
            if records is not None:
                return records
            # No Python frame per value: the C encoder and the join, mapped.
            return list(map(join, map(made, values, repeat(0, len(values)))))

        sample = {"b": [1.5, -0.0, 10**20, 'é\n"', None, True], "a": {"z": 1, "y": 2}}
        if encode(sample) != CANONICAL.encode(sample) or encode_each([sample, 1]) != [
            CANONICAL.encode(sample),
            "1",
        ]:
            raise ImportError
        return encode, encode_each
    except (ImportError, TypeError):  # another Python's C encoder signature
        return CANONICAL.encode, lambda values: list(map(CANONICAL.encode, values))


def number_records(values: list[Any]) -> list[str] | None:
    """The canonical text of each value when every value is a dict with the same text keys
    and every member an exact `int` or a finite `float` (a model's scores: the usual decision
    output; such values are their own canonical form), else None. Written column by column: a
    number's JSON is its `repr`, which is what the encoder writes for these two types, so the
    text is the encoder's byte for byte; only its work per value (a call, a sort, a join) is
    saved, about half of its time."""
    if len(values) < _RECORDS_AT_LEAST or values[0].__class__ is not dict:
        return None
    keys = sorted(values[0])
    if (
        not keys
        or not all(key.__class__ is str for key in keys)
        or set(map(type, values)) != {dict}
        or set(map(len, values)) != {len(keys)}
    ):
        return None
    try:  # as many members as the first, and each of its keys: exactly its keys
        columns = [list(map(itemgetter(key), values)) for key in keys]
    except KeyError:
        return None
    for column in columns:
        kinds = set(map(type, column))
        if not kinds <= _NUMBERS or (float in kinds and not _all_finite(column)):
            return None  # the encoder's own path (and its refusal of NaN)
    # The keys as the encoder writes them, before each value: `{"a":` then `,"b":`...
    heads = [("{" if n == 0 else ",") + canonical_string(key) + ":" for n, key in enumerate(keys)]
    width = len(keys)
    # Every record's text side by side in one string, records apart by a NUL (which no
    # number's repr nor encoded key holds), then split: two calls in C instead of a
    # formatting call per record.
    flat: list[str] = ["}" + _APART + heads[0]] * (2 * width * len(values))
    for place, column in enumerate(columns):
        if place:
            flat[2 * place :: 2 * width] = [heads[place]] * len(values)
        flat[2 * place + 1 :: 2 * width] = map(repr, column)
    flat[0] = heads[0]
    return ("".join(flat) + "}").split(_APART)


def _all_finite(column: list[int | float]) -> bool:
    """Whether every number is finite, from their sum (NaN and the infinities carry through
    it); a sum that overflows answers False, and the encoder then writes the column as well."""
    try:
        return _finite(sum(column))
    except OverflowError:  # an integer too large for a float beside a float
        return False


canonical_string: Callable[[str], str] = json.encoder.encode_basestring
"""`canonical_text` of a string, without the encoder around it: the function it quotes text
with (`ensure_ascii=False`)."""
_RECORDS_AT_LEAST = 32
_APART = "\x00"
_NUMBERS = frozenset({int, float})
_finite = math.isfinite

canonical_text, canonical_texts = _one_shot_encoder()
"""Canonical JSON text of a value, and of each value of a list (UTF-8 form; either may raise
TypeError, ValueError for NaN or infinities, or RecursionError for a circular value)."""


def canonical_bytes(value: Any) -> bytes:
    """`canonical_text` as UTF-8 bytes: what digests and signatures are computed over."""
    return canonical_text(value).encode()


def canonical_ascii(value: Any) -> str:
    """Canonical JSON with non-ASCII characters escaped and NaN written as `NaN`: the bytes
    webhook bodies have always been signed as."""
    return _ASCII.encode(value)
