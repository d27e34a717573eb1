"""The payout engine tells the OTC flow that a payout of an order concluded.

It calls the same idempotent `advance` the reconciler uses (unfenced: every write is a
compare-and-set anyway), so whichever of the two sees a conclusion first moves the order, and
the other finds nothing left to do. A refund of a refused taker's deposit is owned by the order
too but is none of its legs: `advance` then finds nothing to do, which is right, and the
escrow ledger is debited for it here.
"""

from __future__ import annotations

from chalicelib.core.outbox.finalize import register_finalizer
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item
from chalicelib.otc import ledger
from chalicelib.otc.advance import advance
from chalicelib.otc.model import OWNER_TYPE, order_key


def on_payout_concluded(rt: Runtime, payout: Item) -> None:
    order_id = payout["owner_id"]
    order = rt.store.get(**order_key(order_id))
    if order is not None and payout["id"] not in (order.get("payouts") or {}).values():
        # A refund of a refused taker's deposit (or a leg an admin replaced): no transition
        # of the order tells the ledger, so it is debited here, once.
        ledger.debit_once(rt, order_id, payout)
    advance(rt, order_id)


register_finalizer(OWNER_TYPE, on_payout_concluded)
