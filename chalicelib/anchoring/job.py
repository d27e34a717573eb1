"""The anchor job (scheduled, and `POST /v1/admin/anchors/flush`): mark, claim, request.

One batcher at a time holds the `anchor-batcher` lease; a duplicated or overlapping invocation
finds it held and does nothing. The lease is an optimisation for wasted work, not the guarantee:
the claim itself is conditioned on the head it read (and fenced), so a range of messages can
only ever become one batch.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from chalicelib.anchoring import batches
from chalicelib.anchoring.model import CLAIMED, LEASE_NAME, batch_view
from chalicelib.core.errors import Conflict, Unprocessable
from chalicelib.core.leases import Lease, LeaseHeld, LeaseLost, acquire
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item

# The flush route runs inside an API Gateway request, which is cut at 29 s.
FLUSH_BUDGET_MS = 20_000


class Pass:
    """One run's lease, deadline and tally."""

    def __init__(self, rt: Runtime, lease: Lease, deadline_ms: int) -> None:
        self.rt = rt
        self.lease = lease
        self.deadline_ms = deadline_ms
        self.summary: Counter[str] = Counter()
        self.claimed: list[Item] = []

    def time_left(self) -> bool:
        if self.rt.clock.now_ms() + self.rt.settings.job_margin_ms >= self.deadline_ms:
            return False
        ttl = self.rt.settings.lease_ttl_ms
        if self.lease.remaining_ms() < ttl // 2:
            self.lease.renew(ttl)
        return True


def run_anchor_job(rt: Runtime, deadline_ms: int, *, force: bool = False) -> dict[str, Any]:
    """Scheduled entry point: returns counts of what it did."""
    summary, _ = _run(rt, deadline_ms, force)
    return summary


def flush(rt: Runtime) -> tuple[int, dict[str, Any]]:
    """Batch every waiting message now, whatever its age: 202 with the new batches, or 200."""
    if not rt.settings.anchor_registry_address:
        raise Unprocessable(
            "anchoring is not configured (ANCHOR_REGISTRY_ADDRESS)", code="anchoring_disabled"
        )
    summary, claimed = _run(rt, rt.clock.now_ms() + FLUSH_BUDGET_MS, True)
    if summary.get("skipped") == "lease_held":
        raise Conflict(
            "another anchor job is running; try again in a few seconds", code="anchor_job_running"
        )
    body = {"batches": [batch_view(b) for b in claimed], "summary": summary}
    return (202 if claimed else 200), body


def _run(rt: Runtime, deadline_ms: int, force: bool) -> tuple[dict[str, Any], list[Item]]:
    if not rt.settings.anchor_registry_address:
        return {"skipped": "anchoring_disabled"}, []
    try:
        lease = acquire(rt.store, rt.clock, LEASE_NAME, rt.settings.lease_ttl_ms)
    except LeaseHeld:
        return {"skipped": "lease_held"}, []
    run = Pass(rt, lease, deadline_ms)
    try:
        if finish_marking(run):
            claim_due(run, force)
            request_next(run)
    except LeaseLost:
        run.summary["lease_lost"] += 1
    finally:
        lease.release()
    return dict(run.summary), run.claimed


def finish_marking(run: Pass) -> bool:
    """Marking left over by a crashed run, oldest batch first; False if time ran out."""
    for batch in batches.unanchored_batches(run.rt.store):
        if batch["status"] == CLAIMED and not batch.get("marked"):
            if not batches.mark(run.rt, batch, run.time_left):
                return False
            run.summary["resumed_marking"] += 1
    return True


def claim_due(run: Pass, force: bool) -> None:
    s = run.rt.settings
    while run.time_left():
        head = batches.load_head(run.rt.store)
        window = batches.pending_window(run.rt.store, head, s.anchor_max_batch)
        due = bool(window) and (
            force
            or batches.is_due(
                window, run.rt.clock.now_ms(), s.anchor_max_age_seconds, s.anchor_max_batch
            )
        )
        if not due:
            if window:
                run.summary["waiting"] = len(window)
            return
        batch = batches.claim(run.rt, run.lease, head, window)
        if batch is None:
            run.summary["claim_lost"] += 1
            return
        run.claimed.append(batch)
        run.summary["claimed"] += 1
        run.summary["messages"] += int(batch["tree_size"])
        if not batches.mark(run.rt, batch, run.time_left):
            return


def request_next(run: Pass) -> None:
    """Ask for the anchor of the lowest unanchored batch, if it is its turn."""
    for batch in batches.unanchored_batches(run.rt.store):
        if batches.ready_to_request(run.rt.store, batch) and batches.request(run.rt, batch):
            run.summary["requested"] += 1
        return  # only the lowest can be next: anchors land strictly in order
