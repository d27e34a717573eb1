"""The delivery job: fan events out to endpoint queues, then POST each queue in order.

Fan-out: each event under `webhooks#fanout` gets one delivery item per subscribed endpoint
(created only if absent: a crash and a re-run never make two), then leaves the fan-out queue.
Delivery: one worker at a time (a lease) walks each endpoint's queue in event order. A failed
attempt blocks that endpoint's later events until it succeeds (order per endpoint is kept),
is retried with exponential backoff and jitter for RETRY_FOR_MS, then given up (`failed`).
FAILING_AFTER consecutive failures mark the endpoint failing, with one alert.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core import failpoints
from chalicelib.core.clock import iso
from chalicelib.core.leases import Lease, LeaseHeld, LeaseLost, acquire
from chalicelib.core.log import alert, log
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import ConditionFailed, Item, Key, key
from chalicelib.core.webhooks import endpoints, signature, transport
from chalicelib.core.webhooks.events import ADMIN, EVENT_GC_AFTER_S, FANOUT_QUEUE, expander_of

LEASE_NAME = "webhooks-delivery"
PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
# Backoff: 10 s, 20 s, 40 s ... capped at one hour, each scaled by a random 50-100 % (jitter, so
# endpoints recovering at once are not hit by every retry at the same second).
BACKOFF_BASE_MS = 10_000
BACKOFF_CAP_MS = 3_600_000
# Retries go on for a day and an hour after the first attempt, then the delivery is given up.
RETRY_FOR_MS = 25 * 3600 * 1000
FAILING_AFTER = 5
KEPT_ATTEMPTS = 20
QUEUE_PAGE = 25
DELIVERY_ID_PREFIX = "dlv_"


def queue_of(endpoint_id: str) -> str:
    return f"webhooks#queue#{endpoint_id}"


def delivery_key(endpoint_id: str, created: int, event_id: str) -> Key:
    return key(f"whep#{endpoint_id}", f"dlv#{created:013d}#{event_id}")


def delivery_id(created: int, event_id: str) -> str:
    return f"{DELIVERY_ID_PREFIX}{created:013d}_{event_id.removeprefix('evt_')}"


def backoff_ms(failures: int, rng: random.Random | None = None) -> int:
    base = min(BACKOFF_BASE_MS * 2 ** max(failures - 1, 0), BACKOFF_CAP_MS)
    return int(base * (0.5 + 0.5 * (rng or random).random()))


# -- fan-out -----------------------------------------------------------------------------------


def subscribed(endpoint: Item, event: Item) -> bool:
    if event["type"] not in endpoint["events"]:
        return False
    return endpoint["owner"] == ADMIN or endpoint["owner"] == event.get("app_id")


def fan_out(rt: Runtime, event: Item, targets: list[Item]) -> int:
    made = 0
    created = int(event["created_at"])
    for endpoint in targets:
        if not subscribed(endpoint, event):
            continue
        item = {
            **delivery_key(endpoint["id"], created, event["id"]),
            "id": delivery_id(created, event["id"]),
            "endpoint_id": endpoint["id"],
            "event_id": event["id"],
            "event_type": event["type"],
            "body": event["body"],
            "status": PENDING,
            "attempts": [],
            "failures": 0,
            "created_at": created,
            "next_attempt_at": created,
            "wpk": queue_of(endpoint["id"]),
            "wsk": f"{created:013d}#{event['id']}",
            "gc_at": created // 1000 + EVENT_GC_AFTER_S,
        }
        try:
            rt.store.put_new(item)
            made += 1
        except ConditionFailed:
            pass  # made by an earlier run that stopped before taking the event off the queue
    return made


def fan_out_pass(rt: Runtime, deadline_ms: int, targets: list[Item]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for event in rt.store.iter_work(FANOUT_QUEUE):
        if rt.clock.now_ms() + rt.settings.job_margin_ms >= deadline_ms:
            break
        expander = expander_of(event["type"])
        for child in expander(rt, event) if expander is not None else ():
            try:
                rt.store.put_new(child)  # durable first: a crash from here on repeats it
                counts["expanded"] += 1
            except ConditionFailed:
                pass
            distribute(rt, child, targets, counts)
        distribute(rt, event, targets, counts)
    return counts


def distribute(rt: Runtime, event: Item, targets: list[Item], counts: Counter[str]) -> None:
    """Copy the event to each subscribed endpoint's queue, then take it off the fan-out queue."""
    counts["deliveries"] += fan_out(rt, event, targets)
    failpoints.hit("webhook_after_fanout")
    try:
        rt.store.update(
            key(event["pk"], event["sk"]), set={"wpk": None, "wsk": None},
            condition=Attr("wsk").eq(event["wsk"]),
        )
    except ConditionFailed:
        pass  # written again meanwhile (a repeated transition): the next run fans it out
    counts["events"] += 1


# -- delivery ----------------------------------------------------------------------------------


def attempt(rt: Runtime, endpoint: Item, delivery: Item) -> transport.Outcome:
    now = rt.clock.now_ms()
    body = delivery["body"].encode()
    headers = {
        "Content-Type": "application/json",
        signature.HEADER: signature.header(
            endpoints.signing_secrets(endpoint, now), now // 1000, body
        ),
        "Settlekit-Event-Id": delivery["event_id"],
        "Settlekit-Event-Type": delivery["event_type"],
        "Settlekit-Delivery-Id": delivery["id"],
    }
    return transport.post(endpoint["url"], body, headers, dev=endpoints.dev_mode(rt.settings))


