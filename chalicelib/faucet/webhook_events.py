"""The faucet's webhook events: claim.paid, claim.failed, claim.released and drip.paid.

A claim's resource id is a digest of its code, never the code: a code released after a failure
is claimable again, and a webhook payload must not carry anything that spends money.
"""

from __future__ import annotations

import hashlib

from chalicelib.core.money import format_amount
from chalicelib.core.store import Item, Op
from chalicelib.core.webhooks.events import event_op, register_event_type
from chalicelib.faucet.claimstate import FAILED, PAID, RELEASED

CLAIM_PAID = register_event_type("claim.paid", "an event claim code's payout is confirmed")
CLAIM_FAILED = register_event_type(
    "claim.failed", "an event claim's payout failed (no money moved); the code is claimable again"
)
CLAIM_RELEASED = register_event_type(
    "claim.released",
    "an admin released an event claim whose payout was ambiguous; the code is claimable again",
)
DRIP_PAID = register_event_type("drip.paid", "a faucet drip's payout is confirmed")
CLAIM_EVENTS = {PAID: CLAIM_PAID, FAILED: CLAIM_FAILED, RELEASED: CLAIM_RELEASED}


def claim_ref(code: str) -> str:
    return "clm_" + hashlib.sha256(code.encode()).hexdigest()[:24]


def claim_event_op(claim: Item, outcome: str, payout: Item, now: int) -> Op:
    """A claim's `outcome` (PAID, FAILED, RELEASED); its sequence is the attempt (a code may
    fail or be released, then be claimed again)."""
    data = {
        "claim": claim_ref(claim["code"]),
        "event_id": claim["event_id"],
        "attempt": int(claim["attempt"]),
        "wallet": claim["wallet"],
        "asset": claim["asset"],
        "amount": format_amount(int(claim["amount"]), int(claim["decimals"])),
        "payout_id": payout["id"],
        "tx_hash": payout.get("tx_hash"),
        "status": outcome,
    }
    type_ = CLAIM_EVENTS[outcome]
    return event_op(type_.name, "claim", data["claim"], data["attempt"], data, now)


def drip_paid_op(drip: Item, payout: Item, now: int) -> Op:
    data = {
        "drip_id": drip["id"],
        "wallet": drip["wallet"],
        "asset": drip["asset"],
        "amount_base_units": str(drip["amount"]),
        "payout_id": payout["id"],
        "tx_hash": payout.get("tx_hash"),
        "status": "paid",
    }
    return event_op(DRIP_PAID.name, "drip", drip["id"], 1, data, now)
