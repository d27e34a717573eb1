"""The sender: nonce assignment, signing, durable storage of the bytes, then broadcast.

Each step is one conditional write, and the order is the recovery story:

1. assign   requested, no nonce   -> requested + nonce   (one transaction with the counter)
2. sign     requested + nonce     -> signed + raw bytes  (stored before anything leaves)
3. send     signed                -> broadcast           (the stored bytes, never re-signed)

A crash after 1 leaves a payout that holds its nonce but no bytes: nothing can have left, so
the next run signs it with that same nonce (the nonce is never orphaned, no gap can form). A
crash after 2 or 3 leaves stored bytes: the next run sends exactly those bytes again; the node
answers "already known" or "nonce too low", which means look at receipts, never a new nonce.
"""

from __future__ import annotations

from boto3.dynamodb.conditions import Attr

from chalicelib.core import failpoints
from chalicelib.core.chain import (
    AlreadyKnown,
    BroadcastRejected,
    ChainUnavailable,
    InsufficientFunds,
    NonceTooLow,
    ReplacementUnderpriced,
)
from chalicelib.core.log import log
from chalicelib.core.outbox import txbuild, wallet
from chalicelib.core.outbox.engine import Run
from chalicelib.core.outbox.outcomes import needs_attention
from chalicelib.core.outbox.model import (
    BROADCAST,
    NATIVE,
    REQUESTED,
    SIGNED,
    amount_of,
    index_fields,
    queue,
)
from chalicelib.core.store import Item, TransactionFailed

# How many intents one run takes from the queue before it stops to let the confirmer work.
MAX_PER_RUN = 500


class StopRun(Exception):
    """Stop this pass (chain down, wallet empty); everything stays stored for the next run."""


def send_pass(run: Run) -> None:
    """Send everything that is due, oldest nonce first, until done or out of time."""
    chain_nonce = run.chain.nonce(run.wallet, "pending")
    counter = wallet.load_counter(run.store, run.wallet, chain_nonce, run.now())
    requested = list(run.store.iter_work(queue(REQUESTED)))
    signed = list(run.store.iter_work(queue(SIGNED)))
    # Payouts that already hold a nonce go first, in nonce order: later nonces cannot be mined
    # before them anyway.
    holding = sorted(
        [p for p in requested if p.get("nonce") is not None] + signed, key=lambda p: p["nonce"]
    )
    fresh = [p for p in requested if p.get("nonce") is None]
    try:
        for payout in holding:
            if not run.time_left():
                return
            if payout["status"] == REQUESTED:
                payout = sign_and_store(run, payout)
            send(run, payout)
        funds = Funds(run)
        for payout in fresh[:MAX_PER_RUN]:
            if not run.time_left():
                return
            if not funds.reserve(payout):
                return
            counter = assign(run, payout, counter)
            if counter is None:
                return
            payout = sign_and_store(run, payout | {"nonce": counter - 1})
            send(run, payout)
        funds.settled()
    except StopRun as exc:
        log("sender_stopped", wallet=run.wallet, reason=str(exc))
        run.summary["stopped"] += 1


def assign(run: Run, payout: Item, nonce: int) -> int | None:
    """Give `payout` the nonce `nonce`; returns the next counter value, or None if we lost."""
    ops = run.update(
        payout,
        fenced=True,
        condition=Attr("status").eq(REQUESTED) & Attr("nonce").not_exists(),
        nonce=nonce,
        wallet=run.wallet,
    )
    try:
        run.store.transact([*ops, wallet.assign_op(run.wallet, nonce, run.now())])
    except TransactionFailed as exc:
        # Another sender (a stale lease holder) or a concurrent request moved on: re-read later.
        lost = [f.name for f in exc.failures]
        log("nonce_assign_lost", payout_id=payout["id"], nonce=nonce, lost=lost)
        return None
    failpoints.hit("after_nonce_assigned")
    return nonce + 1


