"""Webhook delivery to a real HTTP receiver on 127.0.0.1: every event type arrives signed, an
outage is ridden out in order, a crash never loses or doubles an event for a de-duplicating
receiver, and production settings refuse private destinations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import jobs
from chalicelib.anchoring.model import batch_key, chunk_key
from chalicelib.anchoring.webhook_events import anchor_confirmed_op
from chalicelib.bounties.webhook_events import payment_recorded_op
from chalicelib.core import failpoints
from chalicelib.core.clock import FixedClock
from chalicelib.core.failpoints import InjectedCrash
from chalicelib.core.outbox.webhook_events import REORGED, payout_event_op
from chalicelib.core.runtime import Runtime
from chalicelib.core.settings import load_settings
from chalicelib.core.store import DynamoStore, Op, put_op
from chalicelib.core.webhooks import delivery, endpoints, transport
from chalicelib.core.webhooks.events import ADMIN, event_types
from chalicelib.faucet.webhook_events import claim_event_op, drip_paid_op
from chalicelib.otc.webhook_events import order_event_op
from tests.conftest import START_MS
from tests.receiver import Receiver

jobs.register_webhook_events()
ALL_TYPES = sorted(t.name for t in event_types())
WALLET = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
APP_ID = "app_" + "b" * 16
FAR = START_MS + 10**9


@pytest.fixture
def rt(moto_store: DynamoStore, clock: FixedClock) -> Runtime:
    settings = load_settings({"TABLE_NAME": moto_store.table})
    return Runtime(settings, clock=clock, dynamodb_client=moto_store.client)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def subscribe(rt: Runtime, receiver: Receiver, events: list[str], owner: str = ADMIN) -> str:
    created = endpoints.register(rt, owner, {"url": receiver.url, "events": events})
    receiver.secret = created["secret"]
    return str(created["id"])


def run(rt: Runtime) -> dict[str, Any]:
    return jobs.webhooks(rt, FAR)


def payout(status: str, pid: str = "po_" + "1" * 32) -> dict[str, Any]:
    return {"id": pid, "status": status, "asset": "native", "to": WALLET, "amount": "5",
            "owner_type": "claim", "owner_id": "SECRETCODE#1", "tx_hash": "0x" + "ab" * 32,
            "created_at": START_MS, "updated_at": START_MS}


def one_of_each(rt: Runtime, now: int) -> list[Op]:
    """The event item every flow adds to its transition's transaction, one per type."""
    s = rt.settings
    claim = {"code": "SECRETCODE", "event_id": "ev_1", "attempt": 1, "wallet": WALLET,
             "asset": "native", "amount": "1000000000000000000", "decimals": 18}
    order = {"id": "ord_1", "pair": "SKT-ETH", "side": "sell", "maker": WALLET}
    batch = {"batch_seq": 7, "first_seq": 1, "last_seq": 2, "tree_size": 2,
             "root": "0x" + "cd" * 32, "chain_id": 31337, "contract": "0x" + "12" * 20,
             "leaves_token": "t0"}
    rt.store.put({**batch_key(7), **batch})
    rt.store.put({**chunk_key(7, "t0", 0), "members": f"{APP_ID} msg_one\n{APP_ID} msg_two"})
    return [
        payout_event_op(s, payout("confirmed"), now),
        payout_event_op(s, payout("failed", "po_" + "2" * 32), now),
        payout_event_op(s, payout("needs_attention", "po_" + "3" * 32), now),
        payout_event_op(s, {**payout("broadcast", "po_" + "4" * 32), "reorgs": 1}, now, REORGED),
        claim_event_op(claim, "paid", payout("confirmed"), now),
        claim_event_op({**claim, "code": "OTHER"}, "failed", payout("failed"), now),
        claim_event_op({**claim, "code": "THIRD"}, "released", payout("needs_attention"), now),
        drip_paid_op({"id": "dr_1", "wallet": WALLET, "asset": "native", "amount": "10"},
                     payout("confirmed"), now),
        payment_recorded_op({"id": "bty_1", "asset": "native"},
                            {"submission_id": "sub_1", "submitter": WALLET}, "0x" + "ef" * 32,
                            10, now),
        order_event_op("open", {**order, "status": "matched"}, now),
        order_event_op("settling", {**order, "status": "completed", "trade_id": "tr_1"}, now),
        order_event_op("refund_pending", {**order, "id": "ord_2", "status": "cancelled"}, now),
        anchor_confirmed_op(batch, {"tx_hash": "0x" + "99" * 32, "block_number": 5}, now),
    ]


