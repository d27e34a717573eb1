"""The bounties flow's webhook event: a winner's payment was recorded (verified on chain)."""

from __future__ import annotations

from chalicelib.core.store import Item, Op
from chalicelib.core.webhooks.events import event_op, register_event_type

PAYMENT_RECORDED = register_event_type(
    "bounty.payment_recorded", "a bounty winner's payment was verified on chain and recorded"
)


def payment_recorded_op(bounty: Item, winner: Item, tx_hash: str, amount: int, now: int) -> Op:
    data = {
        "bounty_id": bounty["id"],
        "submission_id": winner["submission_id"],
        "winner": winner["submitter"],
        "asset": bounty["asset"],
        "amount_base_units": str(amount),
        "tx_hash": tx_hash,
    }
    resource = f"{bounty['id']}:{winner['submission_id']}"
    return event_op(PAYMENT_RECORDED.name, "bounty_payment", resource, 1, data, now)
