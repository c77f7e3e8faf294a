"""Proofs against vectors from an independent, literal transcription of RFC 9162's definitions."""

from __future__ import annotations

import hashlib

import pytest

from modelrepo.domain.audit import consistency_proof, inclusion_proof, new_nodes, root_hash
from modelrepo.verifier import (
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

# -- the reference: RFC 9162 section 2.1, recursively, on lists of entries -----------------


def ref_leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def ref_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def k_of(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return ref_leaf(d[0])
    k = k_of(len(d))
    return ref_node(mth(d[:k]), mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = k_of(len(d))
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = k_of(n)
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


ENTRIES = [f"entry-{i}".encode() for i in range(70)]


def stored_tree(n: int) -> dict[tuple[int, int], bytes]:
    nodes: dict[tuple[int, int], bytes] = {}
    for i in range(n):
        for level, index, value in new_nodes(
            i, ref_leaf(ENTRIES[i]), lambda lv, ix: nodes[(lv, ix)]
        ):
            nodes[(level, index)] = value
    return nodes


@pytest.mark.parametrize("n", range(1, 71))
def test_roots_and_inclusion_proofs(n: int) -> None:
    d = ENTRIES[:n]
    nodes = stored_tree(n)
    lookup = lambda lv, ix: nodes[(lv, ix)]  # noqa: E731
    root = mth(d)
    assert root_hash(n, lookup) == root
    assert root_from_leaf_hashes(ref_leaf(e) for e in d) == (root, n)
    for m in range(n):
        expected = path(m, d)
        proof = inclusion_proof(m, n, lookup)
        assert proof == expected, (m, n)
        assert verify_inclusion(ref_leaf(d[m]), m, n, proof, root)
        assert not verify_inclusion(ref_leaf(b"forged"), m, n, proof, root)
        if n > 1:
            assert not verify_inclusion(ref_leaf(d[m]), (m + 1) % n, n, proof, root)
            tampered = [bytes(32), *proof[1:]]
            assert not verify_inclusion(ref_leaf(d[m]), m, n, tampered, root)


@pytest.mark.parametrize("n", range(1, 71))
def test_consistency_proofs(n: int) -> None:
    d = ENTRIES[:n]
    nodes = stored_tree(n)
    lookup = lambda lv, ix: nodes[(lv, ix)]  # noqa: E731
    new_root = mth(d)
    for m in range(1, n + 1):
        expected = subproof(m, d, True) if m < n else []
        proof = consistency_proof(m, n, lookup)
        assert proof == expected, (m, n)
        old_root = mth(d[:m])
        assert verify_consistency(m, n, proof, old_root, new_root), (m, n)
        if m < n:
            assert not verify_consistency(m, n, proof, mth(ENTRIES[1 : m + 1]), new_root)
            assert not verify_consistency(m, n, [], old_root, new_root)
            if proof:
                bad = [*proof[:-1], bytes(32)]
                assert not verify_consistency(m, n, bad, old_root, new_root)
