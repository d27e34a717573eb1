"""Every request path that writes, with the store losing answers (the drip paid twice, issue 17).

The store is real (moto); tests/store_faults.py loses the answers of every other write: it
commits and re-sends the identical request (what botocore's retry did after a read timeout),
commits and times out, or times out without sending. Each request must leave exactly one record
and at most one payout, and answer the committed result or a 503 marked retry-safe: never a second
drip, never a 409 for the caller's own write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from chalice.test import Client

import app
from chalicelib.core.clock import FixedClock, iso
from chalicelib.core.runtime import Runtime, set_runtime
from chalicelib.core.settings import load_settings
from tests.e2e.test_faucet_drips import BASE_ENV, Api
from tests.store_faults import FAULTS, FaultyClient, every

DAY_MS = 86_400_000
WALLETS = [f"0x{n:040x}" for n in range(0x1001, 0x1001 + 12)]


@pytest.fixture(params=sorted(FAULTS))
def fault(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_faulty(
    moto_client: Any, clock: FixedClock
) -> Iterator[Callable[..., tuple[Api, FaultyClient]]]:
    def make(kind: str, due: Callable[[int], bool] | None = None) -> tuple[Api, FaultyClient]:
        faulty = FAULTS[kind](moto_client, due or every(2))
        faulty.active = False  # the test's own setup writes plainly
        settings = load_settings({**BASE_ENV, "DRIP_MAX_REQUESTS": "20",
                                  "ANCHOR_REGISTRY_ADDRESS": "0x" + "cd" * 20})
        rt = Runtime(settings, clock=clock, dynamodb_client=faulty)
        set_runtime(rt)
        return Api(Client(app.app), rt, clock), faulty

    yield make
    set_runtime(None)


def stored(api: Api, prefix: str) -> list[dict[str, Any]]:
    """Every item whose pk starts with `prefix` (a test-only Scan of the moto table)."""
    client = api.rt.store.client
    pages = client.get_paginator("scan").paginate(
        TableName=api.rt.settings.table_name,
        FilterExpression="begins_with(pk, :p)",
        ExpressionAttributeValues={":p": {"S": prefix}},
    )
    return [item for page in pages for item in page["Items"]]


def committed_or_retry_safe(resp: Any, ok: int) -> bool:
    """The committed answer, or a 503 that says a retry is safe; anything else fails the test."""
    if resp.status_code == ok:
        return True
    assert resp.status_code == 503, resp.json_body
    assert resp.json_body["details"]["retry_safe"] is True, resp.json_body
    assert "Retry-After" in resp.headers
    return False


def admin_post(api: Api, path: str, body: Any, key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else None
    return api.post(path, body, admin=True, headers=headers)


def new_event(api: Api) -> dict[str, Any]:
    body = {"name": "Summit", "amount": "5", "expires_at": iso(api.clock.now_ms() + 7 * DAY_MS)}
    resp = admin_post(api, "/v1/events", body)
    assert resp.status_code == 201, resp.json_body
    return dict(resp.json_body)


# -- drips -------------------------------------------------------------------------------------


def test_twelve_drips_with_lost_answers_make_twelve_drips_and_twelve_payouts(
    make_faulty: Callable[..., tuple[Api, FaultyClient]], fault: str
) -> None:
    api, faulty = make_faulty(fault)
    faulty.active = True
    answered = []
    for i, wallet in enumerate(WALLETS):
        resp = api.post("/v1/faucet/drip", {"wallet": wallet}, ip=f"198.51.100.{i + 1}",
                        headers={"Idempotency-Key": f"drip-{i}"})
        assert committed_or_retry_safe(resp, 202)
        answered.append(resp.json_body)
    assert faulty.faults >= 6
    drips = stored(api, "drip#")
    payouts = stored(api, "payout#")
    assert len(drips) == len(payouts) == 12  # one drip and one payout per request
    assert sorted(d["wallet"]["S"].lower() for d in drips) == WALLETS
    assert {a["payout_id"] for a in answered} == {p["id"]["S"] for p in payouts}


def test_a_drip_whose_every_send_is_lost_is_a_retry_safe_503_and_its_retry_pays_once(
    make_faulty: Callable[..., tuple[Api, FaultyClient]],
) -> None:
    api, faulty = make_faulty("lost_timeout", every(1))
    faulty.active = True
    key = {"Idempotency-Key": "drip-lost"}
    resp = api.post("/v1/faucet/drip", {"wallet": WALLETS[0]}, headers=key)
    assert resp.status_code == 503 and resp.json_body["details"]["retry_safe"] is True
    assert stored(api, "drip#") == []
    faulty.active = False
    again = api.post("/v1/faucet/drip", {"wallet": WALLETS[0]}, headers=key)
    assert again.status_code == 202
    assert len(stored(api, "drip#")) == len(stored(api, "payout#")) == 1


# -- events, code batches, claims ---------------------------------------------------------------


def test_an_event_with_a_lost_answer_is_created_once_and_answered_201(
    make_faulty: Callable[..., tuple[Api, FaultyClient]], fault: str
) -> None:
    api, faulty = make_faulty(fault, every(1) if fault != "lost_timeout" else every(2))
    faulty.active = True
    body = {"name": "Summit", "amount": "5", "expires_at": iso(api.clock.now_ms() + DAY_MS)}
    resp = admin_post(api, "/v1/events", body)
    assert resp.status_code == 201, resp.json_body  # never 409 transaction_failed
    events = [e for e in stored(api, "event#") if e["sk"]["S"] == "event"]
    assert [e["id"]["S"] for e in events] == [resp.json_body["id"]]


def test_a_code_batch_with_lost_answers_creates_each_code_once_and_returns_them_all(
    make_faulty: Callable[..., tuple[Api, FaultyClient]], fault: str
) -> None:
    api, faulty = make_faulty(fault)
    event = new_event(api)
    faulty.active = True
    resp = admin_post(api, f"/v1/events/{event['id']}/codes", {"count": 200})
    assert resp.status_code == 201, resp.json_body
    codes = resp.json_body["codes"]
    assert len(codes) == len(set(codes)) == 200  # three transactions
    assert sorted(c["code"]["S"] for c in stored(api, "code#")) == sorted(codes)
    available = api.get(f"/v1/events/{event['id']}", admin=True).json_body["counts"]["available"]
    assert available == 200  # the counters moved once per code too


def test_a_claim_with_a_lost_answer_makes_one_claim_and_one_payout(
    make_faulty: Callable[..., tuple[Api, FaultyClient]], fault: str
) -> None:
    api, faulty = make_faulty(fault, every(1) if fault != "lost_timeout" else every(2))
    event = new_event(api)
    code = admin_post(api, f"/v1/events/{event['id']}/codes", {"count": 1}).json_body["codes"][0]
    faulty.active = True
    resp = api.post("/v1/claims", {"code": code, "wallet": WALLETS[0]})
    assert resp.status_code in (200, 202), resp.json_body  # never 409 claim_conflict
    assert resp.json_body["wallet"].lower() == WALLETS[0]
    claims = [c for c in stored(api, "code#") if c["sk"]["S"].startswith("claim#")]
    assert len(claims) == 1 and len(stored(api, "payout#")) == 1


# -- admin payouts and messages -----------------------------------------------------------------


def test_an_admin_payout_with_a_lost_answer_is_one_payout(
    make_faulty: Callable[..., tuple[Api, FaultyClient]], fault: str
) -> None:
    api, faulty = make_faulty(fault, every(1) if fault != "lost_timeout" else every(2))
    faulty.active = True
    body = {"key": "refund-7", "to": WALLETS[1], "amount": "1"}
    resp = admin_post(api, "/v1/admin/payouts", body)
    assert resp.status_code in (200, 202), resp.json_body
    assert [p["id"]["S"] for p in stored(api, "payout#")] == [resp.json_body["id"]]


def test_a_message_with_a_lost_answer_is_recorded_once(
    make_faulty: Callable[..., tuple[Api, FaultyClient]], fault: str
) -> None:
    api, faulty = make_faulty(fault, every(1) if fault != "lost_timeout" else every(2))
    made = admin_post(api, "/v1/admin/apps", {"name": "chat"}).json_body
    faulty.active = True
    message = {"conversation_id": "room", "content_hash": "0x" + "ab" * 32, "sender": "alice",
               "sent_at": "2026-09-21T10:00:00Z"}
    resp = api.post("/v1/messages", message,
                    headers={"Authorization": f"Bearer {made['api_key']}"})
    assert resp.status_code == 201, resp.json_body
    messages = stored(api, "msg#")
    assert [m["message_id"]["S"] for m in messages] == [resp.json_body["message_id"]]
    assert resp.json_body["seq"] == 1


def test_an_app_with_a_lost_answer_is_created_once(
    make_faulty: Callable[..., tuple[Api, FaultyClient]], fault: str
) -> None:
    api, faulty = make_faulty(fault, every(1) if fault != "lost_timeout" else every(2))
    faulty.active = True
    resp = admin_post(api, "/v1/admin/apps", {"name": "chat"})
    assert resp.status_code == 201, resp.json_body
    apps = [a for a in stored(api, "app#")]
    assert [a["app_id"]["S"] for a in apps] == [resp.json_body["app_id"]]




# -- Idempotency-Key across requests ------------------------------------------------------------


def test_a_repeat_with_the_same_key_answers_the_first_result_on_every_creating_route(
    make_faulty: Callable[..., tuple[Api, FaultyClient]],
) -> None:
    api, _ = make_faulty("lost_timeout")
    event_body = {"name": "Summit", "amount": "5", "expires_at": iso(api.clock.now_ms() + DAY_MS)}
    payout_body = {"to": WALLETS[2], "amount": "1"}
    for path, body, ok, admin in [
        ("/v1/faucet/drip", {"wallet": WALLETS[0]}, 202, False),
        ("/v1/events", event_body, 201, True),
        ("/v1/admin/payouts", payout_body, 202, True),
    ]:
        headers = {"Idempotency-Key": f"key-for-{path}"}
        first = api.post(path, body, admin=admin, headers=headers)
        assert first.status_code == ok and "Idempotent-Replayed" not in first.headers, path
        again = api.post(path, body, admin=admin, headers=headers)
        assert again.status_code in (ok, 200), (path, again.json_body)
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json_body == first.json_body or again.json_body["id"] == first.json_body["id"]
        other = api.post(path, {**body, "amount": "2"} if "amount" in body
                         else {"wallet": WALLETS[1]}, admin=admin, headers=headers)
        assert other.status_code == 409, (path, other.json_body)
        assert other.json_body["error"] == "idempotency_key_conflict"
    assert len(stored(api, "drip#")) == 1
    assert len([e for e in stored(api, "event#") if e["sk"]["S"] == "event"]) == 1
    assert len(stored(api, "payout#")) == 2  # the drip's and the admin payout


def test_an_unconfirmed_drip_without_a_key_says_a_blind_retry_is_not_safe(
    make_faulty: Callable[..., tuple[Api, FaultyClient]],
) -> None:
    from tests.integration.test_store_outcomes import Unreadable

    api, _ = make_faulty("lost_timeout")
    unreadable = Unreadable(api.rt.store.client, every(1))
    api.rt.store.client = api.rt.store.write_client = unreadable
    resp = api.post("/v1/faucet/drip", {"wallet": WALLETS[0]})
    assert resp.status_code == 503 and resp.json_body["error"] == "write_outcome_unknown"
    assert resp.json_body["details"]["retry_safe"] is False
    assert "Idempotency-Key" in resp.json_body["message"]
    keyed = api.post("/v1/faucet/drip", {"wallet": WALLETS[1]}, headers={"Idempotency-Key": "k"})
    assert keyed.status_code == 503 and keyed.json_body["details"]["retry_safe"] is True


# -- errors by cause (issue 10, item 5) ---------------------------------------------------------

CLAIM_ITEMS = ["blocked check", "event counter", "code", "claim", "wallet allowance", "intent"]


@pytest.mark.parametrize("reason", ["ThrottlingError", "TransactionConflict", "ValidationError",
                                    "ProvisionedThroughputExceeded"])
@pytest.mark.parametrize("index", range(len(CLAIM_ITEMS)), ids=CLAIM_ITEMS)
def test_a_claim_cancelled_for_any_reason_but_a_condition_is_a_503_never_a_lost_race(
    moto_client: Any, clock: FixedClock, reason: str, index: int
) -> None:
    from tests.store_faults import Cancelled

    faulty = Cancelled(moto_client, reason, index=index, due=every(1))
    faulty.active = False
    rt = Runtime(load_settings(BASE_ENV), clock=clock, dynamodb_client=faulty)
    set_runtime(rt)
    try:
        api = Api(Client(app.app), rt, clock)
        event = new_event(api)
        code = admin_post(api, f"/v1/events/{event['id']}/codes", {"count": 1}).json_body["codes"]
        faulty.active = True
        resp = api.post("/v1/claims", {"code": code[0], "wallet": WALLETS[0]})
        # Not claim_conflict, event_disabled, wallet_claim_limit or too_many_invalid_codes.
        assert resp.status_code == 503, resp.json_body
        assert resp.json_body["error"] == "store_unavailable"
        assert resp.json_body["details"] == {"retry_safe": True, "reasons": [reason]}
        assert resp.headers["Retry-After"] == "1"
        faulty.active = False
        assert api.post("/v1/claims", {"code": code[0], "wallet": WALLETS[0]}).status_code == 202
    finally:
        set_runtime(None)


def test_a_drip_throttled_on_its_slot_is_a_503_not_a_429(
    make_faulty: Callable[..., tuple[Api, FaultyClient]], moto_client: Any,
) -> None:
    from tests.store_faults import Cancelled

    api, _ = make_faulty("lost_timeout")
    throttled = Cancelled(moto_client, "ThrottlingError", index=0, due=every(1))
    api.rt.store.write_client = throttled
    resp = api.post("/v1/faucet/drip", {"wallet": WALLETS[0]})
    assert resp.status_code == 503 and resp.json_body["error"] == "store_unavailable"
    assert stored(api, "drip#") == []
