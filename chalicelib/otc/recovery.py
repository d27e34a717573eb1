"""When a payout of an order failed (proven: no money moved): recovery, and the admin's way out.

- `to_recovery`: `settling | refund_pending -> settlement_recovery`, raising ONE alert (only the
  write that wins alerts, so a reconciler and a finalizer seeing the same failure alert once).
  While other legs still move, the order stays on the reconciler's queue (`awaiting: payouts`).
- `await_admin`: every leg concluded; off the queue until an admin acts (`awaiting: admin`).
- `retry` (admin): each failed leg again, under a new payout key suffix; back to the state the
  order came from.
- `refund` (admin): the deposits back to their payers, unless a trade leg already paid (then only
  a retry is fair); `-> refund_pending`, ending `cancelled`.
Ambiguous payouts (needs_attention) never lead here: they wait for the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.core.errors import Conflict
from chalicelib.core.log import alert, log
from chalicelib.core.outbox import intents
from chalicelib.core.outbox.model import CONFIRMED, FAILED, payout_key
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item, Op, TransactionFailed, delete_op
from chalicelib.core.wallets import ESCROW
from chalicelib.otc import legs
from chalicelib.otc.model import (
    REFUND_ADMIN,
    REFUND_PENDING,
    SETTLEMENT_RECOVERY,
    TRADE_LEGS,
    move,
    public_view,
    secret_key,
)
from chalicelib.otc.orders import load, pair_of
from chalicelib.otc.writes import commit

AWAITING_PAYOUTS = "payouts"
AWAITING_ADMIN = "admin"


def leg_payouts(rt: Runtime, order: Item) -> dict[str, Item | None]:
    """Each leg's payout item (consistent reads), by role."""
    return {
        role: rt.store.get(**payout_key(pid)) for role, pid in (order.get("payouts") or {}).items()
    }


def to_recovery(
    rt: Runtime,
    order: Item,
    failed: list[str],
    in_flight: bool,
    now: int,
    fence: Op | None,
    extra: Sequence[Op] = (),
) -> str | None:
    old = order["status"]
    _, ops = move(
        order,
        SETTLEMENT_RECOVERY,
        now,
        recovery_from=old,
        failed_roles=failed,
        awaiting=AWAITING_PAYOUTS if in_flight else AWAITING_ADMIN,
    )
    if not commit(rt, [*ops, *extra], fence):
        return None
    alert(
        "otc_settlement_recovery",
        order_id=order["id"],
        was=old,
        failed=failed,
        payout_ids=[order["payouts"][r] for r in failed],
    )
    return f"{old}->{SETTLEMENT_RECOVERY}"


def await_admin(
    rt: Runtime, order: Item, failed: list[str], now: int, fence: Op | None,
    extra: Sequence[Op] = (),
) -> str | None:
    """Every leg has concluded: take the order off the reconciler's queue until an admin acts."""
    _, ops = move(order, SETTLEMENT_RECOVERY, now, failed_roles=failed, awaiting=AWAITING_ADMIN)
    if not commit(rt, [*ops, *extra], fence):
        return None
    return f"{SETTLEMENT_RECOVERY}->awaiting_admin"


# -- admin actions -----------------------------------------------------------------------------


def _in_recovery(rt: Runtime, order_id: str) -> Item:
    order = load(rt, order_id)
    if order["status"] != SETTLEMENT_RECOVERY:
        raise Conflict(
            "only an order in settlement_recovery can be retried or refunded",
            code="order_not_in_recovery",
            details={"status": order["status"]},
        )
    return order


def retry(rt: Runtime, order_id: str) -> dict[str, Any]:
    """Each failed leg again under a new key suffix; the order returns to where it was."""
    now = rt.clock.now_ms()
    order = _in_recovery(rt, order_id)
    payouts = leg_payouts(rt, order)
    attempt = int(order.get("retries", 0)) + 1
    again = {
        role: intents.make_intent(
            f"otc:{order_id}:{role}:retry{attempt}",
            p["asset"], p["to"], int(p["amount"]), p["owner_type"], order_id, purpose=ESCROW,
        )
        for role, p in payouts.items()
        if p is not None and p["status"] == FAILED
    }
    if not again:
        raise Conflict("no payout of this order has failed", code="nothing_to_retry")
    return _commit_admin(
        rt,
        order,
        again,
        now,
        status=order["recovery_from"],
        payouts={**order["payouts"], **{r: i.id for r, i in again.items()}},
        retries=attempt,
        replaced_payouts=[
            *order.get("replaced_payouts", []), *(order["payouts"][r] for r in again)
        ],
    )


def refund(rt: Runtime, order_id: str) -> dict[str, Any]:
    """The deposits back to their payers, when no trade leg has paid; else 409 (retry instead)."""
    if (order := _in_recovery(rt, order_id))["recovery_from"] == REFUND_PENDING:
        return retry(rt, order_id)  # what failed was the refund itself: refunding is retrying
    now = rt.clock.now_ms()
    payouts = leg_payouts(rt, order)
    moving = sorted(
        r for r, p in payouts.items() if p is None or p["status"] not in (CONFIRMED, FAILED)
    )
    if moving:
        raise Conflict(
            "some payouts of this order are still moving; wait for them to conclude",
            code="payouts_in_flight",
            details={"roles": moving},
        )
    paid_trade = sorted(r for r in TRADE_LEGS if (payouts.get(r) or {}).get("status") == CONFIRMED)
    if paid_trade:
        raise Conflict(
            "part of the trade was paid; only a retry of the failed payouts is fair",
            code="partially_settled",
            details={"paid": paid_trade},
        )
    paid: dict[str, int] = {}
    for role, p in payouts.items():
        if p is not None and p["status"] == CONFIRMED:
            party = legs.source(order, role)
            paid[party] = paid.get(party, 0) + int(p["amount"])
    attempt = int(order.get("retries", 0)) + 1
    back = legs.refunds(order, paid, retry=attempt)
    return _commit_admin(
        rt,
        order,
        back,
        now,
        status=REFUND_PENDING,
        extra_ops=[delete_op(secret_key(order_id), name="secret")],
        refund_reason=REFUND_ADMIN,
        payouts={r: i.id for r, i in back.items()},
        retries=attempt,
        replaced_payouts=[*order.get("replaced_payouts", []), *order["payouts"].values()],
    )


def _commit_admin(
    rt: Runtime,
    order: Item,
    new_legs: dict[str, intents.Intent],
    now: int,
    *,
    status: str,
    extra_ops: list[Op] | None = None,
    **changes: Any,
) -> dict[str, Any]:
    pair = pair_of(rt, order)
    new, ops = move(order, status, now, failed_roles=None, awaiting=None, **changes)
    ops += [intents.intent_op(i, now) for i in new_legs.values()]
    ops += extra_ops or []
    try:
        rt.store.transact(ops)
    except TransactionFailed as exc:
        if exc.failed("order") is not None:
            raise Conflict(
                "the order changed meanwhile (another admin action?); look again",
                code="order_changed",
            ) from exc
        raise
    log(
        "otc_recovery_action",
        order_id=order["id"],
        to=status,
        payout_ids=[i.id for i in new_legs.values()],
    )
    return {"order": public_view(new, pair, now), "payouts": {r: i.id for r, i in new_legs.items()}}
