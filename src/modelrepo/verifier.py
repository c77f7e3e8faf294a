"""Offline verification of modelrepo's audit log: proofs and signed checkpoints.

This module stands alone so an auditor can copy it to their own machine: it needs only the
Python standard library and, to check signatures, the `cryptography` package. It follows
RFC 9162 (Certificate Transparency 2.0), section 2.1: SHA-256 Merkle trees with
domain-separated leaf (0x00) and interior-node (0x01) hashes.

    python verifier.py inclusion BUNDLE.json --key audit-key.pem
    python verifier.py consistency OLD_CHECKPOINT.json NEW_CHECKPOINT.json PROOF.json --key K

(`modelrepo-verifier` is the same program, installed with modelrepo.)

A bundle (from `modelrepo audit prove SEQ --json`) holds the entry, its index, the proof and
the checkpoint it was proved against.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
CHECKPOINT_FORMAT = "modelrepo.checkpoint/1"


# Each hash starts as a copy of one that has taken its prefix: OpenSSL 3 looks the algorithm
# up (under a lock) whenever `hashlib.sha256()` makes a new one, which costs more than
# hashing an audit entry.
_LEAF_START = hashlib.sha256(LEAF_PREFIX)
_NODE_START = hashlib.sha256(NODE_PREFIX)


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162: the hash of a leaf is SHA-256(0x00 || entry)."""
    found = _LEAF_START.copy()
    found.update(entry)
    return found.digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162: the hash of an interior node is SHA-256(0x01 || left || right)."""
    found = _NODE_START.copy()
    found.update(left + right)
    return found.digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


class CompactRange:
    """The root of a growing tree in O(log n) memory: append leaf hashes, ask for the root."""

    def __init__(self) -> None:
        self._stack: list[bytes] = []  # complete subtrees, largest (leftmost) first
        self.size = 0

    def append(self, leaf: bytes) -> None:
        # The hot loop of verification: merge while the new subtree completes a pair.
        stack = self._stack
        size = self.size
        current = leaf
        while size & 1:
            current = node_hash(stack.pop(), current)
            size >>= 1
        stack.append(current)
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        root = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            root = node_hash(left, root)
        return root


def root_from_leaf_hashes(leaves: Iterable[bytes]) -> tuple[bytes, int]:
    """The Merkle tree hash of a stream of leaf hashes: (root, size)."""
    tree = CompactRange()
    for leaf in leaves:
        tree.append(leaf)
    return tree.root(), tree.size


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2: does `proof` show leaf `index` in the tree of `size` with `root`?"""
    if index >= size or index < 0:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> bool:
    """RFC 9162 2.1.4.2: is the tree (size2, root2) an append-only extension of (size1, root1)?"""
    if size1 > size2 or size1 < 0:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if size1 == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == root1 and sr == root2


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the bytes that are hashed and signed. The same bytes
    as `modelrepo.domain.canonical.canonical_bytes` (a test pins both), written again here so
    this file runs alone; NaN is accepted, to check whatever a log holds."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def checkpoint_body(checkpoint: dict[str, Any]) -> bytes:
    """The signed part of a checkpoint: everything but the signature."""
    return canonical_json({k: v for k, v in checkpoint.items() if k != "signature"})


def key_id(public_key_raw: bytes) -> str:
    """A short, stable name for an Ed25519 public key: sha256 of its 32 raw bytes."""
    return "ed25519:" + hashlib.sha256(public_key_raw).hexdigest()[:32]


def load_public_key(pem: bytes) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def verify_checkpoint(checkpoint: dict[str, Any], public_key_pem: bytes) -> bool:
    """Is the checkpoint signed by this key, and does it name this key?"""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    if checkpoint.get("format") != CHECKPOINT_FORMAT:
        return False
    key = load_public_key(public_key_pem)
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    if checkpoint.get("key_id") != key_id(raw):
        return False
    try:
        key.verify(base64.b64decode(checkpoint["signature"]), checkpoint_body(checkpoint))
    except (InvalidSignature, KeyError, ValueError):
        return False
    return True


def _hex_list(values: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


def verify_bundle(bundle: dict[str, Any], public_key_pem: bytes) -> tuple[bool, str]:
    """Check an inclusion bundle: signature, entry hash, and proof against the checkpoint."""
    checkpoint = bundle["checkpoint"]
    if not verify_checkpoint(checkpoint, public_key_pem):
        return False, "checkpoint signature does not verify with this key"
    entry = canonical_json(bundle["entry"])
    ok = verify_inclusion(
        leaf_hash(entry),
        int(bundle["index"]),
        int(checkpoint["size"]),
        _hex_list(bundle["proof"]),
        bytes.fromhex(checkpoint["root_hash"]),
    )
    if not ok:
        return False, f"entry {bundle['entry'].get('seq')} is not included in the checkpoint"
    return True, (
        f"entry {bundle['entry'].get('seq')} is included in the log of size "
        f"{checkpoint['size']} signed by {checkpoint['key_id']}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    inc = sub.add_parser("inclusion", help="check an inclusion bundle")
    inc.add_argument("bundle")
    inc.add_argument("--key", required=True, help="the store's public key (PEM)")
    con = sub.add_parser("consistency", help="check that a newer checkpoint extends an older one")
    con.add_argument("old")
    con.add_argument("new")
    con.add_argument("proof", help="JSON with a 'proof' list of hex hashes")
    con.add_argument("--key", required=True)
    args = parser.parse_args(argv)
    with open(args.key, "rb") as handle:
        pem = handle.read()
    if args.command == "inclusion":
        with open(args.bundle, encoding="utf-8") as handle:
            ok, message = verify_bundle(json.load(handle), pem)
    else:
        with open(args.old, encoding="utf-8") as a, open(args.new, encoding="utf-8") as b:
            old, new = json.load(a), json.load(b)
        with open(args.proof, encoding="utf-8") as handle:
            proof = _hex_list(json.load(handle)["proof"])
        signed = verify_checkpoint(old, pem) and verify_checkpoint(new, pem)
        ok = signed and verify_consistency(
            int(old["size"]),
            int(new["size"]),
            proof,
            bytes.fromhex(old["root_hash"]),
            bytes.fromhex(new["root_hash"]),
        )
        message = (
            f"the log of size {new['size']} extends the one of size {old['size']}"
            if ok
            else "NOT consistent: the older log is not a prefix of the newer one"
        )
    print(("OK: " if ok else "FAILED: ") + message)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
