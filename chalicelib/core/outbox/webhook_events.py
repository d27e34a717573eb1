"""The payout engine's webhook events: one item added to each terminal transition's transaction."""

from __future__ import annotations

from chalicelib.core.outbox.model import CONFIRMED, FAILED, NEEDS_ATTENTION, public_view
from chalicelib.core.settings import Settings
from chalicelib.core.store import Item, Op
from chalicelib.core.webhooks.events import event_op, register_event_type

TYPES = {
    CONFIRMED: register_event_type("payout.confirmed", "a payout is confirmed at depth"),
    FAILED: register_event_type("payout.failed", "a payout failed; no money moved"),
    NEEDS_ATTENTION: register_event_type(
        "payout.needs_attention", "a payout's outcome is ambiguous; a human must look"
    ),
}
# needs_attention may still turn into confirmed or failed, never the other way round.
SEQUENCE = {NEEDS_ATTENTION: 1, CONFIRMED: 2, FAILED: 2}


def payout_event_op(settings: Settings, payout: Item, now: int) -> Op:
    """`payout` as it is after the transition (its new status and fields merged in)."""
    view = public_view(payout, settings)
    data = {k: view[k] for k in ("id", "status", "asset", "to", "amount", "amount_base_units",
                                 "tx_hash")}
    data["owner_type"] = payout["owner_type"]  # which flow it pays for; never the owner's id
    status = payout["status"]
    return event_op(TYPES[status].name, "payout", payout["id"], SEQUENCE[status], data, now)
