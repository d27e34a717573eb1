"""A claim's states and the writes that move them, shared by the claim route, the payout
finalizer and the admin's resolution.

The code item says where the code is (`state`, the current `attempts`); one claim record per
attempt (`code#<code>` / `claim#<n>`) keeps the history. Every move is a conditional write on
both as they were read, together with the event's counters, in one transaction.

    code:   available -> claimed -> paid
                         claimed -> available          (payout failed: proven, no money moved)
                         claimed -> needs_attention -> paid | available (payout outcome or admin)
            available -> revoked
    claim:  pending -> paid | failed | needs_attention;  needs_attention -> paid | failed |
            released (admin);  released -> paid_after_release (the old payout landed after all)
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core.clock import iso
from chalicelib.core.money import format_amount
from chalicelib.core.outbox.purposes import register_owner
from chalicelib.core.settings import Settings
from chalicelib.core.store import Item, Op, update_op
from chalicelib.core.wallets import FAUCET
from chalicelib.faucet import counters
from chalicelib.faucet.config import symbol_of
from chalicelib.faucet.counters import AVAILABLE
from chalicelib.faucet.keys import (
    NEEDS_ATTENTION_QUEUE,
    claim_key,
    code_key,
    wallet_claims_key,
)

CLAIM_OWNER = "claim"
register_owner(CLAIM_OWNER, FAUCET)  # event claims are paid from the faucet wallet only
PENDING = "pending"
PAID = "paid"
FAILED = "failed"
NEEDS_ATTENTION = "needs_attention"
RELEASED = "released"
PAID_AFTER_RELEASE = "paid_after_release"
OPEN = (PENDING, NEEDS_ATTENTION)  # claim statuses whose code is still held by that claim


def payout_key_of(code: str, attempt: int) -> str:
    """One payout per attempt: a retry after a proven failure is a new payout, never the old."""
    return f"claim:{code}:{attempt}"


def owner_id(code: str, attempt: int) -> str:
    return f"{code}#{attempt}"


def split_owner(value: str) -> tuple[str, int]:
    code, _, attempt = value.rpartition("#")
    return code, int(attempt)


def claim_op(claim: Item, status: str, now: int, **fields: Any) -> Op:
    """Move one claim record from the status it was read in."""
    changes: dict[str, Any] = {"status": status, "updated_at": now, **fields}
    if status == NEEDS_ATTENTION:
        # Listed for the admin while it waits for a payout outcome or a decision.
        changes |= {"wpk": NEEDS_ATTENTION_QUEUE, "wsk": f"{now:013d}#{claim['code']}"}
    else:
        changes |= {"wpk": None, "wsk": None}
    return update_op(
        claim_key(claim["code"], int(claim["attempt"])),
        set=changes,
        condition=Attr("status").eq(claim["status"]),
        name="claim",
    )


def code_op(item: Item, state: str, now: int, *, release: bool = False) -> Op:
    """Move the code from the state and attempt it was read in (release: claimable again)."""
    changes: dict[str, Any] = {"state": state, "updated_at": now}
    if release:
        changes |= {"wallet": None, "payout_id": None, "claimed_at": None}
    return update_op(
        code_key(item["code"]),
        set=changes,
        condition=Attr("state").eq(item["state"]) & Attr("attempts").eq(item["attempts"]),
        name="code",
    )


def settle_ops(item: Item, claim: Item, claim_status: str, now: int, **fields: Any) -> list[Op]:
    """The code's current claim ends paid: code, claim record and counters."""
    return [
        claim_op(claim, claim_status, now, **fields),
        code_op(item, counters.PAID, now),
        counters.count_op(item["event_id"], counters.move(item["state"], counters.PAID),
                          require_active=False),
    ]


def release_ops(item: Item, claim: Item, claim_status: str, now: int, **fields: Any) -> list[Op]:
    """The code's current claim ends without payment: the code is claimable again, the claim
    stays in the history, and the wallet's per-event allowance is given back."""
    extra = {counters.FAILED_ATTEMPTS: 1} if claim_status == FAILED else {}
    return [
        claim_op(claim, claim_status, now, **fields),
        code_op(item, AVAILABLE, now, release=True),
        counters.count_op(item["event_id"], counters.move(item["state"], AVAILABLE, **extra),
                          require_active=False),
        update_op(
            wallet_claims_key(item["event_id"], claim["wallet"]),
            add={"claims": -1},
            condition=Attr("claims").gt(0),
            name="wallet",
        ),
    ]


def claim_view(settings: Settings, claim: Item, payout: Item | None) -> dict[str, Any]:
    """What a participant sees of a claim: no event data beyond what the code pays."""
    decimals = int(claim["decimals"])
    return {
        "code": claim["code"],
        "status": claim["status"],
        "wallet": claim["wallet"],
        "asset": symbol_of(settings, claim["asset"]),
        "amount": format_amount(int(claim["amount"]), decimals),
        "payout_id": claim["payout_id"],
        "payout_status": payout["status"] if payout else None,
        "tx_hash": payout.get("tx_hash") if payout else None,
        "attempt": int(claim["attempt"]),
        "claimed_at": iso(int(claim["created_at"])),
    }
