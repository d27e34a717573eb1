"""The escrow's liabilities: what it owes the traders, per asset, kept as a ledger.

- credit: a verified deposit, in the transaction that records it (an order created, a match, a
  refused taker's deposit and its refund);
- debit: a settlement, change or refund payout once it is confirmed, in the transaction that
  tells its order (see advance.py), or on its own for a refused taker's refund. Each payout is
  debited once, ever: its debit marker is put (if absent) in the same transaction.

So the ledger is always the sum of what deposits brought in less what confirmed payouts took
out: exactly what escrow owes. Amounts are uint256, beyond DynamoDB's 38-digit numbers, so each
change is added in three base-10^30 limbs (exact, and each limb stays far below 38 digits). The
counter of an asset is spread over a few shard items so that concurrent orders do not all
contend for one item; a reader sums the shards (one query).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

from chalicelib.core.outbox.model import CONFIRMED
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item, Key, Op, TransactionFailed, key, put_op, update_op

LIMB = 10**30
LIMBS = 3
# Shards per asset: enough that a burst of orders rarely meets on one item, few enough that
# reading the ledger stays one small query.
SHARDS = 8
DEBIT = "debit"  # the name of a debit marker's op in a transaction


def ledger_pk(asset: str) -> str:
    return f"otc#escrow#ledger#{asset.lower()}"


def shard_key(asset: str, order_id: str) -> Key:
    shard = int(hashlib.sha256(order_id.encode()).hexdigest(), 16) % SHARDS
    return key(ledger_pk(asset), f"shard#{shard:02d}")


def debit_key(payout_id: str) -> Key:
    return key(f"otc#escrow#debit#{payout_id}", "debit")


def _limbs(amount: int) -> dict[str, int]:
    sign, value = (-1, -amount) if amount < 0 else (1, amount)
    return {f"owed{i}": sign * ((value // LIMB**i) % LIMB) for i in range(LIMBS - 1)} | {
        f"owed{LIMBS - 1}": sign * (value // LIMB ** (LIMBS - 1))
    }


def change_ops(order_id: str, changes: dict[str, int], name: str) -> list[Op]:
    """One update per asset adding `changes[asset]` (negative: a debit) to its shard."""
    return [
        update_op(shard_key(asset, order_id), set={"asset": asset}, add=_limbs(amount),
                  name=f"{name}:{asset}")
        for asset, amount in changes.items()
        if amount
    ]


def credit_ops(order_id: str, asset: str, amount: int) -> list[Op]:
    """+amount: a deposit escrow now holds (same transaction as the deposit's tx guard)."""
    return change_ops(order_id, {asset: amount}, "credit")


def debit_ops(order_id: str, payouts: list[Item]) -> list[Op]:
    """-amount of each payout, each with its debit marker (put if absent: once, ever)."""
    total: dict[str, int] = defaultdict(int)
    ops = []
    for payout in payouts:
        total[payout["asset"]] -= int(payout["amount"])
        marker = {**debit_key(payout["id"]), "order_id": order_id, "asset": payout["asset"],
                  "amount": payout["amount"]}
        ops.append(put_op(marker, if_absent=True, name=DEBIT))
    return ops + change_ops(order_id, dict(total), "ledger")


def undebited(rt: Runtime, payouts: list[Item | None]) -> list[Item]:
    """The confirmed payouts among `payouts` that the ledger has not yet been debited for."""
    return [
        p for p in payouts
        if p is not None and p["status"] == CONFIRMED
        and rt.store.get(**debit_key(p["id"])) is None
    ]


def debit_once(rt: Runtime, order_id: str, payout: Item) -> bool:
    """Debit a confirmed payout that is none of an order's legs (a refused taker's refund)."""
    if payout["status"] != CONFIRMED or rt.store.get(**debit_key(payout["id"])) is not None:
        return False
    try:
        rt.store.transact(debit_ops(order_id, [payout]))
    except TransactionFailed as exc:
        if exc.failed(DEBIT) is not None:
            return False  # debited meanwhile by a concurrent run
        raise
    return True


def owed(rt: Runtime, asset: str) -> int:
    """What escrow owes in `asset`: the sum of its shards (consistent reads)."""
    total, cursor = 0, None
    while True:
        items, cursor = rt.store.query(ledger_pk(asset), limit=SHARDS, cursor=cursor,
                                       consistent=True)
        for item in items:
            total += sum(int(item.get(f"owed{i}", 0)) * LIMB**i for i in range(LIMBS))
        if cursor is None:
            return total
