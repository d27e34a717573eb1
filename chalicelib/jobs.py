"""The scheduled jobs, in the order one tick runs them.

`app.py` wires them to EventBridge schedules; the local runner and the admin reconcile route
call the very same functions. Every job is idempotent: a duplicated or overlapping invocation is
harmless. Imports happen inside the jobs, so importing this module stays cheap (no web3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.core.runtime import Runtime

Job = Callable[[Runtime, int], dict[str, Any]]


def register_owners() -> None:
    """Import every flow that owns payouts, so its finalizer is registered."""
    import chalicelib.anchoring.outcomes  # noqa: F401 - anchor transactions
    import chalicelib.core.outbox.service  # noqa: F401 - the admin's manual payouts
    import chalicelib.faucet.finalizer  # noqa: F401 - drips and event claims
    import chalicelib.otc.deposit_refunds  # noqa: F401 - refunds of stray deposits
    import chalicelib.otc.finalizer  # noqa: F401 - OTC settlement legs and refunds


def register_webhook_events() -> None:
    """Import every flow's webhook event types (light modules: no web3)."""
    import chalicelib.anchoring.webhook_events  # noqa: F401 - anchor.confirmed, message.anchored
    import chalicelib.bounties.webhook_events  # noqa: F401 - bounty.payment_recorded
    import chalicelib.core.outbox.webhook_events  # noqa: F401 - payout.*
    import chalicelib.faucet.webhook_events  # noqa: F401 - claim.*, drip.paid
    import chalicelib.otc.webhook_events  # noqa: F401 - order.*


def payouts(rt: Runtime, deadline_ms: int) -> dict[str, Any]:
    """Send due payouts, follow sent ones to depth, tell their flows how they ended."""
    if not rt.settings.payout_signing:
        # In AWS only the payout engine's role may sign; its own schedule does this work.
        return {"skipped": "signing_elsewhere"}
    register_owners()
    from chalicelib.core.outbox.gauges import emit_gauges
    from chalicelib.core.outbox.jobs import run_engine

    summary = run_engine(rt, deadline_ms)
    emit_gauges(rt)  # for the alarms: oldest due payout, needs_attention, hot wallet balance
    return summary


def payout_lane(rt: Runtime, deadline_ms: int, lane: str) -> dict[str, Any]:
    """One purpose's lane of the payout engine (a Lambda of its own in AWS): send and follow
    that wallet's payouts, then tell the flows what ended."""
    if not rt.settings.payout_signing:
        return {"skipped": "signing_elsewhere"}
    summary = lane_sends(rt, deadline_ms, lane)
    return {**summary, **finalize(rt, deadline_ms, lane)}


def lane_sends(rt: Runtime, deadline_ms: int, lane: str) -> dict[str, Any]:
    """Send and follow one lane's payouts only (the local loop gives each lane a thread)."""
    if not rt.settings.payout_signing:
        return {"skipped": "signing_elsewhere"}
    from chalicelib.core.outbox.jobs import run_lane

    return run_lane(rt, deadline_ms, lane)


def finalize(rt: Runtime, deadline_ms: int, lane: str | None = None) -> dict[str, Any]:
    """Tell the flows how their payouts ended (no chain needed; `lane`'s purpose only, or
    every purpose's), then emit the engine's gauges."""
    if not rt.settings.payout_signing:
        return {"skipped": "signing_elsewhere"}
    register_owners()
    from chalicelib.core.outbox.gauges import emit_gauges
    from chalicelib.core.outbox.jobs import run_finalize

    summary = run_finalize(rt, deadline_ms, lane)
    emit_gauges(rt)
    return summary


def anchors(rt: Runtime, deadline_ms: int) -> dict[str, Any]:
    """Batch waiting messages and ask for the next anchor transaction (the engine sends it)."""
    from chalicelib.anchoring.job import run_anchor_job

    return run_anchor_job(rt, deadline_ms)


def otc_expiry(rt: Runtime, deadline_ms: int) -> dict[str, Any]:
    """Refund open orders past their ttl and matched ones past their settlement window."""
    from chalicelib.otc.jobs import expiry

    return expiry(rt, deadline_ms)


def otc_reconcile(rt: Runtime, deadline_ms: int) -> dict[str, Any]:
    """Drive settling and refunding orders from their payouts' states (under a lease)."""
    from chalicelib.otc.jobs import reconcile

    return reconcile(rt, deadline_ms)


def otc_reserves(rt: Runtime, deadline_ms: int) -> dict[str, Any]:
    """Compare escrow's ledger with its on-chain balance; one alert when escrow is short."""
    from chalicelib.otc.jobs import reserves

    return reserves(rt, deadline_ms)
def webhooks(rt: Runtime, deadline_ms: int) -> dict[str, Any]:
    """Fan new events out to subscribed endpoints and deliver them, signed, in order."""
    register_webhook_events()
    from chalicelib.core.webhooks.delivery import run_delivery

    return run_delivery(rt, deadline_ms)


SCHEDULED_JOBS: list[tuple[str, Job]] = [
    # Before the payout engine: an anchor requested in a tick is sent in the same tick.
    ("anchors", anchors),
    # Before the payout engine too: a refund requested by expiry is sent in the same tick.
    ("otc_expiry", otc_expiry),
    ("payouts", payouts),
    # After it: settles what the engine just confirmed (the finalizer usually did already).
    ("otc_reconcile", otc_reconcile),
    # Last: the ledger has just taken in what the reconciler settled.
    ("otc_reserves", otc_reserves),
    # Last: delivers the events every job above just wrote.
    ("webhooks", webhooks),
]


# The same tick with the payout lanes taken out: the local loop runs each lane in a thread of
# its own (local/jobs_loop.py) and only the finalizers here.
LANELESS_JOBS: list[tuple[str, Job]] = [
    (name, finalize if name == "payouts" else job) for name, job in SCHEDULED_JOBS
]


def run_tick(
    rt: Runtime, deadline_ms: int, schedule: list[tuple[str, Job]] | None = None
) -> dict[str, dict[str, Any]]:
    """Run every job once, in order, each bounded by the same deadline."""
    return {name: job(rt, deadline_ms) for name, job in (schedule or SCHEDULED_JOBS)}


def deadline_from(context: Any, now_ms: int, default_ms: int = 60_000) -> int:
    """The Lambda's own deadline (from its context), or now + default outside Lambda."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return now_ms + (int(remaining()) if remaining else default_ms)
