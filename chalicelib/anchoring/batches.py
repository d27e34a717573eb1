"""Batches: claiming unanchored messages durably, storing their leaves, asking for the anchor.

One transition per function, each one conditional write (or one transaction):

1. store_leaves   the window's leaf hashes, chunked, under a token of this claim attempt
2. claim          batch item (naming that token) + head advanced past the window, conditioned
                  on the head read and fenced: a seq range belongs to exactly one batch, even
                  with two jobs; a losing attempt's chunks are never referenced
3. mark           each message of the range leaves the pending queue (conditional, idempotent)
4. request        claimed -> requested with the anchor payout intent in the same transaction,
                  only once the previous batch is anchored, so anchors land strictly in order

A crash after 1 leaves unreferenced chunks (a lost claim deletes its own); after 2 the batch is
claimed and the next run marks and requests it; after 4 the payout engine owns the
transaction. Nothing is ever sent that is not already recorded (rule 1).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from boto3.dynamodb.conditions import Attr

from chalicelib.anchoring import merkle
from chalicelib.anchoring.model import (
    ANCHORED,
    BATCH_QUEUE,
    CLAIMED,
    HEAD_KEY,
    LEAF_CHUNK,
    OWNER_TYPE,
    PENDING_QUEUE,
    REQUESTED,
    batch_key,
    batch_pk,
    batch_sort_key,
    chunk_key,
    chunk_prefix,
    message_key,
    pending_sort_key,
)
from chalicelib.anchoring.registry import anchor_calldata
from chalicelib.core import failpoints
from chalicelib.core.errors import ServiceError
from chalicelib.core.leases import Lease
from chalicelib.core.log import log
from chalicelib.core.outbox.intents import Intent, intent_op, make_intent
from chalicelib.core.outbox.model import NATIVE
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import (
    ConditionFailed,
    DynamoStore,
    Item,
    TransactionFailed,
    put_op,
    update_op,
)
from chalicelib.core.wallets import ANCHOR

# Chunks per fenced transaction: 8 x 32 KiB stays far below the 4 MB transaction limit.
CHUNKS_PER_TRANSACTION = 8
QUERY_PAGE = 500


class LeavesCorrupt(ServiceError):
    """The stored leaves of a batch do not rebuild its recorded tree root."""

    code = "leaves_corrupt"


@dataclass(frozen=True)
class Head:
    """The last claimed batch and the first message seq not in any batch."""

    exists: bool
    last_batch_seq: int
    last_root: bytes
    next_seq: int


def load_head(store: DynamoStore) -> Head:
    item = store.get(**HEAD_KEY)
    if item is None:
        return Head(False, 0, merkle.ZERO_ROOT, 1)
    return Head(
        True,
        int(item["last_batch_seq"]),
        merkle.from_hex32(item["last_root"]),
        int(item["next_seq"]),
    )


def pending_window(store: DynamoStore, head: Head, limit: int) -> list[Item]:
    """Unbatched messages from `head.next_seq` on, in seq order, contiguous, at most `limit`.

    The work index is eventually consistent in AWS: a message may show up after a later one.
    The window stops at the first gap and the next run takes it, so every batch is a contiguous
    seq range. The fields used (seq, leaf hash, created_at) never change once written.
    """
    window: list[Item] = []
    expected = head.next_seq
    for item in store.iter_work(PENDING_QUEUE, page=QUERY_PAGE):
        seq = int(item["seq"])
        if seq < expected:
            continue  # claimed by a batch already, its marking not done yet
        if seq != expected:
            break
        window.append(item)
        expected += 1
        if len(window) >= limit:
            break
    return window


def is_due(window: list[Item], now: int, max_age_s: int, max_batch: int) -> bool:
    if not window:
        return False  # an empty window sends nothing
    if len(window) >= max_batch:
        return True
    oldest = min(int(m["created_at"]) for m in window)
    return now - oldest >= max_age_s * 1000


def store_leaves(
    store: DynamoStore, lease: Lease, batch_seq: int, token: str, leaves: list[bytes],
    members: list[str] | None = None,
) -> int:
    """Write the leaf hashes in chunks (fenced); returns how many chunks.

    `members` ("<app_id> <message_id>" per leaf, in the same order) lets the webhook expander
    tell each app which of its messages the batch anchored, without an index of messages.
    """
    chunks = [leaves[i : i + LEAF_CHUNK] for i in range(0, len(leaves), LEAF_CHUNK)]
    ops = [
        put_op(
            {
                **chunk_key(batch_seq, token, n),
                "batch_seq": batch_seq,
                "chunk": n,
                "count": len(chunk),
                "hashes": b"".join(chunk),
                "members": "\n".join(members[n * LEAF_CHUNK : (n + 1) * LEAF_CHUNK])
                if members else None,
            },
            name=f"chunk{n}",
        )
        for n, chunk in enumerate(chunks)
    ]
    for i in range(0, len(ops), CHUNKS_PER_TRANSACTION):
        store.transact([*ops[i : i + CHUNKS_PER_TRANSACTION], lease.fence()])
    return len(chunks)


def load_leaves(store: DynamoStore, batch: Item) -> list[bytes]:
    """The batch's leaf hashes in order, checked against its recorded tree root."""
    leaves: list[bytes] = []
    cursor = None
    while True:
        items, cursor = store.query(
            batch_pk(int(batch["batch_seq"])),
            sk_prefix=chunk_prefix(batch["leaves_token"]),
            limit=16,
            cursor=cursor,
            consistent=True,
        )
        for item in items:
            raw = bytes(item["hashes"])
            leaves.extend(raw[i : i + 32] for i in range(0, len(raw), 32))
        if cursor is None:
            break
    if len(leaves) != int(batch["tree_size"]):
        raise LeavesCorrupt("the stored leaves of this batch are incomplete")
    return leaves


