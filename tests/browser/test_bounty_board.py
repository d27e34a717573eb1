"""A two-winner bounty from creation to `paid`, every step signed in the page by a wallet."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import OpenPage, Stack, screenshot, wait_text

XSS_TITLE = '<img src=x onerror="window.__xss=1">'
ETH = 10**18


def _connect(page: Any) -> None:
    page.get_by_role("button", name="Connect wallet").click()
    wait_text(page, "Connected:")


def _native_balance(stack: Stack, account: str) -> int:
    return int(stack.rpc_call("eth_getBalance", [account, "latest"])["result"], 16)


def test_two_winner_bounty_from_creation_to_paid(open_page: OpenPage, stack: Stack) -> None:
    poster, _ = open_page("/bounties", account=1)
    _connect(poster)
    poster.get_by_label("Title").fill(XSS_TITLE)
    poster.get_by_label("Description").fill("Translate the README into French and German")
    poster.get_by_label("Total reward").fill("2")
    poster.get_by_label("Asset").select_option("native")
    poster.get_by_label("Winners").fill("2")
    poster.get_by_label("Tags").fill("docs")
    poster.get_by_role("button", name="Sign and post").click()
    poster.locator("#bounty-title").wait_for()
    assert poster.locator("#bounty-title").inner_text() == XSS_TITLE
    bounty_url = poster.url.removeprefix(stack.api)

    winners = []
    for account, text in ((2, "French done"), (3, "German done")):
        page, wallet = open_page(bounty_url, account=account, width=360)
        _connect(page)
        page.get_by_label("Your solution").fill(text)
        page.get_by_role("button", name="Sign and submit").click()
        wait_text(page, "Submitted.")
        winners.append(wallet.account)
    screenshot(page, "bounty-360")

    poster.reload()
    wait_text(poster, "Connected:")  # the wallet allowed this site already: no prompt again
    before = [_native_balance(stack, w) for w in winners]
    for w in winners:
        poster.get_by_role("button", name=f"Accept the submission from {w}").click()
        wait_text(poster, "Accepted.")
    for w in winners:
        poster.get_by_role("button", name=f"Pay {w}").click()
        wait_text(poster, "Payment recorded.", 60_000)
    poster.locator("#bounty-status").get_by_text("paid", exact=True).wait_for()
    after = [_native_balance(stack, w) for w in winners]
    assert [a - b for a, b in zip(after, before, strict=True)] == [ETH, ETH]
    screenshot(poster, "bounty-paid")

    # The board lists it, its title as text.
    poster.goto(stack.api + "/bounties")
    poster.get_by_label("Status").select_option("paid")
    poster.get_by_role("button", name="Show").click()
    poster.get_by_role("link", name=XSS_TITLE).first.wait_for()
    assert poster.evaluate("window.__xss") is None
    assert poster.js_errors == []
