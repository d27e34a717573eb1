"""Cancelling an open order (its maker only): `open -> refund_pending`, the refund requested.

The refund payout is in the same transaction as the state change, so a crash right after the
commit loses nothing: the payout engine sends it and the order becomes `cancelled` when it is
confirmed (see refunds.py). An order whose time ran out is the expiry job's, not the maker's.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core import failpoints
from chalicelib.core.errors import Conflict, Forbidden, Gone
from chalicelib.core.log import log
from chalicelib.core.outbox import intents
from chalicelib.core.runtime import Runtime
from chalicelib.otc import legs, limits, signatures, writes
from chalicelib.otc.model import OPEN, REFUND_CANCEL, REFUND_PENDING, move, public_view
from chalicelib.otc.orders import load, pair_of


def cancel_order(rt: Runtime, order_id: str, body: dict[str, Any], ip: str) -> dict[str, Any]:
    now = rt.clock.now_ms()
    signed = signatures.verify(rt, signatures.CANCEL_ORDER, body, order_id)
    order = load(rt, order_id)
    pair = pair_of(rt, order)
    if signed.signer != order["maker"]:
        raise Forbidden("only the order's maker can cancel it", code="not_maker")
    limits.take(rt, "cancel", signed.signer, ip)
    _ensure_cancellable(order, now)
    refund = legs.refunds(order)
    new, ops = move(
        order,
        REFUND_PENDING,
        now,
        condition=Attr("expires_at").gt(now),
        refund_reason=REFUND_CANCEL,
        payouts={role: i.id for role, i in refund.items()},
    )
    ops += [intents.intent_op(i, now) for i in refund.values()]
    ops.append(signatures.guard_op(signed, now, order_id))
    lost = writes.commit_signed(rt, ops)
    if lost is not None:
        _ensure_cancellable(lost, now)
        raise Conflict("the order changed meanwhile; try again", code="order_changed")
    failpoints.hit("otc.after_cancel_commit")
    log("otc_order_cancelled", order_id=order_id, payouts=list(refund))
    return public_view(new, pair, now)


def _ensure_cancellable(order: dict[str, Any], now: int) -> None:
    if order["status"] != OPEN:
        raise Conflict(
            "only an open order can be cancelled",
            code="order_not_open",
            details={"status": order["status"]},
        )
    if now >= int(order["expires_at"]):
        raise Gone(
            "the order has expired; its deposit is being refunded",
            code="order_expired",
            details={"status": "expired"},
        )