def claim(rt: Runtime, lease: Lease, head: Head, window: list[Item]) -> Item | None:
    """Make `window` the next batch. None when another claim won (the head moved)."""
    s = rt.settings
    assert s.anchor_registry_address is not None
    batch_seq = head.last_batch_seq + 1
    leaves = [merkle.from_hex32(m["leaf_hash"]) for m in window]
    tree_root = merkle.root(leaves)
    root = merkle.batch_root(
        s.chain_id, s.anchor_registry_address, batch_seq, head.last_root, len(leaves), tree_root
    )
    token = secrets.token_hex(4)
    try:
        members = [f"{m.get('app_id', '')} {m['message_id']}" for m in window]
        chunks = store_leaves(rt.store, lease, batch_seq, token, leaves, members)
    except TransactionFailed:
        log("anchor_claim_lost", batch_seq=batch_seq, lost=["lease"])  # only the fence can fail
        return None
    failpoints.hit("anchor_after_leaves_stored")
    now = rt.clock.now_ms()
    first, last = int(window[0]["seq"]), int(window[-1]["seq"])
    batch = {
        **batch_key(batch_seq),
        "batch_seq": batch_seq,
        "first_seq": first,
        "last_seq": last,
        "tree_size": len(leaves),
        "tree_root": merkle.to_hex(tree_root),
        "prev": merkle.to_hex(head.last_root),
        "root": merkle.to_hex(root),
        "chain_id": s.chain_id,
        "contract": s.anchor_registry_address,
        "chunks": chunks,
        "leaves_token": token,
        "status": CLAIMED,
        "marked": False,
        "attempt": 0,
        "created_at": now,
        "updated_at": now,
        "wpk": BATCH_QUEUE,
        "wsk": batch_sort_key(batch_seq),
    }
    head_op = update_op(
        HEAD_KEY,
        set={
            "last_batch_seq": batch_seq,
            "last_root": batch["root"],
            "next_seq": last + 1,
            "updated_at": now,
        },
        condition=(
            Attr("last_batch_seq").eq(head.last_batch_seq) & Attr("next_seq").eq(head.next_seq)
            if head.exists
            else Attr("pk").not_exists()
        ),
        name="head",
    )
    try:
        rt.store.transact([put_op(batch, if_absent=True, name="batch"), head_op, lease.fence()])
    except TransactionFailed as exc:
        log("anchor_claim_lost", batch_seq=batch_seq, lost=[f.name for f in exc.failures])
        for n in range(chunks):  # garbage of a lost attempt; nothing refers to it
            rt.store.delete(chunk_key(batch_seq, token, n))
        return None
    log("anchor_batch_claimed", batch_seq=batch_seq, first_seq=first, last_seq=last,
        tree_size=len(leaves), root=batch["root"])
    failpoints.hit("anchor_after_claim")
    return batch


