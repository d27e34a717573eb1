"""Settling a trade: the seller's confirm on external pairs, and completion on every pair.

confirm (external pairs, signed by the seller once the buyer's QUOTE is locked on the other
chain under `secret_hash`): `matched -> settling`, the BASE payout to the buyer requested in the
same transaction. Nothing is reported complete and no secret is released here: a confirm
answers 202 `payout_pending` until the payout is confirmed.

complete (driven by the payout states, see advance.py): `settling -> completed` once every leg
is confirmed on chain, with the trade record put in the same transaction under a deterministic
id (a conditional put), so a trade is recorded exactly once however often completion is tried.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core import failpoints
from chalicelib.core.errors import BadRequest, Conflict, Forbidden, Gone
from chalicelib.core.log import log
from chalicelib.core.outbox import intents
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item, Op, key, put_op
from chalicelib.otc import counters, legs, signatures, writes
from chalicelib.otc.model import (
    BASE_LEG,
    COMPLETED,
    MATCHED,
    SETTLING,
    move,
    public_view,
    trade_id_for,
)
from chalicelib.otc.orders import load, pair_of
from chalicelib.otc.pairs import Pair
from chalicelib.otc.writes import commit

MAX_REFERENCE = 200
PAYOUT_PENDING = "payout_pending"


def confirm_order(rt: Runtime, order_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """(http status, body): 202 payout_pending while the BASE payout is on its way."""
    now = rt.clock.now_ms()
    # A repeated confirm (a client retrying a lost answer) only reports the state: no early
    # replay refusal; the transition's transaction carries the replay guard.
    signed = signatures.verify(rt, signatures.CONFIRM_ORDER, body, order_id, check_replay=False)
    order = load(rt, order_id)
    pair = pair_of(rt, order)
    if pair.on_chain:
        raise BadRequest(
            "on-chain orders settle when they are matched; there is nothing to confirm",
            code="not_hash_lock_pair",
        )
    if signed.signer != order.get("seller"):
        raise Forbidden("only the seller of a matched order can confirm it", code="not_seller")
    reference = signed.message["quote_reference"].strip()
    if not 1 <= len(reference) <= MAX_REFERENCE:
        raise BadRequest(
            f"quote_reference must be 1..{MAX_REFERENCE} characters (the QUOTE lock's reference)",
            code="invalid_quote_reference",
            details={"field": "quote_reference"},
        )
    outcome = _already(order, pair, now)
    if outcome is not None:
        return outcome
    base = legs.settlement(order, pair)
    new, ops = move(
        order,
        SETTLING,
        now,
        condition=Attr("settle_by").gt(now),
        quote_reference=reference,
        confirmed_at=now,
        payouts={role: i.id for role, i in base.items()},
    )
    ops += [intents.intent_op(i, now) for i in base.values()]
    ops.append(signatures.guard_op(signed, now, order_id))
    lost = writes.commit_signed(rt, ops)
    if lost is not None:
        outcome = _already(lost, pair, now)
        if outcome is not None:
            return outcome
        raise Conflict("the order changed meanwhile; try again", code="order_changed")
    failpoints.hit("otc.after_confirm_commit")
    log("otc_order_confirmed", order_id=order_id, payout_id=base[BASE_LEG].id)
    return 202, _pending(new, pair, now)


def _pending(order: Item, pair: Pair, now: int) -> dict[str, Any]:
    return {
        "status": PAYOUT_PENDING,
        "payout_id": (order.get("payouts") or {}).get(BASE_LEG),
        "order": public_view(order, pair, now),
    }


def _already(order: Item, pair: Pair, now: int) -> tuple[int, dict[str, Any]] | None:
    """The answer for an order a confirm cannot move (None: it can be confirmed now)."""
    status = order["status"]
    if status == MATCHED and now < int(order["settle_by"]):
        return None
    if status == SETTLING:
        return 202, _pending(order, pair, now)
    if status == COMPLETED:
        return 200, {"status": COMPLETED, "order": public_view(order, pair, now)}
    if status == MATCHED:
        raise Gone(
            "the settlement window has closed; the BASE deposit goes back to the seller",
            code="settlement_window_closed",
            details={"status": status},
        )
    raise Conflict(
        "only a matched order can be confirmed",
        code="order_not_matched",
        details={"status": status},
    )


# -- completion (driven by payout states) ------------------------------------------------------


def trade_item(order: Item, now: int) -> Item:
    trade_id = trade_id_for(order["id"])
    return {
        **key(f"otc#trades#{order['pair']}", f"{now:013d}#{trade_id}"),
        "id": trade_id,
        "order_id": order["id"],
        "pair": order["pair"],
        "side": "buy" if order["side"] == "sell" else "sell",  # the taker's side
        "amount": order["amount"],
        "price": order["price"],
        "quote_total": order["quote_total"],
        "executed_at": now,
        "matched_at": order.get("matched_at"),
    }


def complete(
    rt: Runtime, order: Item, fence: Op | None, now: int, extra: Sequence[Op] = ()
) -> bool:
    """`settling -> completed` with the trade record (and `extra`: the ledger's debits);
    False if someone else moved it first."""
    trade = trade_item(order, now)
    _, ops = move(order, COMPLETED, now, completed_at=now, trade_id=trade["id"])
    ops += [
        # The trade's id is fixed by the order: this put can succeed once, ever.
        put_op({**key(f"trade#{trade['id']}", "trade"), "order_id": order["id"]},
               if_absent=True, name="trade_guard"),
        put_op(trade, name="trade"),
        counters.count_op(order["pair"], order["id"], "completed"),
        *extra,
    ]
    if not commit(rt, ops, fence):
        return False
    log("otc_order_completed", order_id=order["id"], trade_id=trade["id"])
    return True