def commit_events(rt: Runtime) -> None:
    # Each op is what a flow adds to its own transaction; one transaction here stands for them.
    for op in one_of_each(rt, rt.clock.now_ms()):
        rt.store.transact([op, put_op({"pk": f"state#{op.body['Item']['pk']['S']}", "sk": "s"})])


def test_every_event_type_is_delivered_signed_and_carries_no_secret(
    rt: Runtime, receiver: Receiver
) -> None:
    subscribe(rt, receiver, ALL_TYPES)
    commit_events(rt)
    run(rt)
    assert receiver.bad_signatures == 0
    assert sorted(set(receiver.types())) == ALL_TYPES
    assert receiver.types().count("message.anchored") == 2
    for request in receiver.requests:
        payload, headers = request["payload"], request["headers"]
        assert headers["Settlekit-Event-Id"] == payload["id"] and payload["id"].startswith("evt_")
        assert isinstance(payload["sequence"], int) and payload["resource"]["id"]
        assert "SECRETCODE" not in str(payload) and "secret" not in str(payload).lower()
    # A second run finds nothing left to send.
    again = run(rt)
    assert again.get("delivered", 0) == 0 and len(receiver.requests) == len(ALL_TYPES) + 1


def test_an_app_endpoint_gets_only_its_own_messages(rt: Runtime, receiver: Receiver) -> None:
    other = Receiver()
    try:
        subscribe(rt, receiver, ["message.anchored"], owner=APP_ID)
        created = endpoints.register(rt, "app_" + "c" * 16,
                                     {"url": other.url, "events": ["message.anchored"]})
        other.secret = created["secret"]
        commit_events(rt)
        run(rt)
        assert receiver.types() == ["message.anchored", "message.anchored"]
        ids = {r["payload"]["data"]["message_id"] for r in receiver.requests}
        assert ids == {"msg_one", "msg_two"}
        assert other.requests == []
    finally:
        other.stop()


def test_a_receiver_down_for_a_while_gets_everything_in_order_once_back(
    rt: Runtime, receiver: Receiver, clock: FixedClock
) -> None:
    subscribe(rt, receiver, ALL_TYPES)
    receiver.stop()
    commit_events(rt)
    first = run(rt)
    assert first.get("pending") == 1 and receiver.requests == []  # the head failed; rest wait
    for _ in range(4):  # still down: retried with a growing, jittered backoff
        clock.advance(delivery.BACKOFF_CAP_MS)
        run(rt)
    receiver.start()
    clock.advance(delivery.BACKOFF_CAP_MS)
    run(rt)
    assert receiver.bad_signatures == 0
    sent = [r["payload"] for r in receiver.requests]
    assert len(sent) == len({p["id"] for p in sent}) == len(ALL_TYPES) + 1
    assert [p["created_at"] for p in sent] == sorted(p["created_at"] for p in sent)
    (ep,) = endpoints.list_endpoints(rt)
    assert ep["consecutive_failures"] == 0 and ep["failing"] is False