def sign_and_store(run: Run, payout: Item) -> Item:
    """Sign with the payout's nonce and store the bytes before anything is broadcast."""
    nonce = int(payout["nonce"])
    max_fee, tip = fees(run)
    gas = txbuild.gas_limit(run.chain, run.wallet, payout)
    tx = txbuild.build(payout, nonce, run.rt.settings.chain_id, gas, max_fee, tip)
    raw, tx_hash = run.signer.sign(tx)
    failpoints.hit("after_sign_before_store")
    attempt = {
        "hash": tx_hash,
        "raw_tx": raw.hex(),
        "max_fee": str(max_fee),
        "tip": str(tip),
        "gas": gas,
        "signed_at": run.now(),
    }
    changes = {
        "status": SIGNED,
        "attempts": [attempt],
        "tx_hash": tx_hash,
        **index_fields(SIGNED, payout["created_at"], payout["id"]),
    }
    ops = run.update(
        payout,
        fenced=True,
        condition=Attr("status").eq(REQUESTED) & Attr("nonce").eq(nonce),
        **changes,
    )
    run.store.transact(ops)
    run.transition(REQUESTED, SIGNED)
    failpoints.hit("after_store_before_broadcast")
    return payout | changes


def send(run: Run, payout: Item) -> None:
    """Broadcast the stored bytes of the latest attempt, then record it as broadcast."""
    attempt = payout["attempts"][-1]
    try:
        run.chain.send_raw(bytes.fromhex(attempt["raw_tx"]))
    except (AlreadyKnown, ReplacementUnderpriced):
        pass  # the node holds this nonce for one of our attempts: the confirmer follows it
    except NonceTooLow:
        if not any(run.chain.receipt(a["hash"]) for a in payout["attempts"]):
            needs_attention(run, payout, "nonce used by a transaction that is not ours")
            return
    except InsufficientFunds as exc:
        funds_short(run)
        raise StopRun("insufficient funds to broadcast") from exc
    except ChainUnavailable as exc:
        raise StopRun("chain unreachable") from exc
    except BroadcastRejected as exc:
        log("broadcast_rejected", payout_id=payout["id"], reason=exc.message[:200])
        raise StopRun("broadcast rejected") from exc
    failpoints.hit("after_broadcast_before_record")
    mark_broadcast(run, payout)


def mark_broadcast(run: Run, payout: Item) -> None:
    ops = run.update(
        payout,
        fenced=False,
        condition=Attr("status").eq(SIGNED),
        status=BROADCAST,
        broadcast_at=run.now(),
        **index_fields(BROADCAST, payout["created_at"], payout["id"]),
    )
    try:
        run.store.transact(ops)
        run.transition(SIGNED, BROADCAST)
    except TransactionFailed:
        pass  # already recorded by an earlier run


def fees(run: Run) -> tuple[int, int]:
    max_fee, tip = run.chain.fees()
    cap = run.rt.settings.payout_max_fee_wei
    return min(max_fee, cap), min(tip, cap)


class Funds:
    """What the hot wallet can still pay in this run (checked before a nonce is assigned)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.native = run.chain.balance(run.wallet)
        self.tokens: dict[str, int] = {}
        self.gas_price = fees(run)[0]

    def reserve(self, payout: Item) -> bool:
        asset, amount = payout["asset"], amount_of(payout)
        gas_cost = txbuild.TOKEN_TRANSFER_FALLBACK_GAS * self.gas_price
        need_native = gas_cost + (amount if asset == NATIVE else 0)
        if asset != NATIVE and asset not in self.tokens:
            self.tokens[asset] = self.run.chain.token_balance(asset, self.run.wallet)
        if need_native > self.native or (asset != NATIVE and amount > self.tokens[asset]):
            have = {"native": self.native, **self.tokens}
            wallet.mark_insolvent(
                self.run.store, self.run.wallet, {"native": need_native, asset: amount}, have,
                self.run.now(),
            )
            self.run.summary["waiting_for_funds"] += 1
            return False
        self.native -= need_native
        if asset != NATIVE:
            self.tokens[asset] -= amount
        return True

    def settled(self) -> None:
        """Every due intent fitted: clear a past insolvency flag (logs the recovery once)."""
        item = self.run.store.get(**wallet.wallet_key(self.run.wallet))
        wallet.clear_insolvent(self.run.store, self.run.wallet, item)


def funds_short(run: Run) -> None:
    wallet.mark_insolvent(run.store, run.wallet, {}, {"native": run.chain.balance(run.wallet)},
                          run.now())
    run.summary["waiting_for_funds"] += 1
