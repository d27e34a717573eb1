"""Transition: the poster accepts a submission, taking one winner slot.

One transaction: the bounty's counters (compare-and-set on the counts read, inside the accept
window, not cancelled, a slot free), the winner record (put if absent), the submission's
`accepted_at`, the replay guard, and the state-index move. Two accepts racing for the last slot:
one transaction wins, the other's compare-and-set fails, it re-reads and finds no slot (409).

The winner also records the chain's head block at acceptance (core/chaintime.py): the payment
check compares the payment's block time with that block's time, never with the service's clock.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.bounties import index
from chalicelib.bounties.actions import ACCEPT
from chalicelib.bounties.model import (
    bounty_key,
    bounty_view,
    load_bounty,
    load_submission,
    load_winners,
    submission_key,
    winner_key,
)
from chalicelib.bounties.signed import require_poster, verify_request
from chalicelib.bounties.status import Facts, Timing, accept_condition, can_accept, status_of
from chalicelib.core import chaintime
from chalicelib.core.clock import iso
from chalicelib.core.errors import Conflict, Unprocessable
from chalicelib.core.log import log
from chalicelib.core.runtime import Runtime
from chalicelib.core.signing import SignedAction, raise_if_replayed, replay_guard_op
from chalicelib.core.store import Item, Op, TransactionFailed, put_op, update_op

# Each retry follows another accept that changed the counts; a slot race ends in a few rounds.
ACCEPT_ATTEMPTS = 5


class AlreadyAWinner(Conflict):
    """This submission already holds a winner slot (409)."""

    code = "already_a_winner"


class NoSlots(Conflict):
    """Every winner slot is taken (409)."""

    code = "no_slots"


class NotAcceptable(Unprocessable):
    """The bounty is in a state where nothing can be accepted (422)."""

    code = "bounty_not_accepting"


def accept_submission(rt: Runtime, bounty_id: str, body: dict[str, Any]) -> dict[str, Any]:
    signed = verify_request(rt, ACCEPT, body, bounty_id)
    timing = Timing.of(rt.settings)
    bounty = load_bounty(rt.store, bounty_id)
    require_poster(bounty, signed)
    submission = load_submission(rt.store, bounty_id, signed.message["submission_id"])
    head = chaintime.head(rt.chain) if rt.chain is not None else None
    for _ in range(ACCEPT_ATTEMPTS):
        if submission.get("accepted_at") is not None:
            raise _already(rt.store.get(**winner_key(bounty_id, submission["id"])))
        now = rt.clock.now_ms()
        facts = Facts.of(bounty)
        _check(facts, now, timing)
        try:
            rt.store.transact(accept_ops(bounty, submission, signed, now, timing, head))
        except TransactionFailed as exc:
            raise_if_replayed(exc)
            lost = exc.failed("winner") or exc.failed("submission")
            if lost is not None:
                raise _already(rt.store.get(**winner_key(bounty_id, submission["id"]))) from exc
            if exc.failed("bounty") is None:
                raise
            # Someone else changed the bounty: re-read and decide again.
            bounty = load_bounty(rt.store, bounty_id)
            submission = load_submission(rt.store, bounty_id, submission["id"])
            continue
        after = load_bounty(rt.store, bounty_id)
        log("bounty_winner_accepted", bounty_id=bounty_id, submission_id=submission["id"],
            winner_count=after["winner_count"])
        return bounty_view(after, load_winners(rt.store, bounty_id), now, timing)
    raise Conflict("the bounty is too busy right now, try again", code="busy")


def accept_ops(
    bounty: Item, submission: Item, signed: SignedAction, now: int, timing: Timing,
    head: chaintime.BlockTime | None = None,
) -> list[Op]:
    """The one transaction of an accept, conditioned on the bounty as read (`bounty`)."""
    bid, sid = bounty["id"], submission["id"]
    before = Facts.of(bounty)
    count = before.winner_count + 1
    fills = count >= before.max_winners
    after = replace(
        before, winner_count=count, fully_accepted_at=now if fills else before.fully_accepted_at
    )
    winner = {
        **winner_key(bid, sid),
        "bounty_id": bid,
        "submission_id": sid,
        "submitter": submission["submitter"],
        "accepted_at": now,
        "accepted_block": head.number if head else None,
        "accepted_block_time": head.time_ms if head else None,
    }
    changes: dict[str, Any] = {"winner_count": count, "last_accepted_at": now}
    if fills:
        changes["fully_accepted_at"] = now  # the pay grace of a full bounty runs from here
    return [
        update_op(
            bounty_key(bid),
            set=changes,
            condition=accept_condition(before, now, timing),
            name="bounty",
        ),
        put_op(winner, if_absent=True, name="winner"),
        update_op(
            submission_key(bid, sid),
            set={"accepted_at": now},
            condition=Attr("pk").exists() & Attr("accepted_at").not_exists(),
            name="submission",
        ),
        replay_guard_op(signed, now, ref=sid),
        *index.move_ops(before, after, bid),
    ]


def _check(facts: Facts, now: int, timing: Timing) -> None:
    if can_accept(facts, now, timing):
        return
    status = status_of(facts, now, timing)
    if facts.cancelled_at is None and facts.full:
        raise NoSlots(
            f"all {facts.max_winners} winner slots are taken",
            details={"status": status, "winner_count": facts.winner_count,
                     "max_winners": facts.max_winners},
        )
    raise NotAcceptable(
        f"a {status} bounty cannot accept winners", details={"status": status}
    )


def _already(winner: Item | None) -> AlreadyAWinner:
    details = {"accepted_at": iso(int(winner["accepted_at"]))} if winner else None
    return AlreadyAWinner("this submission is already a winner", details=details)
