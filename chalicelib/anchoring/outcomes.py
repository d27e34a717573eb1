"""How an anchor transaction ended, told by the payout engine (the "anchor" finalizer).

confirmed        -> the batch is anchored: tx hash, block and the index of its `Anchored` log
failed (revert)  -> one alert, and a new payout (new key: `anchor:<seq>:<attempt>`) if the registry
                    would accept it now; otherwise the batch is stuck for a human (one alert)
needs_attention  -> noted on the batch; the engine keeps watching and may still conclude it

The engine calls this until it returns, so every branch is a conditional write on the batch's
current payout id and status: repeating a call changes nothing and alerts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase

from chalicelib.anchoring.batches import anchor_intent
from chalicelib.anchoring.model import ANCHORED, OWNER_TYPE, REQUESTED, STUCK, batch_key
from chalicelib.anchoring.registry import (
    chain_call,
    find_anchored_log,
    log_index_of,
    read_head,
    topics_of,
)
from chalicelib.anchoring.webhook_events import anchor_confirmed_op
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.log import alert, log
from chalicelib.core.outbox.finalize import register_finalizer
from chalicelib.core.outbox.intents import intent_op
from chalicelib.core.outbox.model import CONFIRMED, FAILED, NEEDS_ATTENTION
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import ConditionFailed, Item, TransactionFailed, update_op
from chalicelib.core.wallets import ANCHOR


class AnchorReceiptMissing(DependencyUnavailable):
    """The node has no successful receipt for a payout the engine confirmed (retried later)."""

    code = "anchor_receipt_missing"


def on_anchor_payout(rt: Runtime, payout: Item) -> None:
    batch_seq = int(payout["owner_id"])
    batch = rt.store.get(**batch_key(batch_seq))
    if batch is None:
        log("anchor_batch_missing", batch_seq=batch_seq, payout_id=payout["id"])
        return
    if batch.get("payout_id") != payout["id"]:
        # An earlier attempt's outcome, already handled when the batch moved on to a new one.
        log("anchor_outcome_superseded", batch_seq=batch_seq, payout_id=payout["id"])
        return
    if payout["status"] == CONFIRMED:
        anchored(rt, batch, payout)
    elif payout["status"] == FAILED:
        reverted(rt, batch, payout)
    elif payout["status"] == NEEDS_ATTENTION:
        attention(rt, batch, payout)


def _current(batch: Item, payout: Item) -> ConditionBase:
    return Attr("status").eq(REQUESTED) & Attr("payout_id").eq(payout["id"])


def anchored(rt: Runtime, batch: Item, payout: Item) -> None:
    """requested -> anchored, with where its `Anchored` log sits (read from the receipt)."""
    if batch["status"] != REQUESTED:
        return
    assert rt.chain is not None
    receipt = rt.chain.receipt(payout["tx_hash"])
    if receipt is None or receipt.status != 1:
        raise AnchorReceiptMissing("no successful receipt for the anchor transaction yet")
    found = find_anchored_log(receipt.logs, batch["contract"], int(batch["batch_seq"]))
    if found is None or topics_of(found)[2] != batch["root"].lower():
        stuck(rt, batch, payout, "the confirmed transaction emitted no Anchored log of this root")
        return
    now = rt.clock.now_ms()
    changes = {
        "status": ANCHORED,
        "tx_hash": receipt.tx_hash,
        "block_number": receipt.block_number,
        "block_hash": receipt.block_hash,
        "log_index": log_index_of(found),
        "anchored_at": now,
        "updated_at": now,
        "attention": None,
        "wpk": None,  # out of the work index: nothing left to do with it
        "wsk": None,
    }
    update = update_op(
        batch_key(int(batch["batch_seq"])), set=changes, condition=_current(batch, payout),
        name="batch",
    )
    try:
        rt.store.transact([update, anchor_confirmed_op(batch, changes, now)])
    except TransactionFailed:
        return
    log("anchor_confirmed", batch_seq=batch["batch_seq"], tx_hash=receipt.tx_hash,
        block=receipt.block_number)


@dataclass(frozen=True)
class Refusal:
    """Why the registry would refuse this batch's anchor now: a snake_case code and a sentence."""

    code: str
    message: str
    details: dict[str, Any] | None = None


