"""Stuck nonces always resolve: a payout parked at the fee cap keeps its stored bytes alive, an
operator's cancel can pay more than the cap, and a nonce the node lost is filled by our no-op."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.core.clock import FixedClock
from chalicelib.core.errors import BadRequest
from chalicelib.core.outbox.service import cancel_payout
from chalicelib.core.runtime import Runtime, set_runtime
from tests.integration.conftest import RuntimeWith
from tests.integration.payouts import (
    ETH,
    PAST_TIMEOUT_MS,
    Finalized,
    automine,
    balance,
    hot,
    known,
    mine,
    new_address,
    nonce_of,
    request,
    rpc,
    stored,
    tick,
)

ADMIN = {
    "Authorization": "Bearer admin-token-for-tests-0123456789",
    "Content-Type": "application/json",
}


def park(rt: Runtime, pid: str) -> None:
    for _ in range(3):
        rt.clock.advance(PAST_TIMEOUT_MS)  # type: ignore[attr-defined]
        tick(rt)
    assert stored(rt, pid)["status"] == "needs_attention"


def test_a_parked_payout_is_rebroadcast_and_a_cancel_with_max_fee_lands_a_noop_leaving_no_gap(
    payout_rt: Runtime,
    w3: Any,
    runtime_with: RuntimeWith,
    engine_clock: FixedClock,
    finalized: Finalized,
) -> None:
    automine(w3, False)
    assert payout_rt.chain is not None
    fee, _ = payout_rt.chain.fees()
    rt = runtime_with(PAYOUT_MAX_FEE_WEI=str(fee + 1))
    wallet, to = hot(rt), new_address()
    pid = request(rt, "parked", "native", to, ETH)["id"]
    tick(rt)
    park(rt, pid)
    original = stored(rt, pid)["attempts"][0]

    # The node drops it: the parked payout's bytes are sent again, not forgotten.
    rpc(w3, "hardhat_dropTransaction", [original["hash"]])
    assert not known(w3, original["hash"])
    engine_clock.advance(PAST_TIMEOUT_MS)
    assert tick(rt).get("rebroadcast") == 1
    assert known(w3, original["hash"])

    # Cancel at the cap does nothing useful; with an explicit max_fee the no-op goes out.
    with pytest.raises(BadRequest):
        cancel_payout(rt, pid, {"max_fee": "-1"})
    with pytest.raises(BadRequest):
        cancel_payout(rt, pid, {"max_fee": "1.5"})
    set_runtime(rt)
    try:
        import app

        with Client(app.app) as client:
            path = f"/v1/admin/payouts/{pid}/cancel"
            body = json.dumps({"max_fee": str(10 * fee)})
            answer = client.http.post(path, headers=ADMIN, body=body)
    finally:
        set_runtime(None)
    assert answer.status_code == 202, answer.body
    assert answer.json_body["cancel_requested"] is True
    assert answer.json_body["max_fee"] == str(10 * fee)
    summary = tick(rt)
    assert summary.get("replaced") == 1
    payout = stored(rt, pid)
    noop = payout["attempts"][-1]
    assert noop.get("noop") and fee + 1 < int(noop["max_fee"]) <= 10 * fee

    rpc(w3, "evm_mine")
    automine(w3, True)
    mine(w3, 2)
    tick(rt)
    assert stored(rt, pid)["status"] == "failed"
    assert balance(w3, "native", to) == 0
    assert nonce_of(w3, wallet) == 1
    assert finalized[-1] == (pid, "failed")

    # No gap remains: the next payout takes the next nonce and lands.
    to2 = new_address()
    pid2 = request(rt, "after-cancel", "native", to2, ETH)["id"]
    tick(rt)
    mine(w3, 2)
    tick(rt)
    assert stored(rt, pid2)["status"] == "confirmed"
    assert int(stored(rt, pid2)["nonce"]) == 1
    assert balance(w3, "native", to2) == ETH


def spike(w3: Any, base_fee: int) -> None:
    """Mine one block whose base fee is `base_fee` (the next ones start from it)."""
    rpc(w3, "hardhat_setNextBlockBaseFeePerGas", [hex(base_fee)])
    rpc(w3, "evm_mine")


def test_a_cancel_during_a_fee_spike_above_the_cap_pays_todays_fee_up_to_its_max_fee(
    payout_rt: Runtime,
    w3: Any,
    runtime_with: RuntimeWith,
    finalized: Finalized,
) -> None:
    automine(w3, False)
    cap = 10 * 10**9
    spike(w3, 4 * cap)  # the chain asks four times the cap: every payout stays pending
    rt = runtime_with(PAYOUT_MAX_FEE_WEI=str(cap))
    wallet, to = hot(rt), new_address()
    pid = request(rt, "spiked", "native", to, ETH)["id"]
    tick(rt)
    assert int(stored(rt, pid)["attempts"][0]["max_fee"]) <= cap
    park(rt, pid)

    cancel_payout(rt, pid, {"max_fee": str(10 * cap)})
    assert tick(rt).get("replaced") == 1
    noop = stored(rt, pid)["attempts"][-1]
    # A bump over the capped attempt (1.25 x cap) would sit under the spike forever.
    assert noop.get("noop") and 4 * cap < int(noop["max_fee"]) <= 10 * cap

    spike(w3, 4 * cap)  # the spike goes on, and the no-op still gets in
    automine(w3, True)
    mine(w3, 2)
    tick(rt)
    assert stored(rt, pid)["status"] == "failed"
    assert balance(w3, "native", to) == 0
    assert nonce_of(w3, wallet) == 1
    assert finalized[-1] == (pid, "failed")


def test_a_dropped_parked_transaction_is_filled_by_our_own_noop_and_the_payout_fails(
    payout_rt: Runtime,
    w3: Any,
    runtime_with: RuntimeWith,
    engine_clock: FixedClock,
    finalized: Finalized,
    alerts: Callable[..., int],
) -> None:
    automine(w3, False)
    assert payout_rt.chain is not None
    fee, _ = payout_rt.chain.fees()
    cap = fee * 12 // 10  # a 25 % bump would pass it: the payout parks
    rt = runtime_with(PAYOUT_MAX_FEE_WEI=str(cap))
    wallet, to = hot(rt), new_address()
    pid = request(rt, "gap", "native", to, 50 * ETH)["id"]
    tick(rt)
    sent = stored(rt, pid)["attempts"][0]
    park(rt, pid)

    # The node drops the bytes, and the wallet can no longer cover them (it was drained to
    # 1 ETH): they cannot come back, and nothing we signed holds the nonce any more.
    rpc(w3, "hardhat_dropTransaction", [sent["hash"]])
    rpc(w3, "hardhat_setBalance", [wallet, hex(ETH)])
    engine_clock.advance(PAST_TIMEOUT_MS)
    summary = tick(rt)
    assert summary.get("gap_filled") == 1
    payout = stored(rt, pid)
    noop = payout["attempts"][-1]
    assert noop.get("noop") and int(noop["max_fee"]) <= cap
    assert payout["attempts"][0] == sent  # the original is still followed
    assert known(w3, noop["hash"])

    rpc(w3, "evm_mine")
    automine(w3, True)
    mine(w3, 2)
    tick(rt)
    assert stored(rt, pid)["status"] == "failed"  # only because our no-op took the nonce
    assert balance(w3, "native", to) == 0
    assert nonce_of(w3, wallet) == 1
    assert finalized[-1] == (pid, "failed")
    assert alerts("payout_needs_attention") == 1

    to2 = new_address()
    pid2 = request(rt, "after-gap", "native", to2, ETH // 10)["id"]  # the wallet holds ~1 ETH
    tick(rt)
    mine(w3, 2)
    tick(rt)
    assert stored(rt, pid2)["status"] == "confirmed"
    assert int(stored(rt, pid2)["nonce"]) == 1
    assert balance(w3, "native", to2) == ETH // 10
