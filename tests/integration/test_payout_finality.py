"""Finality: a payout confirmed at CONFIRMATIONS is watched until final; a re-org that removes
it before then sends it back to broadcast with its identical bytes, and it still lands once."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalicelib.core.outbox.model import finality_key
from chalicelib.core.outbox.service import get_payout
from chalicelib.core.outbox.webhook_events import TYPES
from chalicelib.core.runtime import Runtime
from chalicelib.core.webhooks.events import event_id, event_key
from tests.integration.conftest import RuntimeWith
from tests.integration.payouts import (
    ETH,
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

FINALITY_DEPTH = 6



def test_a_reorg_after_confirmed_rebroadcasts_the_same_bytes_and_the_payout_lands_once(
    payout_rt: Runtime,
    w3: Any,
    runtime_with: RuntimeWith,
    finalized: Finalized,
    alerts: Callable[..., int],
) -> None:
    rt = runtime_with(FINALITY_DEPTH=str(FINALITY_DEPTH))
    wallet, to = hot(rt), new_address()
    pid = request(rt, "reorged-late", "native", to, ETH)["id"]
    automine(w3, False)
    tick(rt)
    sent = stored(rt, pid)
    fork_point = rpc(w3, "evm_snapshot")
    rpc(w3, "evm_mine")  # mined: confirmation 1
    mine(w3, 1)  # confirmation 2 == CONFIRMATIONS
    tick(rt)
    view = get_payout(rt, pid)
    assert (view["status"], view["confirmations"], view["final"]) == ("confirmed", 2, False)
    assert finalized == [(pid, "confirmed")]
    assert rt.store.get(**finality_key(pid)) is not None  # still watched

    # A longer chain without our block wins, and the node lost the transaction too.
    rpc(w3, "evm_revert", [fork_point])
    if known(w3, sent["tx_hash"]):
        rpc(w3, "hardhat_dropTransaction", [sent["tx_hash"]])
    mine(w3, 4)
    assert balance(w3, "native", to) == 0
    summary = tick(rt)
    assert summary.get("confirmed->broadcast") == 1
    payout = stored(rt, pid)
    assert payout["status"] == "broadcast" and payout.get("mined_block") is None
    assert payout["attempts"] == sent["attempts"]  # the identical bytes, not a new signature
    assert known(w3, sent["tx_hash"])
    assert alerts("payout_reorged_after_conclusion") == 1
    # Integrations heard `payout.confirmed` (sequence 2): they hear that it was undone (3).
    assert payout_events(rt, pid) == [("payout.confirmed", 2, "confirmed"),
                                       ("payout.reorged", 3, "broadcast")]

    rpc(w3, "evm_mine")
    automine(w3, True)
    mine(w3, 1)
    tick(rt)
    payout = stored(rt, pid)
    assert payout["status"] == "confirmed" and payout["tx_hash"] == sent["tx_hash"]
    assert not payout.get("final_at")
    mine(w3, FINALITY_DEPTH)
    tick(rt)
    payout = stored(rt, pid)
    assert payout.get("final_at") and get_payout(rt, pid)["final"] is True
    assert rt.store.get(**finality_key(pid)) is None
    assert balance(w3, "native", to) == ETH  # once
    assert nonce_of(w3, wallet) == 1
    assert finalized == [(pid, "confirmed"), (pid, "confirmed")]
    # The new conclusion is a new event (a new id), not a repeat a receiver would drop.
    assert payout_events(rt, pid) == [("payout.confirmed", 2, "confirmed"),
                                       ("payout.reorged", 3, "broadcast"),
                                       ("payout.confirmed", 5, "confirmed")]
    for _ in range(2):
        mine(w3, 2)
        tick(rt)
    assert balance(w3, "native", to) == ETH
    assert alerts("payout_reorged_after_conclusion") == 1


def payout_events(rt: Runtime, pid: str) -> list[tuple[str, int, str]]:
    """The payout's webhook events written so far: (type, sequence, the status they carry)."""
    found = []
    for sequence in range(1, 10):
        for type_ in (t.name for t in TYPES.values()):
            item = rt.store.get(**event_key(event_id(type_, pid, sequence)))
            if item is not None:
                body = json.loads(item["body"])
                found.append((type_, body["sequence"], body["data"]["status"]))
    return found
