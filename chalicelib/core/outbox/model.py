"""The payout record: ids, states, index placement, and the public view.

A payout is stored as one item (`payout#<id>` / `payout`). Its id is derived from the business
event's idempotency key, so the same event can never create two payouts. While a job has work
with it, the item sits in the work index under `payouts#<status>` (an intent under
`payouts#requested#<purpose>`, a signed or broadcast payout under `payouts#<status>#<wallet>`:
each lane reads only its own wallet's work); terminal payouts stay listed
under their status for the admin listing, and a separate small marker item (`payout#<id>` /
`finalize`) sits under `payouts#finalize` until the owning flow has been told the outcome.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase

from chalicelib.core.assets import NATIVE, NATIVE_DECIMALS
from chalicelib.core.clock import iso
from chalicelib.core.confirmations import count
from chalicelib.core.money import format_amount
from chalicelib.core.settings import Settings
from chalicelib.core.store import Item, Key, key
from chalicelib.core.wallets import PURPOSES

REQUESTED = "requested"
SIGNED = "signed"
BROADCAST = "broadcast"
CONFIRMED = "confirmed"
FAILED = "failed"
NEEDS_ATTENTION = "needs_attention"

STATUSES = (REQUESTED, SIGNED, BROADCAST, CONFIRMED, FAILED, NEEDS_ATTENTION)
# The statuses in which a payout holds a nonce of its wallet and that wallet's lane works it.
WALLET_STATUSES = (SIGNED, BROADCAST)
# The outcomes the owning flow is told about. needs_attention is reported too (the flow keeps
# its state locked and shows it), and may still turn into confirmed or failed later.
FINAL = (CONFIRMED, FAILED, NEEDS_ATTENTION)
FINALIZE_QUEUE = "payouts#finalize"
# Payouts concluded on chain but not final yet: watched for a re-org until the chain's
# finality passes their block.
FINALITY_QUEUE = "payouts#finality"


def payout_id(idem_key: str) -> str:
    return "po_" + hashlib.sha256(idem_key.encode()).hexdigest()[:32]


def payout_key(pid: str) -> Key:
    return key(f"payout#{pid}", "payout")


def finalize_key(pid: str) -> Key:
    return key(f"payout#{pid}", "finalize")


def finality_key(pid: str) -> Key:
    return key(f"payout#{pid}", "finality")


def finality_marker(payout: Item, wallet: str, tx_hash: str, now: int) -> Item:
    return {
        **finality_key(payout["id"]),
        "payout_id": payout["id"],
        "wallet": wallet,
        "tx_hash": tx_hash,
        "wpk": FINALITY_QUEUE,
        "wsk": f"{now:013d}#{payout['id']}",
    }


def queue(status: str) -> str:
    return f"payouts#{status}"


def requested_queue(purpose: str | None) -> str:
    """Where intents of `purpose` wait for a nonce: one queue per purpose, so a lane reads only
    its own backlog and a faucet burst costs the escrow lane (and the reserves check) nothing.
    None: the one queue intents were written to before the split (still read until empty)."""
    return queue(REQUESTED) if purpose is None else f"{queue(REQUESTED)}#{purpose}"


def requested_queues(purposes: Iterable[str] = PURPOSES) -> list[str]:
    """The queues holding intents of `purposes`: theirs, then the queue from before the split."""
    return [requested_queue(p) for p in purposes] + [requested_queue(None)]


def wallet_queue(status: str, wallet: str | None) -> str:
    """Where payouts holding a nonce of `wallet` wait in `status` (signed, broadcast): one queue
    per wallet, so each lane follows only its own wallet's payouts. None: the one queue from
    before the split."""
    return queue(status) if wallet is None else f"{queue(status)}#{wallet.lower()}"


def wallet_queues(status: str, wallets: Iterable[str]) -> list[str]:
    return [wallet_queue(status, w) for w in wallets] + [wallet_queue(status, None)]


def status_queues(status: str, wallets: Iterable[str] = ()) -> list[str]:
    """Every queue holding payouts in `status` (`wallets`: the ones a per-wallet status has)."""
    if status == REQUESTED:
        return requested_queues()
    if status in WALLET_STATUSES:
        return wallet_queues(status, wallets)
    return [queue(status)]


def index_fields(
    status: str,
    created_at: int,
    pid: str,
    *,
    purpose: str | None = None,
    wallet: str | None = None,
) -> dict[str, str]:
    """Work-index placement for a payout in `status` (FIFO by creation time): an intent waits
    in its purpose's queue, a signed or broadcast payout in its wallet's."""
    if status == REQUESTED:
        wpk = requested_queue(purpose)
    elif status in WALLET_STATUSES:
        if wallet is None:
            raise ValueError(f"a {status} payout is indexed under its wallet")
        wpk = wallet_queue(status, wallet)
    else:
        wpk = queue(status)
    return {"wpk": wpk, "wsk": f"{created_at:013d}#{pid}"}


def finalize_queue(purpose: str | None) -> str:
    """Where the finalize markers of `purpose`'s payouts wait: one queue per purpose, so a
    settlement's flow hears of it without waiting behind a faucet burst's markers. None: the
    queue of payouts without a purpose and of markers written before the split."""
    return FINALIZE_QUEUE if purpose is None else f"{FINALIZE_QUEUE}#{purpose}"


def finalize_queues(purposes: Iterable[str] = PURPOSES) -> list[str]:
    return [finalize_queue(p) for p in purposes] + [finalize_queue(None)]


def finalize_marker(payout: Item, status: str, now: int) -> Item:
    return {
        **finalize_key(payout["id"]),
        "payout_id": payout["id"],
        "owner_type": payout["owner_type"],
        "owner_id": payout["owner_id"],
        "status": status,
        "wpk": finalize_queue(payout.get("purpose")),
        "wsk": f"{now:013d}#{payout['id']}",
    }


def amount_of(payout: Item) -> int:
    return int(payout["amount"])


def decimals_for(asset: str, settings: Settings) -> int | None:
    if asset == NATIVE:
        return NATIVE_DECIMALS
    if settings.token_address and asset.lower() == settings.token_address.lower():
        return settings.token_decimals
    return None


def public_view(payout: Item, settings: Settings, head: int | None = None) -> dict[str, Any]:
    """What `GET /v1/payouts/{id}` shows: no raw bytes, no owner internals."""
    decimals = decimals_for(payout["asset"], settings)
    amount = amount_of(payout)
    # The including block is confirmation 1: the measure the confirm job compares with
    # CONFIRMATIONS, and the one wallets and explorers show.
    mined = payout.get("mined_block")
    if mined is not None and head is not None:
        confirmations = count(head, int(mined))
    else:
        confirmations = int(payout.get("confirmations", 0))
    return {
        "id": payout["id"],
        "status": payout["status"],
        "asset": payout["asset"],
        "to": payout["to"],
        "amount": format_amount(amount, decimals) if decimals is not None else str(amount),
        "amount_base_units": str(amount),
        "tx_hash": payout.get("tx_hash"),
        "attempts": len(payout.get("attempts", [])),
        "confirmations": confirmations,
        # Past the chain's finality (or FINALITY_DEPTH): no re-org can undo it any more.
        "final": bool(payout.get("final_at")),
        "created_at": iso(payout["created_at"]),
        "updated_at": iso(payout["updated_at"]),
    }


def unchanged(payout: Item) -> ConditionBase:
    """Condition: the payout is still exactly as it was read (same status, same version)."""
    return Attr("status").eq(payout["status"]) & Attr("version").eq(payout["version"])
