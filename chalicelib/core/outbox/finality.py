"""Watching concluded payouts until final: a re-org before finality undoes `confirmed`.

`confirmed` (or a proven `failed`) is reached at CONFIRMATIONS; a small marker then keeps the
payout watched until the chain's `finalized` block passes its block, or FINALITY_DEPTH
confirmations on a node without real finality. If its receipt vanishes before that, the payout
goes back to `broadcast` and the identical stored bytes are sent again: the same transaction
lands once more (or the confirmer follows it as any other). If it moved to another block, the
new block is remembered. At finality the payout gets `final_at` and the marker goes.
"""

from __future__ import annotations

from chalicelib.core.chain import BroadcastRejected, Receipt
from chalicelib.core.confirmations import count
from chalicelib.core.log import alert, log
from chalicelib.core.outbox.engine import Run
from chalicelib.core.outbox.model import (
    BROADCAST,
    CONFIRMED,
    FAILED,
    FINALITY_QUEUE,
    finality_key,
    index_fields,
    payout_key,
    unchanged,
)
from chalicelib.core.outbox.webhook_events import REORGED, payout_event_op
from chalicelib.core.store import Item, TransactionFailed, delete_op


def finality_pass(run: Run, head: int) -> None:
    final_block: int | None = None
    asked = False
    for copy in run.store.iter_work(FINALITY_QUEUE):
        if str(copy.get("wallet", "")).lower() != run.wallet.lower():
            continue  # another wallet's payout: its own run watches it
        if not run.time_left():
            return
        if not asked:
            final_block, asked = run.chain.finalized_block(head), True
        payout = run.store.get(**payout_key(copy["payout_id"]))
        watch(run, copy, payout, head, final_block)


def watch(run: Run, marker: Item, payout: Item | None, head: int, final: int | None) -> None:
    if (
        payout is None
        or payout["status"] not in (CONFIRMED, FAILED)
        or payout.get("tx_hash") != marker["tx_hash"]
    ):
        _drop(run, marker)  # concluded again since (a newer marker) or gone: nothing to watch
        return
    receipt = run.chain.receipt(marker["tx_hash"])
    if receipt is None:
        reorged_after_conclusion(run, payout)
    elif receipt.block_hash != payout.get("mined_block_hash"):
        _moved(run, payout, receipt)
    elif (final is not None and receipt.block_number <= final) or count(
        head, receipt.block_number
    ) >= run.rt.settings.finality_depth:
        _final(run, payout)


def _drop(run: Run, marker: Item) -> None:
    try:
        run.commit([delete_op(finality_key(marker["payout_id"]), name="finality")])
    except TransactionFailed:
        pass


def _final(run: Run, payout: Item) -> None:
    op = run.update(
        payout,
        condition=unchanged(payout),
        final_at=run.now(),
    )
    try:
        run.commit([op, delete_op(finality_key(payout["id"]), name="finality")])
    except TransactionFailed:
        return
    run.summary["final"] += 1
    log("payout_final", payout_id=payout["id"], tx_hash=payout.get("tx_hash"))


def _moved(run: Run, payout: Item, receipt: Receipt) -> None:
    """Re-included in another block by a re-org: still mined, the finality clock restarts."""
    op = run.update(
        payout,
        condition=unchanged(payout),
        mined_block=receipt.block_number,
        mined_block_hash=receipt.block_hash,
    )
    try:
        run.commit([op])
    except TransactionFailed:
        pass


def reorged_after_conclusion(run: Run, payout: Item) -> None:
    """The mined transaction is gone before finality: back to broadcast, same bytes again."""
    changes = {
        "status": BROADCAST,
        **index_fields(BROADCAST, payout["created_at"], payout["id"], wallet=payout["wallet"]),
        "mined_block": None,
        "mined_block_hash": None,
        "confirmations": 0,
        "rebroadcast_of": None,
        "broadcast_at": run.now(),
        "reorgs": int(payout.get("reorgs", 0)) + 1,
    }
    op = run.update(payout, condition=unchanged(payout), **changes)
    # Integrations were told of the conclusion: they hear that it is undone, in the same write.
    event = payout_event_op(run.rt.settings, {**payout, **changes}, run.now(), REORGED)
    try:
        run.commit([op, delete_op(finality_key(payout["id"]), name="finality"), event])
    except TransactionFailed:
        return
    run.transition(payout["status"], BROADCAST)
    # The owning flow was told the outcome already; a human should know it is being redone.
    alert("payout_reorged_after_conclusion", payout_id=payout["id"], tx_hash=payout["tx_hash"])
    attempt = next((a for a in payout["attempts"] if a["hash"] == payout["tx_hash"]), None)
    if attempt is None:
        return
    try:
        run.chain.send_raw(bytes.fromhex(attempt["raw_tx"]))
    except BroadcastRejected as exc:
        log("rebroadcast_refused", payout_id=payout["id"], reason=exc.message[:200])
