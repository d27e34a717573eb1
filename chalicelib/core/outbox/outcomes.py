"""Terminal transitions of a payout: confirmed, failed (proven), needs_attention (ambiguous).

Each is one transaction: the payout's conditional update plus the finalize marker that makes
the owning flow hear about it. Only the write that wins raises the alert, so a state that needs
a human alerts once, not once per poll.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core.chain import Receipt
from chalicelib.core.log import alert, log
from chalicelib.core.outbox.engine import Run
from chalicelib.core.outbox.model import (
    CONFIRMED,
    FAILED,
    NEEDS_ATTENTION,
    finality_marker,
    finalize_marker,
    index_fields,
)
from chalicelib.core.outbox.webhook_events import payout_event_op
from chalicelib.core.store import Item, TransactionFailed, put_op


def _conclude(
    run: Run, payout: Item, status: str, *, watch: str | None = None, **changes: Any
) -> bool:
    """One terminal transition; with `watch` (the mined hash) it stays watched until final."""
    old = payout["status"]
    update = run.update(
        payout,
        condition=Attr("status").eq(old),
        status=status,
        **index_fields(status, payout["created_at"], payout["id"]),
        **changes,
    )
    marker = put_op(finalize_marker(payout, status, run.now()), name="finalize")
    after = {**payout, **changes, "status": status, "updated_at": run.now()}
    event = payout_event_op(run.rt.settings, after, run.now())
    ops = [update, marker, event]
    if watch is not None:
        ops.append(put_op(finality_marker(payout, run.wallet, watch, run.now()), name="finality"))
    try:
        run.commit(ops)
    except TransactionFailed:
        return False  # someone concluded it first; they alerted if needed
    run.transition(old, status)
    return True


def needs_attention(run: Run, payout: Item, reason: str) -> None:
    """Park an ambiguous payout for a human. It stays locked: nothing is retried blindly."""
    if _conclude(run, payout, NEEDS_ATTENTION, attention_reason=reason):
        alert(
            "payout_needs_attention",
            payout_id=payout["id"],
            reason=reason,
            nonce=payout.get("nonce"),
        )


def concluded_on_chain(run: Run, payout: Item, receipt: Receipt, depth: int) -> None:
    """A receipt at confirmation depth: status 1 is confirmed, status 0 is a proven failure.

    So is our own no-op (an admin cancel) taking the nonce: the payout's bytes can never be
    mined any more, and the no-op moved nothing.
    """
    noop = any(a.get("noop") and a["hash"] == receipt.tx_hash for a in payout["attempts"])
    status = CONFIRMED if receipt.status == 1 and not noop else FAILED
    done = _conclude(
        run,
        payout,
        status,
        watch=receipt.tx_hash,
        tx_hash=receipt.tx_hash,
        mined_block=receipt.block_number,
        mined_block_hash=receipt.block_hash,
        gas_used=receipt.gas_used,
        confirmations=depth,
        attention_reason=None,
    )
    if not done:
        return
    if noop:
        log("payout_cancelled", payout_id=payout["id"], tx_hash=receipt.tx_hash)
    elif status == FAILED:
        alert("payout_reverted", payout_id=payout["id"], tx_hash=receipt.tx_hash)
    else:
        log("payout_confirmed", payout_id=payout["id"], tx_hash=receipt.tx_hash)
