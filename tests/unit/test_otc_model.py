"""OTC rules that need neither a chain nor a store: pairs, prices, ids, states, legs, limits.

`seed_order` (also used by the other OTC unit and API tests) writes an order the way the flow
does (order item + listing entry), for tests that start from a given state.
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core.errors import BadRequest, SettingsError
from chalicelib.core.ratelimit import Limit
from chalicelib.core.settings import load_settings
from chalicelib.core.store import DynamoStore, Item, put_op
from chalicelib.otc import legs
from chalicelib.otc.model import (
    EXPIRY_QUEUE,
    RECONCILE_QUEUE,
    list_item,
    list_sk,
    order_id_for,
    order_key,
    public_view,
    shown_status,
    work_fields,
)
from chalicelib.otc.pairs import DEFAULT_PAIRS, load_pairs
from tests.conftest import START_MS

TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
MAKER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
TAKER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
UNIT = 10**18


def settings(**env: str) -> Any:
    return load_settings({"TABLE_NAME": "settlekit-test", "TOKEN_ADDRESS": TOKEN, **env})


def seed_order(store: DynamoStore, n: int = 0, **fields: Any) -> Item:
    """An order as the flow writes it (defaults: an open SKT/ETH sell of 10 at 0.01)."""
    tx = "0x" + f"{n:064x}"
    oid = order_id_for(31337, tx)
    order: Item = {
        **order_key(oid), "id": oid, "pair": "SKT/ETH", "side": "sell", "maker": MAKER,
        "amount": str(10 * UNIT), "price": str(10**16), "quote_total": str(10**17),
        "status": "open", "version": 1, "created_at": START_MS, "updated_at": START_MS,
        "status_since": START_MS, "expires_at": START_MS + 3_600_000, "ttl_seconds": 3600,
        "maker_deposit": {"tx": tx, "asset": TOKEN, "amount": str(10 * UNIT), "from": MAKER},
        "payouts": {}, "retries": 0,
    }
    order.update(fields)
    order.update(work_fields(order))
    store.transact([put_op(order), put_op(list_item(order))])
    return order


# -- pairs -----------------------------------------------------------------------------------------


def test_the_default_pairs_are_one_on_chain_and_one_external_pair() -> None:
    pairs = load_pairs(settings())
    assert list(pairs) == ["SKT/ETH", "SKT/BTC"]
    eth, btc = pairs["SKT/ETH"], pairs["SKT/BTC"]
    assert (eth.on_chain, eth.quote, eth.quote_decimals) == (True, "native", 18)
    assert (btc.on_chain, btc.quote, btc.quote_decimals) == (False, "external", 8)
    assert btc.public()["sides"] == ["sell"] and eth.public()["settlement"] == "on_chain"
    assert load_pairs(load_settings({})) == {}  # no community token, no pairs


def test_prices_must_sit_on_the_tick_and_totals_must_be_exact() -> None:
    eth = load_pairs(settings())["SKT/ETH"]
    assert eth.price("0.01") == 10**16
    assert eth.quote_total(eth.amount("100"), eth.price("0.01")) == UNIT
    for bad, code in [("0.0000000000000000001", "invalid_amount"), ("0.0000015", "invalid_price"),
                      ("0", "invalid_amount"), ("1e3", "invalid_amount"), ("-1", "invalid_amount")]:
        with pytest.raises(BadRequest) as err:
            eth.price(bad)
        assert err.value.code == code
    for bad in ["0.5", "1000001", 5, "1.0000000000000000001"]:
        with pytest.raises(BadRequest) as err:
            eth.amount(bad)
        assert err.value.code == "invalid_amount"
    btc = load_pairs(settings())["SKT/BTC"]
    with pytest.raises(BadRequest) as err:  # 1.000000000000000001 SKT x 0.00000001 BTC
        btc.quote_total(UNIT + 1, 1)
    assert err.value.code == "inexact_total"


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        '{"pair": "SKT/ETH"}',
        '[{"pair": "skt-eth"}]',
        '[{"pair": "SKT/ETH", "quote": "nope"}]',
        '[{"pair": "SKT/ETH", "tick": "abc"}]',
        '[{"pair": "SKT/ETH", "min": "10", "max": "1"}]',
        DEFAULT_PAIRS.replace("SKT/BTC", "SKT/ETH"),
    ],
)
def test_a_bad_pairs_setting_is_refused_naming_the_variable(raw: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_pairs(settings(OTC_PAIRS=raw))
    assert "OTC_PAIRS" in str(err.value)


def test_a_token_quote_pair_is_configured_by_its_address() -> None:
    quote = "0x" + "ab" * 20
    raw = f'[{{"pair": "SKT/USDX", "quote": "{quote}", "quote_decimals": 6, "tick": "0.01"}}]'
    pair = load_pairs(settings(OTC_PAIRS=raw))["SKT/USDX"]
    assert pair.on_chain and pair.quote.lower() == quote and pair.tick == 10_000


# -- ids, states and index placement ---------------------------------------------------------------


def test_an_order_id_follows_from_its_deposit_whatever_the_hex_case() -> None:
    tx = "0x" + "Ab" * 32
    assert order_id_for(31337, tx) == order_id_for(31337, tx.lower())
    assert order_id_for(31337, tx) != order_id_for(1, tx)


def test_an_open_order_is_shown_open_until_the_millisecond_its_ttl_ends() -> None:
    order = {"status": "open", "expires_at": START_MS + 10}
    assert shown_status(order, START_MS + 9) == "open"
    assert shown_status(order, START_MS + 10) == "refund_pending"
    matched = {"status": "matched", "expires_at": 0, "settle_by": START_MS + 10}
    assert shown_status(matched, START_MS + 9) == "matched"
    assert shown_status(matched, START_MS + 10) == "refund_pending"


def test_open_listing_keys_sort_by_price_numerically_then_by_age() -> None:
    base = {"status": "open", "id": "ord_x", "created_at": START_MS}
    keys = [list_sk({**base, "price": str(p)}) for p in (9, 10, 10**30, 2)]
    assert sorted(keys) == [keys[3], keys[0], keys[1], keys[2]]


def test_each_state_sits_on_the_queue_of_the_job_that_moves_it() -> None:
    base = {"id": "ord_x", "status_since": START_MS, "expires_at": START_MS + 5}
    assert work_fields({**base, "status": "open"})["wpk"] == EXPIRY_QUEUE
    assert work_fields({**base, "status": "matched", "settle_by": 7})["wpk"] == EXPIRY_QUEUE
    for status in ("settling", "refund_pending"):
        assert work_fields({**base, "status": status})["wpk"] == RECONCILE_QUEUE
    recovering = {**base, "status": "settlement_recovery"}
    assert work_fields({**recovering, "awaiting": "payouts"})["wpk"] == RECONCILE_QUEUE
    assert work_fields({**recovering, "awaiting": "admin"})["wpk"] is None
    for status in ("completed", "cancelled", "expired"):
        assert work_fields({**base, "status": status}) == {"wpk": None, "wsk": None}


def test_the_public_view_never_carries_the_secret_or_raw_internals() -> None:
    pair = load_pairs(settings())["SKT/BTC"]
    order = {
        "id": "ord_x", "pair": "SKT/BTC", "side": "sell", "maker": MAKER, "status": "matched",
        "amount": str(UNIT), "price": "1000", "quote_total": "1000", "created_at": START_MS,
        "expires_at": START_MS + 1, "settle_by": START_MS + 9, "secret_hash": "0xabc",
        "secret": "0xdead", "wpk": "x", "version": 3, "maker_deposit": None,
    }
    view = public_view(order, pair, START_MS)
    assert view["secret_hash"] == "0xabc"
    assert "secret" not in view and "wpk" not in view and "version" not in view
    assert "0xdead" not in repr(view)


# -- legs ------------------------------------------------------------------------------------------


def test_settlement_legs_pay_each_side_and_return_what_a_deposit_held_beyond_the_trade() -> None:
    pair = load_pairs(settings())["SKT/ETH"]
    order = {
        "id": "ord_x", "side": "buy", "amount": str(40 * UNIT), "quote_total": str(2 * UNIT),
        "maker": MAKER, "buyer": MAKER, "seller": TAKER,
        "maker_deposit": {"tx": "0x1", "asset": "native", "amount": str(3 * UNIT), "from": MAKER},
        "taker_deposit": {"tx": "0x2", "asset": TOKEN, "amount": str(40 * UNIT), "from": TAKER},
    }
    planned = legs.settlement(order, pair)
    assert {r: (i.asset, i.to, i.amount) for r, i in planned.items()} == {
        "base": (TOKEN, MAKER, 40 * UNIT),
        "quote": ("native", TAKER, 2 * UNIT),
        "change_maker": ("native", MAKER, UNIT),
    }
    assert planned["base"].key == "otc:ord_x:base" and planned["base"].owner_type == "otc"
    assert (legs.source(order, "base"), legs.source(order, "quote")) == ("taker", "maker")
    refunds = legs.refunds(order, {"maker": UNIT}, retry=2)
    assert {r: i.amount for r, i in refunds.items()} == {
        "refund_maker": 2 * UNIT, "refund_taker": 40 * UNIT
    }
    assert refunds["refund_maker"].key == "otc:ord_x:refund_maker:retry2"


# -- rate limit windows ----------------------------------------------------------------------------


def test_a_fixed_window_says_how_long_until_it_ends() -> None:
    limit = Limit("otc:create:wallet", "w", 3, 60)
    now = 1_000 * 120 + 1  # 1 ms into a window
    assert limit.window_start(now) == 120
    assert limit.retry_after(now) == 60  # 59.999 s, rounded up
    assert limit.retry_after(1_000 * 179 + 500) == 1
