"""The expiry job: orders whose time ran out get their deposits back (scheduled, idempotent).

Two transitions, each one conditional write with the refund payout in it:
- `open -> refund_pending` once `expires_at` has passed (the maker's deposit back);
- `matched -> refund_pending` once an external order's settlement window passed without the
  seller's confirm (BASE back to the seller; the buyer's hash lock times out on its own chain,
  and the secret is deleted: it can never be released now).
Both end `expired` when the refund is confirmed (refunds.py). Due orders are found on the work
index sorted by due time; each is re-read (consistent) before acting, and the write is
conditioned on the state read and on the deadline having passed, so overlapping runs, a
concurrent match or cancel, and a stale index all resolve to exactly one winner.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core import failpoints
from chalicelib.core.log import log
from chalicelib.core.outbox import intents
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item, Op, delete_op
from chalicelib.otc import legs
from chalicelib.otc.model import (
    EXPIRY_QUEUE,
    MATCHED,
    OPEN,
    REFUND_EXPIRY,
    REFUND_PENDING,
    REFUND_WINDOW,
    move,
    order_key,
    secret_key,
)
from chalicelib.otc.writes import commit


def run_expiry(rt: Runtime, deadline_ms: int) -> dict[str, Any]:
    summary: Counter[str] = Counter()
    now = rt.clock.now_ms()
    for entry in rt.store.iter_work(EXPIRY_QUEUE, until=f"{now:013d}#~"):
        if rt.clock.now_ms() + rt.settings.job_margin_ms >= deadline_ms:
            summary["stopped_at_deadline"] += 1
            break
        order = rt.store.get(**order_key(entry["id"]))
        if order is None:
            continue
        moved = expire(rt, order, now)
        if moved:
            summary[moved] += 1
            failpoints.hit("otc.expiry.after_commit")
    return dict(summary)


def expire(rt: Runtime, order: Item, now: int, fence: Op | None = None) -> str | None:
    """Expire `order` if its time ran out; the transition made, or None."""
    if order["status"] == OPEN and now >= int(order["expires_at"]):
        return expire_open(rt, order, now, fence)
    if order["status"] == MATCHED and order.get("settle_by") and now >= int(order["settle_by"]):
        return expire_unconfirmed(rt, order, now, fence)
    return None


def expire_open(rt: Runtime, order: Item, now: int, fence: Op | None = None) -> str | None:
    """`open -> refund_pending`: the ttl passed; the maker's deposit goes back."""
    refund = legs.refunds(order)
    _, ops = move(
        order,
        REFUND_PENDING,
        now,
        condition=Attr("expires_at").lte(now),
        refund_reason=REFUND_EXPIRY,
        payouts={role: i.id for role, i in refund.items()},
    )
    ops += [intents.intent_op(i, now) for i in refund.values()]
    if not commit(rt, ops, fence):
        return None
    log("otc_order_expired", order_id=order["id"], reason=REFUND_EXPIRY)
    return f"{OPEN}->{REFUND_PENDING}"


def expire_unconfirmed(rt: Runtime, order: Item, now: int, fence: Op | None = None) -> str | None:
    """`matched -> refund_pending`: no confirm within the settlement window; BASE to the seller."""
    refund = legs.refunds(order)
    _, ops = move(
        order,
        REFUND_PENDING,
        now,
        condition=Attr("settle_by").lte(now),
        refund_reason=REFUND_WINDOW,
        payouts={role: i.id for role, i in refund.items()},
    )
    ops += [intents.intent_op(i, now) for i in refund.values()]
    ops.append(delete_op(secret_key(order["id"]), name="secret"))
    if not commit(rt, ops, fence):
        return None
    log("otc_order_expired", order_id=order["id"], reason=REFUND_WINDOW)
    return f"{MATCHED}->{REFUND_PENDING}"
