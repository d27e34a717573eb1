"""Anchoring's webhook events: anchor.confirmed (one per batch, written with the batch's
`anchored` transition) and message.anchored (one per message, to its app, expanded from it).

The expander reads what the batch claim stored with its leaves (each leaf's app and message id),
so the per-message events derive from durable state: a crash while expanding repeats it, and
the derived events' ids are stable.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chalicelib.anchoring.model import batch_pk, chunk_prefix
from chalicelib.core.store import Item, Op
from chalicelib.core.webhooks.events import (
    event_op,
    new_event,
    register_event_type,
    register_expander,
)

ANCHOR_CONFIRMED = register_event_type(
    "anchor.confirmed", "a batch of message hashes is anchored on chain at depth"
)
MESSAGE_ANCHORED = register_event_type(
    "message.anchored", "one of the app's messages is anchored (proof available)",
    app_visible=True,
)


def batch_data(batch: Item, changes: dict[str, Any]) -> dict[str, Any]:
    seen = {**batch, **changes}
    return {
        "batch_seq": str(seen["batch_seq"]),
        "first_seq": str(seen["first_seq"]),
        "last_seq": str(seen["last_seq"]),
        "tree_size": int(seen["tree_size"]),
        "root": seen["root"],
        "chain": f"eip155:{seen['chain_id']}",
        "contract": seen["contract"],
        "tx_hash": seen.get("tx_hash"),
        "block_number": seen.get("block_number"),
    }


def anchor_confirmed_op(batch: Item, changes: dict[str, Any], now: int) -> Op:
    data = batch_data(batch, changes)
    return event_op(ANCHOR_CONFIRMED.name, "anchor_batch", data["batch_seq"], 1, data, now)


def expand_messages(rt: Any, event: Item) -> Iterator[Item]:
    """message.anchored for every message of the confirmed batch, addressed to its app."""
    import json

    parent = json.loads(event["body"])["data"]
    batch = rt.store.get(batch_pk(int(parent["batch_seq"])), "batch")
    if batch is None:
        return
    seq = int(batch["first_seq"])
    cursor = None
    while True:
        items, cursor = rt.store.query(
            batch_pk(int(batch["batch_seq"])), sk_prefix=chunk_prefix(batch["leaves_token"]),
            limit=4, cursor=cursor, consistent=True,
        )
        for chunk in items:
            for line in (chunk.get("members") or "").split("\n"):
                app_id, _, message_id = line.partition(" ")
                if message_id:
                    data = {"message_id": message_id, "seq": str(seq), **parent}
                    yield new_event(MESSAGE_ANCHORED.name, "message", message_id, 1, data,
                                    int(event["created_at"]), app_id=app_id or None)
                seq += 1
        if cursor is None:
            return


register_expander(ANCHOR_CONFIRMED.name, expand_messages)
