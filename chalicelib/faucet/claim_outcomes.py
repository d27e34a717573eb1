"""What a claim's payout outcome changes: the claim record, the code, the event's counts.

Confirmed: the code is paid. Failed (proven: no money moved): the code is claimable again and
the failed attempt stays in its history. Needs attention (ambiguous): the code stays locked and
is listed for the admin; only a later outcome or the admin's recorded decision moves it. Nothing
here looks at the time: there is no time-based release that could pay twice.

Called by the finalizer until it returns; every write is conditioned on what was read, so calling
it twice for one outcome changes nothing the second time.
"""

from __future__ import annotations

from chalicelib.core.log import alert, log
from chalicelib.core.outbox.model import CONFIRMED, FAILED
from chalicelib.core.outbox.model import NEEDS_ATTENTION as PAYOUT_NEEDS_ATTENTION
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item, Op, TransactionFailed
from chalicelib.faucet import counters
from chalicelib.faucet.claimstate import (
    FAILED as CLAIM_FAILED,
)
from chalicelib.faucet.claimstate import (
    NEEDS_ATTENTION,
    OPEN,
    PAID,
    PAID_AFTER_RELEASE,
    PENDING,
    RELEASED,
    claim_op,
    code_op,
    release_ops,
    settle_ops,
    split_owner,
)
from chalicelib.faucet.keys import claim_key, code_key
from chalicelib.faucet.webhook_events import claim_event_op

RETRIES = 3


class OutcomeNotApplied(Exception):
    """Lost every attempt to a concurrent change; the finalizer calls again later."""


def apply(rt: Runtime, payout: Item) -> None:
    code, attempt = split_owner(payout["owner_id"])
    for _ in range(RETRIES):
        item = rt.store.get(**code_key(code))
        claim = rt.store.get(**claim_key(code, attempt))
        if item is None or claim is None:
            log("claim_outcome_without_claim", payout_id=payout["id"])
            return
        planned = plan(item, claim, payout, rt.clock.now_ms())
        if planned is None:
            return
        ops, event = planned
        try:
            rt.store.transact(ops)
        except TransactionFailed:
            continue
        ids = {"event_id": item["event_id"], "payout_id": payout["id"], "attempt": attempt}
        if event.startswith("alert:"):
            alert(event.removeprefix("alert:"), **ids)  # once: only the write that won alerts
        else:
            log(event, **ids)
        return
    raise OutcomeNotApplied(payout["id"])


def plan(item: Item, claim: Item, payout: Item, now: int) -> tuple[list[Op], str] | None:
    """(the transaction, what to log) for this outcome, or None when there is nothing to do."""
    outcome = payout["status"]
    status = claim["status"]
    holds_code = (
        status in OPEN
        and int(item["attempts"]) == int(claim["attempt"])
        and item["state"] in (counters.CLAIMED, counters.NEEDS_ATTENTION)
    )
    if outcome == CONFIRMED:
        if holds_code:
            paid = claim_event_op(claim, PAID, payout, now)
            return [*settle_ops(item, claim, PAID, now), paid], "claim_paid"
        if status == RELEASED:
            # An admin released the code while this payout was ambiguous, and it landed after
            # all: money moved twice if the code was claimed again. A human must know.
            return [claim_op(claim, PAID_AFTER_RELEASE, now)], "alert:claim_paid_after_release"
        return None
    if outcome == FAILED:
        if holds_code:
            failed = claim_event_op(claim, CLAIM_FAILED, payout, now)
            ops = [*release_ops(item, claim, CLAIM_FAILED, now), failed]
            return ops, "claim_payout_failed_code_released"
        return None
    if outcome == PAYOUT_NEEDS_ATTENTION:
        if holds_code and status == PENDING and item["state"] == counters.CLAIMED:
            ops: list[Op] = [
                claim_op(claim, NEEDS_ATTENTION, now),
                code_op(item, counters.NEEDS_ATTENTION, now),
                counters.count_op(
                    item["event_id"],
                    counters.move(counters.CLAIMED, counters.NEEDS_ATTENTION),
                    require_active=False,
                ),
            ]
            return ops, "alert:claim_needs_attention"
        return None
    return None
