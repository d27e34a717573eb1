"""The Merkle tree, its proofs and the batch root: known answers, an independent reference, and
a property test over every tree size from 1 to 1025.

The known-answer file `tests/vectors/merkle_vectors.json` was written once by
`python -m tests.unit.test_merkle` (see `write_vectors`) and is committed. The tests recompute it
with `chalicelib.anchoring.merkle` AND with the hand-written reference below, which shares no code
with the module (its own keccak binding, its own byte layout, the recursive RFC 9162 definitions),
so the vectors are not just the module agreeing with itself.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from Crypto.Hash import keccak as pycryptodome_keccak

from chalicelib.anchoring import merkle

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "merkle_vectors.json"
CHAIN_ID = 31337
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
KECCAK_OF_NOTHING = "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


# -- the independent reference (RFC 9162 section 2.1, written from the definitions) ------


def ref_keccak(data: bytes) -> bytes:
    return pycryptodome_keccak.new(digest_bits=256, data=data).digest()


def ref_leaf(record: dict[str, Any]) -> bytes:
    def lp(b: bytes) -> bytes:
        return struct.pack(">I", len(b)) + b

    body = b"".join(
        [
            lp(record["message_id"].encode("utf-8")),
            lp(record["conversation_id"].encode("utf-8")),
            lp(record["sender"].encode("utf-8")),
            lp(record["sent_at"].encode("utf-8")),
            lp(struct.pack(">Q", record["seq"])),
            lp(bytes.fromhex(record["content_hash"][2:])),
        ]
    )
    return ref_keccak(b"\x00" + b"settlekit-leaf-v1" + body)


def ref_split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    if len(d) == 1:
        return d[0]
    k = ref_split(len(d))
    return ref_keccak(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = ref_split(len(d))
    if m < k:
        return ref_path(m, d[:k]) + [ref_mth(d[k:])]
    return ref_path(m - k, d[k:]) + [ref_mth(d[:k])]


def ref_batch_root(
    chain_id: int, contract: str, seq: int, prev: bytes, size: int, root: bytes
) -> bytes:
    u = functools.partial(int.to_bytes, length=32, byteorder="big")
    return ref_keccak(
        b"\x02" + b"settlekit-batch-v1" + u(chain_id) + bytes.fromhex(contract[2:]) + u(seq)
        + prev + u(size) + root
    )


def vector_records() -> list[dict[str, Any]]:
    senders = ["alice", "bob", "émile ✓", "", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"]
    return [
        {
            "message_id": f"msg_{i:032x}",
            "conversation_id": f"conv-{i % 3}",
            "sender": senders[i % len(senders)],
            "sent_at": f"2026-01-0{i + 1}T12:00:00.{i:03d}Z",
            "seq": i + 1 if i != 8 else 2**64 - 1,
            "content_hash": "0x" + f"{i * 17 % 256:02x}" * 32,
        }
        for i in range(9)
    ]


def build_vectors(
    leaf: Callable[[dict[str, Any]], bytes],
    tree_root: Callable[[list[bytes]], bytes],
    path: Callable[[int, list[bytes]], list[bytes]],
    batch_root: Callable[..., bytes],
) -> dict[str, Any]:
    records = vector_records()
    leaves = [leaf(r) for r in records]
    trees = []
    for n in range(1, 10):
        d = leaves[:n]
        trees.append({
            "size": n,
            "root": "0x" + tree_root(d).hex(),
            "paths": [["0x" + p.hex() for p in path(i, d)] for i in range(n)],
        })
    first_root = tree_root(leaves)
    first = batch_root(CHAIN_ID, CONTRACT, 1, bytes(32), 9, first_root)
    second = batch_root(CHAIN_ID, CONTRACT, 2, first, 3, tree_root(leaves[:3]))
    return {
        "description": "Settlekit known answers: leaves, RFC 9162 trees n=1..9, batch roots",
        "records": records,
        "leaf_hashes": ["0x" + x.hex() for x in leaves],
        "trees": trees,
        "batch_roots": [
            {"chain_id": CHAIN_ID, "contract": CONTRACT, "batch_seq": 1, "prev": "0x" + "00" * 32,
             "tree_size": 9, "tree_root": "0x" + first_root.hex(), "root": "0x" + first.hex()},
            {"chain_id": CHAIN_ID, "contract": CONTRACT, "batch_seq": 2, "prev": "0x" + first.hex(),
             "tree_size": 3, "tree_root": trees[2]["root"], "root": "0x" + second.hex()},
        ],
    }


def module_vectors() -> dict[str, Any]:
    return build_vectors(
        merkle.leaf_hash,
        merkle.root,
        lambda i, d: merkle.inclusion_path(merkle.levels(d), i),
        merkle.batch_root,
    )


def write_vectors() -> None:
    """Generate the committed file (run once: `python -m tests.unit.test_merkle`)."""
    VECTORS.write_text(json.dumps(module_vectors(), indent=1, ensure_ascii=False) + "\n")


# -- known answers -----------------------------------------------------------------------------


def test_keccak_is_keccak256_not_sha3() -> None:
    assert merkle.keccak(b"").hex() == KECCAK_OF_NOTHING
    assert ref_keccak(b"").hex() == KECCAK_OF_NOTHING
    assert hashlib.sha3_256(b"").hexdigest() != KECCAK_OF_NOTHING


def test_committed_vectors_are_reproduced_by_the_module() -> None:
    assert module_vectors() == json.loads(VECTORS.read_text())


def test_committed_vectors_are_reproduced_by_the_independent_reference() -> None:
    reference = build_vectors(ref_leaf, ref_mth, ref_path, ref_batch_root)
    assert reference == json.loads(VECTORS.read_text())


def test_every_committed_path_verifies_against_its_committed_root() -> None:
    vectors = json.loads(VECTORS.read_text())
    leaves = [bytes.fromhex(h[2:]) for h in vectors["leaf_hashes"]]
    for tree in vectors["trees"]:
        root = bytes.fromhex(tree["root"][2:])
        for i, path in enumerate(tree["paths"]):
            hashes = [bytes.fromhex(p[2:]) for p in path]
            assert merkle.verify_inclusion(leaves[i], i, tree["size"], hashes, root)


def test_a_tree_of_one_leaf_is_the_leaf_and_its_path_is_empty() -> None:
    leaf = merkle.leaf_hash(vector_records()[0])
    assert merkle.root([leaf]) == leaf
    assert merkle.inclusion_path(merkle.levels([leaf]), 0) == []


def test_the_module_matches_the_reference_on_every_size_up_to_70() -> None:
    rng = random.Random(7)
    for n in range(1, 71):
        d = [rng.randbytes(32) for _ in range(n)]
        tree = merkle.levels(d)
        assert tree[-1][0] == ref_mth(d)
        for i in range(n):
            assert merkle.inclusion_path(tree, i) == ref_path(i, d)
            assert merkle.path_length(i, n) == len(ref_path(i, d))


# -- structure ---------------------------------------------------------------------------------


def test_root_of_abc_differs_from_root_of_abcc() -> None:
    a, b, c = (merkle.leaf_hash(r) for r in vector_records()[:3])
    assert merkle.root([a, b, c]) != merkle.root([a, b, c, c])
    # The shape carries c up unchanged; a duplicating tree would hash it with itself.
    assert merkle.root([a, b, c]) == merkle.node_hash(merkle.node_hash(a, b), c)


def test_an_inner_node_cannot_pose_as_a_leaf() -> None:
    records = vector_records()[:4]
    a, b, c, d = (merkle.leaf_hash(r) for r in records)
    ab, cd = merkle.node_hash(a, b), merkle.node_hash(c, d)
    root4 = merkle.root([a, b, c, d])
    # The second-preimage trick: "leaf" ab at index 0 of a 2-leaf tree with path [cd].
    # At the bare tree level it reaches the same root (that is what the prefixes are for) ...
    assert merkle.root_from_path(ab, 0, 2, [cd]) == root4
    # ... but no record hashes to an inner node: leaves hash 0x00 || tag || fields, inner nodes
    # hash 0x01 || left || right, and the verifier always computes the leaf from the fields.
    assert merkle.leaf_preimage(records[0])[:1] == b"\x00"
    assert all(merkle.leaf_hash(r) not in (ab, cd, root4) for r in records)
    # ... and the size the forger needs (2) is not the size the batch root commits to (4).
    real = merkle.batch_root(CHAIN_ID, CONTRACT, 1, bytes(32), 4, root4)
    assert merkle.batch_root(CHAIN_ID, CONTRACT, 1, bytes(32), 2, root4) != real


def test_every_leaf_field_is_bound_by_the_leaf_hash() -> None:
    base = vector_records()[1]
    changed = {
        "message_id": "msg_" + "f" * 32, "conversation_id": "conv-x", "sender": "mallory",
        "sent_at": "2026-01-02T12:00:00.002Z ", "seq": base["seq"] + 1,
        "content_hash": "0x" + "ee" * 32,
    }
    original = merkle.leaf_hash(base)
    for name, value in changed.items():
        assert merkle.leaf_hash({**base, name: value}) != original, name
    # Length prefixes: moving a character across a field boundary changes the leaf.
    moved = {**base, "conversation_id": base["conversation_id"] + base["sender"][0]}
    moved["sender"] = base["sender"][1:]
    assert merkle.leaf_hash(moved) != original


@pytest.mark.parametrize(
    "bad",
    [
        {"seq": -1}, {"seq": 2**64}, {"seq": True}, {"seq": "1"}, {"content_hash": "0x12"},
        {"content_hash": "ab" * 32}, {"sender": None}, {"sent_at": 5},
    ],
)
def test_fields_that_cannot_be_encoded_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(merkle.LeafError):
        merkle.leaf_preimage({**vector_records()[0], **bad})


def test_every_input_of_the_batch_root_is_bound() -> None:
    root = bytes(range(32))
    prev = bytes(range(32, 64))
    base = (CHAIN_ID, CONTRACT, 3, prev, 10, root)
    value = merkle.batch_root(*base)
    variants = [
        (1, CONTRACT, 3, prev, 10, root), (CHAIN_ID, "0x" + "11" * 20, 3, prev, 10, root),
        (CHAIN_ID, CONTRACT, 4, prev, 10, root), (CHAIN_ID, CONTRACT, 3, root, 10, root),
        (CHAIN_ID, CONTRACT, 3, prev, 11, root), (CHAIN_ID, CONTRACT, 3, prev, 10, prev),
    ]
    assert all(merkle.batch_root(*v) != value for v in variants)
    assert merkle.batch_root(CHAIN_ID, CONTRACT.lower(), 3, prev, 10, root) == value


def test_an_empty_tree_and_an_index_outside_the_tree_are_refused() -> None:
    with pytest.raises(ValueError):
        merkle.levels([])
    tree = merkle.levels([bytes(32)] * 3)
    with pytest.raises(IndexError):
        merkle.inclusion_path(tree, 3)
    assert merkle.root_from_path(bytes(32), 3, 3, []) is None
    assert merkle.root_from_path(bytes(32), 0, 0, []) is None


# -- property test over sizes 1..1025 -----------------------------------------------------------

MAX_SIZE = 1025
SEQ, PREV = 7, bytes(range(32))
# Sizes checked with every single bit flipped (others get a random sample of flips).
EXHAUSTIVE_SIZES = (1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33, 1023, 1024, 1025)
SAMPLED_FLIPS = 3


@pytest.fixture
def memo_keccak(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Trees of sizes 1..1025 over one leaf list share almost every node: memoising the (real)
    keccak makes the exhaustive check fast without changing a single computed value."""
    cached = functools.lru_cache(maxsize=None)(merkle.keccak)
    monkeypatch.setattr(merkle, "keccak", cached)
    yield
    cached.cache_clear()


