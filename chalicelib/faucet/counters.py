"""An event's counts by code state, and its kill switch, on EVENT_SHARDS small items.

Every code transition adds +1/-1 to the counts in the same transaction as the code's own
conditional write, so `GET /v1/events/{id}` sums a handful of items instead of reading every
code. The same items carry the event's status: a claim's counter update is conditioned on
`status = active`, which makes disabling an event exact (a claim either committed before the
switch or is refused), while the claims of one event spread over several items instead of all
locking the one event item.
"""

from __future__ import annotations

import random
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core.store import DynamoStore, Item, Op, update_op
from chalicelib.faucet.keys import event_shard_key

EVENT_SHARDS = 8
ACTIVE = "active"
DISABLED = "disabled"
# Code states (the code item's `state`) that are counted.
AVAILABLE = "available"
CLAIMED = "claimed"
PAID = "paid"
NEEDS_ATTENTION = "needs_attention"
REVOKED = "revoked"
STATES = (AVAILABLE, CLAIMED, PAID, NEEDS_ATTENTION, REVOKED)
FAILED_ATTEMPTS = "failed_attempts"


def shard_items(event_id: str) -> list[Item]:
    return [
        {**event_shard_key(event_id, k), "status": ACTIVE, **dict.fromkeys(STATES, 0),
         FAILED_ATTEMPTS: 0}
        for k in range(EVENT_SHARDS)
    ]


def move(old: str | None, new: str | None, **extra: int) -> dict[str, int]:
    """The counter changes of one code going from `old` to `new` (None: not counted)."""
    changes = dict(extra)
    if old:
        changes[old] = changes.get(old, 0) - 1
    if new:
        changes[new] = changes.get(new, 0) + 1
    return changes


def count_op(event_id: str, changes: dict[str, int], *, require_active: bool) -> Op:
    """Add `changes` on a random shard; with require_active, only while the event is active."""
    shard = random.randrange(EVENT_SHARDS)
    condition = Attr("status").eq(ACTIVE) if require_active else Attr("pk").exists()
    return update_op(event_shard_key(event_id, shard), add=changes, condition=condition,
                     name="event")


def disable_ops(event_id: str, now: int) -> list[Op]:
    return [
        update_op(event_shard_key(event_id, k), set={"status": DISABLED, "disabled_at": now},
                  condition=Attr("pk").exists(), name=f"shard:{k}")
        for k in range(EVENT_SHARDS)
    ]


def enable_ops(event_id: str) -> list[Op]:
    return [
        update_op(event_shard_key(event_id, k), set={"status": ACTIVE, "disabled_at": None},
                  condition=Attr("pk").exists(), name=f"shard:{k}")
        for k in range(EVENT_SHARDS)
    ]


def read(store: DynamoStore, event_id: str) -> dict[str, Any]:
    items, _ = store.query(f"event#{event_id}", sk_prefix="shard#", limit=EVENT_SHARDS,
                           consistent=True)
    counts = dict.fromkeys((*STATES, FAILED_ATTEMPTS), 0)
    for item in items:
        for name in counts:
            counts[name] += int(item.get(name, 0))
    return counts
