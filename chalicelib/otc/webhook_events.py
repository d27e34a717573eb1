"""OTC's webhook events, derived from an order's status transition (see `model.move`)."""

from __future__ import annotations

from chalicelib.core.store import Item, Op
from chalicelib.core.webhooks.events import event_op, register_event_type

MATCHED = register_event_type("order.matched", "an order was matched by a taker")
COMPLETED = register_event_type("order.completed", "an order settled: both legs confirmed")
REFUNDED = register_event_type("order.refunded", "an order's deposits were refunded")

# (status read, status written) -> (event, sequence along the order's life)
_OPEN_TO = {"matched", "settling"}
_REFUND_ENDS = {"cancelled", "expired"}


def transition_event(old: str, new: Item) -> tuple[str, int] | None:
    status = new["status"]
    if old == "open" and status in _OPEN_TO:
        return MATCHED.name, 1
    if status == "completed" and old != "completed":
        return COMPLETED.name, 2
    if old == "refund_pending" and status in _REFUND_ENDS:
        return REFUNDED.name, 2
    return None


def order_event_op(old: str, new: Item, now: int) -> Op | None:
    found = transition_event(old, new)
    if found is None:
        return None
    type_, sequence = found
    data = {
        "order_id": new["id"],
        "pair": new.get("pair"),
        "side": new.get("side"),
        "status": new["status"],
        "maker": new.get("maker"),
        "taker": new.get("taker"),
        "trade_id": new.get("trade_id"),
    }
    return event_op(type_, "order", new["id"], sequence, data, now)
