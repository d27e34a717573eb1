"""The confirmer: follows broadcast payouts to a receipt at depth, or unsticks them.

For every hash ever attempted for the payout's nonce it asks for a receipt (a replacement may
lose to the original). A receipt at depth concludes the payout; a receipt that vanished (re-org)
sends it back to plain `broadcast`. With no receipt past the timeout it first rebroadcasts the
identical stored bytes (a dropped transaction), then replaces it at the same nonce with both fee
fields raised, keeping every hash; past the fee cap a human decides.
"""

from __future__ import annotations

from boto3.dynamodb.conditions import Attr

from chalicelib.core.chain import BroadcastRejected, ChainUnavailable, Receipt
from chalicelib.core.log import log
from chalicelib.core.outbox import txbuild
from chalicelib.core.outbox.engine import Run
from chalicelib.core.outbox.model import BROADCAST, NEEDS_ATTENTION, queue
from chalicelib.core.outbox.outcomes import concluded_on_chain, needs_attention
from chalicelib.core.outbox.sender import fees
from chalicelib.core.store import Item, TransactionFailed


def confirm_pass(run: Run) -> None:
    head = run.chain.block_number()
    # needs_attention payouts that were sent are still watched: their transaction may yet land.
    watched = [p for p in run.store.iter_work(queue(BROADCAST)) if run.owns(p)] + [
        p for p in run.store.iter_work(queue(NEEDS_ATTENTION)) if p.get("attempts") and run.owns(p)
    ]
    for payout in watched:
        if not run.time_left():
            return
        try:
            check(run, payout, head)
        except ChainUnavailable:
            run.summary["chain_unavailable"] += 1
            return


def first_receipt(run: Run, payout: Item) -> Receipt | None:
    for attempt in payout.get("attempts", []):
        receipt = run.chain.receipt(attempt["hash"])
        if receipt is not None:
            return receipt
    return None


def check(run: Run, payout: Item, head: int) -> None:
    receipt = first_receipt(run, payout)
    if receipt is not None:
        depth = head - receipt.block_number
        if depth >= run.rt.settings.confirmations:
            concluded_on_chain(run, payout, receipt, depth)
        elif payout.get("mined_block_hash") != receipt.block_hash:
            remember_mined(run, payout, receipt)
        return
    if payout.get("mined_block") is not None:
        reorged(run, payout)
        return
    latest = payout["attempts"][-1]
    if payout.get("cancel_requested_at") and not latest.get("noop"):
        replace(run, payout, latest, noop=True)  # the admin asked: use the nonce up, now
        return
    if payout["status"] != BROADCAST:
        return  # parked for a human; only a receipt moves it now
    waited_ms = run.now() - int(payout.get("broadcast_at", 0))
    if waited_ms < run.rt.settings.payout_rebroadcast_seconds * 1000:
        return
    if run.chain.nonce(run.wallet, "latest") > int(payout["nonce"]):
        # The nonce is used up but none of our hashes has a receipt: either a re-org is under
        # way or a transaction we did not sign took it. Never guess: a human looks.
        needs_attention(run, payout, "nonce consumed without a receipt for any of our hashes")
        return
    if payout.get("rebroadcast_of") != latest["hash"]:
        rebroadcast(run, payout, latest)
    else:
        replace(run, payout, latest, noop=bool(latest.get("noop")))


def remember_mined(run: Run, payout: Item, receipt: Receipt) -> None:
    """Note where it was mined, so a later disappearance is recognised as a re-org."""
    op = run.update(
        payout,
        condition=Attr("status").eq(payout["status"]),
        mined_block=receipt.block_number,
        mined_block_hash=receipt.block_hash,
        tx_hash=receipt.tx_hash,
    )
    try:
        run.commit([op])
        run.summary["mined"] += 1
    except TransactionFailed:
        pass


def reorged(run: Run, payout: Item) -> None:
    op = run.update(
        payout,
        condition=Attr("status").eq(payout["status"]),
        mined_block=None,
        mined_block_hash=None,
        broadcast_at=run.now(),
    )
    try:
        run.commit([op])
    except TransactionFailed:
        return
    log("payout_reorged", payout_id=payout["id"], block=payout.get("mined_block"))
    run.summary["reorged"] += 1


def rebroadcast(run: Run, payout: Item, attempt: Item) -> None:
    """Send the identical stored bytes again (the node may have dropped them)."""
    try:
        run.chain.send_raw(bytes.fromhex(attempt["raw_tx"]))
    except ChainUnavailable:
        raise
    except BroadcastRejected:
        pass  # known, underpriced or nonce-too-low: all mean look at receipts, not resend
    op = run.update(
        payout,
        condition=Attr("status").eq(BROADCAST),
        rebroadcast_of=attempt["hash"],
        broadcast_at=run.now(),
    )
    try:
        run.commit([op])
        run.summary["rebroadcast"] += 1
    except TransactionFailed:
        pass


def replace(run: Run, payout: Item, latest: Item, *, noop: bool = False) -> None:
    """Same nonce, both fee fields raised, the new attempt stored before it is sent.

    With `noop` the replacement is a 0-value transfer to our own wallet (an admin cancel): if it
    is the one mined, the nonce is consumed by our own no-op, which proves no money moved.
    """
    bump = run.rt.settings.payout_fee_bump_percent
    current_max, current_tip = fees(run)
    max_fee = txbuild.bumped(int(latest["max_fee"]), current_max, bump)
    tip = txbuild.bumped(int(latest["tip"]), current_tip, bump)
    if max_fee > run.rt.settings.payout_max_fee_wei:
        if payout["status"] == BROADCAST:
            needs_attention(run, payout, "stuck and the replacement fee would exceed the cap")
        return
    attempt = txbuild.sign_attempt(
        run.signer,
        payout,
        int(payout["nonce"]),
        run.rt.settings.chain_id,
        int(latest["gas"]),
        max_fee,
        tip,
        run.now(),
        noop=noop,
    )
    tx_hash, raw = attempt["hash"], bytes.fromhex(attempt["raw_tx"])
    attempts = [*payout["attempts"], attempt]
    op = run.update(
        payout,
        condition=Attr("status").eq(payout["status"]) & Attr("version").eq(payout["version"]),
        attempts=attempts,
        tx_hash=tx_hash,
        broadcast_at=run.now(),
    )
    try:
        run.commit([op])
    except TransactionFailed:
        return
    run.summary["replaced"] += 1
    log(
        "payout_replaced",
        payout_id=payout["id"],
        nonce=payout["nonce"],
        tx_hash=tx_hash,
        attempts=len(attempts),
    )
    try:
        run.chain.send_raw(raw)
    except ChainUnavailable:
        raise
    except BroadcastRejected as exc:
        # Stored already; the next pass follows every hash, the old one included.
        log("replacement_rejected", payout_id=payout["id"], reason=exc.message[:200])
