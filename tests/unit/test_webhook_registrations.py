"""Every event type the service promises is registered, and the delivery job is scheduled
(EventBridge in AWS, the local loop on `make dev`) after the jobs whose events it delivers."""

from __future__ import annotations

from chalicelib import jobs
from chalicelib.core.webhooks.events import event_types

PROMISED = {
    "payout.confirmed", "payout.failed", "payout.needs_attention", "payout.reorged",
    "claim.paid", "claim.failed", "claim.released",
    "drip.paid", "bounty.payment_recorded", "order.matched", "order.completed", "order.refunded",
    "anchor.confirmed", "message.anchored",
}


def test_every_promised_event_type_is_registered_and_only_message_anchored_goes_to_apps() -> None:
    jobs.register_webhook_events()
    types = {t.name: t for t in event_types()}
    assert set(types) == PROMISED
    assert {n for n, t in types.items() if t.app_visible} == {"message.anchored"}


def test_the_delivery_job_runs_last_in_a_tick_and_has_its_own_schedule() -> None:
    import app

    assert jobs.SCHEDULED_JOBS[-1] == ("webhooks", jobs.webhooks)
    scheduled = {source.name for source in app.app.event_sources}
    assert "deliver_webhooks" in scheduled
