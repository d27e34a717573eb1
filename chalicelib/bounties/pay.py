"""Transition: the poster records the on-chain payment of one winner.

The chain is asked first (nothing is written unless the transaction proves the payment), then
one transaction marks the winner paid (only if still unpaid), bumps the bounty's paid count
(compare-and-set on the counts read, inside the pay window), takes the global guard of the
transaction hash (one transaction pays one winner of one bounty, ever) and the replay guard.
Because the winner and the counter change in the same transaction, the count can never run
ahead of the winners actually paid (the seed's stuck-"paid" bug), and a lost race changes
nothing at all.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.bounties import index
from chalicelib.bounties.actions import RECORD_PAYMENT
from chalicelib.bounties.model import (
    bounty_key,
    bounty_view,
    load_bounty,
    load_submission,
    load_winners,
    winner_key,
)
from chalicelib.bounties.signed import require_poster, verify_request
from chalicelib.bounties.status import Facts, Timing, can_pay, pay_condition, status_of
from chalicelib.bounties.webhook_events import payment_recorded_op
from chalicelib.core import failpoints
from chalicelib.core.clock import iso
from chalicelib.core.errors import Conflict, Unprocessable
from chalicelib.core.log import log
from chalicelib.core.payments import (
    Expected,
    Payment,
    ensure_tx_unused,
    normalize_tx_hash,
    raise_if_tx_used,
    tx_guard_op,
    verify_payment,
)
from chalicelib.core.runtime import Runtime
from chalicelib.core.signing import SignedAction, raise_if_replayed, replay_guard_op
from chalicelib.core.store import Item, Op, TransactionFailed, update_op

# A payment may have been sent a little before the accept was recorded (the poster paid, then
# clicked accept): mined up to this long before the head block at acceptance still counts.
PAID_BEFORE_ACCEPT_MS = 60_000
# Each retry follows another payment that changed the counts of the same bounty.
PAY_ATTEMPTS = 5


class NotAWinner(Unprocessable):
    """The submission holds no winner slot, so there is nothing to pay (422)."""

    code = "not_a_winner"


class AlreadyPaid(Conflict):
    """This winner's payment is already recorded (409)."""

    code = "already_paid"


class NotPayable(Unprocessable):
    """The bounty's pay window is closed, or it has no unpaid winner (422)."""

    code = "bounty_not_payable"


def record_payment(rt: Runtime, bounty_id: str, body: dict[str, Any]) -> dict[str, Any]:
    signed = verify_request(rt, RECORD_PAYMENT, body, bounty_id)
    tx_hash = normalize_tx_hash(signed.message["tx_hash"])
    timing = Timing.of(rt.settings)
    bounty = load_bounty(rt.store, bounty_id)
    require_poster(bounty, signed)
    submission = load_submission(rt.store, bounty_id, signed.message["submission_id"])
    winner = rt.store.get(**winner_key(bounty_id, submission["id"]))
    if winner is None:
        raise NotAWinner("this submission is not a winner of the bounty")
    if winner.get("paid_at") is not None:
        raise _already(winner)
    _check(Facts.of(bounty), rt.clock.now_ms(), timing)
    ensure_tx_unused(rt.store, tx_hash)
    payment = verify_payment(
        rt.chain,
        Expected(
            tx_hash=tx_hash,
            sender=bounty["poster"],
            recipient=winner["submitter"],
            asset=bounty["asset"],
            min_amount=int(bounty["per_winner"]),
            not_before_ms=accepted_on_chain_ms(winner) - PAID_BEFORE_ACCEPT_MS,
            decimals=int(bounty["decimals"]),
        ),
        rt.settings.confirmations,
    )
    # The chain said yes and nothing is written yet: a crash here leaves no trace, and the very
    # same signed request can be sent again.
    failpoints.hit("bounty_payment_verified")
    for _ in range(PAY_ATTEMPTS):
        now = rt.clock.now_ms()
        _check(Facts.of(bounty), now, timing)
        try:
            rt.store.transact(pay_ops(bounty, winner, payment, signed, now, timing))
        except TransactionFailed as exc:
            raise_if_replayed(exc)
            raise_if_tx_used(exc)
            if exc.failed("winner") is not None:
                fresh = rt.store.get(**winner_key(bounty_id, winner["submission_id"]))
                raise _already(fresh) from exc
            if exc.failed("bounty") is None:
                raise
            bounty = load_bounty(rt.store, bounty_id)  # another payment moved the counts
            continue
        log("bounty_winner_paid", bounty_id=bounty_id, submission_id=winner["submission_id"],
            tx_hash=payment.tx_hash)
        after = load_bounty(rt.store, bounty_id)
        return bounty_view(after, load_winners(rt.store, bounty_id), now, timing)
    raise Conflict("the bounty is too busy right now, try again", code="busy")


def accepted_on_chain_ms(winner: Item) -> int:
    """When the winner was accepted, on the chain's clock: the head block's time at acceptance.

    Block times are compared with block times only. A winner accepted while no chain was
    configured has no block; its service time is all there is.
    """
    block_time = winner.get("accepted_block_time")
    return int(block_time) if block_time is not None else int(winner["accepted_at"])


def pay_ops(
    bounty: Item, winner: Item, payment: Payment, signed: SignedAction, now: int, timing: Timing
) -> list[Op]:
    """The one transaction of a recorded payment, conditioned on the bounty as read."""
    bid, sid = bounty["id"], winner["submission_id"]
    before = Facts.of(bounty)
    after = replace(before, paid_count=before.paid_count + 1)
    return [
        update_op(
            bounty_key(bid),
            set={"paid_count": after.paid_count},
            condition=pay_condition(before, now, timing),
            name="bounty",
        ),
        update_op(
            winner_key(bid, sid),
            set={
                "paid_at": now,
                "payment_tx": payment.tx_hash,
                "paid_amount": str(payment.amount),
                "payment_block": payment.block_number,
            },
            condition=Attr("pk").exists() & Attr("paid_at").not_exists(),
            name="winner",
        ),
        tx_guard_op(payment.tx_hash, f"bounty:{bid}:{sid}", now),
        replay_guard_op(signed, now, ref=sid),
        *index.move_ops(before, after, bid),
        payment_recorded_op(bounty, winner, payment.tx_hash, payment.amount, now),
    ]


def _check(facts: Facts, now: int, timing: Timing) -> None:
    if not can_pay(facts, now, timing):
        status = status_of(facts, now, timing)
        raise NotPayable(
            f"payments cannot be recorded on a {status} bounty", details={"status": status}
        )


def _already(winner: Item | None) -> AlreadyPaid:
    details = None
    if winner and winner.get("paid_at") is not None:
        details = {"payment_tx": winner.get("payment_tx"), "paid_at": iso(int(winner["paid_at"]))}
    return AlreadyPaid("this winner's payment is already recorded", details=details)
