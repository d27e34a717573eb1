"""OTC orders end to end through the API, on the hardhat node and the serialized store server.

Makers and takers are the node's well-known accounts (public test keys): they sign with EIP-712
and fund their side with real transfers to the escrow address (the service's hot wallet). Money
is always asserted on chain. Helpers here are shared with the sibling `test_otc_*` modules.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib import jobs
from chalicelib.core import signing
from chalicelib.core.clock import FixedClock
from chalicelib.core.outbox.model import payout_key
from chalicelib.core.runtime import Runtime, set_runtime
from chalicelib.core.store import Item
from chalicelib.otc import signatures  # noqa: F401  (registers the OTC signed actions used here)
from chalicelib.otc.model import order_key
from local import bootstrap
from tests.integration.payouts import automine, balance, mine

UNIT = 10**18
SATS = 10**8
HOUR_MS = 3_600_000

# The node's well-known development accounts #1..#4 (#0 deploys and mints): public test keys.
KEYS = {
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8":
        "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC":
        "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906":
        "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65":
        "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
}
ALICE, BOB, CAROL, DAVE = list(KEYS)


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def engine_clock(w3: Any) -> FixedClock:
    """The service's clock starts at the chain's time, so fresh deposits count as recent."""
    return FixedClock(int(w3.eth.get_block("latest")["timestamp"]) * 1000 + 1_000)


@pytest.fixture(scope="session")
def traders(w3: Any, token_address: str) -> list[str]:
    """Alice, Bob, Carol and Dave, each given 10,000 SKT once, before any test's snapshot."""
    for who in KEYS:
        bootstrap.mint(w3, token_address, who, 10_000 * UNIT)
    return list(KEYS)


@pytest.fixture
def api(payout_rt: Runtime, traders: list[str]) -> Iterator[Any]:
    from chalice.test import Client

    import app

    set_runtime(payout_rt)
    try:
        with Client(app.app) as client:
            yield client
    finally:
        set_runtime(None)


# -- helpers ---------------------------------------------------------------------------------------


@dataclass
class Sent:
    tx: str
    gas_cost: int  # wei the sender paid for gas


def signed(rt: Runtime, action: str, fields: dict[str, Any], order_id: str | None = None,
           signer: str | None = None, deadline: int | None = None) -> dict[str, Any]:
    """A client's request body: the action's fields, a deadline and the EIP-712 signature."""
    act = signing.get_action(action)
    deadline = deadline if deadline is not None else rt.clock.now_ms() // 1000 + 300
    message: dict[str, Any] = {act.path_field: order_id} if act.path_field else {}
    for f in act.fields:
        message[f.name] = fields.get(f.name, None if f.required else f.default)
    message["deadline"] = deadline
    key = KEYS[signer or fields[act.signer_field]]
    signature = signing.sign(rt.settings, act, message, key)
    return {**fields, "deadline": deadline, "signature": signature}


def escrow(rt: Runtime) -> str:
    address = rt.wallets.address("escrow")
    assert address is not None
    return address


def send(w3: Any, rt: Runtime, sender: str, asset: str, amount: int, to: str | None = None,
         depth: int = 2) -> Sent:
    """A real transfer to the escrow address (native or token), mined `depth` blocks deep."""
    to = to or escrow(rt)
    if asset == "native":
        tx = w3.eth.send_transaction({"from": sender, "to": to, "value": amount})
    else:
        tx = bootstrap.token(w3, asset).functions.transfer(to, amount).transact({"from": sender})
    receipt = w3.eth.wait_for_transaction_receipt(tx, timeout=30)
    assert receipt["status"] == 1
    if depth:
        mine(w3, depth)
    return Sent("0x" + bytes(tx).hex(), receipt["gasUsed"] * receipt["effectiveGasPrice"])


