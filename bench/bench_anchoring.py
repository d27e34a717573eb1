"""Anchoring figures: gas per anchor and per message, tree and proof speed, proof size.

1. Gas at batch sizes 1, 100 and 10,000, through the real pipeline (messages -> anchor job ->
   payout engine -> hardhat node -> confirmed at depth), after one warm-up anchor (the very
   first anchor writes two storage slots from zero and costs more; it is printed too).
   DynamoDB requests per message are counted on the 100-message batch (real posts).
   The 10,000 messages are written with BatchWriteItem in the shape `post_message` stores,
   because moto copies the whole table on every TransactWriteItems (10,000 real posts would
   measure moto, not us); the anchoring of those 10,000 runs the real code.
2. Building the tree and every proof for 100,000 leaves, as a ratio to the time of the 2n keccak
   calls it needs (n leaf hashes + n - 1 inner hashes; target <= 3x).
3. Receipt size (JSON bytes) and audit-path bytes at 1e3 leaves (built) and 1e6 leaves (computed
   from the exact path lengths of the RFC 9162 shape, without building the tree).
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import time
from collections import Counter
from typing import Any

import boto3
from eth_account import Account
from moto import mock_aws
from web3 import Web3

from bench.counting import count_requests, split
from chalicelib import jobs
from chalicelib.anchoring import merkle, proofs
from chalicelib.anchoring.job import run_anchor_job
from chalicelib.anchoring.messages import message_item, post_message
from chalicelib.anchoring.model import COUNTER_KEY, batch_key
from chalicelib.core.runtime import Runtime
from chalicelib.core.settings import load_settings
from chalicelib.core.store import to_wire
from chalicelib.core.table import ensure_table
from local import bootstrap, processes

SIZES = (1, 100, 10_000)
TREE_LEAVES = 100_000
PROOF_SIZES = (1_000, 1_000_000)
APP = {"app_id": "app_" + "b" * 16}
RECORD = {
    "conversation_id": "bench-room",
    "content_hash": "0x" + "5a" * 32,
    "sender": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "sent_at": "2026-09-21T10:00:00.000Z",
}


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    chain_child, rpc_url = processes.start_chain(processes.free_port())
    try:
        with mock_aws():
            gas_figures(rpc_url)
    finally:
        chain_child.stop()
    tree_figures()
    proof_size_figures()


# -- 1. gas ------------------------------------------------------------------------------------


def gas_figures(rpc_url: str) -> None:
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 60}))
    client = boto3.client("dynamodb", region_name="us-east-1")
    ensure_table(client, "bench")
    key = "0x" + secrets.token_hex(32)
    wallet = Account.from_key(key).address
    bootstrap.fund_native(w3, wallet, 100 * 10**18)
    registry = bootstrap.deploy(w3, "AnchorRegistry", wallet)
    settings = load_settings({
        "TABLE_NAME": "bench", "CHAIN_RPC_URL": rpc_url, "SIGNER_PRIVATE_KEY": key,
        "ANCHOR_REGISTRY_ADDRESS": registry, "ANCHOR_MAX_AGE_SECONDS": "0",
        "ANCHOR_MAX_BATCH": "10000", "LEASE_TTL_MS": "600000", "CONFIRMATIONS": "2",
    })
    rt = Runtime(settings, dynamodb_client=client)

    post_message(rt, APP, RECORD)
    first_gas = anchor(rt, w3, 1)
    print(f"gas of the first anchor ever (two storage slots written from zero): {first_gas}")
    print("gas per anchor and per message, after the first:")
    seq = 1
    for size in SIZES:
        seq += 1
        counts: Counter[str] = Counter()
        if size == 100:
            with count_requests(client) as counts:
                for _ in range(size):
                    post_message(rt, APP, RECORD)
        else:
            seed_messages(rt, client, size)
        with count_requests(client) as job_counts:
            gas = anchor(rt, w3, seq)
        b = rt.store.get(**batch_key(seq))
        assert b is not None and b["tree_size"] == size and b["status"] == "anchored"
        job_w, job_r = split(job_counts)
        print(f"  batch of {size:>6,} messages: {gas:>6,} gas per anchor, "
              f"{gas / size:>10,.2f} gas per message; DynamoDB per message from waiting to "
              f"anchored: {job_w / size:.2f} item writes, {job_r / size:.2f} reads")
        if size == 100:
            post_w, post_r = split(counts)
            print(f"    posting a message: {post_w / size:.2f} item writes (counter + message, "
                  f"one transaction), {post_r / size:.2f} reads")
    print(f"  target <= 35,000 gas per anchor whatever the batch size: "
          f"{'met' if gas <= 35_000 else 'NOT met'}")


def seed_messages(rt: Runtime, client: Any, n: int) -> None:
    """`n` messages exactly as `post_message` stores them, written 25 at a time."""
    counter = rt.store.get(**COUNTER_KEY)
    last = int(counter["last_seq"]) if counter else 0
    now = rt.clock.now_ms()
    items = [
        message_item(APP["app_id"], "msg_" + secrets.token_hex(16), last + i + 1, RECORD, now)
        for i in range(n)
    ]
    for i in range(0, n, 25):
        client.batch_write_item(RequestItems={
            "bench": [{"PutRequest": {"Item": to_wire(it)}} for it in items[i : i + 25]]
        })
    rt.store.update(COUNTER_KEY, set={"last_seq": last + n})


def anchor(rt: Runtime, w3: Any, seq: int) -> int:
    deadline = rt.clock.now_ms() + 600_000
    run_anchor_job(rt, deadline, force=True)
    for _ in range(10):
        jobs.payouts(rt, deadline)
        b = rt.store.get(**batch_key(seq))
        if b is not None and b["status"] == "anchored":
            return int(w3.eth.get_transaction_receipt(b["tx_hash"])["gasUsed"])
        w3.provider.make_request("hardhat_mine", ["0x2"])
    raise RuntimeError(f"batch {seq} was not anchored")


# -- 2. tree and proofs ------------------------------------------------------------------------


def best_of(runs: int, fn: Any) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def tree_figures() -> None:
    n = TREE_LEAVES
    records = [
        {**RECORD, "message_id": f"msg_{i:032x}", "seq": i + 1} for i in range(n)
    ]
    preimages = [merkle.leaf_preimage(r) for r in records]
    inner_inputs = [merkle.NODE_PREFIX + p[:32] + p[-32:] for p in preimages]  # 65 bytes each
    keccak = merkle.keccak

    def baseline() -> None:
        for p in preimages:
            keccak(p)
        for x in inner_inputs:
            keccak(x)

    def build_everything() -> None:
        leaves = [merkle.leaf_hash(r) for r in records]
        tree = merkle.levels(leaves)
        merkle.all_paths(tree)

    leaves = [merkle.leaf_hash(r) for r in records]

    def serve_one_proof() -> None:
        tree = merkle.levels(leaves)
        merkle.inclusion_path(tree, n // 2)

    base = best_of(3, baseline)
    full = best_of(3, build_everything)
    one = best_of(3, serve_one_proof)
    print(f"tree of {n:,} leaves: leaf hashes + tree + all {n:,} proofs in {full:.2f} s; "
          f"the 2n = {2 * n:,} keccak calls alone take {base:.2f} s; "
          f"ratio {full / base:.2f}x (target <= 3x)")
    print(f"  serving one proof from {n:,} stored leaf hashes (rebuild + path): {one:.2f} s")


# -- 3. proof size -----------------------------------------------------------------------------


def sample_receipt(path_len: int, tree_size: int) -> dict[str, Any]:
    """A receipt shaped exactly as `proofs.build_receipt` makes it, with `path_len` hashes."""
    h = "0x" + "ab" * 32
    return {
        "version": proofs.RECEIPT_VERSION,
        "leaf": {"fields": {**RECORD, "message_id": "msg_" + "0" * 32, "seq": tree_size},
                 "hash": h},
        "index": tree_size - 1,
        "tree_size": tree_size,
        "path": [h] * path_len,
        "batch": {"seq": 123456, "prev": h, "tree_root": h, "root": h},
        "anchor": {"chain": "eip155:31337", "contract": "0x" + "12" * 20, "tx_hash": h,
                   "block_number": 12_345_678, "block_hash": h, "log_index": 0},
    }


def path_lengths(n: int) -> tuple[int, int, float]:
    """(min, max, mean) audit-path length over every leaf of an RFC 9162 tree of n leaves."""
    groups: list[tuple[int, int]] = []  # (path length, how many leaves have it)

    def walk(size: int, depth: int) -> None:
        if size & (size - 1) == 0:  # a perfect subtree of 2^k leaves: k more hashes each
            groups.append((depth + size.bit_length() - 1, size))
            return
        k = 1
        while k * 2 < size:
            k *= 2
        walk(k, depth + 1)
        walk(size - k, depth + 1)

    walk(n, 0)
    total = sum(length * count for length, count in groups)
    return min(x for x, _ in groups), max(x for x, _ in groups), total / n


def proof_size_figures() -> None:
    print("proof size (receipt JSON as served, compact; audit path = 32 bytes per hash):")
    for n in PROOF_SIZES:
        lo, hi, mean = path_lengths(n)
        if n <= 10_000:
            rng = secrets.SystemRandom()
            leaves = [rng.randbytes(32) for _ in range(n)]
            tree = merkle.levels(leaves)
            built = [len(merkle.inclusion_path(tree, i)) for i in range(n)]
            assert (min(built), max(built)) == (lo, hi)
            assert abs(statistics.mean(built) - mean) < 1e-9
            how = "built"
        else:
            how = "computed from the exact path lengths, tree not built (2e6 keccak calls)"
        size = len(json.dumps(sample_receipt(hi, n), separators=(",", ":")))
        print(f"  {n:>9,} leaves: path {lo}..{hi} hashes (mean {mean:.2f}) = at most "
              f"{32 * hi} bytes raw; receipt at most {size:,} bytes of JSON  [{how}]")


if __name__ == "__main__":
    main()
