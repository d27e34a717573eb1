"""Events and their codes through the HTTP API: the organizer's side (admin token)."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Callable
from typing import Any

import pytest

from bench.counting import WRITES, count_requests
from chalicelib.core.clock import iso
from chalicelib.faucet import codes
from chalicelib.faucet.keys import code_key
from tests.e2e import test_faucet_drips as harness
from tests.e2e.test_faucet_drips import ALICE, BOB, Api, error

# Shared fixtures, used by name.
make_api = harness.make_api
api = harness.api

DAY_MS = 86_400_000


def new_event(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"name": "Community summit", "amount": "5",
            "expires_at": iso(api.clock.now_ms() + 7 * DAY_MS), **fields}
    resp = api.post("/v1/events", body, admin=True)
    assert resp.status_code == 201, resp.json_body
    return dict(resp.json_body)


def new_codes(api: Api, event_id: str, count: int, **fields: Any) -> list[str]:
    resp = api.post(f"/v1/events/{event_id}/codes", {"count": count, **fields}, admin=True)
    assert resp.status_code == 201, resp.json_body
    return list(resp.json_body["codes"])


def claim(api: Api, code: str, wallet: str = ALICE, ip: str = "203.0.113.1") -> Any:
    return api.post("/v1/claims", {"code": code, "wallet": wallet}, ip=ip)


def counts(api: Api, event_id: str) -> dict[str, int]:
    resp = api.get(f"/v1/events/{event_id}", admin=True)
    assert resp.status_code == 200, resp.json_body
    return dict(resp.json_body["counts"])


def test_an_organizer_creates_an_event_and_a_batch_of_codes_and_reads_counts_by_state(
    api: Api,
) -> None:
    expires = iso(api.clock.now_ms() + 2 * DAY_MS)
    event = new_event(api, name="  ETHDenver side event ", amount="12.5", expires_at=expires,
                      max_claims_per_wallet=2)
    assert event["id"].startswith("ev_")
    assert (event["name"], event["amount"], event["asset"]) == ("ETHDenver side event", "12.5",
                                                                "SKT")
    assert (event["expires_at"], event["max_claims_per_wallet"]) == (expires, 2)
    assert event["status"] == "active"
    assert event["counts"]["total"] == 0

    created = api.post(f"/v1/events/{event['id']}/codes", {"count": 4, "prefix": "denver"},
                       admin=True)
    assert created.status_code == 201
    body = created.json_body
    assert (body["count"], body["amount"], body["asset"], body["expires_at"]) == (
        4, "12.5", "SKT", expires)
    assert len(set(body["codes"])) == 4
    assert all(c.startswith("DENVER-") for c in body["codes"])
    assert counts(api, event["id"]) == {"available": 4, "claimed": 0, "paid": 0,
                                        "needs_attention": 0, "revoked": 0, "expired": 0,
                                        "total": 4}
    assert claim(api, body["codes"][0]).status_code == 202
    assert counts(api, event["id"])["available"] == 3
    assert counts(api, event["id"])["claimed"] == 1


def test_an_event_may_pay_the_native_coin_listed_in_info(api: Api) -> None:
    event = new_event(api, asset="ETH", amount="0.01")
    assert (event["asset"], event["amount"]) == ("ETH", "0.01")
    code = new_codes(api, event["id"], 1)[0]
    pid = claim(api, code).json_body["payout_id"]
    assert api.payout(pid)["asset"] == "native"
    assert api.payout(pid)["amount"] == str(10**16)


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("amount", "NaN", "invalid_amount"),
        ("amount", "nan", "invalid_amount"),
        ("amount", "Infinity", "invalid_amount"),
        ("amount", "-inf", "invalid_amount"),
        ("amount", "-1", "invalid_amount"),
        ("amount", "0", "invalid_amount"),
        ("amount", "0.0", "invalid_amount"),
        ("amount", True, "invalid_amount"),
        ("amount", 1.5, "invalid_amount"),
        ("amount", 5, "invalid_amount"),
        ("amount", "1e3", "invalid_amount"),
        ("amount", "1." + "0" * 18 + "1", "invalid_amount"),  # 19 decimals > 18
        ("amount", "1000.000000000000000001", "invalid_amount"),  # over EVENT_MAX_AMOUNT
        ("amount", "1001", "invalid_amount"),
        ("amount", " ", "invalid_amount"),
        ("amount", None, "invalid_amount"),
        ("name", "", "invalid_name"),
        ("name", "x" * 101, "invalid_name"),
        ("name", 7, "invalid_name"),
        ("expires_at", "2020-01-01T00:00:00Z", "invalid_expires_at"),
        ("expires_at", "2030-01-01T00:00:00Z", "invalid_expires_at"),  # past the 90-day horizon
        ("expires_at", "2026-10-01T00:00:00", "invalid_expires_at"),  # no zone
        ("expires_at", "next friday", "invalid_expires_at"),
        ("expires_at", 1_790_100_000_000, "invalid_expires_at"),
        ("max_claims_per_wallet", 0, "invalid_max_claims_per_wallet"),
        ("max_claims_per_wallet", 1001, "invalid_max_claims_per_wallet"),
        ("max_claims_per_wallet", True, "invalid_max_claims_per_wallet"),
        ("max_claims_per_wallet", 2.0, "invalid_max_claims_per_wallet"),
        ("max_claims_per_wallet", "2", "invalid_max_claims_per_wallet"),
        ("asset", "DOGE", "invalid_asset"),
        ("asset", 1, "invalid_asset"),
        ("colour", "blue", "unknown_field"),
    ],
)
def test_every_bad_event_field_is_a_400_that_writes_nothing(
    api: Api, field: str, value: Any, code: str
) -> None:
    body = {"name": "Summit", "amount": "5", "expires_at": iso(api.clock.now_ms() + DAY_MS),
            field: value}
    with count_requests(api.rt.store.client) as calls:
        resp = api.post("/v1/events", body, admin=True)
    assert resp.status_code == 400, resp.json_body
    assert error(resp) == code
    assert not any(calls[op] for op in WRITES)


@pytest.mark.parametrize("raw", [b'{"name": "x", "amount": NaN}', b'{"amount": Infinity}',
                                 b'{"amount": -Infinity}'])
def test_non_json_numbers_like_nan_are_refused_before_any_field_is_read(
    api: Api, raw: bytes
) -> None:
    resp = api.post("/v1/events", admin=True, raw=raw)
    assert resp.status_code == 400 and error(resp) == "invalid_json"


def test_the_maximum_amount_and_the_horizon_themselves_are_accepted(
    make_api: Callable[..., Api],
) -> None:
    api = make_api(EVENT_MAX_AMOUNT="50", EVENT_MAX_HORIZON_DAYS="3")
    event = new_event(api, amount="50", expires_at=iso(api.clock.now_ms() + 3 * DAY_MS))
    assert event["amount"] == "50"
    over = api.post("/v1/events", {"name": "x", "amount": "50.000001",
                                   "expires_at": iso(api.clock.now_ms() + DAY_MS)}, admin=True)
    assert error(over) == "invalid_amount"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"count": 0}, "invalid_count"),
        ({"count": 501}, "invalid_count"),
        ({"count": -1}, "invalid_count"),
        ({"count": True}, "invalid_count"),
        ({"count": 2.0}, "invalid_count"),
        ({"count": "5"}, "invalid_count"),
        ({}, "invalid_count"),
        ({"count": 2, "prefix": ""}, "invalid_prefix"),
        ({"count": 2, "prefix": "x" * 17}, "invalid_prefix"),
        ({"count": 2, "prefix": "no spaces"}, "invalid_prefix"),
        ({"count": 2, "prefix": "dot.ted"}, "invalid_prefix"),
        ({"count": 2, "prefix": 12}, "invalid_prefix"),
        ({"count": 2, "extra": 1}, "unknown_field"),
    ],
)
def test_every_bad_code_batch_is_a_400_that_creates_no_code(
    api: Api, body: dict[str, Any], code: str
) -> None:
    event = new_event(api)
    resp = api.post(f"/v1/events/{event['id']}/codes", body, admin=True)
    assert resp.status_code == 400 and error(resp) == code, resp.json_body
    assert counts(api, event["id"])["total"] == 0


def test_a_batch_of_500_codes_is_written_in_transactions_of_at_most_100_items(api: Api) -> None:
    event = new_event(api)
    with count_requests(api.rt.store.client) as calls:
        created = new_codes(api, event["id"], 500)
    assert len(set(created)) == 500
    # 5 x (97 codes + counter + part + commit marker) + (15 codes + counter + part + marker)
    assert calls["TransactWriteItems"] == 6
    assert calls["items_in_transactions"] == 518
    for code in created[:20]:
        assert len(base64.b32decode(code)) * 8 >= 96
    assert counts(api, event["id"])["available"] == 500


def test_codes_can_be_had_as_csv(api: Api) -> None:
    event = new_event(api, amount="2.5")
    resp = api.post(f"/v1/events/{event['id']}/codes?format=csv", {"count": 3, "prefix": "VIP"},
                    admin=True)
    assert resp.status_code == 201
    assert resp.headers["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.body.decode())))
    assert rows[0] == ["code", "amount", "asset", "expires_at"]
    assert len(rows) == 4
    assert all(r[0].startswith("VIP-") and r[1:3] == ["2.5", "SKT"] for r in rows[1:])
    assert claim(api, rows[1][0]).status_code == 202
    bad = api.post(f"/v1/events/{event['id']}/codes?format=xml", {"count": 1}, admin=True)
    assert bad.status_code == 400 and error(bad) == "invalid_format"


def test_a_colliding_code_is_regenerated_instead_of_failing_the_batch(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = new_event(api)
    existing = new_codes(api, first["id"], 1)[0]
    second = new_event(api)
    real = codes.new_code
    # The first draws repeat an existing code (and each other); later draws are fresh.
    queue = [existing, existing, existing]

    def draw(prefix: str | None = None) -> str:
        return queue.pop() if queue else real(prefix)

    monkeypatch.setattr(codes, "new_code", draw)
    resp = api.post(f"/v1/events/{second['id']}/codes", {"count": 3}, admin=True)
    assert resp.status_code == 201, resp.json_body
    created = resp.json_body["codes"]
    assert len(set(created)) == 3 and existing not in created
    assert api.rt.store.get(**code_key(existing))["event_id"] == first["id"]
    assert counts(api, second["id"])["available"] == 3
    assert counts(api, first["id"])["available"] == 1


def test_codes_are_listed_page_by_page_with_each_codes_state(api: Api) -> None:
    event = new_event(api)
    created = new_codes(api, event["id"], 7)
    assert claim(api, created[0]).status_code == 202
    assert api.post(f"/v1/codes/{created[1]}/revoke", admin=True).status_code == 200
    seen: dict[str, dict[str, Any]] = {}
    cursor = None
    pages = 0
    while True:
        path = f"/v1/events/{event['id']}/codes?limit=3" + (f"&next={cursor}" if cursor else "")
        resp = api.get(path, admin=True)
        assert resp.status_code == 200, resp.json_body
        pages += 1
        assert len(resp.json_body["codes"]) <= 3
        seen |= {c["code"]: c for c in resp.json_body["codes"]}
        cursor = resp.json_body["next"]
        if not cursor:
            break
    assert pages >= 3 and set(seen) == set(created)
    assert seen[created[0]]["state"] == "claimed" and seen[created[0]]["wallet"] == ALICE
    assert seen[created[1]]["state"] == "revoked"
    assert {seen[c]["state"] for c in created[2:]} == {"available"}
    api.clock.advance(8 * DAY_MS)
    listed = api.get(f"/v1/events/{event['id']}/codes", admin=True).json_body["codes"]
    assert {c["code"]: c["state"] for c in listed}[created[2]] == "expired"
    assert api.get(f"/v1/events/{event['id']}/codes?limit=0", admin=True).status_code == 400


def test_a_disabled_event_refuses_claims_and_new_codes_but_lets_claims_in_flight_finish(
    api: Api,
) -> None:
    event = new_event(api)
    created = new_codes(api, event["id"], 3)
    pending = claim(api, created[0]).json_body
    disabled = api.post(f"/v1/events/{event['id']}/disable", {"by": "ops"}, admin=True)
    assert disabled.status_code == 200
    assert disabled.json_body["status"] == "disabled" and disabled.json_body["disabled_at"]
    again = api.post(f"/v1/events/{event['id']}/disable", admin=True)
    assert again.status_code == 200 and again.json_body["status"] == "disabled"

    refused = claim(api, created[1], BOB)
    assert refused.status_code == 404 and error(refused) == "event_disabled"
    more = api.post(f"/v1/events/{event['id']}/codes", {"count": 1}, admin=True)
    assert more.status_code == 404 and error(more) == "event_disabled"
    assert counts(api, event["id"])["available"] == 2  # nothing was claimed or created
    # The claim made before the switch still gets its payout's outcome.
    api.conclude(pending["payout_id"], "confirmed")
    assert counts(api, event["id"])["paid"] == 1
    assert api.get(f"/v1/claims/{created[0]}").json_body["status"] == "paid"


def test_the_global_switch_turns_events_and_claims_off(make_api: Callable[..., Api]) -> None:
    on = make_api()
    event = new_event(on)
    code = new_codes(on, event["id"], 1)[0]
    off = make_api(EVENTS_ENABLED="false")
    for resp in (
        off.post("/v1/events", {"name": "x", "amount": "1",
                                "expires_at": iso(off.clock.now_ms() + DAY_MS)}, admin=True),
        off.post(f"/v1/events/{event['id']}/codes", {"count": 1}, admin=True),
        claim(off, code),
    ):
        assert resp.status_code == 404 and error(resp) == "events_disabled", resp.json_body
    assert off.get(f"/v1/events/{event['id']}", admin=True).json_body["counts"]["available"] == 1


def test_an_unclaimed_code_can_be_revoked_once_and_then_cannot_be_claimed(api: Api) -> None:
    event = new_event(api)
    spare, taken = new_codes(api, event["id"], 2)
    first = api.post(f"/v1/codes/{spare.lower()}/revoke", admin=True)
    assert first.status_code == 200 and first.json_body["state"] == "revoked"
    assert api.post(f"/v1/codes/{spare}/revoke", admin=True).json_body["state"] == "revoked"
    refused = claim(api, spare)
    assert refused.status_code == 410 and error(refused) == "revoked"
    assert claim(api, taken).status_code == 202
    no = api.post(f"/v1/codes/{taken}/revoke", admin=True)
    assert no.status_code == 409 and error(no) == "code_not_revocable"
    assert no.json_body["details"]["state"] == "claimed"
    unknown = api.post("/v1/codes/NOPE-NOPE/revoke", admin=True)
    assert unknown.status_code == 404 and error(unknown) == "invalid_code"
    assert counts(api, event["id"]) | {"total": 0} == {
        "available": 0, "claimed": 1, "paid": 0, "needs_attention": 0, "revoked": 1,
        "expired": 0, "total": 0}


def test_an_expired_event_takes_no_new_codes_and_counts_its_unclaimed_codes_as_expired(
    api: Api,
) -> None:
    event = new_event(api, expires_at=iso(api.clock.now_ms() + DAY_MS))
    new_codes(api, event["id"], 2)
    api.clock.advance(DAY_MS)
    late = api.post(f"/v1/events/{event['id']}/codes", {"count": 1}, admin=True)
    assert late.status_code == 410 and error(late) == "event_expired"
    shown = api.get(f"/v1/events/{event['id']}", admin=True).json_body
    assert shown["status"] == "expired"
    assert (shown["counts"]["expired"], shown["counts"]["available"]) == (2, 0)


@pytest.mark.parametrize("event_id", ["ev_0123456789abcdef", "nope", "ev_" + "x" * 16])
def test_an_unknown_event_is_a_404(api: Api, event_id: str) -> None:
    for resp in (
        api.get(f"/v1/events/{event_id}", admin=True),
        api.get(f"/v1/events/{event_id}/codes", admin=True),
        api.post(f"/v1/events/{event_id}/codes", {"count": 1}, admin=True),
        api.post(f"/v1/events/{event_id}/disable", admin=True),
    ):
        assert resp.status_code == 404 and error(resp) == "event_not_found"


ADMIN_ROUTES = [
    ("POST", "/v1/events"),
    ("GET", "/v1/events/ev_0123456789abcdef"),
    ("POST", "/v1/events/ev_0123456789abcdef/codes"),
    ("POST", "/v1/events/ev_0123456789abcdef/codes?format=csv"),
    ("GET", "/v1/events/ev_0123456789abcdef/codes"),
    ("POST", "/v1/events/ev_0123456789abcdef/disable"),
    ("POST", "/v1/codes/SOME-CODE/revoke"),
    ("GET", "/v1/admin/claims?status=needs_attention"),
    ("POST", "/v1/admin/claims/SOME-CODE/resolve"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_admin_routes_refuse_missing_and_wrong_tokens_and_do_not_exist_unconfigured(
    make_api: Callable[..., Api], method: str, path: str
) -> None:
    api = make_api()
    body = {"name": "x", "amount": "1", "expires_at": iso(api.clock.now_ms() + DAY_MS),
            "count": 1, "outcome": "release", "by": "me"}

    def call(headers: dict[str, str], target: Api = api) -> Any:
        if method == "GET":
            return target.get(path, headers=headers)
        return target.post(path, body, headers=headers)

    for headers, code in (
        ({}, "admin_token_missing"),
        ({"Authorization": "Bearer wrong-token-wrong-token"}, "admin_token_invalid"),
        ({"Authorization": f"Basic {harness.ADMIN_TOKEN}"}, "admin_token_missing"),
    ):
        with count_requests(api.rt.store.client) as calls:
            resp = call(headers)
        assert resp.status_code == 401 and error(resp) == code, resp.json_body
        assert sum(calls.values()) == 0
    unconfigured = make_api(ADMIN_TOKEN="")
    resp = call({"Authorization": f"Bearer {harness.ADMIN_TOKEN}"}, unconfigured)
    assert resp.status_code == 404


def test_a_disabled_event_can_be_enabled_again_and_its_codes_claimed(api: Api) -> None:
    event = new_event(api)
    created = new_codes(api, event["id"], 2)
    api.post(f"/v1/events/{event['id']}/disable", {"by": "ops"}, admin=True)
    assert error(claim(api, created[0])) == "event_disabled"
    enabled = api.post(f"/v1/events/{event['id']}/enable", admin=True)
    assert enabled.status_code == 200, enabled.json_body
    assert enabled.json_body["status"] == "active" and enabled.json_body["disabled_at"] is None
    assert api.post(f"/v1/events/{event['id']}/enable", admin=True).status_code == 200  # again
    assert claim(api, created[0]).status_code == 202
    assert new_codes(api, event["id"], 1)
    assert counts(api, event["id"])["claimed"] == 1


def test_events_are_listed_newest_first_page_by_page(api: Api) -> None:
    ids = []
    for n in range(3):
        ids.append(new_event(api, name=f"e{n}")["id"])
        api.clock.advance(1_000)
    first = api.get("/v1/events?limit=2", admin=True)
    assert first.status_code == 200, first.json_body
    assert [e["id"] for e in first.json_body["events"]] == [ids[2], ids[1]]
    rest = api.get(f"/v1/events?limit=2&next={first.json_body['next']}", admin=True).json_body
    assert [e["id"] for e in rest["events"]] == [ids[0]] and rest["next"] is None
    assert api.get("/v1/events").status_code == 401
    assert error(api.get("/v1/events?limit=0", admin=True)) == "invalid_limit"
