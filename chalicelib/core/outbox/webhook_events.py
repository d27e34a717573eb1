"""The payout engine's webhook events: one item added to each terminal transition's transaction."""

from __future__ import annotations

from chalicelib.core.outbox.model import CONFIRMED, FAILED, NEEDS_ATTENTION, public_view
from chalicelib.core.settings import Settings
from chalicelib.core.store import Item, Op
from chalicelib.core.webhooks.events import event_op, register_event_type

# Not a status: a concluded payout whose transaction a re-org undid before finality.
REORGED = "reorged"
TYPES = {
    CONFIRMED: register_event_type("payout.confirmed", "a payout is confirmed at depth"),
    FAILED: register_event_type("payout.failed", "a payout failed; no money moved"),
    NEEDS_ATTENTION: register_event_type(
        "payout.needs_attention", "a payout's outcome is ambiguous; a human must look"
    ),
    REORGED: register_event_type(
        "payout.reorged",
        "a re-org undid a concluded payout's transaction before finality; it is sent again",
    ),
}
# needs_attention may still turn into confirmed or failed, never the other way round. A re-org
# starts a new round (`reorgs` on the payout counts them): its event and the round's events
# get higher sequences, hence new ids, so a receiver that saw the first round hears them all.
SEQUENCE = {REORGED: 0, NEEDS_ATTENTION: 1, CONFIRMED: 2, FAILED: 2}
ROUND = 3


def payout_event_op(settings: Settings, payout: Item, now: int, kind: str | None = None) -> Op:
    """`payout` as it is after the transition (its new status and fields merged in); `kind`
    REORGED for the re-org event, else its status's event."""
    view = public_view(payout, settings)
    data = {k: view[k] for k in ("id", "status", "asset", "to", "amount", "amount_base_units",
                                 "tx_hash")}
    data["owner_type"] = payout["owner_type"]  # which flow it pays for; never the owner's id
    kind = kind or payout["status"]
    sequence = SEQUENCE[kind] + ROUND * int(payout.get("reorgs", 0))
    return event_op(TYPES[kind].name, "payout", payout["id"], sequence, data, now)
