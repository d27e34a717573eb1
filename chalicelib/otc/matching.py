"""Taking an open order (match): compare-and-set on `open`, one winner, losers refunded.

On-chain pairs settle at once: the match moves the order straight to `settling` and requests
both legs (BASE to the buyer, QUOTE to the seller) in the same transaction. External pairs move
to `matched` with a fresh hash-lock secret whose sha256 both parties see; the seller's confirm
settles them later (see settlement.py).

A taker whose deposit was proven on chain but who does not get the order (a concurrent taker
won, or it closed meanwhile) gets that deposit back through the payout engine: the deposit's tx
guard and the refund payout are written in one transaction, so it is refunded once and can
never fund anything else.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core import failpoints
from chalicelib.core.errors import BadRequest, Conflict, Gone, ServiceError
from chalicelib.core.log import log
from chalicelib.core.outbox import intents
from chalicelib.core.outbox.model import payout_id
from chalicelib.core.runtime import Runtime
from chalicelib.core.signing import SignedAction
from chalicelib.core.store import Item, TransactionFailed, put_op
from chalicelib.core.wallets import ESCROW
from chalicelib.otc import deposits, hashlock, ledger, legs, limits, signatures
from chalicelib.otc.deposits import Deposit
from chalicelib.otc.model import (
    MATCHED,
    OPEN,
    OWNER_TYPE,
    SELL,
    SETTLING,
    move,
    public_view,
)
from chalicelib.otc.orders import load, pair_of
from chalicelib.otc.pairs import Pair


def match_order(rt: Runtime, order_id: str, body: dict[str, Any], ip: str) -> dict[str, Any]:
    now = rt.clock.now_ms()
    # A taker repeating its request (its answer was lost) hears the same answer, so no early
    # replay refusal; every write this makes carries the signature's replay guard.
    signed = signatures.verify(rt, signatures.MATCH_ORDER, body, order_id, check_replay=False)
    taker = signed.signer
    order = load(rt, order_id)
    pair = pair_of(rt, order)
    raw_tx = signed.message["deposit_tx"]
    if taker == order["maker"]:
        own = BadRequest("you cannot take your own order", code="own_order")
        raise deposits.with_refund_hint(own) if raw_tx else own
    if pair.on_chain and not raw_tx:
        raise BadRequest(
            "deposit_tx is required: send your side to the escrow address first",
            code="deposit_required",
            details={"field": "deposit_tx"},
        )
    if not pair.on_chain and raw_tx:
        raise BadRequest(
            f"{pair.name} takes no deposit from the buyer (QUOTE moves on its own chain)",
            code="deposit_not_expected",
            details={"field": "deposit_tx"},
        )
    limits.take(rt, "match", taker, ip)

    deposit = None
    if pair.on_chain:
        tx = deposits.normalize_tx(raw_tx)
        if order.get("taker") == taker and (order.get("taker_deposit") or {}).get("tx") == tx:
            # The winner asking again (its answer was lost): the same match, not a new one.
            return public_view(order, pair, now)
        used = deposits.used_for(rt, tx)
        if used == _refused_use(order):
            # A refused taker asking again (its answer was lost): the same refusal and refund.
            raise _with_refund(_closed(order, now) or _changed(), order, tx)
        if used is not None:
            raise deposits.already_used(used)
        closed = _closed(order, now)
        if closed is not None:
            # Already taken, cancelled or expired: a proven deposit goes straight back.
            _refund_refused(rt, order, pair, taker, tx, signed, now, closed)
        asset, need = deposits.required(pair, _taker_side(order), int(order["amount"]),
                                        int(order["quote_total"]))
        deposit = deposits.verify(rt, tx, taker, asset, need, now)
    else:
        if order.get("taker") == taker and order["status"] != OPEN:
            return public_view(order, pair, now)  # the winner asking again
        closed = _closed(order, now)
        if closed is not None:
            raise closed
    failpoints.hit("otc.match.after_verify")

    new, ops = _matched(rt, order, pair, taker, deposit, now)
    ops.append(signatures.guard_op(signed, now, order_id))
    try:
        rt.store.transact(ops)
    except TransactionFailed as exc:
        signatures.raise_if_replayed(exc)
        deposits.raise_if_used(exc)
        lost = exc.failed("order")
        if lost is None:
            raise
        winner = lost.item or order
        refused = _closed(winner, now) or _changed()
        if deposit is None:
            raise refused from exc
        _refund_refused(rt, winner, pair, taker, deposit.tx, signed, now, refused, deposit)
    failpoints.hit("otc.after_match_commit")
    log("otc_order_matched", order_id=order_id, taker=taker, status=new["status"])
    return public_view(new, pair, now)


def _refused_use(order: Item) -> str:
    """What the tx guard of a refused (and refunded) taker deposit says it paid."""
    return f"otc:{order['id']}:refused"


def _refund_key(order: Item, tx: str) -> str:
    return f"otc:{order['id']}:refused:{tx}"


def _changed() -> Conflict:
    return Conflict("the order changed while you were taking it", code="order_not_open")


def _with_refund(refused: ServiceError, order: Item, tx: str) -> ServiceError:
    refund_id = payout_id(_refund_key(order, tx))
    refused.details = {**(refused.details or {}), "refund_payout_id": refund_id}
    return refused


def _taker_side(order: Item) -> str:
    return "buy" if order["side"] == SELL else "sell"


def _closed(order: Item, now: int) -> ServiceError | None:
    """Why an order (as read) cannot be taken now, or None if it can."""
    if order["status"] == OPEN and now < int(order["expires_at"]):
        return None
    if order["status"] == OPEN:
        return Gone("the order has expired", code="order_expired",
                    details={"status": "expired", "order_id": order["id"]})
    return Conflict(
        "the order is no longer open",
        code="order_not_open",
        details={"status": order["status"], "order_id": order["id"]},
    )


def _matched(
    rt: Runtime, order: Item, pair: Pair, taker: str, deposit: Deposit | None, now: int
) -> tuple[Item, list[Any]]:
    """The order's compare-and-set out of `open`, with what the match creates."""
    maker_sells = order["side"] == SELL
    parties = {
        "taker": taker,
        "seller": order["maker"] if maker_sells else taker,
        "buyer": taker if maker_sells else order["maker"],
        "matched_at": now,
    }
    still_open = Attr("expires_at").gt(now)
    if pair.on_chain:
        assert deposit is not None
        shaped = {**order, **parties, "taker_deposit": deposit.item()}
        planned = legs.settlement(shaped, pair)
        new, ops = move(
            order,
            SETTLING,
            now,
            condition=still_open,
            **parties,
            taker_deposit=deposit.item(),
            payouts={role: i.id for role, i in planned.items()},
        )
        ops += [intents.intent_op(i, now) for i in planned.values()]
        ops.append(deposits.guard_op(deposit.tx, f"otc:{order['id']}:taker", now))
        ops += ledger.credit_ops(order["id"], deposit.asset, deposit.amount)
        return new, ops
    secret = hashlock.new_secret(order["id"])
    settle_by = now + rt.settings.otc_settlement_window_seconds * 1000
    new, ops = move(
        order,
        MATCHED,
        now,
        condition=still_open,
        **parties,
        settle_by=settle_by,
        secret_hash=secret["secret_hash"],
    )
    ops.append(put_op(secret, if_absent=True, name="secret"))
    return new, ops


