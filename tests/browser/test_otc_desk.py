"""OTC trades driven from the desk: one on the on-chain pair, one on the external pair where the
seller confirms and then reads the secret."""

from __future__ import annotations

import hashlib
from typing import Any

from tests.browser.conftest import OpenPage, Stack, screenshot, wait_text

SKT = 10**18


def _connect(page: Any) -> None:
    page.get_by_role("button", name="Connect wallet").click()
    wait_text(page, "Connected:")


def _place_sell(page: Any, pair: str, amount: str, price: str) -> str:
    page.get_by_label("Pair").select_option(pair)
    page.get_by_label("Side").select_option("sell")
    page.get_by_label("Amount (BASE)").fill(amount)
    page.get_by_label("Price (QUOTE per BASE)").fill(price)
    page.get_by_role("button", name="Deposit and place order").click()
    page.wait_for_url("**/otc?order=*", timeout=60_000)
    page.locator("#order-status").get_by_text("open").wait_for()
    return str(page.url.rsplit("=", 1)[1])


def _status(page: Any, status: str, timeout: float = 60_000) -> None:
    page.locator("#order-status").get_by_text(status, exact=True).wait_for(timeout=timeout)


def test_a_trade_on_the_on_chain_pair(open_page: OpenPage, stack: Stack) -> None:
    seller, sw = open_page("/otc", account=7)
    _connect(seller)
    skt_before = stack.token_balance(stack.accounts[8])
    order_id = _place_sell(seller, "SKT/ETH", "100", "0.01")

    buyer, _ = open_page("/otc", account=8, width=360)
    _connect(buyer)
    buyer.get_by_role("button", name=f"Take order {order_id}").click()
    buyer.wait_for_url(f"**/otc?order={order_id}", timeout=60_000)
    _status(buyer, "completed")
    screenshot(buyer, "otc-completed-360")
    assert stack.token_balance(stack.accounts[8]) - skt_before == 100 * SKT
    assert seller.js_errors == [] and buyer.js_errors == []


def test_a_trade_on_the_external_pair_with_the_secret_read_by_the_seller(
    open_page: OpenPage, stack: Stack
) -> None:
    seller, _ = open_page("/otc", account=7)
    _connect(seller)
    order_id = _place_sell(seller, "SKT/BTC", "250", "0.00002")

    buyer, _ = open_page("/otc", account=9)
    _connect(buyer)
    buyer.get_by_label("Pair").select_option("SKT/BTC")
    buyer.get_by_role("button", name=f"Take order {order_id}").click()
    buyer.wait_for_url(f"**/otc?order={order_id}", timeout=60_000)
    _status(buyer, "matched")
    # The buyer is not the seller: no confirm, no secret for them.
    assert buyer.get_by_role("button", name="Read the secret").count() == 0

    _status(seller, "matched", 15_000)
    secret_hash = seller.locator("dd").nth(4).inner_text()
    reference = "btc:" + "ab" * 32 + ":0"
    lock_field = seller.get_by_label("The buyer's lock on the other chain")
    lock_field.fill(reference)
    # The view keeps polling the order while the seller checks the other chain: what they typed
    # stays, and one poll runs at a time (about one request every 3 s, not one per re-render).
    polls: list[str] = []
    order_url = f"/v1/orders/{order_id}"
    seller.on("request", lambda r: polls.append(r.url) if r.url.endswith(order_url) else None)
    seller.wait_for_timeout(10_000)
    assert lock_field.input_value() == reference
    assert 2 <= len(polls) <= 5, polls
    seller.get_by_role("button", name="Confirm and release").click()
    wait_text(seller, "Confirmed: the tokens are on their way")
    _status(seller, "completed")
    seller.get_by_role("button", name="Read the secret").click()
    wait_text(seller, "Use this secret to claim", 90_000)  # the page waits for finality
    secret = seller.locator("#secret").inner_text()
    assert "0x" + hashlib.sha256(bytes.fromhex(secret[2:])).hexdigest() == secret_hash
    screenshot(seller, "otc-secret")
    assert seller.js_errors == []
