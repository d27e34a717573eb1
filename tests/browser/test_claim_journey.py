"""The journey the web app exists for: an organizer prints QR codes, a participant claims one.

The organizer creates an event and codes in the console and opens the QR sheet; a participant
opens a claim URL from that sheet with a browser wallet, claims, watches pending -> paid, and the
tokens are on chain. Refusals read as sentences, and user text renders as text.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import segno

from tests.browser.conftest import OpenPage, Stack, screenshot, wait_text

XSS = '<img src=x onerror="window.__xss=1">'
SKT = 10**18


def _in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sign_in(page: Any, stack: Stack) -> None:
    page.get_by_label("Organizer token").fill(stack.admin)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Create an event").wait_for()


def _create_event_with_codes(page: Any, name: str, amount: str, count: int) -> str:
    page.get_by_label("Event name").fill(name)
    page.get_by_label("Amount per code").fill(amount)
    page.get_by_role("button", name="Create event").click()
    page.get_by_text("Event created:").wait_for()
    event_id = re.search(r"ev_[0-9a-f]+", page.get_by_role("alert").inner_text()).group(0)
    page.get_by_label("How many codes").fill(str(count))
    page.get_by_role("button", name="Create codes").click()
    page.get_by_text(f"{count} codes created.").wait_for()
    return event_id


def test_participant_scans_a_printed_code_claims_with_a_wallet_and_is_paid(
    open_page: OpenPage, stack: Stack
) -> None:
    console, _ = open_page("/organizer", wallet=False)
    _sign_in(console, stack)
    assert "Bearer" not in console.url and stack.admin not in console.url
    event_id = _create_event_with_codes(console, XSS, "25", 3)

    # The event name is shown as the text it is, never as markup.
    assert console.locator("#event-name").inner_text() == XSS
    assert console.locator("#event img").count() == 0

    console.get_by_role("button", name="QR sheet").click()
    figures = console.locator(".sheet figure")
    figures.first.wait_for(timeout=45_000)  # segno draws them server-side; slow when loaded
    assert figures.count() == 3
    screenshot(console, "organizer-qr-sheet")

    # Each QR image is exactly the QR code of its claim URL, printed under it.
    first = figures.nth(0)
    alt = first.locator("img").get_attribute("alt")
    claim_url = alt.removeprefix("QR code for ")
    code = claim_url.rsplit("/", 1)[1]
    assert claim_url == f"{stack.api}/claim/{code}" and code in first.inner_text()
    expected = segno.make(claim_url, error="m").png_data_uri(scale=5, border=2)
    assert first.locator("img").get_attribute("src") == expected
    assert console.evaluate("window.__xss") is None

    # The participant (the node's account #5) scans it: the claim page opens with the code.
    participant = stack.accounts[5]
    before = stack.token_balance(participant)
    page, wallet = open_page(claim_url.removeprefix(stack.api), account=5, width=360)
    assert page.get_by_label("Claim code").input_value() == code
    page.get_by_role("button", name="Connect wallet").click()
    page.get_by_text("Connected:").wait_for()
    assert page.get_by_label("Your wallet address").input_value() == participant
    screenshot(page, "claim-360")
    page.get_by_role("button", name="Claim").click()
    page.locator("#claim-status").get_by_text("pending").or_(
        page.locator("#claim-status").get_by_text("paid")).wait_for()
    page.locator("#claim-status").get_by_text("paid").wait_for(timeout=60_000)
    screenshot(page, "claim-paid-360")
    assert "eth_chainId" in wallet.calls
    assert stack.token_balance(participant) - before == 25 * SKT
    tx = page.locator("#result .mono").last.inner_text()
    receipt = stack.rpc_call("eth_getTransactionReceipt", [tx])["result"]
    assert receipt["status"] == "0x1"
    assert page.js_errors == []

    # The organizer's counts show it; the kill switch goes off and on again from the console.
    counts = stack.api_json("GET", f"/v1/events/{event_id}", admin=True)["counts"]
    assert counts["paid"] == 1 and counts["available"] == 2
    console.once("dialog", lambda dialog: dialog.accept())
    console.get_by_role("button", name="Disable event").click()
    wait_text(console, "Event disabled.")
    assert stack.api_json("GET", f"/v1/events/{event_id}", admin=True)["status"] == "disabled"
    console.get_by_role("button", name="Re-enable event").click()
    wait_text(console, "Event enabled again.")
    assert stack.api_json("GET", f"/v1/events/{event_id}", admin=True)["status"] == "active"


def test_refusals_read_as_sentences_on_the_claim_page(open_page: OpenPage, stack: Stack) -> None:
    ev = stack.api_json("POST", "/v1/events", {"name": "Refusals", "amount": "1",
                        "expires_at": _in_days(3)}, admin=True)
    codes = stack.api_json("POST", f"/v1/events/{ev['id']}/codes", {"count": 3},
                           admin=True)["codes"]
    stack.api_json("POST", "/v1/claims", {"code": codes[0], "wallet": stack.accounts[3]})

    page, _ = open_page("/claim", account=4)
    page.get_by_label("Claim code").fill(codes[0])
    page.get_by_label("Your wallet address").fill(stack.accounts[4])
    page.get_by_role("button", name="Claim").click()
    page.get_by_text("This code has already been claimed by another wallet.").wait_for()

    page.get_by_label("Your wallet address").fill("0x1234")
    page.get_by_label("Claim code").fill(codes[1])
    page.get_by_role("button", name="Claim").click()
    page.get_by_text("That is not a wallet address").wait_for()

    stack.api_json("POST", f"/v1/codes/{codes[1]}/revoke", {}, admin=True)
    page.get_by_label("Your wallet address").fill(stack.accounts[4])
    page.get_by_role("button", name="Claim").click()
    page.get_by_text("This code was cancelled by the organizer.").wait_for()

    stack.api_json("POST", f"/v1/events/{ev['id']}/disable", {}, admin=True)
    page.get_by_label("Claim code").fill(codes[2])
    page.get_by_role("button", name="Claim").click()
    page.get_by_text("The organizer has paused this event").wait_for()


def test_a_wallet_on_another_chain_is_offered_the_switch(open_page: OpenPage) -> None:
    page, wallet = open_page("/claim", account=2, chain_id=1)
    page.get_by_role("button", name="Connect wallet").click()
    page.get_by_text("this service uses chain 31337").wait_for()
    page.get_by_role("button", name="Switch network").click()
    page.get_by_text("Connected:").wait_for()
    assert "wallet_switchEthereumChain" in wallet.calls and wallet.chain_id == 31337
