"""The admin's retry of a parked batch, on the hardhat node: refused (and nothing written) while the
registry would refuse the batch, anchored exactly once when it would accept it, one anchor payout
even when two admins retry at once. Counted on the chain (`Anchored` events) as well as stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from chalice.test import Client
from eth_account import Account

import app
from chalicelib.anchoring import parked
from chalicelib.core.clock import FixedClock
from chalicelib.core.errors import Conflict
from chalicelib.core.outbox.model import payout_id
from chalicelib.core.runtime import Runtime, set_runtime
from chalicelib.core.store import DynamoStore
from local import bootstrap
from tests.integration.conftest import engine_settings
from tests.integration.payouts import mine
from tests.integration.test_anchor_onchain import (
    ETH,
    anchor_job,
    anchor_rt,  # noqa: F401 - fixture, used by name
    anchored_events,
    batch,
    check,
    contract,
    engine,
    payouts_of_batch,
    post,
    receipt_of,
    set_last_seq,
    settle,
)
from tests.integration.test_anchor_race import together

ADMIN = {"Authorization": "Bearer admin-token-for-tests-0123456789"}  # engine_settings' token


@pytest.fixture
def api(anchor_rt: Runtime) -> Iterator[Client]:  # noqa: F811 - the imported fixture
    set_runtime(anchor_rt)
    try:
        with Client(app.app) as client:
            yield client
    finally:
        set_runtime(None)


def park_on_a_moved_head(rt: Runtime, w3: Any) -> None:
    """Batch 1's anchor reverts because the registry's head moved to 5: the batch is parked."""
    anchor_job(rt)
    set_last_seq(w3, rt, 5)
    for _ in range(4):
        engine(rt)
        mine(w3, 2)
        anchor_job(rt)
    assert batch(rt, 1)["status"] == "stuck"
    assert [p["status"] for p in payouts_of_batch(rt, 1)] == ["failed"]


def anchored_seqs(w3: Any, rt: Runtime) -> list[int]:
    return [int.from_bytes(e["topics"][1], "big") for e in anchored_events(w3, rt)]


def retry(api: Client, seq: int = 1) -> Any:
    return api.http.post(f"/v1/admin/anchors/{seq}/retry", headers=ADMIN)


def test_a_parked_batch_retried_once_the_registry_accepts_it_is_anchored_exactly_once(
    anchor_rt: Runtime, api: Client, w3: Any, chain_url: str,  # noqa: F811
    alerts: Callable[..., int],
) -> None:
    rt = anchor_rt
    created = post(rt, 3)
    park_on_a_moved_head(rt, w3)
    behind = post(rt, 2)  # batch 2, claimed behind the parked one
    anchor_job(rt)

    listed = api.http.get("/v1/admin/anchors?status=needs_attention", headers=ADMIN).json_body
    assert [(b["batch_seq"], b["status"]) for b in listed["batches"]] == [(1, "needs_attention")]

    # While the registry's head is not batch 1's predecessor: 409, and nothing is written.
    before = batch(rt, 1)
    refused = retry(api)
    assert refused.status_code == 409 and refused.json_body["error"] == "registry_head_mismatch"
    assert refused.json_body["details"]["registry_head"]["batch_seq"] == 5
    assert batch(rt, 1) == before
    assert [p["status"] for p in payouts_of_batch(rt, 1)] == ["failed"]

    set_last_seq(w3, rt, 0)  # the registry would accept batch 1 again
    accepted = retry(api)
    assert accepted.status_code == 202, accepted.json_body
    body = accepted.json_body
    assert (body["batch_seq"], body["status"], body["attempts"]) == (1, "pending", 2)
    assert body["payout_id"] == payout_id("anchor:1:2") and body["reason"] is None

    settle(rt, w3)
    one = batch(rt, 1)
    assert one["status"] == "anchored" and one["payout_id"] == payout_id("anchor:1:2")
    assert [p["status"] for p in payouts_of_batch(rt, 1)] == ["failed", "confirmed"]
    assert batch(rt, 2)["status"] == "anchored"  # the queue behind it moves again
    assert anchored_seqs(w3, rt) == [1, 2]  # batch 1 anchored exactly once
    assert contract(w3, rt).functions.last_seq().call() == 2
    for c in created + behind:
        assert check(rt, chain_url, receipt_of(rt, c["message_id"])) == "valid"

    again = retry(api)
    assert again.status_code == 409 and again.json_body["error"] == "batch_not_parked"
    assert again.json_body["details"] == {"batch_seq": 1, "status": "anchored"}
    assert len(payouts_of_batch(rt, 1)) == 2
    assert alerts("anchor_needs_attention") == 1  # the retry itself alerts nothing


def test_a_batch_parked_after_its_attempts_ran_out_is_anchored_by_a_retry(
    w3: Any, chain_url: str, chain_snapshot: None, served_store: DynamoStore, token_address: str,
    hot_key: str, engine_clock: FixedClock,
) -> None:
    wallet = Account.from_key(hot_key).address
    bootstrap.fund_native(w3, wallet, 10 * ETH)
    registry = bootstrap.deploy(w3, "AnchorRegistry", wallet)
    settings = engine_settings(
        chain_url, hot_key, token_address, served_store.table,
        ANCHOR_REGISTRY_ADDRESS=registry, ANCHOR_MAX_AGE_SECONDS="0", ANCHOR_MAX_ATTEMPTS="1",
    )
    rt = Runtime(settings, clock=engine_clock, dynamodb_client=served_store.client)
    created = post(rt, 2)
    anchor_job(rt)
    set_last_seq(w3, rt, 5)
    engine(rt)  # sent and mined: reverted
    set_last_seq(w3, rt, 0)  # the cause is gone, but the one allowed attempt is spent
    for _ in range(3):
        mine(w3, 2)
        engine(rt)
        anchor_job(rt)
    parked_batch = batch(rt, 1)
    assert parked_batch["status"] == "stuck" and "reverted 1 times" in parked_batch["stuck_reason"]
    assert anchored_events(w3, rt) == []

    view = parked.retry_batch(rt, "1")
    assert view["status"] == "pending" and view["payout_id"] == payout_id("anchor:1:2")
    settle(rt, w3)
    assert batch(rt, 1)["status"] == "anchored"
    assert anchored_seqs(w3, rt) == [1]
    assert check(rt, chain_url, receipt_of(rt, created[1]["message_id"])) == "valid"


def test_a_retry_while_the_hot_wallet_is_not_the_submitter_is_409_and_writes_nothing(
    w3: Any, chain_url: str, chain_snapshot: None, served_store: DynamoStore, token_address: str,
    hot_key: str, engine_clock: FixedClock,
) -> None:
    wallet = Account.from_key(hot_key).address
    bootstrap.fund_native(w3, wallet, 10 * ETH)
    foreign = bootstrap.deploy(w3, "AnchorRegistry", w3.eth.accounts[3])
    settings = engine_settings(
        chain_url, hot_key, token_address, served_store.table,
        ANCHOR_REGISTRY_ADDRESS=foreign, ANCHOR_MAX_AGE_SECONDS="0",
    )
    rt = Runtime(settings, clock=engine_clock, dynamodb_client=served_store.client)
    post(rt, 1)
    settle(rt, w3, rounds=3)
    before = batch(rt, 1)
    assert before["status"] == "stuck"
    with pytest.raises(Conflict) as refused:
        parked.retry_batch(rt, "1")
    assert refused.value.code == "not_submitter"
    assert refused.value.details["hot_wallet"] == wallet
    assert batch(rt, 1) == before and len(payouts_of_batch(rt, 1)) == 1


def test_two_retries_at_once_make_one_anchor_payout_and_one_anchor(
    anchor_rt: Runtime, w3: Any, chain_url: str  # noqa: F811
) -> None:
    rt = anchor_rt
    created = post(rt, 2)
    park_on_a_moved_head(rt, w3)
    set_last_seq(w3, rt, 0)
    assert rt.chain is not None and rt.signer is not None  # built once, before the threads

    def attempt(i: int) -> Any:
        try:
            return parked.retry_batch(rt, "1")
        except Conflict as exc:  # `together` takes a raised exception for a failure
            return exc.code

    results = together(2, attempt)
    assert sorted(results, key=str).count("batch_not_parked") == 1, results
    (won,) = [r for r in results if isinstance(r, dict)]
    assert won["payout_id"] == payout_id("anchor:1:2")
    assert [p["status"] for p in payouts_of_batch(rt, 1)] == ["failed", "requested"]
    settle(rt, w3)
    assert batch(rt, 1)["status"] == "anchored"
    assert [p["status"] for p in payouts_of_batch(rt, 1)] == ["failed", "confirmed"]
    assert anchored_seqs(w3, rt) == [1]
    assert check(rt, chain_url, receipt_of(rt, created[0]["message_id"])) == "valid"
