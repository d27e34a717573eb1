"""Per-pair totals (orders created, completed, cancelled, expired), kept by the writes themselves.

Each counter is an `ADD` in the same transaction as the transition it counts, so the figures
never drift from the orders. They are spread over a few shard items (picked by order id) so
that concurrent transitions of one pair do not all contend for a single item.
"""

from __future__ import annotations

from chalicelib.core.store import DynamoStore, Key, Op, key, update_op

SHARDS = 4
COUNTED = ("created", "completed", "cancelled", "expired")


def shard_key(pair: str, shard: int) -> Key:
    return key(f"otc#totals#{pair}", f"shard#{shard}")


def count_op(pair: str, order_id: str, what: str) -> Op:
    shard = int(order_id.rsplit("_", 1)[-1][:8], 16) % SHARDS
    return update_op(shard_key(pair, shard), add={what: 1}, name="totals")


def totals(store: DynamoStore, pair: str) -> dict[str, int]:
    items, _ = store.query(f"otc#totals#{pair}", sk_prefix="shard#", limit=SHARDS)
    return {c: sum(int(i.get(c, 0)) for i in items) for c in COUNTED}
