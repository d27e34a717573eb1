"""Process deaths at every step boundary of the payout engine: the restart pays exactly once."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core import failpoints
from chalicelib.core.failpoints import InjectedCrash
from chalicelib.core.runtime import Runtime
from tests.integration.payouts import (
    ETH,
    Finalized,
    automine,
    balance,
    counter,
    hot,
    marker,
    mine,
    new_address,
    nonce_of,
    request,
    stored,
    tick,
)

# Shared fixtures, used by name.

# Every named step boundary of the sender, and whether a transfer has left when it crashes.
SENDER_POINTS = {
    "after_nonce_assigned": False,
    "after_sign_before_store": False,
    "after_store_before_broadcast": False,
    "after_broadcast_before_record": True,
}


def crash_once(rt: Runtime, point: str) -> None:
    with failpoints.armed(point), pytest.raises(InjectedCrash, match=point):
        tick(rt)


@pytest.mark.parametrize("point", list(SENDER_POINTS))
def test_a_crash_at_each_sender_step_still_pays_every_payout_exactly_once(
    payout_rt: Runtime, w3: Any, finalized: Finalized, point: str
) -> None:
    rt = payout_rt
    wallet = hot(rt)
    plan = [(new_address(), ETH), (new_address(), 2 * ETH)]
    ids = []
    for i, (to, amount) in enumerate(plan):
        ids.append(request(rt, f"crash-{point}-{i}", "native", to, amount)["id"])
        rt.clock.advance(1)

    crash_once(rt, point)
    payouts = [stored(rt, pid) for pid in ids]
    # Whatever the crash left is consistent: nonces are held without gaps and only with the
    # counter past them, stored bytes only with a nonce, and only stored bytes reached the chain.
    assert {p["status"] for p in payouts} <= {"requested", "signed"}
    held = sorted(int(p["nonce"]) for p in payouts if p.get("nonce") is not None)
    assert held == list(range(len(held)))
    assert counter(rt) in ((None, 0) if not held else (len(held),))
    for p in payouts:
        if p["status"] == "signed" or p.get("attempts"):
            assert p.get("nonce") is not None and len(p["attempts"]) == 1
    if point == "after_nonce_assigned":
        assert int(payouts[0]["nonce"]) == 0
    if point in ("after_store_before_broadcast", "after_broadcast_before_record"):
        assert payouts[0]["status"] == "signed"
    landed = nonce_of(w3, wallet)
    assert (landed >= 1) is SENDER_POINTS[point]
    assert landed <= len([p for p in payouts if p.get("attempts")])
    paid = [balance(w3, "native", to) for to, _ in plan]
    assert all(got in (0, amount) for got, (_, amount) in zip(paid, plan, strict=True))
    assert sum(1 for got in paid if got) == landed

    tick(rt)
    # Sent; the first may already have its 2 confirmations (automine: one block each).
    assert [stored(rt, pid)["status"] for pid in ids][1] == "broadcast"
    assert {stored(rt, pid)["status"] for pid in ids} <= {"broadcast", "confirmed"}
    assert int(stored(rt, ids[0])["nonce"]) == 0
    assert int(stored(rt, ids[1])["nonce"]) == 1
    mine(w3, 2)
    tick(rt)
    mine(w3, 1)
    tick(rt)
    for pid in ids:
        payout = stored(rt, pid)
        assert payout["status"] == "confirmed"
        assert len(payout["attempts"]) == 1
    assert nonce_of(w3, wallet) == 2
    assert counter(rt) == 2
    for to, amount in plan:
        assert balance(w3, "native", to) == amount
    assert sorted(finalized) == sorted((pid, "confirmed") for pid in ids)


@pytest.mark.parametrize("mined_before_restart", [True, False], ids=["mined", "still_pending"])
def test_a_crash_after_broadcast_is_recognised_from_the_receipt_on_restart(
    payout_rt: Runtime, w3: Any, finalized: Finalized, mined_before_restart: bool
) -> None:
    rt = payout_rt
    wallet, to = hot(rt), new_address()
    pid = request(rt, "crash-after-broadcast", "native", to, 3 * ETH)["id"]
    if not mined_before_restart:
        automine(w3, False)
    crash_once(rt, "after_broadcast_before_record")
    sent = stored(rt, pid)
    assert sent["status"] == "signed"
    if mined_before_restart:
        mine(w3, 3)  # already at depth when the sender comes back
        assert balance(w3, "native", to) == 3 * ETH
    else:
        assert w3.eth.get_transaction(sent["tx_hash"])["blockNumber"] is None

    tick(rt)  # resends the stored bytes: "nonce too low" / "already known" -> receipts
    if not mined_before_restart:
        assert stored(rt, pid)["status"] == "broadcast"
        automine(w3, True)
        mine(w3, 3)
        tick(rt)
    payout = stored(rt, pid)
    assert payout["status"] == "confirmed"
    assert payout["tx_hash"] == sent["tx_hash"]
    assert len(payout["attempts"]) == 1
    assert nonce_of(w3, wallet) == 1
    assert balance(w3, "native", to) == 3 * ETH
    assert finalized == [(pid, "confirmed")]


def test_a_crash_during_finalize_calls_the_finalizer_again_and_then_removes_the_marker(
    payout_rt: Runtime, w3: Any, finalized: Finalized
) -> None:
    rt = payout_rt
    wallet, to = hot(rt), new_address()
    pid = request(rt, "crash-finalize", "native", to, ETH)["id"]
    tick(rt)
    mine(w3, 2)
    crash_once(rt, "during_finalize")
    assert stored(rt, pid)["status"] == "confirmed"
    assert finalized == [(pid, "confirmed")]
    assert marker(rt, pid) is not None

    summary = tick(rt)
    assert summary.get("finalize_finalized") == 1
    assert finalized == [(pid, "confirmed"), (pid, "confirmed")]
    assert marker(rt, pid) is None
    tick(rt)
    assert len(finalized) == 2
    assert nonce_of(w3, wallet) == 1
    assert balance(w3, "native", to) == ETH
