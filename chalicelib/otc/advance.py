"""The one idempotent step that drives an order from the states of its payouts.

Called by the reconciler (under its lease, every write fenced) and by the payout engine's
finalizer (when a payout of the order concludes). It re-reads the order and each of its payouts
(consistent reads), and makes at most one transition, by compare-and-set:

    settling        all legs confirmed     -> completed (trade recorded once)
    refund_pending  all refunds confirmed  -> cancelled | expired
    either          a leg failed (proven)  -> settlement_recovery (one alert)
    recovery        no leg moving any more -> off the queue, awaiting an admin

Every leg confirmed since the last step is debited from the escrow ledger in the same
transaction (a transition's, or the order's own compare-and-set when no transition is due).
Legs still moving (requested, signed, broadcast, needs_attention) mean: wait. Nothing is ever
completed, and no secret released, before every leg is confirmed on chain. Running it twice, or
twice at once, is harmless: the loser's condition fails and it reports nothing.
"""

from __future__ import annotations

from chalicelib.core import failpoints
from chalicelib.core.log import log
from chalicelib.core.outbox.model import CONFIRMED, FAILED
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item, Op
from chalicelib.otc import ledger, recovery, refunds, settlement, writes
from chalicelib.otc.model import (
    COMPLETED,
    REFUND_END,
    REFUND_PENDING,
    SETTLEMENT_RECOVERY,
    SETTLING,
    move,
    order_key,
)

DRIVEN = (SETTLING, REFUND_PENDING, SETTLEMENT_RECOVERY)


def advance(rt: Runtime, order_id: str, fence: Op | None = None) -> str | None:
    """Make the order's next payout-driven transition, if one is due; its name, or None."""
    order = rt.store.get(**order_key(order_id))
    if order is None or order["status"] not in DRIVEN:
        return None
    payouts = recovery.leg_payouts(rt, order)
    failpoints.hit("otc.advance.after_read")
    now = rt.clock.now_ms()
    states = {role: (p or {}).get("status") for role, p in payouts.items()}
    missing = sorted(r for r, p in payouts.items() if p is None)
    if missing:
        # Written in the same transaction as the order: this would be a bug, not a race.
        log("otc_payout_missing", order_id=order_id, roles=missing)
    failed = sorted(r for r, s in states.items() if s == FAILED)
    moving = any(s not in (CONFIRMED, FAILED) for s in states.values())
    debits = ledger.undebited(rt, list(payouts.values()))
    extra = ledger.debit_ops(order_id, debits) if debits else []
    status = order["status"]
    if status == SETTLEMENT_RECOVERY:
        if order.get("awaiting") == recovery.AWAITING_PAYOUTS and not moving:
            return recovery.await_admin(rt, order, failed, now, fence, extra)
        return _debit_only(rt, order, extra, now, fence)
    if failed:
        return recovery.to_recovery(rt, order, failed, moving, now, fence, extra)
    if not states or moving:
        return _debit_only(rt, order, extra, now, fence)
    if status == SETTLING:
        done = settlement.complete(rt, order, fence, now, extra)
        return f"{SETTLING}->{COMPLETED}" if done else None
    done = refunds.finish_refund(rt, order, fence, now, extra)
    return f"{REFUND_PENDING}->{REFUND_END[order['refund_reason']]}" if done else None


def _debit_only(
    rt: Runtime, order: Item, extra: list[Op], now: int, fence: Op | None
) -> str | None:
    """No transition is due, but legs were confirmed: debit them with the order's own CAS."""
    if not extra:
        return None
    _, ops = move(order, order["status"], now)
    failpoints.hit("otc.advance.before_debit")
    return "debited" if writes.commit(rt, [*ops, *extra], fence) else None
