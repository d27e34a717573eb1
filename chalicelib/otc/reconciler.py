"""The OTC reconciler: drives settling, refund_pending and settlement_recovery orders to an end.

A scheduled job under a lease (owner token, renewed while it works, every write fenced by it):
a run that finds the lease held does nothing, and a run whose lease was taken over cannot write
anything. It finds its orders on the work index only (`otc#reconcile`), calls the same
idempotent `advance` the payout finalizer calls, and stops before the Lambda deadline, saving
where it stopped (fenced too) so the next run resumes there instead of re-reading the front of
the queue; having reached the end, the next run starts from the front again.

It never decides an order is stuck from its age: an order only moves when its payouts' states say
so (the seed's reconciler swept a live confirm into recovery by age; ours cannot).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from chalicelib.core import failpoints
from chalicelib.core.leases import Lease, LeaseHeld, LeaseLost, acquire
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item, TransactionFailed, encode_cursor, key, put_op
from chalicelib.otc.advance import advance
from chalicelib.otc.model import RECONCILE_QUEUE

LEASE_NAME = "otc-reconciler"
PAGE = 50
CURSOR_KEY = key("otc#reconciler", "cursor")


def run_reconciler(rt: Runtime, deadline_ms: int) -> dict[str, Any]:
    """One pass over the queue (or as much as the deadline allows); counts by transition."""
    try:
        lease = acquire(rt.store, rt.clock, LEASE_NAME, rt.settings.lease_ttl_ms)
    except LeaseHeld:
        return {"skipped": "lease_held"}
    summary: Counter[str] = Counter()
    try:
        _pass(rt, lease, deadline_ms, summary)
    except LeaseLost:
        summary["lease_lost"] += 1
    finally:
        lease.release()
    return dict(summary)


def _pass(rt: Runtime, lease: Lease, deadline_ms: int, summary: Counter[str]) -> None:
    saved = rt.store.get(**CURSOR_KEY)
    cursor = saved.get("cursor") if saved else None
    if cursor:
        summary["resumed"] += 1
    last: Item | None = None
    while True:
        items, nxt = rt.store.query_work(RECONCILE_QUEUE, limit=PAGE, cursor=cursor)
        for entry in items:
            if not _time_left(rt, lease, deadline_ms):
                summary["stopped_at_deadline"] += 1
                if last is not None:
                    _save(rt, lease, last)
                return
            moved = advance(rt, entry["id"], lease.fence())
            if moved:
                summary[moved] += 1
            last = entry
            failpoints.hit("otc.reconciler.after_order")
        if nxt is None:
            break
        cursor = nxt
    if saved and saved.get("cursor"):
        _save(rt, lease, None)


def _time_left(rt: Runtime, lease: Lease, deadline_ms: int) -> bool:
    if rt.clock.now_ms() + rt.settings.job_margin_ms >= deadline_ms:
        return False
    if lease.remaining_ms() < rt.settings.lease_ttl_ms // 2:
        lease.renew(rt.settings.lease_ttl_ms)
    return True


def _save(rt: Runtime, lease: Lease, last: Item | None) -> None:
    """Remember where to resume (after `last`; None: from the front), fenced by the lease."""
    cursor = None
    if last is not None:
        cursor = encode_cursor({k: last[k] for k in ("pk", "sk", "wpk", "wsk")})
    item = {**CURSOR_KEY, "cursor": cursor, "saved_at": rt.clock.now_ms()}
    try:
        rt.store.transact([put_op(item, name="cursor"), lease.fence()])
    except TransactionFailed as exc:  # the fence: someone else runs now
        raise LeaseLost("the lease was lost while saving the cursor") from exc
