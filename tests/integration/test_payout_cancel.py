"""An operator's cancel: unsent payouts fail at once; sent ones race a no-op at their nonce."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.test import Client

from chalicelib.core.errors import Conflict
from chalicelib.core.outbox.service import cancel_payout
from chalicelib.core.runtime import Runtime, set_runtime
from tests.integration.payouts import (
    ETH,
    Finalized,
    automine,
    balance,
    confirm_only,
    hot,
    marker,
    mine,
    new_address,
    nonce_of,
    request,
    rpc,
    send_only,
    stored,
    tick,
)

ADMIN = {"Authorization": "Bearer admin-token-for-tests-0123456789"}


def test_cancelling_a_payout_never_sent_fails_it_at_once_and_nothing_moves(
    payout_rt: Runtime, w3: Any, finalized: Finalized
) -> None:
    rt, to = payout_rt, new_address()
    pid = request(rt, "never-sent", "native", to, ETH)["id"]

    view = cancel_payout(rt, pid)

    assert view["status"] == "failed"
    tick(rt)  # the sender finds nothing to send; the finalizer hears `failed`
    assert stored(rt, pid)["status"] == "failed"
    assert stored(rt, pid).get("nonce") is None
    assert finalized == [(pid, "failed")]
    assert marker(rt, pid) is None
    assert balance(w3, "native", to) == 0
    assert nonce_of(w3, hot(rt)) == 0


def test_a_cancelled_stuck_payout_is_replaced_by_a_noop_and_ends_failed_with_nothing_paid(
    payout_rt: Runtime, w3: Any, finalized: Finalized
) -> None:
    rt, to = payout_rt, new_address()
    wallet = hot(rt)
    pid = request(rt, "stuck", "native", to, ETH)["id"]
    automine(w3, False)
    send_only(rt)
    original = stored(rt, pid)
    assert original["status"] == "broadcast"

    assert cancel_payout(rt, pid)["cancel_requested"] is True
    confirm_only(rt)  # no waiting for the timeout: the no-op goes out at once
    payout = stored(rt, pid)
    assert len(payout["attempts"]) == 2
    noop = payout["attempts"][-1]
    assert noop["noop"] is True
    assert int(noop["max_fee"]) > int(original["attempts"][0]["max_fee"])
    tx = rpc(w3, "eth_getTransactionByHash", [noop["hash"]])
    assert tx["to"].lower() == wallet.lower() and int(tx["value"], 16) == 0
    assert int(tx["nonce"], 16) == original["nonce"]

    rpc(w3, "evm_mine")  # the node mines the higher-fee no-op, not the original
    automine(w3, True)
    mine(w3, 2)
    tick(rt)

    payout = stored(rt, pid)
    assert payout["status"] == "failed"
    assert payout["tx_hash"] == noop["hash"]
    assert finalized == [(pid, "failed")]
    assert balance(w3, "native", to) == 0  # proven: the nonce went to our own no-op
    assert nonce_of(w3, wallet) == 1
    tick(rt)
    assert nonce_of(w3, wallet) == 1  # nothing is retried after the no-op


def test_a_cancel_that_loses_the_race_to_the_original_ends_confirmed(
    payout_rt: Runtime, w3: Any, finalized: Finalized
) -> None:
    rt, to = payout_rt, new_address()
    pid = request(rt, "too-late", "native", to, ETH)["id"]
    send_only(rt)  # automine: the original is mined at once
    cancel_payout(rt, pid)
    mine(w3, 2)
    tick(rt)

    payout = stored(rt, pid)
    assert payout["status"] == "confirmed"
    assert len(payout["attempts"]) == 1  # a receipt came first: no no-op was sent
    assert balance(w3, "native", to) == ETH
    assert finalized == [(pid, "confirmed")]


def test_a_final_payout_cannot_be_cancelled(payout_rt: Runtime, w3: Any) -> None:
    rt, to = payout_rt, new_address()
    pid = request(rt, "done", "native", to, ETH)["id"]
    tick(rt)
    mine(w3, 2)
    tick(rt)
    assert stored(rt, pid)["status"] == "confirmed"
    with pytest.raises(Conflict) as err:
        cancel_payout(rt, pid)
    assert err.value.code == "payout_not_cancellable"
    assert stored(rt, pid)["status"] == "confirmed"


def test_the_cancel_route_needs_the_admin_token_and_knows_unknown_ids(
    payout_rt: Runtime, w3: Any
) -> None:
    import app

    pid = request(payout_rt, "via-http", "native", new_address(), ETH)["id"]
    set_runtime(payout_rt)
    try:
        with Client(app.app) as client:
            path = f"/v1/admin/payouts/{pid}/cancel"
            assert client.http.post(path).status_code == 401
            wrong = {"Authorization": "Bearer wrong-token-0123456789abcdef"}
            assert client.http.post(path, headers=wrong).status_code == 401
            assert stored(payout_rt, pid)["status"] == "requested"
            unknown = client.http.post("/v1/admin/payouts/po_nope/cancel", headers=ADMIN)
            assert unknown.status_code == 404
            done = client.http.post(path, headers=ADMIN)
            assert done.status_code == 202
            assert done.json_body["status"] == "failed"
    finally:
        set_runtime(None)
