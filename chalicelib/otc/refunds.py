"""Ending a refund: `refund_pending -> cancelled | expired` once every refund is confirmed.

Which end it reaches follows from why the refund was made (`refund_reason`), recorded when the
order entered refund_pending: a cancel (or an admin's refund) ends `cancelled`, a ttl or a
settlement window that ran out ends `expired`.
"""

from __future__ import annotations

from collections.abc import Sequence

from chalicelib.core.log import log
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item, Op
from chalicelib.otc import counters
from chalicelib.otc.model import REFUND_END, move
from chalicelib.otc.writes import commit


def finish_refund(
    rt: Runtime, order: Item, fence: Op | None, now: int, extra: Sequence[Op] = ()
) -> bool:
    """`refund_pending -> cancelled|expired` (with `extra`: the ledger's debits); False if
    someone else moved the order first."""
    end = REFUND_END[order["refund_reason"]]
    _, ops = move(order, end, now, ended_at=now)
    ops.append(counters.count_op(order["pair"], order["id"], end))
    ops += extra
    if not commit(rt, ops, fence):
        return False
    log("otc_refund_finished", order_id=order["id"], status=end)
    return True