def record(rt: Runtime, endpoint: Item, delivery: Item, outcome: transport.Outcome,
           started: int) -> str:
    now = rt.clock.now_ms()
    entry = {"at": iso(started), "status_code": outcome.status, "error": outcome.error,
             "ms": max(now - started, 0)}
    attempts = [*delivery.get("attempts", []), entry][-KEPT_ATTEMPTS:]
    failures = int(delivery.get("failures", 0)) + (0 if outcome.ok else 1)
    first = int(delivery.get("first_attempt_at") or started)
    changes: dict[str, Any] = {"attempts": attempts, "failures": failures,
                               "first_attempt_at": first, "updated_at": now}
    if outcome.ok:
        status = DELIVERED
        changes.update(status=DELIVERED, delivered_at=now, wpk=None, wsk=None)
    elif now - first >= RETRY_FOR_MS:
        status = FAILED
        changes.update(status=FAILED, wpk=None, wsk=None)
    else:
        status = PENDING
        changes["next_attempt_at"] = now + backoff_ms(failures)
    try:
        rt.store.update(key(delivery["pk"], delivery["sk"]), set=changes,
                        condition=Attr("status").eq(PENDING))
    except ConditionFailed:
        return "superseded"
    note_endpoint(rt, endpoint, outcome.ok)
    if status == FAILED:
        log("webhook_delivery_given_up", endpoint_id=endpoint["id"], event_id=delivery["event_id"])
    return status


def note_endpoint(rt: Runtime, endpoint: Item, ok: bool) -> None:
    """Count consecutive failures; the transition to failing alerts once, recovery clears it."""
    ekey = endpoints.endpoint_key(endpoint["id"])
    try:
        if ok:
            if endpoint.get("consecutive_failures") or endpoint.get("failing"):
                rt.store.update(ekey, set={"consecutive_failures": 0, "failing": False},
                                condition=Attr("pk").exists())
                if endpoint.get("failing"):
                    log("webhook_endpoint_recovered", endpoint_id=endpoint["id"])
            endpoint.update(consecutive_failures=0, failing=False)
            return
        after = rt.store.update(ekey, add={"consecutive_failures": 1},
                                condition=Attr("pk").exists())
        endpoint["consecutive_failures"] = after["consecutive_failures"]
        if int(after["consecutive_failures"]) >= FAILING_AFTER and not after.get("failing"):
            rt.store.update(ekey, set={"failing": True}, condition=Attr("failing").eq(False))
            endpoint["failing"] = True
            alert("webhook_endpoint_failing", endpoint_id=endpoint["id"],
                  failures=int(after["consecutive_failures"]))
    except ConditionFailed:
        pass  # deleted meanwhile, or another worker marked it first (and alerted)


def deliver_endpoint(
    rt: Runtime, lease: Lease, endpoint: Item, deadline_ms: int
) -> Counter[str]:
    """Deliver this endpoint's due events in order; stop at the first one not yet due or failed."""
    counts: Counter[str] = Counter()
    while True:
        page, _ = rt.store.query_work(queue_of(endpoint["id"]), limit=QUEUE_PAGE)
        attempted = False
        for entry in page:
            if rt.clock.now_ms() + rt.settings.job_margin_ms >= deadline_ms:
                return counts
            if lease.remaining_ms() < rt.settings.lease_ttl_ms // 2:
                lease.renew(rt.settings.lease_ttl_ms)  # LeaseLost stops this run: order holds
            delivery = rt.store.get(entry["pk"], entry["sk"])
            if delivery is None or delivery["status"] != PENDING:
                continue  # the index lags the item (eventually consistent): already done
            attempted = True
            if int(delivery.get("next_attempt_at", 0)) > rt.clock.now_ms():
                counts["waiting"] += 1
                return counts  # later events wait behind it: order per endpoint is kept
            started = rt.clock.now_ms()
            outcome = attempt(rt, endpoint, delivery)
            failpoints.hit("webhook_after_post")  # sent, not recorded: sent again (same id)
            status = record(rt, endpoint, delivery, outcome, started)
            counts[status] += 1
            if status == PENDING:
                return counts
        if not attempted:
            return counts  # nothing left but entries the index has not dropped yet


def run_delivery(rt: Runtime, deadline_ms: int) -> dict[str, Any]:
    """One tick of the webhooks job (EventBridge, the local loop and tests call it)."""
    try:
        lease = acquire(rt.store, rt.clock, LEASE_NAME, rt.settings.lease_ttl_ms)
    except LeaseHeld:
        return {"skipped": "lease_held"}
    try:
        # Disabled endpoints get their events queued too: enabling one resumes where it paused.
        targets = endpoints.list_endpoints(rt)
        counts = fan_out_pass(rt, deadline_ms, targets)
        for endpoint in targets:
            if endpoint["status"] != endpoints.ACTIVE:
                continue
            counts.update(deliver_endpoint(rt, lease, endpoint, deadline_ms))
    except LeaseLost:
        counts = Counter({"stopped": 1})  # another run took over; it keeps the order
    finally:
        lease.release()
    return dict(counts)
