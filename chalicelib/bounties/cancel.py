"""Transition: open/judging -> cancelled, by the poster, only while no winner exists.

Cancel and accept both write the bounty item conditionally (cancel requires `winner_count = 0`,
accept requires no `cancelled_at`), so whichever commits first makes the other fail: a cancelled
bounty can never have a winner.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chalicelib.bounties import index
from chalicelib.bounties.actions import CANCEL
from chalicelib.bounties.model import bounty_key, bounty_view, load_bounty
from chalicelib.bounties.signed import require_poster, verify_request
from chalicelib.bounties.status import Facts, Timing, can_cancel, cancel_condition, status_of
from chalicelib.core.errors import Conflict, Unprocessable
from chalicelib.core.log import log
from chalicelib.core.runtime import Runtime
from chalicelib.core.signing import SignedAction, raise_if_replayed, replay_guard_op
from chalicelib.core.store import Item, Op, TransactionFailed, update_op


class HasWinners(Conflict):
    """The bounty already has a winner, so it can no longer be cancelled (409)."""

    code = "has_winners"


class NotCancellable(Unprocessable):
    """The bounty is cancelled, abandoned or settled already (422)."""

    code = "bounty_not_cancellable"


def cancel_bounty(rt: Runtime, bounty_id: str, body: dict[str, Any]) -> dict[str, Any]:
    signed = verify_request(rt, CANCEL, body, bounty_id)
    timing = Timing.of(rt.settings)
    bounty = load_bounty(rt.store, bounty_id)
    require_poster(bounty, signed)
    now = rt.clock.now_ms()
    _check(bounty, now, timing)
    try:
        rt.store.transact(cancel_ops(bounty, signed, now, timing))
    except TransactionFailed as exc:
        raise_if_replayed(exc)
        if exc.failed("bounty") is not None:
            # Lost to an accept (or another cancel): report what won.
            _check(load_bounty(rt.store, bounty_id), now, timing)
        raise
    log("bounty_cancelled", bounty_id=bounty_id)
    return bounty_view(load_bounty(rt.store, bounty_id), [], now, timing)


def cancel_ops(bounty: Item, signed: SignedAction, now: int, timing: Timing) -> list[Op]:
    before = Facts.of(bounty)
    after = replace(before, cancelled_at=now)
    return [
        update_op(
            bounty_key(bounty["id"]),
            set={"cancelled_at": now},
            condition=cancel_condition(now, timing),
            name="bounty",
        ),
        replay_guard_op(signed, now, ref=bounty["id"]),
        *index.move_ops(before, after, bounty["id"]),
    ]


def _check(bounty: Item, now: int, timing: Timing) -> None:
    facts = Facts.of(bounty)
    if can_cancel(facts, now, timing):
        return
    status = status_of(facts, now, timing)
    if facts.cancelled_at is None and facts.winner_count > 0:
        raise HasWinners(
            "a bounty with winners cannot be cancelled",
            details={"status": status, "winner_count": facts.winner_count},
        )
    raise NotCancellable(f"a {status} bounty cannot be cancelled", details={"status": status})