def test_repeated_failures_mark_the_endpoint_failing_with_one_alert_and_give_up_after_a_day(
    rt: Runtime, receiver: Receiver, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    subscribe(rt, receiver, ["drip.paid"])
    receiver.status = 500
    commit_events(rt)
    backoffs = []
    for _ in range(delivery.FAILING_AFTER + 3):
        run(rt)
        (item,) = rt.store.query(f"whep#{endpoints.list_endpoints(rt)[0]['id']}")[0]
        backoffs.append(int(item["next_attempt_at"]) - clock.now_ms())
        clock.advance(delivery.BACKOFF_CAP_MS)
    assert backoffs[1] > backoffs[0] // 2 and max(backoffs) <= delivery.BACKOFF_CAP_MS
    (ep,) = endpoints.list_endpoints(rt)
    assert ep["failing"] is True
    import json

    alerts = [r for r in caplog.messages if '"webhook_endpoint_failing"' in r]
    assert len(alerts) == 1 and json.loads(alerts[0])["alert"] is True
    clock.advance(delivery.RETRY_FOR_MS)
    run(rt)
    (item,) = rt.store.query(f"whep#{ep['id']}")[0]
    assert item["status"] == "failed" and len(item["attempts"]) >= delivery.FAILING_AFTER
    assert len(receiver.requests) == len(item["attempts"])


@pytest.mark.parametrize("point", ["webhook_after_fanout", "webhook_after_post"])
def test_a_crash_between_the_state_change_and_delivery_reaches_a_deduplicating_receiver_once(
    rt: Runtime, receiver: Receiver, point: str
) -> None:
    subscribe(rt, receiver, ALL_TYPES)
    commit_events(rt)  # the state changes and their events are committed; nothing delivered yet
    with failpoints.armed(point), pytest.raises(InjectedCrash):
        run(rt)
    # The crashed run's lease is still held until it expires; a later run takes over.
    rt.clock.advance(rt.settings.lease_ttl_ms + 1)  # type: ignore[attr-defined]
    run(rt)
    assert sorted({p["type"] for p in receiver.unique.values()}) == ALL_TYPES
    assert len(receiver.unique) == len(ALL_TYPES) + 1
    # At least once: the crash after the POST sends that one event again, under the same id.
    assert len(receiver.requests) - len(receiver.unique) == (point == "webhook_after_post")


def test_production_settings_refuse_private_destinations_at_registration_and_delivery(
    moto_store: DynamoStore, clock: FixedClock, receiver: Receiver
) -> None:
    prod = Runtime(load_settings({"TABLE_NAME": moto_store.table, "STAGE": "prod"}),
                   clock=clock, dynamodb_client=moto_store.client)
    jobs.register_webhook_events()
    for url in (receiver.url, "http://example.com/h", f"https://127.0.0.1:{receiver.port}/",
                "https://10.0.0.8/h",
                "https://[::1]/h", "https://169.254.169.254/latest", "https://localhost/h"):
        with pytest.raises(Exception) as info:
            endpoints.register(prod, ADMIN, {"url": url, "events": ["drip.paid"]})
        assert getattr(info.value, "status", None) == 400, url
    # A public-looking name that resolves to loopback is caught when delivering, before connecting.
    outcome = transport.post(f"https://localhost:{receiver.port}/h", b"{}", {}, dev=False)
    assert outcome.status is None and "private" in (outcome.error or "")
    assert receiver.requests == []


def test_a_disabled_endpoint_receives_nothing_until_enabled_then_everything_in_order(
    rt: Runtime, receiver: Receiver
) -> None:
    endpoint_id = subscribe(rt, receiver, ALL_TYPES)
    endpoints.set_status(rt, ADMIN, endpoint_id, endpoints.DISABLED)
    commit_events(rt)
    run(rt)
    assert receiver.requests == []
    endpoints.set_status(rt, ADMIN, endpoint_id, endpoints.ACTIVE)
    run(rt)
    sent = [r["payload"] for r in receiver.requests]
    assert len(sent) == len(ALL_TYPES) + 1 and receiver.bad_signatures == 0
    assert [p["created_at"] for p in sent] == sorted(p["created_at"] for p in sent)
