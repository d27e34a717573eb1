"""The confirmer: follows broadcast payouts to a receipt at depth, or unsticks them.

For every hash ever attempted for the payout's nonce it asks for a receipt (a replacement may
lose to the original). A receipt at depth concludes the payout; a receipt that vanished (re-org)
sends it back to plain `broadcast`. With no receipt past the timeout it first rebroadcasts the
identical stored bytes (a dropped transaction), then replaces it at the same nonce with both fee
fields raised, keeping every hash; past the fee cap a human decides, while the stored bytes keep
being sent (and a nonce the node lost is filled by our own no-op). Each run works for one wallet
and touches only that wallet's payouts, signed only with that wallet's key.
"""

from __future__ import annotations

import itertools

from boto3.dynamodb.conditions import Attr

from chalicelib.core.chain import (
    AlreadyKnown,
    BroadcastRejected,
    ChainUnavailable,
    Receipt,
    ReplacementUnderpriced,
)
from chalicelib.core.confirmations import count
from chalicelib.core.log import log
from chalicelib.core.outbox import txbuild
from chalicelib.core.outbox.engine import Run
from chalicelib.core.outbox.finality import finality_pass
from chalicelib.core.outbox.model import BROADCAST, NEEDS_ATTENTION, unchanged
from chalicelib.core.outbox.outcomes import concluded_on_chain, needs_attention
from chalicelib.core.outbox.sender import fees
from chalicelib.core.store import Item, TransactionFailed


def confirm_pass(run: Run) -> None:
    head = run.chain.block_number()
    # needs_attention payouts that were sent are still watched: their transaction may yet land.
    # Read one at a time: the deadline is checked before each read, not after reading them all.
    watched = itertools.chain(
        run.each_mine(BROADCAST),
        (p for p in run.each_mine(NEEDS_ATTENTION) if p.get("attempts")),
    )
    for payout in watched:
        if not run.time_left():
            return
        try:
            check(run, payout, head)
        except ChainUnavailable:
            run.summary["chain_unavailable"] += 1
            return
    finality_pass(run, head)


def first_receipt(run: Run, payout: Item) -> Receipt | None:
    for attempt in payout.get("attempts", []):
        receipt = run.chain.receipt(attempt["hash"])
        if receipt is not None:
            return receipt
    return None


def check(run: Run, payout: Item, head: int) -> None:
    receipt = first_receipt(run, payout)
    if receipt is not None:
        depth = count(head, receipt.block_number)
        if depth >= run.rt.settings.confirmations:
            concluded_on_chain(run, payout, receipt, depth)
        elif payout.get("mined_block_hash") != receipt.block_hash:
            remember_mined(run, payout, receipt)
        return
    if payout.get("mined_block") is not None:
        reorged(run, payout)
        return
    latest = payout["attempts"][-1]
    if cancel_pending(payout, latest):
        replace(run, payout, latest, noop=True)  # the admin asked: use the nonce up, now
        return
    waited_ms = run.now() - int(payout.get("broadcast_at", 0))
    if waited_ms < run.rt.settings.payout_rebroadcast_seconds * 1000:
        return
    if run.chain.nonce(run.wallet, "latest") > int(payout["nonce"]):
        # The nonce is used up but none of our hashes has a receipt: either a re-org is under
        # way or a transaction we did not sign took it. Never guess: a human looks.
        if payout["status"] == BROADCAST:
            needs_attention(run, payout, "nonce consumed without a receipt for any of our hashes")
        return
    if payout["status"] != BROADCAST:
        keep_alive(run, payout, latest)  # parked for a human, but its nonce must not stall
    elif payout.get("rebroadcast_of") != latest["hash"]:
        rebroadcast(run, payout, latest)
    else:
        replace(run, payout, latest, noop=bool(latest.get("noop")))


