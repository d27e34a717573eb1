"""The OTC routes through Chalice's test client (moto in-process, no chain node).

Everything here is refused or answered before the chain is asked: signatures, validation,
rate limits, listings, the book, admin auth. Bad input answers a clear 4xx and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

import app
from chalicelib.core import signing
from chalicelib.core.clock import FixedClock
from chalicelib.core.runtime import Runtime, set_runtime
from chalicelib.core.settings import load_settings
from chalicelib.otc.model import order_key
from tests.conftest import START_MS
from tests.unit.test_otc_model import MAKER, TAKER, TOKEN, seed_order

# The node's well-known accounts #1 and #2 (public test keys) and the hot wallet's (#5).
KEYS = {
    MAKER: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    TAKER: "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
}
HOT_KEY = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"
HOT = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
ADMIN = {"Authorization": "Bearer admin-token-for-tests-0123456789"}
TX = "0x" + "12" * 32


@pytest.fixture
def rt(moto_client: Any) -> Iterator[Runtime]:
    settings = load_settings({
        "TABLE_NAME": "settlekit-test",
        "TOKEN_ADDRESS": TOKEN,
        "SIGNER_PRIVATE_KEY": HOT_KEY,
        "ADMIN_TOKEN": ADMIN["Authorization"].split()[1],
        "OTC_WALLET_RATE_MAX": "2",
        "OTC_IP_RATE_MAX": "3",
        "TRUST_PROXY_HEADERS": "1",
    })
    runtime = Runtime(settings, clock=FixedClock(START_MS), dynamodb_client=moto_client)
    set_runtime(runtime)
    yield runtime
    set_runtime(None)


@pytest.fixture
def api(rt: Runtime) -> Iterator[Client]:
    with Client(app.app) as client:
        yield client


def signed(rt: Runtime, action: str, fields: dict[str, Any], order_id: str | None = None,
           key: str | None = None, deadline: int | None = None) -> dict[str, Any]:
    act = signing.get_action(action)
    deadline = deadline if deadline is not None else rt.clock.now_ms() // 1000 + 300
    message: dict[str, Any] = {act.path_field: order_id} if act.path_field else {}
    for f in act.fields:
        message[f.name] = fields.get(f.name, None if f.required else f.default)
    message["deadline"] = deadline
    sig = signing.sign(rt.settings, act, message, key or KEYS[fields[act.signer_field]])
    return {**fields, "deadline": deadline, "signature": sig}


def post(api: Client, path: str, body: Any, ip: str = "192.0.2.1") -> Any:
    return api.http.post(path, body=json.dumps(body), headers={
        "Content-Type": "application/json", "X-Forwarded-For": ip,
    })


def order_body(**fields: Any) -> dict[str, Any]:
    return {"maker": MAKER, "pair": "SKT/ETH", "side": "sell", "amount": "10", "price": "0.01",
            "ttl_seconds": 3600, "deposit_tx": TX, **fields}


def nothing_written(rt: Runtime) -> bool:
    """No order, and no rate-limit counter of the maker, exists."""
    items, _ = rt.store.query("ratelimit#otc:create:wallet#" + MAKER.lower())
    from chalicelib.otc.model import order_id_for

    return not items and rt.store.get(**order_key(order_id_for(31337, TX))) is None


# -- what a client learns before trading -----------------------------------------------------------


def test_info_lists_the_pairs_and_the_escrow_address(api: Client) -> None:
    body = api.http.get("/v1/info").json_body
    assert body["escrow_address"] == HOT
    pairs = {p["pair"]: p for p in body["pairs"]}
    assert pairs["SKT/ETH"] == {
        "pair": "SKT/ETH", "base": TOKEN, "base_decimals": 18, "quote": "native",
        "quote_decimals": 18, "settlement": "on_chain", "sides": ["buy", "sell"],
        "tick": "0.000001", "min_amount": "1", "max_amount": "1000000",
    }
    assert pairs["SKT/BTC"]["settlement"] == "hash_lock" and pairs["SKT/BTC"]["sides"] == ["sell"]


def test_typed_data_serves_every_otc_action(api: Client) -> None:
    listed = {a["name"] for a in api.http.get("/v1/typed-data").json_body["actions"]}
    assert {"create_order", "match_order", "confirm_order", "cancel_order",
            "read_secret"} <= listed
    match = api.http.get("/v1/typed-data/match_order").json_body
    assert match["primaryType"] == "MatchOrder" and match["path_field"] == "order_id"
    assert [m["name"] for m in match["types"]["MatchOrder"]] == [
        "order_id", "taker", "deposit_tx", "deadline"
    ]
    assert match["defaults"] == {"deposit_tx": ""}


# -- signatures ------------------------------------------------------------------------------------


def test_a_bad_or_missing_signature_changes_nothing(api: Client, rt: Runtime) -> None:
    good = signed(rt, "create_order", order_body())
    cases = [
    ({k: v for k, v in good.items() if k != "signature"}, 400, "invalid_signature"),
    ({**good, "signature": "0x1234"}, 400, "invalid_signature"),
    ({**good, "amount": "11"}, 403, "signer_mismatch"),  # tampered after signing
        (signed(rt, "create_order", order_body(), key=KEYS[TAKER]), 403, "signer_mismatch"),
        (signed(rt, "create_order", order_body(), deadline=START_MS // 1000 - 1), 401,
         "signature_expired"),
    ]
    for body, status, code in cases:
        resp = post(api, "/v1/orders", body)
        assert (resp.status_code, resp.json_body["error"]) == (status, code), resp.json_body
    assert nothing_written(rt)


BAD_FIELDS = [
    ({"pair": "SKT/DOGE"}, "unknown_pair"),
    ({"side": "short"}, "invalid_side"),
    ({"pair": "SKT/BTC", "side": "buy", "price": "0.00001"}, "sell_only_pair"),
    ({"amount": "0.5"}, "invalid_amount"),
    ({"amount": "1e3"}, "invalid_amount"),
    ({"amount": "-5"}, "invalid_amount"),
    ({"amount": "10.0000000000000000001"}, "invalid_amount"),
    ({"price": "0.0000015"}, "invalid_price"),
    ({"price": "NaN"}, "invalid_amount"),
    ({"ttl_seconds": 3599}, "invalid_ttl"),
    ({"ttl_seconds": 30 * 86_400 + 1}, "invalid_ttl"),
    ({"deposit_tx": "0x1234"}, "invalid_tx_hash"),
    ({"amount": "1.000000000000000001", "price": "0.000001"}, "inexact_total"),
]


def test_bad_order_fields_are_refused_with_a_400_naming_them(api: Client, rt: Runtime) -> None:
    for fields, code in BAD_FIELDS:
        resp = post(api, "/v1/orders", signed(rt, "create_order", order_body(**fields)))
        assert (resp.status_code, resp.json_body["error"]) == (400, code), (fields, resp.json_body)
    assert nothing_written(rt)


def test_fields_of_the_wrong_json_type_are_refused(api: Client, rt: Runtime) -> None:
    body = signed(rt, "create_order", order_body())
    for field, value in [("ttl_seconds", "3600s"), ("amount", 10), ("maker", "nope")]:
        resp = post(api, "/v1/orders", {**body, field: value})
        assert resp.status_code == 400, (field, resp.json_body)
    assert post(api, "/v1/orders", [1, 2]).status_code == 400
    assert nothing_written(rt)


# -- rate limits -----------------------------------------------------------------------------------


def test_order_creation_is_limited_per_wallet_and_per_ip_with_retry_after(
    api: Client, rt: Runtime
) -> None:
    def attempt(maker: str, ip: str, n: int) -> Any:
        body = signed(rt, "create_order", order_body(maker=maker, deposit_tx="0x" + f"{n:064x}"))
        return post(api, "/v1/orders", body, ip)

    # Under the limit the request reaches the chain check (no chain here: 503).
    assert attempt(MAKER, "192.0.2.1", 1).status_code == 503
    assert attempt(MAKER, "192.0.2.1", 2).status_code == 503
    third = attempt(MAKER, "192.0.2.2", 3)  # another IP, the same wallet: 2 per wallet
    assert third.status_code == 429 and third.json_body["error"] == "rate_limited"
    assert 1 <= int(third.headers["Retry-After"]) <= 60
    assert third.json_body["details"]["limits"] == ["otc:create:wallet"]
    assert attempt(TAKER, "192.0.2.1", 4).status_code == 503  # the IP's third
    by_ip = attempt(TAKER, "192.0.2.1", 5)
    assert by_ip.status_code == 429 and by_ip.json_body["details"]["limits"] == ["otc:create:ip"]
    assert attempt(TAKER, "192.0.2.3", 6).status_code == 503  # another IP: fine
    rt.clock.advance(60_000)  # type: ignore[attr-defined]
    assert attempt(MAKER, "192.0.2.1", 7).status_code == 503


def test_match_and_cancel_are_limited_per_wallet_too(api: Client, rt: Runtime) -> None:
    external = seed_order(rt.store, 1, pair="SKT/BTC", price="1000", quote_total="10000")
    oid = external["id"]

    def take(ip: str) -> Any:
        rt.clock.advance(1_000)  # type: ignore[attr-defined]  (a fresh signature each time)
        return post(api, f"/v1/orders/{oid}/match", signed(rt, "match_order", {"taker": TAKER},
                                                           oid), ip)

    first = take("192.0.2.1")
    assert first.status_code == 200 and first.json_body["status"] == "matched"
    again = take("192.0.2.2")  # the winner asking again hears the same answer
    assert again.status_code == 200 and again.json_body["secret_hash"] == first.json_body[
        "secret_hash"]
    limited = take("192.0.2.3")
    assert limited.status_code == 429 and "Retry-After" in limited.headers

    other = seed_order(rt.store, 2)["id"]
    for expected in (202, 409, 429):
        rt.clock.advance(1_000)  # type: ignore[attr-defined]
        resp = post(api, f"/v1/orders/{other}/cancel",
                    signed(rt, "cancel_order", {"maker": MAKER}, other))
        assert resp.status_code == expected, resp.json_body


# -- orders that exist -----------------------------------------------------------------------------


def test_match_refuses_own_orders_and_a_missing_or_unexpected_deposit(
    api: Client, rt: Runtime
) -> None:
    onchain = seed_order(rt.store, 1)
    external = seed_order(rt.store, 2, pair="SKT/BTC", price="1000", quote_total=str(10 * 1000))
    cases = [
        (onchain["id"], {"taker": MAKER, "deposit_tx": TX}, "own_order"),
        (onchain["id"], {"taker": TAKER}, "deposit_required"),
        (external["id"], {"taker": TAKER, "deposit_tx": TX}, "deposit_not_expected"),
    ]
    for oid, fields, code in cases:
        resp = post(api, f"/v1/orders/{oid}/match", signed(rt, "match_order", fields, oid))
        assert (resp.status_code, resp.json_body["error"]) == (400, code), resp.json_body
    assert rt.store.get(**order_key(onchain["id"]))["version"] == 1


def test_a_signature_for_one_order_does_not_work_for_another(api: Client, rt: Runtime) -> None:
    a, b = seed_order(rt.store, 1), seed_order(rt.store, 2)
    body = signed(rt, "cancel_order", {"maker": MAKER}, a["id"])
    resp = post(api, f"/v1/orders/{b['id']}/cancel", body)
    assert resp.status_code == 403 and resp.json_body["error"] == "signer_mismatch"
    assert rt.store.get(**order_key(b["id"]))["status"] == "open"


def test_unknown_orders_are_404_on_every_route(api: Client, rt: Runtime) -> None:
    for oid in ("ord_000000000000000000000000", "nope"):
        assert api.http.get(f"/v1/orders/{oid}").json_body["error"] == "order_not_found"
        for action, path, fields in [
            ("match_order", "match", {"taker": TAKER, "deposit_tx": TX}),
            ("confirm_order", "confirm", {"seller": MAKER, "quote_reference": "x"}),
            ("cancel_order", "cancel", {"maker": MAKER}),
            ("read_secret", "secret", {"seller": MAKER}),
        ]:
            resp = post(api, f"/v1/orders/{oid}/{path}", signed(rt, action, fields, oid))
            assert resp.status_code == 404, (path, resp.json_body)
        resp = api.http.post(f"/v1/admin/otc/orders/{oid}/retry", headers=ADMIN)
        assert resp.status_code == 404


def test_confirm_is_for_the_seller_of_a_matched_external_order_only(
    api: Client, rt: Runtime
) -> None:
    onchain = seed_order(rt.store, 1)
    external = seed_order(rt.store, 2, pair="SKT/BTC", price="1000", quote_total="10000")

    def confirm(oid: str, seller: str) -> Any:
        body = signed(rt, "confirm_order", {"seller": seller, "quote_reference": "btc:1"}, oid)
        return post(api, f"/v1/orders/{oid}/confirm", body)

    assert confirm(onchain["id"], MAKER).json_body["error"] == "not_hash_lock_pair"
    assert confirm(external["id"], TAKER).json_body["error"] == "not_seller"
    rt.store.update(order_key(external["id"]), set={"seller": MAKER})
    refused = confirm(external["id"], MAKER)  # still open: nothing to confirm
    assert (refused.status_code, refused.json_body["error"]) == (409, "order_not_matched")


# -- listings, book, trades, stats -----------------------------------------------------------------


def test_listings_page_with_a_cursor_and_refuse_bad_parameters(api: Client, rt: Runtime) -> None:
    ids = {seed_order(rt.store, n, price=str(10**16 * n))["id"] for n in range(1, 6)}
    seen, cursor, pages = [], None, 0
    while True:
        path = "/v1/orders?pair=SKT/ETH&limit=2" + (f"&next={cursor}" if cursor else "")
        body = api.http.get(path).json_body
        seen += [o["id"] for o in body["orders"]]
        pages += 1
        cursor = body["next"]
        if not cursor:
            break
    assert set(seen) == ids and len(seen) == 5 and pages >= 3
    prices = [o["price"] for o in api.http.get("/v1/orders?side=sell").json_body["orders"]]
    assert prices == ["0.01", "0.02", "0.03", "0.04", "0.05"]  # best ask first
    for query, code in [
        ("status=bogus", "invalid_status"),
        ("side=long", "invalid_side"),
        ("limit=0", "invalid_limit"),
        ("limit=101", "invalid_limit"),
        ("pair=SKT/DOGE", "unknown_pair"),
        ("next=%%%", "invalid_cursor"),
        ("next=eyJwYXJ0IjoiOSJ9", "invalid_cursor"),  # {"part": "9"}
    ]:
        resp = api.http.get(f"/v1/orders?{query}")
        assert (resp.status_code, resp.json_body["error"]) == (400, code), query
    for path in ("/v1/orderbook", "/v1/trades"):
        resp = api.http.get(path)
        assert (resp.status_code, resp.json_body["error"]) == (400, "pair_required")
    assert api.http.get("/v1/orderbook?pair=SKT/ETH&depth=0").status_code == 400


def test_the_book_aggregates_levels_and_shows_the_spread(api: Client, rt: Runtime) -> None:
    seed_order(rt.store, 1, price=str(2 * 10**16))
    seed_order(rt.store, 2, price=str(2 * 10**16), amount=str(5 * 10**18))
    seed_order(rt.store, 3, price=str(3 * 10**16))
    seed_order(rt.store, 4, side="buy", price=str(10**16))
    seed_order(rt.store, 5, side="buy", price=str(15 * 10**15))
    book = api.http.get("/v1/orderbook?pair=SKT/ETH").json_body
    assert book["asks"] == [
        {"price": "0.02", "amount": "15", "orders": 2},
        {"price": "0.03", "amount": "10", "orders": 1},
    ]
    assert [lv["price"] for lv in book["bids"]] == ["0.015", "0.01"]
    assert (book["best_bid"], book["best_ask"], book["spread"]) == ("0.015", "0.02", "0.005")
    one = api.http.get("/v1/orderbook?pair=SKT/ETH&depth=1").json_body
    assert len(one["asks"]) == 1 and len(one["bids"]) == 1


# -- admin -----------------------------------------------------------------------------------------


def test_admin_otc_routes_refuse_missing_or_wrong_tokens(api: Client, rt: Runtime) -> None:
    order = seed_order(rt.store, 1)
    for path in (f"/v1/admin/otc/orders/{order['id']}/retry",
                 f"/v1/admin/otc/orders/{order['id']}/refund", "/v1/admin/otc/reconcile"):
        for headers in ({}, {"Authorization": "Bearer not-the-admin-token-at-all"}):
            assert api.http.post(path, headers=headers).status_code == 401
    resp = api.http.post(f"/v1/admin/otc/orders/{order['id']}/retry", headers=ADMIN)
    assert (resp.status_code, resp.json_body["error"]) == (409, "order_not_in_recovery")
    summary = api.http.post("/v1/admin/otc/reconcile", headers=ADMIN).json_body["summary"]
    assert summary == {"expiry": {}, "reconcile": {}}