def _refund_refused(
    rt: Runtime,
    order: Item,
    pair: Pair,
    taker: str,
    tx: str,
    signed: SignedAction,
    now: int,
    refused: ServiceError,
    deposit: Deposit | None = None,
) -> None:
    """Refuse the match with `refused`, refunding the taker's deposit once if it is proven."""
    if deposit is None:
        asset, need = deposits.required(pair, _taker_side(order), int(order["amount"]),
                                        int(order["quote_total"]))
        try:
            deposit = deposits.verify(rt, tx, taker, asset, need, now)
        except ServiceError:
            # Not a proven deposit (yet): nothing to refund, and the tx stays usable.
            raise refused from None
    refund = intents.make_intent(
        _refund_key(order, deposit.tx),
        deposit.asset,
        deposit.sender,
        deposit.amount,
        OWNER_TYPE,
        order["id"],
        purpose=ESCROW,
    )
    ops = [
        deposits.guard_op(deposit.tx, _refused_use(order), now),
        signatures.guard_op(signed, now, order["id"]),
        intents.intent_op(refund, now),
        # Escrow holds it until the refund is confirmed (then the finalizer debits it).
        *ledger.credit_ops(order["id"], deposit.asset, deposit.amount),
    ]
    try:
        rt.store.transact(ops)
    except TransactionFailed as exc:
        signatures.raise_if_replayed(exc)
        deposits.raise_if_used(exc)
        raise
    failpoints.hit("otc.after_refused_refund_commit")
    log("otc_match_refused_refunded", order_id=order["id"], taker=taker, payout_id=refund.id)
    raise _with_refund(refused, order, deposit.tx)