def _accepts(
    leaf: bytes, index: int, size: int, path: list[bytes], tree_root: bytes, root: bytes
) -> bool:
    """The receipt-level check: the path reaches the tree root AND the batch root (which binds
    the size) matches. A bare RFC 9162 proof does not bind the size on its own."""
    return merkle.verify_inclusion(leaf, index, size, path, tree_root) and (
        merkle.batch_root(CHAIN_ID, CONTRACT, SEQ, PREV, size, tree_root) == root
    )


def _flip(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _mutations(
    leaf: bytes, index: int, size: int, path: list[bytes], tree_root: bytes, root: bytes,
    bits: Callable[[int], list[int]],
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    for b in bits(256):
        yield f"leaf bit {b}", (_flip(leaf, b), index, size, path, tree_root, root)
        yield f"tree root bit {b}", (leaf, index, size, path, _flip(tree_root, b), root)
        yield f"batch root bit {b}", (leaf, index, size, path, tree_root, _flip(root, b))
    for k in range(len(path)):
        for b in bits(256):
            changed = [*path[:k], _flip(path[k], b), *path[k + 1 :]]
            yield f"path[{k}] bit {b}", (leaf, index, size, changed, tree_root, root)
    for b in bits(64):
        yield f"index bit {b}", (leaf, index ^ (1 << b), size, path, tree_root, root)
        yield f"size bit {b}", (leaf, index, size ^ (1 << b), path, tree_root, root)


def test_every_leaf_of_every_size_verifies_and_any_flipped_bit_fails(memo_keccak: None) -> None:
    rng = random.Random(20260921)
    leaves = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(MAX_SIZE)]
    checked = rejected = 0
    for size in range(1, MAX_SIZE + 1):
        tree = merkle.levels(leaves[:size])
        tree_root = tree[-1][0]
        root = merkle.batch_root(CHAIN_ID, CONTRACT, SEQ, PREV, size, tree_root)
        for index in range(size):
            path = merkle.inclusion_path(tree, index)
            assert _accepts(leaves[index], index, size, path, tree_root, root), (size, index)
            checked += 1
        exhaustive = size in EXHAUSTIVE_SIZES

        def bits(width: int, exhaustive: bool = exhaustive) -> list[int]:
            return list(range(width)) if exhaustive else rng.sample(range(width), SAMPLED_FLIPS)

        for index in {0, size - 1, rng.randrange(size)}:
            path = merkle.inclusion_path(tree, index)
            args = (leaves[index], index, size, path, tree_root, root)
            for what, mutated in _mutations(*args, bits=bits):
                assert not _accepts(*mutated), (size, index, what)
                rejected += 1
    assert checked == MAX_SIZE * (MAX_SIZE + 1) // 2
    assert rejected > 100_000


def test_bare_proofs_do_not_bind_the_size_which_is_why_the_batch_root_does() -> None:
    leaves = [hashlib.sha256(bytes([i])).digest() for i in range(7)]
    five = merkle.levels(leaves[:5])
    path = merkle.inclusion_path(five, 0)
    # RFC 9162's algorithm accepts leaf 0's size-5 proof as a size-7 proof of the same root ...
    assert merkle.verify_inclusion(leaves[0], 0, 7, path, five[-1][0])
    # ... so receipts are checked against the batch root, which commits to the size.
    root = merkle.batch_root(CHAIN_ID, CONTRACT, SEQ, PREV, 5, five[-1][0])
    assert not _accepts(leaves[0], 0, 7, path, five[-1][0], root)


if __name__ == "__main__":
    write_vectors()
    print(f"wrote {VECTORS}")
