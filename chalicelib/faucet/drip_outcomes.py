"""What a drip's payout outcome changes: its record, the statistics, and (failed) its quota.

Called by the payout engine's finalizer until it returns, possibly more than once per outcome:
every change is conditioned on the drip record's status as read, so a repeat changes nothing.
"""

from __future__ import annotations

from boto3.dynamodb.conditions import Attr

from chalicelib.core.log import log
from chalicelib.core.outbox.model import CONFIRMED, FAILED, NEEDS_ATTENTION
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item, Op, TransactionFailed, update_op
from chalicelib.faucet import ratelimit, stats
from chalicelib.faucet.drips import PENDING
from chalicelib.faucet.keys import drip_key
from chalicelib.faucet.webhook_events import drip_paid_op

RETRIES = 3


class OutcomeNotApplied(Exception):
    """Lost every attempt to a concurrent change; the finalizer calls again later."""


def apply(rt: Runtime, payout: Item) -> None:
    drip_id = payout["owner_id"]
    for _ in range(RETRIES):
        drip = rt.store.get(**drip_key(drip_id))
        if drip is None:
            log("drip_outcome_without_drip", drip_id=drip_id, payout_id=payout["id"])
            return
        ops = plan(rt, drip, payout, rt.clock.now_ms())
        if not ops:
            return
        try:
            rt.store.transact(ops)
        except TransactionFailed:
            continue
        log("drip_" + payout["status"], drip_id=drip_id, payout_id=payout["id"])
        return
    raise OutcomeNotApplied(drip_id)


def plan(rt: Runtime, drip: Item, payout: Item, now: int) -> list[Op]:
    outcome = payout["status"]
    status = drip["status"]
    if status not in (PENDING, NEEDS_ATTENTION) or status == outcome:
        return []  # already applied (finalizers may run twice)
    record = update_op(
        drip_key(drip["id"]),
        set={"status": outcome, "updated_at": now},
        condition=Attr("status").eq(status),
        name="drip",
    )
    amount, created = int(drip["amount"]), int(drip["created_at"])
    if outcome == NEEDS_ATTENTION:
        return [record]  # ambiguous: the quota stays used until the outcome is known
    if outcome == CONFIRMED:
        paid = drip_paid_op(drip, payout, now)
        return [record, *stats.outcome_ops(CONFIRMED, amount, created, now), paid]
    if outcome == FAILED:
        # Proven: no money moved. Give back the slots this drip still holds.
        releases = []
        for slot_key in drip.get("slots", []):
            slot = rt.store.get(**slot_key)
            if slot is not None and slot.get("drip_id") == drip["id"]:
                releases.append(ratelimit.release_op(slot, drip["id"], now))
        return [record, *stats.outcome_ops(FAILED, amount, created, now), *releases]
    return []
