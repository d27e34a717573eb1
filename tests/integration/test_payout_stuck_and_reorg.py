"""Transactions the node drops, that stay stuck, that hit the fee cap, or that a re-org undoes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.core import failpoints
from chalicelib.core.failpoints import InjectedCrash
from chalicelib.core.runtime import Runtime
from tests.integration.conftest import RuntimeWith
from tests.integration.payouts import (
    ETH,
    PAST_TIMEOUT_MS,
    Finalized,
    automine,
    balance,
    confirm_only,
    hot,
    known,
    mine,
    new_address,
    nonce_of,
    request,
    rpc,
    send_only,
    stored,
    tick,
)

# Shared fixtures, used by name.



def pending(w3: Any, tx_hash: str) -> bool:
    tx = rpc(w3, "eth_getTransactionByHash", [tx_hash])
    return tx is not None and tx.get("blockNumber") is None



# -- 5. dropped transaction ---------------------------------------------------------------------


def test_a_dropped_transaction_is_rebroadcast_with_the_same_bytes_and_then_confirms(
    payout_rt: Runtime, w3: Any, finalized: Finalized
) -> None:
    rt = payout_rt
    wallet, to = hot(rt), new_address()
    pid = request(rt, "dropped", "native", to, ETH)["id"]
    automine(w3, False)
    send_only(rt)
    sent = stored(rt, pid)
    assert sent["status"] == "broadcast"
    assert pending(w3, sent["tx_hash"])

    rpc(w3, "hardhat_dropTransaction", [sent["tx_hash"]])
    assert not known(w3, sent["tx_hash"])
    confirm_only(rt)  # not yet past the timeout: nothing happens
    assert not known(w3, sent["tx_hash"])

    rt.clock.advance(PAST_TIMEOUT_MS)
    summary = confirm_only(rt)
    assert summary.get("rebroadcast") == 1
    payout = stored(rt, pid)
    assert payout["tx_hash"] == sent["tx_hash"]
    assert payout["attempts"] == sent["attempts"]  # same bytes, one attempt
    assert pending(w3, sent["tx_hash"])
    assert nonce_of(w3, wallet) == 0

    rpc(w3, "evm_mine")
    automine(w3, True)
    mine(w3, 2)
    tick(rt)
    payout = stored(rt, pid)
    assert payout["status"] == "confirmed"
    assert payout["tx_hash"] == sent["tx_hash"]
    assert len(payout["attempts"]) == 1
    assert nonce_of(w3, wallet) == 1
    assert balance(w3, "native", to) == ETH
    assert finalized == [(pid, "confirmed")]


# -- 6. stuck transaction replaced, the original wins ------------------------------------------


def test_a_stuck_transaction_is_replaced_at_the_same_nonce_and_the_original_still_counts(
    payout_rt: Runtime, w3: Any, finalized: Finalized
) -> None:
    rt = payout_rt
    wallet, to = hot(rt), new_address()
    pid = request(rt, "stuck", "native", to, 2 * ETH)["id"]
    automine(w3, False)
    send_only(rt)
    original = stored(rt, pid)["attempts"][0]

    rt.clock.advance(PAST_TIMEOUT_MS)
    assert confirm_only(rt).get("rebroadcast") == 1  # first: maybe it was only dropped
    assert len(stored(rt, pid)["attempts"]) == 1
    rt.clock.advance(PAST_TIMEOUT_MS)
    assert confirm_only(rt).get("replaced") == 1  # then: same nonce, higher fees
    payout = stored(rt, pid)
    assert len(payout["attempts"]) == 2
    first, second = payout["attempts"]
    assert first == original
    assert payout["tx_hash"] == second["hash"] != first["hash"]
    for field in ("max_fee", "tip"):
        assert int(second[field]) * 1000 >= int(first[field]) * 1125, field
    replacement = w3.eth.get_transaction(second["hash"])
    assert replacement["nonce"] == int(payout["nonce"]) == 0
    assert replacement["maxFeePerGas"] == int(second["max_fee"])
    assert replacement["maxPriorityFeePerGas"] == int(second["tip"])
    assert nonce_of(w3, wallet) == 0

    # The node would mine the replacement; make the original win the race instead.
    if known(w3, second["hash"]):
        rpc(w3, "hardhat_dropTransaction", [second["hash"]])
    if not pending(w3, first["hash"]):
        rpc(w3, "eth_sendRawTransaction", ["0x" + first["raw_tx"]])
    rpc(w3, "evm_mine")
    automine(w3, True)
    assert w3.eth.get_transaction_receipt(first["hash"])["status"] == 1
    assert not known(w3, second["hash"])

    tick(rt)
    mine(w3, 2)
    tick(rt)
    payout = stored(rt, pid)
    assert payout["status"] == "confirmed"
    assert payout["tx_hash"] == first["hash"]
    assert len(payout["attempts"]) == 2
    assert nonce_of(w3, wallet) == 1
    assert balance(w3, "native", to) == 2 * ETH
    assert finalized == [(pid, "confirmed")]
    for _ in range(2):
        rt.clock.advance(PAST_TIMEOUT_MS)
        tick(rt)
    assert nonce_of(w3, wallet) == 1
    assert balance(w3, "native", to) == 2 * ETH


# -- 7. fee cap -----------------------------------------------------------------------------------


def test_a_stuck_payout_whose_replacement_would_pass_the_fee_cap_needs_attention_once(
    payout_rt: Runtime,
    w3: Any,
    runtime_with: RuntimeWith,
    finalized: Finalized,
    alerts: Callable[..., int],
) -> None:
    automine(w3, False)  # the fee stays what it is now: no block is mined until we say so
    assert payout_rt.chain is not None
    current_fee, _ = payout_rt.chain.fees()
    rt = runtime_with(PAYOUT_MAX_FEE_WEI=str(current_fee + 1))
    wallet, to = hot(rt), new_address()
    pid = request(rt, "capped", "native", to, ETH)["id"]
    send_only(rt)
    assert int(stored(rt, pid)["attempts"][0]["max_fee"]) <= current_fee + 1

    for _ in range(5):
        rt.clock.advance(PAST_TIMEOUT_MS)
        tick(rt)
    payout = stored(rt, pid)
    assert payout["status"] == "needs_attention"
    assert len(payout["attempts"]) == 1  # nothing above the cap was ever signed
    assert "fee" in payout["attention_reason"]
    assert alerts("payout_needs_attention") == 1
    assert finalized == [(pid, "needs_attention")]
    assert nonce_of(w3, wallet) == 0
    assert balance(w3, "native", to) == 0

    # Still watched: when the original is finally mined, the payout is confirmed after all.
    rpc(w3, "evm_mine")
    automine(w3, True)
    mine(w3, 2)
    tick(rt)
    payout = stored(rt, pid)
    assert payout["status"] == "confirmed"
    assert payout["tx_hash"] == payout["attempts"][0]["hash"]
    assert nonce_of(w3, wallet) == 1
    assert balance(w3, "native", to) == ETH
    assert finalized == [(pid, "needs_attention"), (pid, "confirmed")]
    assert alerts("payout_needs_attention") == 1


# -- 8. re-org ------------------------------------------------------------------------------------


def test_a_reorg_that_removes_the_mined_block_sends_the_payout_back_to_broadcast(
    payout_rt: Runtime, w3: Any, finalized: Finalized
) -> None:
    rt = payout_rt
    wallet, to = hot(rt), new_address()
    pid = request(rt, "reorged", "native", to, ETH)["id"]
    automine(w3, False)
    send_only(rt)
    tx_hash = stored(rt, pid)["tx_hash"]
    before_mining = rpc(w3, "evm_snapshot")
    mine(w3, 1)  # mined: 1 confirmation < CONFIRMATIONS
    assert confirm_only(rt).get("mined") == 1
    mined = stored(rt, pid)
    assert mined["status"] == "broadcast"
    assert mined["mined_block"] is not None and mined["mined_block_hash"]
    assert balance(w3, "native", to) == ETH

    assert rpc(w3, "evm_revert", [before_mining]) is True
    assert balance(w3, "native", to) == 0
    assert nonce_of(w3, wallet) == 0
    summary = confirm_only(rt)
    assert summary.get("reorged") == 1
    payout = stored(rt, pid)
    assert payout["status"] == "broadcast"
    assert payout.get("mined_block") is None
    assert payout.get("mined_block_hash") is None
    assert finalized == []

    # The same bytes get in again (the node kept them, or the rebroadcast restores them).
    rt.clock.advance(PAST_TIMEOUT_MS)
    confirm_only(rt)
    assert stored(rt, pid)["tx_hash"] == tx_hash
    automine(w3, True)
    mine(w3, 3)
    tick(rt)
    payout = stored(rt, pid)
    assert payout["status"] == "confirmed"
    assert payout["tx_hash"] == tx_hash
    assert len(payout["attempts"]) == 1
    assert nonce_of(w3, wallet) == 1
    assert balance(w3, "native", to) == ETH
    assert finalized == [(pid, "confirmed")]


# -- stored bytes the node refuses ----------------------------------------------------------------


def test_stored_bytes_the_node_refuses_after_a_fee_spike_do_not_block_the_queue_silently(
    payout_rt: Runtime, w3: Any, finalized: Finalized, alerts: Callable[..., int]
) -> None:
    rt = payout_rt
    wallet, to, later_to = hot(rt), new_address(), new_address()
    pid = request(rt, "spiked", "native", to, ETH)["id"]
    with failpoints.armed("after_store_before_broadcast"), pytest.raises(InjectedCrash):
        tick(rt)
    signed_fee = int(stored(rt, pid)["attempts"][0]["max_fee"])
    # The base fee jumps far above the stored max fee before the sender comes back.
    rpc(w3, "hardhat_setNextBlockBaseFeePerGas", [hex(50 * signed_fee)])
    later = request(rt, "after-the-spike", "native", later_to, ETH)["id"]
    for _ in range(4):
        rt.clock.advance(PAST_TIMEOUT_MS)
        tick(rt)
    payout = stored(rt, pid)
    # Money safety holds either way: nothing moved twice.
    assert nonce_of(w3, wallet) <= 1
    assert balance(w3, "native", to) in (0, ETH)
    assert balance(w3, "native", later_to) in (0, ETH)
    # Liveness: the refused payout is unstuck (replaced at its nonce) or a human is told, once.
    stuck_silently = payout["status"] == "signed" and alerts() == 0
    assert not stuck_silently, (payout["status"], stored(rt, later)["status"])
