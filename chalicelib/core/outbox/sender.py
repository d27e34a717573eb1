"""The sender: nonce assignment with the signed bytes, then broadcast of exactly those bytes.

Each step is one conditional write, and the order is the recovery story:

1. assign+store  requested, no nonce -> signed, nonce + raw bytes (one transaction with the
                 wallet's counter, for a batch of payouts with consecutive nonces; the bytes
                 are durable before anything leaves)
2. send          signed -> broadcast (the stored bytes, never re-signed; nobody waits for a
                 receipt before sending the next nonce)

A crash before 1 commits leaves nothing: the signature is dropped, no nonce was taken. A crash
after 1 leaves stored bytes: the next run sends exactly those bytes again; the node answers
"already known" or "nonce too low", which means look at receipts, never a new nonce.
"""

from __future__ import annotations

import heapq
import time

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
from chalicelib.core.outbox import txbuild, waiting, wallet
from chalicelib.core.outbox.engine import Run
from chalicelib.core.outbox.model import (
    BROADCAST,
    NATIVE,
    REQUESTED,
    SIGNED,
    amount_of,
    index_fields,
    payout_key,
    requested_queues,
)
from chalicelib.core.outbox.outcomes import needs_attention
from chalicelib.core.store import Item, TransactionFailed

# How many intents one run takes from the queue before it stops to let the confirmer work.
MAX_PER_RUN = 500
# Payouts per nonce-assignment transaction: DynamoDB takes 100 items per transaction, and a
# batch also carries the wallet counter and the lease fence.
BATCH = 25
# Fee suggestions change with each block; asking once per payout would double the RPC calls.
FEE_REFRESH_S = 10.0


class StopRun(Exception):
    """Stop this pass (chain down, wallet empty); everything stays stored for the next run."""


def send_pass(run: Run) -> None:
    """Send everything that is due, oldest nonce first, until done or out of time.

    Every wallet sends its own stored bytes; only the active wallet takes new intents.
    """
    # Stored bytes go out first, in nonce order: later nonces cannot be mined before them.
    signed = sorted(run.mine(SIGNED), key=lambda p: int(p["nonce"]))
    try:
        for chunk in _chunks(signed):
            if not run.time_left():
                return
            send_batch(run, chunk)
        if run.active:
            take_new(run)
    except StopRun as exc:
        log("sender_stopped", wallet=run.wallet, reason=str(exc))
        run.summary["stopped"] += 1


def take_new(run: Run) -> None:
    """Give nonces to the intents the wallet can fund, in arrival order, and send them.

    An intent the wallet cannot fund is skipped, not waited on: it keeps its place (it is
    tried first on every run) and takes no nonce, so the nonces stay consecutive and the
    intents behind it, of any asset, still go out.
    """
    chain_nonce = run.chain.nonce(run.wallet, "pending")
    counter, state = wallet.load_counter(run.store, run.wallet, chain_nonce, run.now())
    funds = Funds(run, state)
    copies: list[Item] = []
    # An insolvent wallet whose funds did not grow reads only what arrived since its last run.
    reading = waiting.start(run, funds)
    # Only the queues of the wallet's own purposes (one, unless the wallet is shared), merged in
    # arrival order: another purpose's backlog is never read.
    queues = requested_queues(run.rt.wallets.purposes_of(run.wallet))
    pending = [run.store.iter_work(q, after=reading.after) for q in queues]
    complete = True
    for copy in heapq.merge(*pending, key=lambda c: str(c["wsk"])):
        reading.read(copy)
        if not run.takes(copy):
            continue  # another purpose's lane: its own wallet sends it (or waits for funds)
        if run.summary[f"{REQUESTED}->{SIGNED}"] + len(copies) >= MAX_PER_RUN:
            complete = False
            break
        # Funding is decided on the index copy: an intent's asset and amount never change, and
        # skipping writes nothing, so an intent that waits for funds costs no read per run.
        if not funds.reserve(copy):
            reading.skip(copy)
            continue
        copies.append(copy)
        if len(copies) == BATCH:
            counter = _assign_and_send(run, _current(run, copies, funds), counter)
            copies = []
    _assign_and_send(run, _current(run, copies, funds), counter)
    if complete:
        waiting.finish(run, funds, reading)
    if funds.short:
        funds.alert()
    else:
        funds.settled()


