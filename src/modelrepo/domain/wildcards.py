"""Wildcard patterns a user supplies (SQL LIKE, model-name globs), matched in bounded time.

A backtracking regular expression made from `%a%a%a%...` takes exponential time on a text
that almost matches, and runs holding the interpreter lock: one request could stall a
server worker. Here a pattern is compiled once into segments of fixed width separated by
stars, and matched by the classic greedy algorithm: the first segment at the start, the
last at the end, each one between at the leftmost place it fits after the previous one
(leftmost is always safe: it leaves the most text for the rest). There is no backtracking;
the worst case is O(len(text) * len(pattern)), and literal runs are found with `str.find`.
Runs of wildcards are normalised first (`_%_%` is `%__`), so a pattern made only of
wildcards is a length check.

Pure rules, standard library only.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CharClass:
    """A glob's `[...]`: characters and inclusive ranges, possibly negated (`[!...]`)."""

    chars: frozenset[str]
    ranges: tuple[tuple[str, str], ...]
    negated: bool

    def __contains__(self, char: object) -> bool:
        if not isinstance(char, str):
            return False
        found = char in self.chars or any(lo <= char <= hi for lo, hi in self.ranges)
        return found != self.negated


Atom = str | int | CharClass
"""A literal run (`str`), a number of arbitrary characters (`int`), or one character of a
class (`CharClass`)."""


@dataclass(frozen=True, slots=True)
class _Segment:
    """Atoms of a fixed total width, with no star among them."""

    atoms: tuple[tuple[int, Atom], ...]  # (offset, atom), skips left out
    width: int
    anchor: tuple[int, str] | None  # the longest literal run and its offset, to search by

    @classmethod
    def of(cls, atoms: Sequence[Atom]) -> _Segment:
        placed: list[tuple[int, Atom]] = []
        offset = 0
        for atom in atoms:
            if isinstance(atom, int):
                offset += atom
                continue
            placed.append((offset, atom))
            offset += len(atom) if isinstance(atom, str) else 1
        literals = [(o, a) for o, a in placed if isinstance(a, str)]
        anchor = max(literals, key=lambda p: len(p[1]), default=None)
        return cls(tuple(placed), offset, anchor)

    def at(self, text: str, start: int) -> bool:
        """Whether the segment matches `text` at `start` (the caller checked the width)."""
        for offset, atom in self.atoms:
            if isinstance(atom, str):
                if not text.startswith(atom, start + offset):
                    return False
            elif isinstance(atom, CharClass) and text[start + offset] not in atom:
                return False
        return True

    def find(self, text: str, low: int, high: int) -> int:
        """The leftmost start in [low, high - width] where the segment matches, or -1."""
        last = high - self.width
        if self.anchor is None:
            for start in range(low, last + 1):
                if self.at(text, start):
                    return start
            return -1
        offset, literal = self.anchor
        start = low
        while start <= last:
            found = text.find(literal, start + offset, last + offset + len(literal))
            if found < 0:
                return -1
            start = found - offset
            if self.at(text, start):
                return start
            start += 1
        return -1


@dataclass(frozen=True, slots=True)
class Wildcard:
    """A compiled pattern: segments, with a star between each two when `starred`."""

    segments: tuple[_Segment, ...]
    starred: bool
    width: int
    fold: bool  # compare lower-cased text (ILIKE)

    def matches(self, text: str) -> bool:
        if self.fold:
            text = text.lower()
        size = len(text)
        if size < self.width:
            return False
        segments = self.segments
        if not self.starred:
            return size == self.width and segments[0].at(text, 0)
        last = segments[-1]
        end = size - last.width
        if not (segments[0].at(text, 0) and last.at(text, end)):
            return False
        position = segments[0].width
        for index in range(1, len(segments) - 1):
            segment = segments[index]
            start = segment.find(text, position, end)
            if start < 0:
                return False
            position = start + segment.width
        return True


def _compile(parts: Sequence[Atom | None], fold: bool) -> Wildcard:
    """`parts`: atoms with None for a star. Wildcard runs holding a star become the star and
    one skip (they match any text at least that long), adjacent literals merge."""
    normal: list[Atom | None] = []
    run: list[Atom | None] = []

    def flush() -> None:
        if None in run:
            normal.append(None)
        skip = sum(a for a in run if isinstance(a, int))
        if skip:
            normal.append(skip)
        run.clear()

    for part in parts:
        if part is None or isinstance(part, int):
            run.append(part)
            continue
        flush()
        if isinstance(part, str) and normal and isinstance(normal[-1], str):
            normal[-1] += part
        else:
            normal.append(part)
    flush()
    segments: list[list[Atom]] = [[]]
    for part in normal:
        if part is None:
            segments.append([])
        else:
            segments[-1].append(part)
    built = tuple(_Segment.of(s) for s in segments)
    starred = len(built) > 1
    return Wildcard(built, starred, sum(s.width for s in built), fold)


@functools.lru_cache(maxsize=1024)
def like(pattern: str, *, ignore_case: bool = False) -> Wildcard:
    """SQL LIKE (ILIKE with `ignore_case`, which compares lower-cased text): `%` any run of
    characters, `_` exactly one, everything else itself."""
    if ignore_case:
        pattern = pattern.lower()
    parts = [None if c == "%" else 1 if c == "_" else c for c in pattern]
    return _compile(parts, ignore_case)


@functools.lru_cache(maxsize=1024)
def glob(pattern: str) -> Wildcard:
    """A shell glob as `fnmatch.fnmatchcase` reads it: `*` any run, `?` one character,
    `[abc]`, `[a-z]`, `[!abc]` one character of (not of) a class; an unclosed `[` is itself."""
    parts: list[Atom | None] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        i += 1
        if c == "*":
            parts.append(None)
        elif c == "?":
            parts.append(1)
        elif c != "[":
            parts.append(c)
        else:
            j = i
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                parts.append("[")
                continue
            parts.append(_char_class(pattern[i:j]))
            i = j + 1
    return _compile(parts, False)


def _char_class(inside: str) -> CharClass:
    """The class between `[` and `]`, with fnmatch's reading of `-`: a range needs a
    character on each side, a reversed range (`z-a`) is empty, a leading `!` negates."""
    negated = inside.startswith("!")
    body = inside[1:] if negated else inside
    chars: set[str] = set()
    ranges: list[tuple[str, str]] = []
    k = 0
    while k < len(body):
        if k + 2 < len(body) and body[k + 1] == "-":
            low, high = body[k], body[k + 2]
            if low <= high:
                ranges.append((low, high))
            k += 3
        else:
            chars.add(body[k])
            k += 1
    return CharClass(frozenset(chars), tuple(ranges), negated)