def cancel_pending(payout: Item, latest: Item) -> bool:
    """An operator's cancel (or a newer one, with a higher max fee) has no no-op signed yet."""
    asked = payout.get("cancel_requested_at")
    if not asked:
        return False
    return not (latest.get("noop") and int(latest.get("signed_at", 0)) >= int(asked))


def keep_alive(run: Run, payout: Item, latest: Item) -> None:
    """A parked payout keeps its nonce filled: its stored bytes are sent again, and if the node
    lost every transaction we signed for that nonce and refuses the bytes, our own no-op fills
    it, so the nonces behind it are not stuck forever. The payout ends `failed` only if that
    no-op is what gets mined (its receipt proves no money moved)."""
    if not send_again(run, latest) and not any(
        run.chain.transaction(a["hash"]) for a in payout["attempts"]
    ):
        fill_gap(run, payout, latest)
        return
    touch(run, payout)
    run.summary["rebroadcast"] += 1


def send_again(run: Run, attempt: Item) -> bool:
    """Send stored bytes; True when the node holds them (accepted now or known already)."""
    try:
        run.chain.send_raw(bytes.fromhex(attempt["raw_tx"]))
    except (AlreadyKnown, ReplacementUnderpriced):
        return True
    except BroadcastRejected:
        return False
    return True


def touch(run: Run, payout: Item) -> None:
    """Restart the payout's wait (it is looked at again after the rebroadcast timeout)."""
    op = run.update(
        payout,
        condition=unchanged(payout),
        broadcast_at=run.now(),
    )
    try:
        run.commit([op])
    except TransactionFailed:
        pass


def fill_gap(run: Run, payout: Item, latest: Item) -> None:
    max_fee, tip = fees(run)
    if latest.get("noop") and int(latest["max_fee"]) >= max_fee:
        touch(run, payout)  # our no-op at these fees is stored already: wait for the node
        return
    log("nonce_gap_filling", payout_id=payout["id"], nonce=payout["nonce"], wallet=run.wallet)
    run.summary["gap_filled"] += 1
    sign_and_send(run, payout, max_fee, tip, int(latest["gas"]), noop=True)


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
    is the one mined, the nonce is consumed by our own no-op, which proves no money moved. An
    operator's cancel may allow a higher fee than the cap (`max_fee` of the cancel request).
    """
    bump = run.rt.settings.payout_fee_bump_percent
    cap = run.rt.settings.payout_max_fee_wei
    if noop and payout.get("cancel_max_fee"):
        cap = max(cap, int(payout["cancel_max_fee"]))
    # Today's fee up to that cap: in a spike above PAYOUT_MAX_FEE_WEI, a cancel's no-op must
    # pay what the chain asks now, not a bump over the capped attempt that the spike outbids.
    current_max, current_tip = fees(run, cap)
    max_fee = txbuild.bumped(int(latest["max_fee"]), current_max, bump)
    tip = txbuild.bumped(int(latest["tip"]), current_tip, bump)
    if max_fee > cap:
        if payout.get("cancel_requested_at"):
            log("payout_cancel_over_fee_cap", payout_id=payout["id"], needed=str(max_fee))
            run.summary["cancel_over_fee_cap"] += 1
        elif payout["status"] == BROADCAST:
            needs_attention(run, payout, "stuck and the replacement fee would exceed the cap")
        return
    sign_and_send(run, payout, max_fee, tip, int(latest["gas"]), noop=noop)


def sign_and_send(run: Run, payout: Item, max_fee: int, tip: int, gas: int, *, noop: bool) -> None:
    """A new attempt at the payout's nonce, signed by its own wallet, stored, then sent."""
    attempt = txbuild.sign_attempt(
        run.signer,
        payout,
        int(payout["nonce"]),
        run.rt.settings.chain_id,
        gas,
        max_fee,
        tip,
        run.now(),
        noop=noop,
    )
    tx_hash, raw = attempt["hash"], bytes.fromhex(attempt["raw_tx"])
    attempts = [*payout["attempts"], attempt]
    op = run.update(
        payout,
        condition=unchanged(payout),
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