def unanchored_batches(store: DynamoStore) -> Iterator[Item]:
    """Batches not yet anchored, lowest seq first, each re-read consistently."""
    for entry in store.iter_work(BATCH_QUEUE):
        batch = store.get(**batch_key(int(entry["batch_seq"])))
        if batch is not None and batch["status"] != ANCHORED:
            yield batch


def mark(rt: Runtime, batch: Item, time_left: Callable[[], bool]) -> bool:
    """Take the batch's messages out of the pending queue; True once all of them are out."""
    first, last, batch_seq = int(batch["first_seq"]), int(batch["last_seq"]), batch["batch_seq"]
    now = rt.clock.now_ms()
    marked = 0
    for item in rt.store.iter_work(PENDING_QUEUE, until=pending_sort_key(last), page=QUERY_PAGE):
        if not time_left():
            return False
        seq = int(item["seq"])
        if seq < first:
            continue
        try:
            rt.store.update(
                message_key(item["message_id"]),
                set={"batch_seq": batch_seq, "batched_at": now, "wpk": None, "wsk": None},
                condition=Attr("seq").eq(seq) & Attr("batch_seq").not_exists(),
            )
            marked += 1
        except ConditionFailed:
            pass  # marked already by an earlier run
    try:
        rt.store.update(
            batch_key(batch_seq),
            set={"marked": True, "updated_at": now},
            condition=Attr("status").eq(CLAIMED) & Attr("marked").eq(False),
        )
    except ConditionFailed:
        pass
    log("anchor_batch_marked", batch_seq=batch_seq, messages=marked)
    failpoints.hit("anchor_after_mark")
    return True


def anchor_intent(rt: Runtime, batch: Item, attempt: int) -> Intent:
    """The anchor transaction as a payout of 0 with calldata; one payout key per attempt."""
    data = anchor_calldata(
        int(batch["batch_seq"]),
        merkle.from_hex32(batch["prev"]),
        merkle.from_hex32(batch["root"]),
        int(batch["tree_size"]),
    )
    return make_intent(
        f"anchor:{batch['batch_seq']}:{attempt}",
        NATIVE,
        batch["contract"],
        0,
        OWNER_TYPE,
        str(batch["batch_seq"]),
        data=data,
        purpose=ANCHOR,
    )


def ready_to_request(store: DynamoStore, batch: Item) -> bool:
    """Claimed, fully marked, and its predecessor anchored at depth (anchors land in order)."""
    if batch["status"] != CLAIMED or not batch.get("marked"):
        return False
    if int(batch["batch_seq"]) == 1:
        return True
    prev = store.get(**batch_key(int(batch["batch_seq"]) - 1))
    return prev is not None and prev["status"] == ANCHORED


def request(rt: Runtime, batch: Item) -> Item | None:
    """claimed -> requested, with the anchor payout in the same transaction; None if lost."""
    attempt = int(batch.get("attempt", 0)) + 1
    intent = anchor_intent(rt, batch, attempt)
    now = rt.clock.now_ms()
    changes = {"status": REQUESTED, "attempt": attempt, "payout_id": intent.id, "updated_at": now}
    op = update_op(
        batch_key(int(batch["batch_seq"])),
        set=changes,
        condition=Attr("status").eq(CLAIMED) & Attr("attempt").eq(batch.get("attempt", 0)),
        name="batch",
    )
    try:
        rt.store.transact([intent_op(intent, now), op])
    except TransactionFailed as exc:
        lost = [f.name for f in exc.failures]
        log("anchor_request_lost", batch_seq=batch["batch_seq"], lost=lost)
        return None
    log("anchor_requested", batch_seq=batch["batch_seq"], payout_id=intent.id, attempt=attempt)
    failpoints.hit("anchor_after_request")
    return batch | changes
