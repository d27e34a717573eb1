"""The payout engine's health gauges, emitted once per engine run for the template's alarms.

A few queries of the work index (limit 1 each, one per queue of a due status) and one balance
call: the cost does not grow with the table. A failure here is logged and never fails the run
that already did its work.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.log import log
from chalicelib.core.metrics import emit
from chalicelib.core.outbox.model import (
    BROADCAST,
    NEEDS_ATTENTION,
    REQUESTED,
    SIGNED,
    queue,
    status_queues,
)
from chalicelib.core.runtime import Runtime

WEI_PER_ETH = 10**18
# Payouts not yet confirmed: their age is how late the oldest one is.
DUE = (REQUESTED, SIGNED, BROADCAST)
# Enough to say "some"; the admin listing gives the full list.
ATTENTION_COUNT_CAP = 100


def gauges(rt: Runtime) -> dict[str, float]:
    now = rt.clock.now_ms()
    oldest = None
    wallets = [s.address for s in rt.signers]
    for wpk in (q for status in DUE for q in status_queues(status, wallets)):
        items, _ = rt.store.query_work(wpk, limit=1)
        if items:
            created = int(str(items[0]["wsk"]).split("#", 1)[0])
            oldest = created if oldest is None else min(oldest, created)
    attention, _ = rt.store.query_work(queue(NEEDS_ATTENTION), limit=ATTENTION_COUNT_CAP)
    values: dict[str, float] = {
        "OldestDuePayoutAgeSeconds": 0.0 if oldest is None else max(0, now - oldest) / 1000,
        "PayoutsNeedingAttention": float(len(attention)),
    }
    active = rt.wallets.signers()
    if rt.chain is not None and active:
        # Every wallet pays its own gas: the lowest balance is the one that runs dry first.
        lowest = min(rt.chain.balance(s.address) for s in active)
        values["HotWalletBalanceEth"] = lowest / WEI_PER_ETH
    return values


def emit_gauges(rt: Runtime) -> dict[str, Any]:
    try:
        values = gauges(rt)
    except Exception as exc:  # noqa: BLE001 - a gauge must never fail the engine's run
        log("gauges_failed", error=type(exc).__name__)
        return {}
    emit(rt.settings.stage, values)
    return values