def post(api: Any, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return api.http.post(path, body=json.dumps(body),
                         headers={"Content-Type": "application/json", **(headers or {})})


def create(api: Any, rt: Runtime, maker: str, deposit_tx: str, *, pair: str = "SKT/ETH",
           side: str = "sell", amount: str = "100", price: str = "0.01",
           ttl: int = 3600, headers: dict[str, str] | None = None) -> Any:
    body = {"maker": maker, "pair": pair, "side": side, "amount": amount, "price": price,
            "ttl_seconds": ttl, "deposit_tx": deposit_tx}
    return post(api, "/v1/orders", signed(rt, "create_order", body), headers)


def match(api: Any, rt: Runtime, order_id: str, taker: str, deposit_tx: str = "",
          headers: dict[str, str] | None = None) -> Any:
    fields = {"taker": taker, **({"deposit_tx": deposit_tx} if deposit_tx else {})}
    return post(api, f"/v1/orders/{order_id}/match",
                signed(rt, "match_order", fields, order_id), headers)


def confirm(api: Any, rt: Runtime, order_id: str, seller: str, ref: str = "btc:txid:0") -> Any:
    body = signed(rt, "confirm_order", {"seller": seller, "quote_reference": ref}, order_id)
    return post(api, f"/v1/orders/{order_id}/confirm", body)


def cancel(api: Any, rt: Runtime, order_id: str, maker: str) -> Any:
    return post(api, f"/v1/orders/{order_id}/cancel",
                signed(rt, "cancel_order", {"maker": maker}, order_id))


def read_secret(api: Any, rt: Runtime, order_id: str, who: str) -> Any:
    return post(api, f"/v1/orders/{order_id}/secret",
                signed(rt, "read_secret", {"seller": who}, order_id))


def order_of(rt: Runtime, order_id: str) -> Item:
    item = rt.store.get(**order_key(order_id))
    assert item is not None
    return item


def payout_of(rt: Runtime, pid: str) -> Item:
    item = rt.store.get(**payout_key(pid))
    assert item is not None
    return item


def tick(rt: Runtime) -> dict[str, Any]:
    return jobs.run_tick(rt, rt.clock.now_ms() + 60_000)


def run_until_settled(rt: Runtime, w3: Any, rounds: int = 6) -> None:
    """Run every scheduled job and mine, until the engine has sent and confirmed everything."""
    for _ in range(rounds):
        tick(rt)
        mine(w3, 2)
    tick(rt)


def balances(w3: Any, token: str, *who: str) -> dict[str, tuple[int, int]]:
    """(native wei, token units) of each address."""
    return {a: (balance(w3, "native", a), balance(w3, token, a)) for a in who}


# -- on-chain pair: a full trade -------------------------------------------------------------------


def test_an_on_chain_sell_order_is_taken_and_both_legs_land_before_it_is_completed(
    api: Any, payout_rt: Runtime, w3: Any, token_address: str
) -> None:
    rt = payout_rt
    before = balances(w3, token_address, ALICE, BOB)
    maker_dep = send(w3, rt, ALICE, token_address, 100 * UNIT)
    created = create(api, rt, ALICE, maker_dep.tx, amount="100", price="0.01")
    assert created.status_code == 201, created.json_body
    order = created.json_body
    oid = order["id"]
    assert (order["status"], order["side"], order["maker"]) == ("open", "sell", ALICE)
    assert (order["amount"], order["price"], order["quote_total"]) == ("100", "0.01", "1")
    assert order["deposits"]["maker"] == {"tx_hash": maker_dep.tx, "asset": token_address,
                                          "amount": "100"}
    assert order["expires_at"].endswith("Z")
    listed = api.http.get("/v1/orders?pair=SKT/ETH").json_body["orders"]
    assert [o["id"] for o in listed] == [oid]
    shown = api.http.get(f"/v1/orders/{oid}")
    assert shown.status_code == 200 and shown.json_body["status"] == "open"

    taker_dep = send(w3, rt, BOB, "native", UNIT)  # 100 SKT x 0.01 ETH = 1 ETH
    matched = match(api, rt, oid, BOB, taker_dep.tx)
    assert matched.status_code == 200, matched.json_body
    view = matched.json_body
    assert view["status"] == "settling"
    assert (view["buyer"], view["seller"], view["taker"]) == (BOB, ALICE, BOB)
    assert set(view["payouts"]) == {"base", "quote"}
    base, quote = payout_of(rt, view["payouts"]["base"]), payout_of(rt, view["payouts"]["quote"])
    assert (base["to"], base["asset"], base["amount"]) == (BOB, token_address, str(100 * UNIT))
    assert (quote["to"], quote["asset"], quote["amount"]) == (ALICE, "native", str(UNIT))
    assert api.http.get("/v1/orders?pair=SKT/ETH").json_body["orders"] == []
    assert api.http.get("/v1/trades?pair=SKT/ETH").json_body["trades"] == []

    tick(rt)  # sent, not yet confirmed: still settling, no trade
    assert order_of(rt, oid)["status"] == "settling"
    run_until_settled(rt, w3)
    done = api.http.get(f"/v1/orders/{oid}").json_body
    assert done["status"] == "completed"
    assert done["trade_id"] and done["completed_at"]
    for pid in done["payouts"].values():
        assert payout_of(rt, pid)["status"] == "confirmed"
        assert len(payout_of(rt, pid)["attempts"]) == 1

    after = balances(w3, token_address, ALICE, BOB)
    # Alice gave 100 SKT and got 1 ETH (less her deposit's gas); Bob the other way round.
    assert after[ALICE][1] - before[ALICE][1] == -100 * UNIT
    assert after[ALICE][0] - before[ALICE][0] == UNIT - maker_dep.gas_cost
    assert after[BOB][1] - before[BOB][1] == 100 * UNIT
    assert after[BOB][0] - before[BOB][0] == -UNIT - taker_dep.gas_cost

    trades = api.http.get("/v1/trades?pair=SKT/ETH").json_body["trades"]
    assert [(t["id"], t["order_id"], t["price"], t["amount"], t["side"]) for t in trades] == [
        (done["trade_id"], oid, "0.01", "100", "buy")
    ]
    run_until_settled(rt, w3, rounds=2)  # more passes change nothing
    assert len(api.http.get("/v1/trades?pair=SKT/ETH").json_body["trades"]) == 1
    assert balances(w3, token_address, ALICE, BOB) == after
    stats = api.http.get("/v1/stats?pair=SKT/ETH").json_body["pairs"][0]
    assert (stats["trades_24h"], stats["volume_24h"], stats["quote_volume_24h"]) == (1, "100", "1")
    assert stats["totals"]["completed"] == 1 and stats["totals"]["created"] == 1

    # Each deposit funded one order side, ever: offered again, anywhere, it is refused.
    reused = create(api, rt, ALICE, maker_dep.tx, amount="100", price="0.02")
    assert (reused.status_code, reused.json_body["error"]) == (409, "tx_already_used")
    assert reused.json_body["details"]["used_for"] == f"otc:{oid}:maker"
    fresh = create(api, rt, CAROL, send(w3, rt, CAROL, token_address, 100 * UNIT).tx)
    again = match(api, rt, fresh.json_body["id"], BOB, taker_dep.tx)
    assert (again.status_code, again.json_body["error"]) == (409, "tx_already_used")
    assert order_of(rt, fresh.json_body["id"])["status"] == "open"


# -- external pair: hash lock ----------------------------------------------------------------------


def test_an_external_trade_releases_the_secret_to_the_seller_only_once_the_payout_is_final(
    api: Any, payout_rt: Runtime, w3: Any, token_address: str
) -> None:
    import hashlib

    rt = payout_rt
    before = balances(w3, token_address, ALICE, BOB)
    dep = send(w3, rt, ALICE, token_address, 250 * UNIT)
    created = create(api, rt, ALICE, dep.tx, pair="SKT/BTC", amount="250", price="0.00002")
    assert created.status_code == 201, created.json_body
    oid = created.json_body["id"]
    assert created.json_body["settlement"] == "hash_lock"
    assert created.json_body["quote_total"] == "0.005"

    matched = match(api, rt, oid, BOB)  # the buyer deposits nothing here
    assert matched.status_code == 200, matched.json_body
    view = matched.json_body
    assert view["status"] == "matched"
    secret_hash = view["secret_hash"]
    assert secret_hash.startswith("0x") and len(secret_hash) == 66
    assert view["settle_by"] and view["payouts"] == {}
    early = read_secret(api, rt, oid, ALICE)
    assert early.status_code == 409 and early.json_body["error"] == "secret_not_released"

    # Bob locks 0.005 BTC under secret_hash on the other chain; Alice sees it and confirms.
    assert confirm(api, rt, oid, BOB).json_body["error"] == "not_seller"
    confirmed = confirm(api, rt, oid, ALICE, "btc:4a5e1e4b:0")
    assert confirmed.status_code == 202, confirmed.json_body
    assert confirmed.json_body["status"] == "payout_pending"
    pid = confirmed.json_body["payout_id"]
    assert confirmed.json_body["order"]["status"] == "settling"
    assert confirmed.json_body["order"]["quote_reference"] == "btc:4a5e1e4b:0"
    again = confirm(api, rt, oid, ALICE, "btc:4a5e1e4b:0")
    assert again.status_code == 202 and again.json_body["status"] == "payout_pending"
    assert again.json_body["payout_id"] == pid

    tick(rt)  # broadcast, not confirmed: still no secret for anyone
    assert payout_of(rt, pid)["status"] == "broadcast"
    assert read_secret(api, rt, oid, ALICE).status_code == 409
    run_until_settled(rt, w3)
    assert payout_of(rt, pid)["status"] == "confirmed"
    assert api.http.get(f"/v1/orders/{oid}").json_body["status"] == "completed"
    assert read_secret(api, rt, oid, ALICE).status_code == 409  # confirmed, not final yet
    mine(w3, rt.settings.finality_depth)
    tick(rt)
    assert payout_of(rt, pid)["final_at"]

    assert read_secret(api, rt, oid, BOB).json_body["error"] == "not_seller"
    released = read_secret(api, rt, oid, ALICE)
    assert released.status_code == 200, released.json_body
    secret = released.json_body["secret"]
    assert "0x" + hashlib.sha256(bytes.fromhex(secret[2:])).hexdigest() == secret_hash
    done = confirm(api, rt, oid, ALICE, "btc:4a5e1e4b:0")
    assert done.status_code == 200 and done.json_body["status"] == "completed"
    after = balances(w3, token_address, ALICE, BOB)
    assert after[ALICE][1] - before[ALICE][1] == -250 * UNIT
    assert after[BOB][1] - before[BOB][1] == 250 * UNIT
    trades = api.http.get("/v1/trades?pair=SKT/BTC").json_body["trades"]
    assert [(t["price"], t["amount"], t["quote_total"]) for t in trades] == [
        ("0.00002", "250", "0.005")
    ]


# -- a buy order, overpaid deposits ----------------------------------------------------------------


def test_a_buy_order_settles_the_other_way_and_overpaid_deposits_get_their_change(
    api: Any, payout_rt: Runtime, w3: Any, token_address: str
) -> None:
    rt = payout_rt
    before = balances(w3, token_address, CAROL, DAVE)
    maker_dep = send(w3, rt, CAROL, "native", 3 * UNIT)  # needs 2 ETH: 1 ETH change
    created = create(api, rt, CAROL, maker_dep.tx, side="buy", amount="40", price="0.05")
    assert created.status_code == 201, created.json_body
    oid = created.json_body["id"]
    taker_dep = send(w3, rt, DAVE, token_address, 45 * UNIT)  # needs 40 SKT: 5 SKT change
    matched = match(api, rt, oid, DAVE, taker_dep.tx)
    assert matched.status_code == 200, matched.json_body
    assert set(matched.json_body["payouts"]) == {"base", "quote", "change_maker", "change_taker"}
    assert (matched.json_body["buyer"], matched.json_body["seller"]) == (CAROL, DAVE)
    run_until_settled(rt, w3)
    assert order_of(rt, oid)["status"] == "completed"
    after = balances(w3, token_address, CAROL, DAVE)
    assert after[CAROL][1] - before[CAROL][1] == 40 * UNIT
    assert after[CAROL][0] - before[CAROL][0] == -2 * UNIT - maker_dep.gas_cost
    assert after[DAVE][1] - before[DAVE][1] == -40 * UNIT
    assert after[DAVE][0] - before[DAVE][0] == 2 * UNIT - taker_dep.gas_cost
    book = api.http.get("/v1/orderbook?pair=SKT/ETH").json_body
    assert book["bids"] == [] and book["asks"] == []


# -- cancel and expiry -----------------------------------------------------------------------------


def test_cancel_refunds_the_maker_and_ends_cancelled_only_when_the_refund_is_confirmed(
    api: Any, payout_rt: Runtime, w3: Any, token_address: str
) -> None:
    rt = payout_rt
    before = balances(w3, token_address, ALICE)
    dep = send(w3, rt, ALICE, token_address, 10 * UNIT)
    oid = create(api, rt, ALICE, dep.tx, amount="10").json_body["id"]
    refused = cancel(api, rt, oid, BOB)
    assert refused.status_code == 403 and refused.json_body["error"] in ("not_maker",
                                                                         "signer_mismatch")
    cancelled = cancel(api, rt, oid, ALICE)
    assert cancelled.status_code == 202, cancelled.json_body
    assert cancelled.json_body["status"] == "refund_pending"
    assert cancelled.json_body["refund_reason"] == "cancel"
    assert list(cancelled.json_body["payouts"]) == ["refund_maker"]
    replayed = cancel(api, rt, oid, ALICE)  # the very same signed request
    assert replayed.status_code == 409 and replayed.json_body["error"] == "signature_replayed"
    fresh = signed(rt, "cancel_order", {"maker": ALICE}, oid,
                   deadline=rt.clock.now_ms() // 1000 + 301)
    twice = post(api, f"/v1/orders/{oid}/cancel", fresh)
    assert twice.status_code == 409 and twice.json_body["error"] == "order_not_open"
    late = match(api, rt, oid, BOB, send(w3, rt, BOB, "native", UNIT // 10).tx)
    assert late.status_code == 409 and late.json_body["details"]["status"] == "refund_pending"
    automine(w3, False)  # sent, not yet mined: the order waits for the refund's receipt
    tick(rt)
    assert order_of(rt, oid)["status"] == "refund_pending"
    automine(w3, True)
    run_until_settled(rt, w3)
    assert api.http.get(f"/v1/orders/{oid}").json_body["status"] == "cancelled"
    assert balances(w3, token_address, ALICE)[ALICE][1] == before[ALICE][1]
    listed = api.http.get("/v1/orders?pair=SKT/ETH&status=cancelled").json_body["orders"]
    assert [o["id"] for o in listed] == [oid]


def test_an_order_past_its_ttl_is_never_shown_open_and_the_expiry_job_refunds_it(
    api: Any, payout_rt: Runtime, w3: Any, token_address: str
) -> None:
    rt = payout_rt
    clock = rt.clock
    assert isinstance(clock, FixedClock)
    before = balances(w3, token_address, ALICE, BOB)
    short = send(w3, rt, ALICE, token_address, 5 * UNIT)
    short_id = create(api, rt, ALICE, short.tx, amount="5", price="0.02").json_body["id"]
    long = send(w3, rt, BOB, token_address, 7 * UNIT)
    long_id = create(api, rt, BOB, long.tx, amount="7", price="0.03", ttl=7200).json_body["id"]
    book = api.http.get("/v1/orderbook?pair=SKT/ETH").json_body
    assert [(lv["price"], lv["amount"]) for lv in book["asks"]] == [("0.02", "5"), ("0.03", "7")]

    clock.advance(HOUR_MS)  # exactly at the first order's expiry: it is over
    shown = api.http.get(f"/v1/orders/{short_id}").json_body
    assert shown["status"] == "refund_pending" and shown["refund_reason"] == "expiry"
    listed = api.http.get("/v1/orders?pair=SKT/ETH").json_body["orders"]
    assert [o["id"] for o in listed] == [long_id]
    book = api.http.get("/v1/orderbook?pair=SKT/ETH").json_body
    assert [lv["price"] for lv in book["asks"]] == ["0.03"]
    stats = api.http.get("/v1/stats?pair=SKT/ETH").json_body["pairs"][0]
    assert stats["open_orders"] == {"buy": 0, "sell": 1}
    assert stats["best_ask"] == "0.03"
    late = match(api, rt, short_id, CAROL, send(w3, rt, CAROL, "native", UNIT // 10).tx)
    assert late.status_code == 410 and late.json_body["error"] == "order_expired"
    assert "refund_payout_id" in late.json_body["details"]  # Carol's deposit goes back

    automine(w3, False)  # the refund is sent, not mined: the order waits for its receipt
    summary = tick(rt)
    automine(w3, True)
    assert summary["otc_expiry"] == {"open->refund_pending": 1}
    assert order_of(rt, short_id)["status"] == "refund_pending"
    assert order_of(rt, long_id)["status"] == "open"
    run_until_settled(rt, w3)
    assert order_of(rt, short_id)["status"] == "expired"
    assert api.http.get(f"/v1/orders/{short_id}").json_body["status"] == "expired"
    after = balances(w3, token_address, ALICE, BOB)
    assert after[ALICE][1] == before[ALICE][1]
    assert after[BOB][1] == before[BOB][1] - 7 * UNIT  # still escrowed for the live order
    stats = api.http.get("/v1/stats?pair=SKT/ETH").json_body["pairs"][0]
    assert stats["totals"]["expired"] == 1 and stats["trades_24h"] == 0


def test_a_matched_external_order_not_confirmed_in_the_window_refunds_the_seller(
    api: Any, payout_rt: Runtime, w3: Any, token_address: str
) -> None:
    rt = payout_rt
    clock = rt.clock
    assert isinstance(clock, FixedClock)
    before = balances(w3, token_address, ALICE)
    dep = send(w3, rt, ALICE, token_address, 20 * UNIT)
    oid = create(api, rt, ALICE, dep.tx, pair="SKT/BTC", amount="20", price="0.00001",
                 ttl=86_400).json_body["id"]
    assert match(api, rt, oid, BOB).status_code == 200
    window = rt.settings.otc_settlement_window_seconds * 1000
    clock.advance(window - 1)
    assert tick(rt)["otc_expiry"] == {}
    clock.advance(1)
    assert confirm(api, rt, oid, ALICE).json_body["error"] == "settlement_window_closed"
    assert tick(rt)["otc_expiry"] == {"matched->refund_pending": 1}
    run_until_settled(rt, w3)
    order = api.http.get(f"/v1/orders/{oid}").json_body
    assert (order["status"], order["refund_reason"]) == ("expired", "settlement_window")
    assert balances(w3, token_address, ALICE)[ALICE][1] == before[ALICE][1]
    assert read_secret(api, rt, oid, ALICE).status_code == 409