def _current(run: Run, copies: list[Item], funds: Funds) -> list[Item]:
    """The payouts behind index copies, read consistently in one request (the index may lag
    behind): those still waiting for a nonce, in the copies' order."""
    if not copies:
        return []
    keys = [payout_key(c["id"]) for c in copies]
    found = run.store.get_many(keys)
    current = []
    for copy, k in zip(copies, keys, strict=True):
        payout = found.get((k["pk"], k["sk"]))
        if payout is None or payout["status"] != REQUESTED or payout.get("nonce") is not None:
            funds.release(copy)
            continue
        current.append(payout)
    return current


def _chunks(items: list[Item]) -> list[list[Item]]:
    return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]


def _assign_and_send(run: Run, batch: list[Item], counter: int) -> int:
    if not batch:
        return counter
    if not run.time_left():
        raise StopRun("deadline")
    stored = assign_and_store(run, batch, counter)
    if not stored:
        raise StopRun("lost the nonce assignment")
    send_batch(run, stored)
    return counter + len(stored)


def assign_and_store(run: Run, batch: list[Item], first_nonce: int) -> list[Item]:
    """Sign with the next nonces, then take them and store the bytes in one transaction.

    The transaction advances the wallet's counter from exactly `first_nonce` and requires that
    no payout of the batch has a nonce yet, so a nonce is never given twice and never given
    without the bytes that use it: no state exists in which an assigned nonce has nothing to
    fill it. If the transaction loses, the signatures are dropped: never stored, so never sent.
    """
    max_fee, tip = fees(run)
    stored, ops = [], []
    for offset, payout in enumerate(batch):
        nonce = first_nonce + offset
        gas = txbuild.gas_limit(run.chain, run.wallet, payout, run.cache)
        attempt = txbuild.sign_attempt(
            run.signer, payout, nonce, run.rt.settings.chain_id, gas, max_fee, tip, run.now()
        )
        changes = {
            "status": SIGNED,
            "nonce": nonce,
            "wallet": run.wallet,
            "attempts": [attempt],
            "tx_hash": attempt["hash"],
            **index_fields(SIGNED, payout["created_at"], payout["id"], wallet=run.wallet),
        }
        ops.append(
            run.update(
                payout,
                condition=Attr("status").eq(REQUESTED) & Attr("nonce").not_exists(),
                **changes,
            )
        )
        stored.append(payout | changes)
    failpoints.hit("after_sign_before_store")
    counter_op = wallet.assign_op(run.wallet, first_nonce, run.now(), len(batch))
    try:
        run.commit([*ops, counter_op])
    except TransactionFailed as exc:
        # A stale lease holder or a concurrent run moved on: the next run re-reads everything.
        lost = [f.name for f in exc.failures]
        log("nonce_assign_lost", first_nonce=first_nonce, size=len(batch), lost=lost)
        return []
    run.summary[f"{REQUESTED}->{SIGNED}"] += len(stored)
    failpoints.hit("after_nonce_assigned")
    failpoints.hit("after_store_before_broadcast")
    return stored


def send_batch(run: Run, batch: list[Item]) -> None:
    """Broadcast each payout's stored bytes in nonce order, then record them as broadcast."""
    sent: list[Item] = []
    try:
        for payout in batch:
            if send(run, payout):
                sent.append(payout)
    finally:
        # Whatever was sent before a stop is recorded, so the confirmer starts following it.
        if sent:
            failpoints.hit("after_broadcast_before_record")
            mark_broadcast(run, sent)


def send(run: Run, payout: Item) -> bool:
    """Broadcast the stored bytes of the latest attempt; True when the node has them."""
    attempt = payout["attempts"][-1]
    try:
        run.chain.send_raw(bytes.fromhex(attempt["raw_tx"]))
    except (AlreadyKnown, ReplacementUnderpriced):
        pass  # the node holds this nonce for one of our attempts: the confirmer follows it
    except NonceTooLow:
        if not any(run.chain.receipt(a["hash"]) for a in payout["attempts"]):
            needs_attention(run, payout, "nonce used by a transaction that is not ours")
            return False
    except InsufficientFunds as exc:
        funds_short(run)
        raise StopRun("insufficient funds to broadcast") from exc
    except ChainUnavailable as exc:
        raise StopRun("chain unreachable") from exc
    except BroadcastRejected as exc:
        # Refused for another reason (a fee below a spiking base fee, a call the node reverts
        # at once). The bytes are stored either way: hand the payout to the confirmer, which
        # checks receipts, rebroadcasts, then replaces with higher fees or asks a human.
        log("broadcast_refused", payout_id=payout["id"], reason=exc.message[:200])
        run.summary["broadcast_refused"] += 1
    return True