def registry_refusal(rt: Runtime, batch: Item) -> Refusal | None:
    """None if the registry would accept this batch now (read from the chain, not remembered)."""
    anchor_wallet = rt.wallet(ANCHOR)
    assert rt.chain is not None and anchor_wallet is not None
    try:
        head = read_head(chain_call(rt.chain), batch["contract"])
    except ValueError:
        return Refusal(
            "registry_unreadable", "the registry address does not answer like an AnchorRegistry"
        )
    if head.submitter.lower() != anchor_wallet.address.lower():
        return Refusal(
            "not_submitter",
            "the anchor wallet is not the registry's submitter",
            {"submitter": head.submitter, "hot_wallet": anchor_wallet.address},
        )
    expected = int(batch["batch_seq"]) - 1
    on_chain_root = "0x" + head.last_root.hex()
    if head.last_seq != expected or on_chain_root != batch["prev"].lower():
        return Refusal(
            "registry_head_mismatch",
            f"the registry's head is batch {head.last_seq} (root {on_chain_root}), "
            f"not batch {expected} with root {batch['prev']}",
            {
                "registry_head": {"batch_seq": head.last_seq, "root": on_chain_root},
                "expected": {"batch_seq": expected, "root": batch["prev"]},
            },
        )
    return None


def why_not_reanchor(rt: Runtime, batch: Item) -> str | None:
    """None if a new anchor transaction would be accepted now; else what a human must look at."""
    attempts = int(batch.get("attempt", 0))
    if attempts >= rt.settings.anchor_max_attempts:
        return f"the anchor transaction reverted {attempts} times"
    refusal = registry_refusal(rt, batch)
    return refusal.message if refusal else None


def reverted(rt: Runtime, batch: Item, payout: Item) -> None:
    """A proven revert: re-anchor with a new payout key if that can succeed, else park it."""
    if batch["status"] != REQUESTED:
        return
    reason = why_not_reanchor(rt, batch)
    if reason is not None:
        stuck(rt, batch, payout, reason)
        return
    attempt = int(batch["attempt"]) + 1
    intent = anchor_intent(rt, batch, attempt)
    now = rt.clock.now_ms()
    op = update_op(
        batch_key(int(batch["batch_seq"])),
        set={"attempt": attempt, "payout_id": intent.id, "attention": None, "updated_at": now},
        condition=_current(batch, payout),
        name="batch",
    )
    try:
        rt.store.transact([intent_op(intent, now), op])
    except TransactionFailed:
        return  # handled by an earlier call of this finalizer
    alert(
        "anchor_reverted",
        batch_seq=batch["batch_seq"],
        payout_id=payout["id"],
        tx_hash=payout.get("tx_hash"),
        reanchor_payout_id=intent.id,
        attempt=attempt,
    )


def stuck(rt: Runtime, batch: Item, payout: Item, reason: str) -> None:
    try:
        rt.store.update(
            batch_key(int(batch["batch_seq"])),
            set={"status": STUCK, "stuck_reason": reason, "updated_at": rt.clock.now_ms()},
            condition=_current(batch, payout),
        )
    except ConditionFailed:
        return
    alert(
        "anchor_needs_attention",
        batch_seq=batch["batch_seq"],
        payout_id=payout["id"],
        tx_hash=payout.get("tx_hash"),
        reason=reason,
    )


def attention(rt: Runtime, batch: Item, payout: Item) -> None:
    """Show it on the batch; the engine already alerted, and may still conclude it."""
    reason = payout.get("attention_reason") or "the anchor transaction needs attention"
    try:
        rt.store.update(
            batch_key(int(batch["batch_seq"])),
            set={"attention": reason, "updated_at": rt.clock.now_ms()},
            condition=_current(batch, payout) & Attr("attention").not_exists(),
        )
    except ConditionFailed:
        pass


register_finalizer(OWNER_TYPE, on_anchor_payout)
