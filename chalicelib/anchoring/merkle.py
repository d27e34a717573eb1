"""The Merkle tree of a batch, its inclusion proofs, and the chained batch root. Pure functions.

Shape and proofs follow RFC 9162 (Certificate Transparency v2), with keccak-256 and our own
domain separation:

    leaf  = keccak256(0x00 || "settlekit-leaf-v1" || lp(message_id) || lp(conversation_id)
                      || lp(sender) || lp(sent_at) || lp(seq as 8-byte big-endian)
                      || lp(content_hash as 32 bytes))        lp(x) = len(x) as 4-byte BE || x
    inner = keccak256(0x01 || left || right)
    batch = keccak256(0x02 || "settlekit-batch-v1" || chain_id (32 B) || contract (20 B)
                      || batch_seq (32 B) || prev_batch_root (32 B) || tree_size (32 B)
                      || tree_root (32 B))

The tree over n leaves splits at the largest power of two below n: nothing is duplicated or
sorted, leaf order is seq order. Building it level by level (an odd node at the end of a level is
carried up unchanged) gives exactly that shape with n - 1 inner hashes.

The three prefixes keep a leaf, an inner node and a batch root from ever hashing the same bytes,
so an inner node cannot be passed off as a leaf: a verifier always computes the leaf itself from
the record's fields. An inclusion proof alone does not bind the tree size (RFC 9162 proofs for
sizes 5 and 7 of leaf 0 can coincide); the batch root does, and that is what is on chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eth_hash.auto import keccak

HASH_BYTES = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
BATCH_PREFIX = b"\x02"
LEAF_TAG = b"settlekit-leaf-v1"
BATCH_TAG = b"settlekit-batch-v1"
LEAF_FIELDS = ("message_id", "conversation_id", "sender", "sent_at", "seq", "content_hash")
ZERO_ROOT = bytes(HASH_BYTES)
MAX_SEQ = 2**64 - 1


class LeafError(ValueError):
    """The fields of a record cannot be encoded as a leaf (missing, wrong type, out of range)."""


# -- encodings ---------------------------------------------------------------------------------


def to_hex(value: bytes) -> str:
    return "0x" + value.hex()


def from_hex32(value: Any) -> bytes:
    """A 0x-prefixed 32-byte hex string as bytes; ValueError otherwise."""
    if not isinstance(value, str) or len(value) != 66 or not value.startswith("0x"):
        raise ValueError("expected 0x followed by 64 hex digits")
    return bytes.fromhex(value[2:])


def _lp(part: bytes) -> bytes:
    return len(part).to_bytes(4, "big") + part


def _u256(value: int) -> bytes:
    return value.to_bytes(32, "big")


def leaf_preimage(fields: Mapping[str, Any]) -> bytes:
    """The exact bytes hashed into a leaf (see the module docstring)."""
    texts = []
    for name in ("message_id", "conversation_id", "sender", "sent_at"):
        value = fields.get(name)
        if not isinstance(value, str):
            raise LeafError(f"{name} must be a string")
        texts.append(value.encode("utf-8"))
    seq = fields.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_SEQ:
        raise LeafError("seq must be an integer from 0 to 2**64 - 1")
    try:
        content = from_hex32(fields.get("content_hash"))
    except ValueError:
        raise LeafError("content_hash must be 0x followed by 64 hex digits") from None
    parts = [*texts, seq.to_bytes(8, "big"), content]
    return LEAF_PREFIX + LEAF_TAG + b"".join(_lp(p) for p in parts)


def leaf_hash(fields: Mapping[str, Any]) -> bytes:
    return keccak(leaf_preimage(fields))


def node_hash(left: bytes, right: bytes) -> bytes:
    return keccak(NODE_PREFIX + left + right)


def batch_root(
    chain_id: int, contract: str, batch_seq: int, prev: bytes, tree_size: int, tree_root: bytes
) -> bytes:
    """The root that goes on chain: it chains to the previous batch and binds chain and contract."""
    address = bytes.fromhex(contract.removeprefix("0x"))
    if len(address) != 20 or len(prev) != HASH_BYTES or len(tree_root) != HASH_BYTES:
        raise ValueError("contract must be 20 bytes; prev and tree_root 32 bytes")
    return keccak(
        BATCH_PREFIX
        + BATCH_TAG
        + _u256(chain_id)
        + address
        + _u256(batch_seq)
        + prev
        + _u256(tree_size)
        + tree_root
    )


# -- building ----------------------------------------------------------------------------------


def levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the tree, leaves first, root level (one node) last."""
    if not leaves:
        raise ValueError("a tree needs at least one leaf")
    out = [list(leaves)]
    while len(out[-1]) > 1:
        out.append(_parent_level(out[-1]))
    return out


def _parent_level(level: list[bytes]) -> list[bytes]:
    h, prefix = keccak, NODE_PREFIX  # locals: this loop is the whole cost of a big tree
    parents = [h(prefix + level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)]
    if len(level) % 2:
        parents.append(level[-1])  # carried up unchanged: the RFC 9162 shape, no duplicate
    return parents


def root(leaves: Sequence[bytes]) -> bytes:
    return levels(leaves)[-1][0]


def inclusion_path(tree: list[list[bytes]], index: int) -> list[bytes]:
    """The audit path of leaf `index`, bottom-up (RFC 9162 PATH order)."""
    if not 0 <= index < len(tree[0]):
        raise IndexError("leaf index out of range")
    path = []
    for level in tree[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(level[sibling])
        index >>= 1
    return path


def all_paths(tree: list[list[bytes]]) -> list[list[bytes]]:
    """The audit path of every leaf (the bench's 'every proof')."""
    return [inclusion_path(tree, i) for i in range(len(tree[0]))]


def path_length(index: int, tree_size: int) -> int:
    """How many hashes the audit path of `index` holds, without building anything."""
    length = 0
    width = tree_size
    while width > 1:
        if index ^ 1 < width:
            length += 1
        index >>= 1
        width = (width + 1) // 2
    return length


# -- verifying ---------------------------------------------------------------------------------


def root_from_path(leaf: bytes, index: int, tree_size: int, path: Sequence[bytes]) -> bytes | None:
    """The tree root implied by a proof (RFC 9162 section 2.1.3.2), or None if it is malformed."""
    if not 0 <= index < tree_size or len(leaf) != HASH_BYTES:
        return None
    fn, sn, r = index, tree_size - 1, leaf
    for p in path:
        if sn == 0 or len(p) != HASH_BYTES:
            return None
        if fn & 1 or fn == sn:
            r = keccak(NODE_PREFIX + p + r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = keccak(NODE_PREFIX + r + p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, path: Sequence[bytes], tree_root: bytes
) -> bool:
    return root_from_path(leaf, index, tree_size, path) == tree_root
