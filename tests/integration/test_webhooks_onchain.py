"""Webhooks from real flows on the hardhat node: a claimed code's `claim.paid` (with its
`payout.confirmed`), and an anchored batch's `anchor.confirmed` with each message's
`message.anchored` to the app that posted it, all signed and verified by a local receiver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import jobs
from chalicelib.core.runtime import Runtime
from chalicelib.core.webhooks import endpoints
from tests.conftest import START_MS
from tests.integration.test_anchor_onchain import (
    APP,
    anchor_rt,  # noqa: F401 - fixture
    post,
)
from tests.integration.test_anchor_onchain import settle as settle_anchors
from tests.integration.test_claims_onchain import claim, one_code
from tests.integration.test_claims_onchain import rt as claims_rt  # noqa: F401 - fixture
from tests.integration.test_claims_onchain import settle as settle_claims
from tests.receiver import Receiver

FAR = START_MS + 10**9


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def subscribe(
    runtime: Runtime, receiver: Receiver, events: list[str], owner: str = "admin"
) -> None:
    jobs.register_webhook_events()
    created = endpoints.register(runtime, owner, {"url": receiver.url, "events": events})
    receiver.secret = created["secret"]


def test_a_claimed_code_sends_a_signed_claim_paid_once_the_payout_is_confirmed(
    claims_rt: Runtime, w3: Any, receiver: Receiver  # noqa: F811
) -> None:
    rt = claims_rt
    subscribe(rt, receiver, ["claim.paid", "payout.confirmed"])
    wallet = "0x" + "5e" * 20
    _, claimed = claim(rt, one_code(rt), wallet)
    jobs.webhooks(rt, FAR)
    assert receiver.requests == []  # nothing happened yet that an integrator asked for
    settle_claims(rt, w3)
    jobs.webhooks(rt, FAR)
    assert receiver.bad_signatures == 0
    by_type = {r["payload"]["type"]: r["payload"] for r in receiver.requests}
    assert set(by_type) == {"claim.paid", "payout.confirmed"}
    paid = by_type["claim.paid"]["data"]
    assert (paid["wallet"].lower(), paid["amount"], paid["status"]) == (wallet, "7", "paid")
    assert paid["payout_id"] == claimed["payout_id"] == by_type["payout.confirmed"]["data"]["id"]
    assert paid["tx_hash"] == by_type["payout.confirmed"]["data"]["tx_hash"]
    stored = w3.eth.get_transaction_receipt(paid["tx_hash"])
    assert stored["status"] == 1


def test_an_anchored_batch_sends_anchor_confirmed_and_each_app_its_messages(
    anchor_rt: Runtime, w3: Any, receiver: Receiver  # noqa: F811
) -> None:
    rt = anchor_rt
    app_receiver = Receiver()
    try:
        subscribe(rt, receiver, ["anchor.confirmed"])
        subscribe(rt, app_receiver, ["message.anchored"], owner=APP["app_id"])
        created = post(rt, 3)
        settle_anchors(rt, w3)
        jobs.webhooks(rt, FAR)
        (confirmed,) = [r["payload"] for r in receiver.requests]
        assert confirmed["type"] == "anchor.confirmed" and receiver.bad_signatures == 0
        tx = w3.eth.get_transaction_receipt(confirmed["data"]["tx_hash"])
        assert tx["status"] == 1 and tx["blockNumber"] == confirmed["data"]["block_number"]
        messages = [r["payload"]["data"] for r in app_receiver.requests]
        assert app_receiver.bad_signatures == 0
        assert sorted(m["message_id"] for m in messages) == sorted(
            c["message_id"] for c in created
        )
        assert {m["seq"] for m in messages} == {str(c["seq"]) for c in created}
    finally:
        app_receiver.stop()