def mark_broadcast(run: Run, sent: list[Item]) -> None:
    """signed -> broadcast for every payout sent (one transaction; one by one if that loses)."""
    now = run.now()
    ops = [
        run.update(
            payout,
            condition=Attr("status").eq(SIGNED),
            status=BROADCAST,
            broadcast_at=now,
            **index_fields(BROADCAST, payout["created_at"], payout["id"], wallet=run.wallet),
        )
        for payout in sent
    ]
    try:
        run.commit(ops)
        run.summary[f"{SIGNED}->{BROADCAST}"] += len(ops)
        return
    except TransactionFailed:
        pass  # some were recorded already (an earlier run): record the rest one by one
    for op in ops:
        try:
            run.commit([op])
            run.transition(SIGNED, BROADCAST)
        except TransactionFailed:
            pass


def fees(run: Run, cap: int | None = None) -> tuple[int, int]:
    """Fees for transactions signed now (asked once per FEE_REFRESH_S), capped by settings
    (or by `cap`, an operator's higher limit for a cancel)."""
    cached = run.cache.get("fees")
    if cached is None or time.monotonic() - cached[0] > FEE_REFRESH_S:
        cached = (time.monotonic(), run.chain.fees())
        run.cache["fees"] = cached
    max_fee, tip = cached[1]
    cap = cap or run.rt.settings.payout_max_fee_wei
    return min(max_fee, cap), min(tip, cap)


class Funds:
    """What the hot wallet can still pay in this run (checked before a nonce is assigned)."""

    def __init__(self, run: Run, state: Item) -> None:
        self.run = run
        self.state = state  # the wallet's item as this run read it (its solvency flag)
        self.native = run.chain.balance(run.wallet)
        self.tokens: dict[str, int] = {}
        self.gas_price = fees(run)[0]
        self.need: dict[str, int] = {}  # what the intents that wait would need, per asset
        # Whether an intent waits for native coin alone (its token, if any, was there): only then
        # could more coin or a lower gas price fund it.
        self.native_bound = False

    @property
    def short(self) -> bool:
        return bool(self.need)

    def token_balance(self, asset: str) -> int:
        """What is left of `asset` in this run (read from the chain once per run)."""
        if asset not in self.tokens:
            self.tokens[asset] = self.run.chain.token_balance(asset, self.run.wallet)
        return self.tokens[asset]

    def reserve(self, payout: Item) -> bool:
        asset, amount = payout["asset"], amount_of(payout)
        gas_cost = txbuild.TOKEN_TRANSFER_FALLBACK_GAS * self.gas_price
        need_native = gas_cost + (amount if asset == NATIVE else 0)
        token_short = asset != NATIVE and amount > self.token_balance(asset)
        if need_native > self.native or token_short:
            self.native_bound = self.native_bound or not token_short
            self.need["native"] = self.need.get("native", 0) + need_native
            if asset != NATIVE:
                self.need[asset] = self.need.get(asset, 0) + amount
            self.run.summary["waiting_for_funds"] += 1
            return False
        self.native -= need_native
        if asset != NATIVE:
            self.tokens[asset] -= amount
        return True

    def release(self, payout: Item) -> None:
        """Give back what `reserve` set aside for a payout that is not taken after all."""
        asset, amount = payout["asset"], amount_of(payout)
        self.native += txbuild.TOKEN_TRANSFER_FALLBACK_GAS * self.gas_price
        if asset == NATIVE:
            self.native += amount
        else:
            self.tokens[asset] += amount

    def alert(self) -> None:
        """Some intents wait for funds: flag the wallet (one alert until it is funded)."""
        if "insolvent_since" in self.state:
            return  # flagged already: no write on every run while the intent waits
        have = {"native": self.native, **self.tokens}
        wallet.mark_insolvent(self.run.store, self.run.wallet, self.need, have, self.run.now())

    def settled(self) -> None:
        """Every due intent fitted: clear a past insolvency flag (logs the recovery once)."""
        wallet.clear_insolvent(self.run.store, self.run.wallet, self.state)


def funds_short(run: Run) -> None:
    wallet.mark_insolvent(
        run.store, run.wallet, {}, {"native": run.chain.balance(run.wallet)}, run.now()
    )
    run.summary["waiting_for_funds"] += 1
