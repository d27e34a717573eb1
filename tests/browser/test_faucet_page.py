"""A drip from the faucet page, watched until confirmed, and the figures it moves."""

from __future__ import annotations

from tests.browser.conftest import OpenPage, Stack, screenshot

SKT = 10**18


def test_a_drip_lands_and_the_next_one_is_announced(open_page: OpenPage, stack: Stack) -> None:
    page, wallet = open_page("/faucet", account=6, width=360)
    page.get_by_text("One drip").wait_for()
    before = stack.token_balance(wallet.account)
    page.get_by_role("button", name="Connect wallet").click()
    page.get_by_text("Connected:").wait_for()
    page.get_by_role("button", name="Request a drip").click()
    page.get_by_text("Next drip allowed from").wait_for()
    page.get_by_text("Sent: confirmed on chain.").wait_for(timeout=60_000)
    assert stack.token_balance(wallet.account) - before == 10 * SKT
    screenshot(page, "faucet-360")

    page.get_by_label("Wallet address").fill("0xnot-an-address")
    page.get_by_role("button", name="Request a drip").click()
    page.get_by_text("That is not a wallet address").wait_for()
    assert page.js_errors == []
