"""Two anchor jobs at once (real threads, serialized store server): every message lands in exactly
one batch, batches are contiguous seq ranges, and their stored leaves rebuild their roots."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from chalicelib.anchoring import batches, merkle
from chalicelib.anchoring.job import run_anchor_job
from chalicelib.anchoring.messages import post_message
from chalicelib.anchoring.model import LEASE_NAME, batch_key, message_key
from chalicelib.core.leases import acquire
from chalicelib.core.runtime import Runtime
from chalicelib.core.settings import load_settings
from chalicelib.core.store import DynamoStore, Item

REGISTRY = "0x" + "56" * 20
BODY = {
    "conversation_id": "c", "content_hash": "0x" + "03" * 32, "sender": "s",
    "sent_at": "2026-01-01T00:00:00Z",
}


def runtime(store: DynamoStore) -> Runtime:
    settings = load_settings({
        "TABLE_NAME": store.table,
        "ANCHOR_REGISTRY_ADDRESS": REGISTRY,
        "ANCHOR_MAX_AGE_SECONDS": "0",
        "ANCHOR_MAX_BATCH": "7",
    })
    return Runtime(settings, dynamodb_client=store.client)


def together(n: int, fn: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(n)
    out: list[Any] = [None] * n

    def go(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            out[i] = fn(i)
        except BaseException as exc:  # noqa: BLE001 - inspected by the caller
            out[i] = exc

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(isinstance(r, BaseException) for r in out), out
    return out


def all_batches(store: DynamoStore) -> list[Item]:
    found = []
    seq = 1
    while (item := store.get(**batch_key(seq))) is not None:
        found.append(item)
        seq += 1
    return found


def assert_partition(store: DynamoStore, messages: list[dict[str, Any]]) -> list[Item]:
    """Each message in exactly one batch; batches contiguous, chained, leaves intact."""
    found = all_batches(store)
    covered = [s for b in found for s in range(b["first_seq"], b["last_seq"] + 1)]
    assert covered == sorted(m["seq"] for m in messages)  # no seq twice, none missing
    prev = merkle.to_hex(merkle.ZERO_ROOT)
    for b in found:
        assert b["tree_size"] == b["last_seq"] - b["first_seq"] + 1
        assert b["prev"] == prev
        prev = b["root"]
        leaves = batches.load_leaves(store, b)
        assert merkle.to_hex(merkle.root(leaves)) == b["tree_root"]
    for m in messages:
        stored = store.get(**message_key(m["message_id"]))
        assert stored is not None and "wpk" not in stored
        owner = next(b for b in found if b["first_seq"] <= m["seq"] <= b["last_seq"])
        assert stored["batch_seq"] == owner["batch_seq"]
        leaves = batches.load_leaves(store, owner)
        assert merkle.to_hex(leaves[m["seq"] - owner["first_seq"]]) == m["leaf_hash"]
    return found


def test_two_anchor_jobs_at_once_put_each_message_in_exactly_one_batch(
    served_store: DynamoStore,
) -> None:
    rt = runtime(served_store)
    messages: list[dict[str, Any]] = []
    for round_ in range(4):
        messages += [post_message(rt, {"app_id": "app_" + "0" * 16}, BODY) for _ in range(9)]

        def work(i: int) -> dict[str, Any]:
            return run_anchor_job(rt, rt.clock.now_ms() + 60_000)

        summaries = together(2, work)
        assert sum(s.get("claimed", 0) for s in summaries) >= 1, (round_, summaries)
    while run_anchor_job(rt, rt.clock.now_ms() + 60_000).get("claimed"):
        pass
    found = assert_partition(served_store, messages)
    assert sum(b["tree_size"] for b in found) == len(messages)


def test_even_two_claimers_past_the_lease_cannot_claim_the_same_messages_twice(
    served_store: DynamoStore,
) -> None:
    """The lease only saves wasted work: the head's conditional write is the guarantee."""
    rt = runtime(served_store)
    messages = [post_message(rt, {"app_id": "app_" + "0" * 16}, BODY) for _ in range(12)]
    leases = [acquire(rt.store, rt.clock, f"{LEASE_NAME}-{i}", 60_000) for i in range(2)]
    head = batches.load_head(rt.store)
    windows = [
        batches.pending_window(rt.store, head, 5),
        batches.pending_window(rt.store, head, 12),
    ]
    results = together(2, lambda i: batches.claim(rt, leases[i], head, windows[i]))
    assert sum(r is not None for r in results) == 1
    winner = next(r for r in results if r is not None)
    assert winner["batch_seq"] == 1
    together(1, lambda i: batches.mark(rt, winner, lambda: True))
    assert batches.load_head(rt.store).next_seq == winner["last_seq"] + 1
    # What is left is claimed normally; nothing is in two batches.
    while run_anchor_job(rt, rt.clock.now_ms() + 60_000).get("claimed"):
        pass
    assert_partition(served_store, messages)
