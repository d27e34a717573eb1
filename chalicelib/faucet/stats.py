"""Drip statistics for `GET /v1/faucet/status`, kept by the writes themselves, never scanned.

Every drip adds to two counter items in its own transaction: the running total and the bucket of
the hour it was made in. The payout's outcome (confirmed, failed) is added by the finalizer in
the transaction that records it, to the hour bucket of the drip's creation, so a figure changes
exactly once per fact. Counters are spread over STATS_SHARDS partitions so that no single item is
written by every drip; the status sums the shards. The 24 h figures are the current hour and the
23 before it. Event claims write none of these items.
"""

from __future__ import annotations

import random
import time
from typing import Any

from chalicelib.core.clock import iso
from chalicelib.core.store import DynamoStore, Op, update_op
from chalicelib.faucet.keys import stats_key

# Each shard is its own partition key: 4 spread a busy faucet's writes 4 ways, and the status
# costs 4 small queries.
STATS_SHARDS = 4
HOURS = 24
TOTAL = "total"
# Hour buckets are garbage (TTL) two days after they leave the 24 h window.
BUCKET_GC_S = 3 * 86_400
FIGURES = ("drips", "amount", "confirmed", "failed")


def hour_of(ms: int) -> str:
    return "hour#" + time.strftime("%Y%m%d%H", time.gmtime(ms // 1000))


def _ops(changes: dict[str, int], created_at: int, now: int, name: str) -> list[Op]:
    shard = random.randrange(STATS_SHARDS)
    total = update_op(
        stats_key(shard, TOTAL),
        add=changes,
        set={"last_drip_at": now} if "drips" in changes else None,
        name=f"{name}:total",
    )
    hour = update_op(
        stats_key(shard, hour_of(created_at)),
        add=changes,
        set={"gc_at": created_at // 1000 + BUCKET_GC_S},
        name=f"{name}:hour",
    )
    return [total, hour]


def drip_ops(amount: int, now: int) -> list[Op]:
    return _ops({"drips": 1, "amount": amount}, now, now, "stats")


def outcome_ops(outcome: str, amount: int, created_at: int, now: int) -> list[Op]:
    """A drip's payout ended: count it; a failed one moved no money, so its amount comes off."""
    changes = {"confirmed": 1} if outcome == "confirmed" else {"failed": 1, "amount": -amount}
    return _ops(changes, created_at, now, "stats")


def read(store: DynamoStore, now: int) -> dict[str, Any]:
    """(totals, last 24 h, last drip time) summed over the shards: one query per shard."""
    oldest = hour_of(now - (HOURS - 1) * 3_600_000)
    totals = dict.fromkeys(FIGURES, 0)
    recent = dict.fromkeys(FIGURES, 0)
    last = 0
    for shard in range(STATS_SHARDS):
        # "total" sorts after every "hour#..." key: newest first gives the total, then the hours.
        items, _ = store.query(f"faucet#stats#{shard}", limit=HOURS + 2, forward=False)
        for item in items:
            if item["sk"] == TOTAL:
                target = totals
                last = max(last, int(item.get("last_drip_at", 0)))
            elif item["sk"] >= oldest:
                target = recent
            else:
                continue
            for figure in FIGURES:
                target[figure] += int(item.get(figure, 0))
    return {"totals": totals, "last_24h": recent, "last_drip_at": iso(last) if last else None}
