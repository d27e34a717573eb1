"""The anchor explorer: a real receipt verified valid in the page, a tampered one invalid, with
the offline verifier's exact verdicts; a batch's leaves rebuild its root in the browser."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from chalicelib.anchoring import verify
from tests.browser.conftest import OpenPage, Stack, screenshot

XSS_SENDER = '<img src=x onerror="window.__xss=1">'


def _app_call(stack: Stack, key: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(stack.api + path, data, {"Authorization": f"Bearer {key}",
                                 "Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as res:  # noqa: S310 - loopback API
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _anchored_receipt(stack: Stack) -> dict[str, Any]:
    key = stack.api_json("POST", "/v1/admin/apps", {"name": "chat"}, admin=True)["api_key"]
    ids = []
    for i, sender in enumerate(["alice", XSS_SENDER, "bob"]):
        status, posted = _app_call(stack, key, "POST", "/v1/messages", {
            "conversation_id": "room-1", "sender": sender, "sent_at": "2026-09-21T10:00:02Z",
            "content_hash": "0x" + f"{i + 1:064x}"})
        assert status == 201
        ids.append(posted["message_id"])
    try:
        stack.api_json("POST", "/v1/admin/anchors/flush", {}, admin=True)
    except urllib.error.HTTPError as exc:
        # 409 anchor_job_running: the jobs loop is batching right now, which is as good.
        assert exc.code == 409, exc
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status, receipt = _app_call(stack, key, "GET", f"/v1/messages/{ids[1]}/proof")
        if status == 200:
            return receipt
        time.sleep(1)
    raise AssertionError("the batch was not anchored within 60 s")


def _python_verdict(stack: Stack, receipt: dict[str, Any]) -> str:
    return verify.verify(receipt, verify.JsonRpc(stack.rpc), contract=stack.registry,
                         chain_id=31337)


def _verify_in_page(page: Any, receipt: dict[str, Any]) -> str:
    page.get_by_label("Receipt (JSON)").fill(json.dumps(receipt))
    page.get_by_role("button", name="Verify").click()
    page.locator("#verdict-text").wait_for()
    return str(page.locator("#verdict-text").inner_text())


def test_a_receipt_verifies_in_the_page_and_a_tampered_one_does_not(
    open_page: OpenPage, stack: Stack
) -> None:
    receipt = _anchored_receipt(stack)
    page, _ = open_page("/anchors", wallet=False)
    assert page.get_by_label("RPC URL").input_value() == stack.rpc
    assert page.get_by_label("Pinned registry").input_value().lower() == stack.registry.lower()

    assert _verify_in_page(page, receipt) == "valid" == _python_verdict(stack, receipt)
    assert "Anchored in a block of" in page.locator("#block-time").inner_text()
    # The sender is shown as the text it is.
    assert page.get_by_text(XSS_SENDER, exact=True).count() == 1
    assert page.evaluate("window.__xss") is None
    screenshot(page, "anchors-verified")

    tampered = json.loads(json.dumps(receipt))
    tampered["leaf"]["fields"]["sender"] = "mallory"
    verdict = _verify_in_page(page, tampered)
    assert verdict == "invalid: the leaf hash does not match the record's fields"
    assert verdict == _python_verdict(stack, tampered)

    wrong_log = json.loads(json.dumps(receipt))
    wrong_log["anchor"]["log_index"] = 7
    assert _verify_in_page(page, wrong_log) == _python_verdict(stack, wrong_log)
    assert page.js_errors == []

    page.get_by_label("Batch number").fill(str(receipt["batch"]["seq"]))
    page.get_by_role("button", name="Show batch").click()
    page.get_by_text("the tree root matches").wait_for()
    screenshot(page, "anchors-batch")
