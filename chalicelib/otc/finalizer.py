"""The payout engine tells the OTC flow that a payout of an order concluded.

It calls the same idempotent `advance` the reconciler uses (unfenced: every write is a
compare-and-set anyway), so whichever of the two sees a conclusion first moves the order, and
the other finds nothing left to do. A refund of a refused taker's deposit is owned by the order
too but is none of its legs: `advance` then finds nothing to do, which is right.
"""

from __future__ import annotations

from chalicelib.core.outbox.finalize import register_finalizer
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item
from chalicelib.otc.advance import advance
from chalicelib.otc.model import OWNER_TYPE


def on_payout_concluded(rt: Runtime, payout: Item) -> None:
    advance(rt, payout["owner_id"])


register_finalizer(OWNER_TYPE, on_payout_concluded)
