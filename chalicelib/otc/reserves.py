"""Proof of reserves: does the escrow wallet hold, on chain, what the ledger says it owes?

Per asset: the liabilities (the ledger), the escrow wallet's balance at a stated block, and the
escrow payouts not yet taken off the ledger (requested, sent, or confirmed and not yet told to
their order). Those already mined by that block have left the balance but are still owed in the
ledger, so: solvent  <=>  balance >= liabilities - pending payouts mined by the block.

The reads are ordered so that a race with a moving payout or deposit errs towards `solvent`,
and the scheduled check confirms a shortfall by reading again before it raises its one alert.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core.errors import DependencyUnavailable, NotFound
from chalicelib.core.log import alert, log
from chalicelib.core.money import format_amount
from chalicelib.core.outbox.model import (
    BROADCAST,
    CONFIRMED,
    NEEDS_ATTENTION,
    REQUESTED,
    SIGNED,
    finalize_queues,
    payout_key,
    requested_queues,
    status_queues,
)
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import ConditionFailed, Item, key
from chalicelib.core.wallets import ESCROW
from chalicelib.otc import ledger
from chalicelib.otc.model import OWNER_TYPE
from chalicelib.otc.pairs import load_pairs

if TYPE_CHECKING:
    from chalicelib.core.chain import Web3Chain

PENDING_STATUSES = (REQUESTED, SIGNED, BROADCAST, NEEDS_ATTENTION)
ALARM_PK = "otc#escrow#short"


@dataclass
class AssetReserve:
    asset: str
    decimals: int
    liabilities: int = 0
    balance: int = 0
    pending: int = 0  # escrow payouts not yet debited from the ledger
    pending_mined: int = 0  # of which already mined by the stated block
    payouts: list[str] = field(default_factory=list)

    @property
    def owed_at_block(self) -> int:
        return self.liabilities - self.pending_mined

    @property
    def solvent(self) -> bool:
        return self.balance >= self.owed_at_block

    def view(self) -> dict[str, Any]:
        def show(v: int) -> dict[str, str]:
            return {"amount": format_amount(v, self.decimals), "base_units": str(v)}

        return {
            "asset": self.asset,
            "decimals": self.decimals,
            "liabilities": show(self.liabilities),
            "balance": show(self.balance),
            "pending_outgoing": show(self.pending),
            "pending_mined": show(self.pending_mined),
            "solvent": self.solvent,
            "shortfall": show(max(0, self.owed_at_block - self.balance)),
        }


def escrow_assets(rt: Runtime) -> dict[str, int]:
    """Every asset escrow can hold (the pairs' BASE and on-chain QUOTE) -> decimals."""
    assets: dict[str, int] = {}
    for pair in load_pairs(rt.settings).values():
        assets[pair.base] = pair.base_decimals
        if pair.on_chain:
            assets[pair.quote] = pair.quote_decimals
    return assets


def compute(rt: Runtime) -> tuple[int, str | None, str, dict[str, AssetReserve]]:
    """(block, block hash, escrow address, reserves by asset), read in a race-safe order."""
    escrow = rt.wallet(ESCROW)
    if escrow is None:
        raise NotFound("OTC trading is not configured on this deployment", code="otc_disabled")
    chain = rt.chain
    if chain is None:
        raise DependencyUnavailable("the chain is not configured", code="chain_unavailable")
    found = {a: AssetReserve(a, d) for a, d in escrow_assets(rt).items()}
    # 1. the ledger, 2. what is still leaving, 3. the chain: a payout that concludes between
    # two reads is then counted as still owed and as mined, never as owed and unmined.
    for res in found.values():
        res.liabilities = ledger.owed(rt, res.asset)
    pending = _pending(rt, escrow.address)
    block = chain.block_number()
    for res in found.values():
        res.balance = _balance(chain, res.asset, escrow.address, block)
    for payout in pending:
        res = found.get(payout["asset"])
        if res is None:
            continue
        res.pending += int(payout["amount"])
        res.payouts.append(payout["id"])
        if _mined_by(chain, payout, block):
            res.pending_mined += int(payout["amount"])
    return block, chain.block_hash(block), escrow.address, found


def reserves(rt: Runtime) -> dict[str, Any]:
    """What `GET /v1/otc/reserves` shows."""
    block, block_hash, address, found = compute(rt)
    assets = [r.view() for r in found.values()]
    return {
        "escrow_address": address,
        "shared_wallet": len(rt.wallets.purposes_of(address)) > 1,
        "block": {"number": block, "hash": block_hash},
        "assets": assets,
        "solvent": all(a["solvent"] for a in assets),
    }


def _pending(rt: Runtime, escrow: str) -> list[Item]:
    """Escrow payouts the ledger still counts as owed but that are leaving or have left."""
    # Escrow's own queues only: the faucet's backlog and its payouts in flight are never read.
    queues = [q for s in PENDING_STATUSES for q in status_queues(s, [escrow])
              if s != REQUESTED] + requested_queues([ESCROW])
    out = [
        p
        for wpk in queues
        for p in rt.store.iter_work(wpk)
        # Only what the ledger counts (OTC legs and refunds), not stray deposits sent back.
        if p.get("owner_type") == OWNER_TYPE
        and str(p.get("wallet") or escrow).lower() == escrow.lower()
    ]
    for marker in (m for q in finalize_queues([ESCROW]) for m in rt.store.iter_work(q)):
        if marker.get("owner_type") != OWNER_TYPE or marker.get("status") != CONFIRMED:
            continue
        if rt.store.get(**ledger.debit_key(marker["payout_id"])) is not None:
            continue  # confirmed and already debited: the finalizer is about to drop the marker
        payout = rt.store.get(**payout_key(marker["payout_id"]))
        if payout is not None:
            out.append({**payout, "status": CONFIRMED})
    return out


def _mined_by(chain: Web3Chain, payout: Item, block: int) -> bool:
    """Whether the payout's transfer succeeded on chain at or before `block`."""
    for attempt in payout.get("attempts") or []:
        receipt = chain.receipt(attempt["hash"])
        if receipt is not None:
            return receipt.status == 1 and receipt.block_number <= block
    return False


def _balance(chain: Web3Chain, asset: str, address: str, block: int) -> int:
    if asset == "native":
        return chain.balance(address, block)
    return chain.token_balance(asset, address, block)


# -- the scheduled check -----------------------------------------------------------------------


def check(rt: Runtime, deadline_ms: int) -> dict[str, Any]:
    """Alert once when escrow is short of an asset; note once when it is whole again."""
    if rt.wallet(ESCROW) is None or rt.chain is None:
        return {"skipped": "otc_disabled"}
    summary: Counter[str] = Counter()
    try:
        block, _, address, found = compute(rt)
        if any(not r.solvent for r in found.values()):
            # A payout or deposit that moved between the reads can fake a shortfall: read again.
            block, _, address, found = compute(rt)
    except DependencyUnavailable:
        return {"skipped": "chain_unavailable"}  # the next run checks again
    now = rt.clock.now_ms()
    for res in found.values():
        if res.solvent:
            summary["solvent"] += 1
            _clear(rt, res)
        else:
            summary["short"] += 1
            _raise_once(rt, res, address, block, now)
    return dict(summary)


def _alarm_key(asset: str) -> dict[str, str]:
    return key(ALARM_PK, asset.lower())


def _raise_once(rt: Runtime, res: AssetReserve, address: str, block: int, now: int) -> None:
    try:
        # Only the write that creates the marker alerts (one alert per shortfall, not per run).
        rt.store.update(_alarm_key(res.asset), set={"since": now, "block": block},
                        condition=Attr("since").not_exists())
    except ConditionFailed:
        return  # already alerted for this shortfall
    alert(
        "escrow_short",
        wallet=address,
        asset=res.asset,
        block=block,
        liabilities=str(res.liabilities),
        balance=str(res.balance),
        pending_mined=str(res.pending_mined),
    )


def _clear(rt: Runtime, res: AssetReserve) -> None:
    if rt.store.get(**_alarm_key(res.asset)) is None:
        return  # nothing raised: the usual case costs one read, no write
    try:
        rt.store.delete(_alarm_key(res.asset), condition=Attr("since").exists())
    except ConditionFailed:
        return
    log("escrow_reserves_restored", asset=res.asset)
