"""The OTC reconciler on the node: a held lease means it does nothing; a lost lease writes nothing;
overlapping runs make one holder; it completes what the payouts' states say is done, once."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core.leases import LeaseLost, acquire
from chalicelib.core.outbox.jobs import run_confirmer, run_sender
from chalicelib.core.outbox.model import FINALIZE_QUEUE
from chalicelib.core.runtime import Runtime
from chalicelib.otc.advance import advance
from chalicelib.otc.reconciler import LEASE_NAME, run_reconciler
from tests.integration import test_otc_flows as flows
from tests.integration.payouts import hot, mine, nonce_of
from tests.integration.test_otc_crashes import _create, _match
from tests.integration.test_otc_flows import (
    ALICE,
    BOB,
    UNIT,
    balances,
    order_of,
    payout_of,
    send,
    tick,
)
from tests.integration.test_otc_races import race

engine_clock = flows.engine_clock
traders = flows.traders


def deadline(rt: Runtime) -> int:
    return rt.clock.now_ms() + 60_000


def settled_legs_but_order_not_told(rt: Runtime, w3: Any, token: str) -> str:
    """An on-chain trade whose legs are confirmed on chain, before any finalizer ran."""
    oid = _create(rt, ALICE, send(w3, rt, ALICE, token, 100 * UNIT).tx)
    _match(rt, oid, BOB, send(w3, rt, BOB, "native", UNIT).tx)()
    run_sender(rt, deadline(rt))
    mine(w3, 2)
    run_confirmer(rt, deadline(rt))
    order = order_of(rt, oid)
    assert order["status"] == "settling"
    assert {payout_of(rt, p)["status"] for p in order["payouts"].values()} == {"confirmed"}
    return oid


def test_the_reconciler_does_nothing_while_another_holds_its_lease(
    payout_rt: Runtime, w3: Any, token_address: str, traders: list[str]
) -> None:
    rt = payout_rt
    oid = settled_legs_but_order_not_told(rt, w3, token_address)
    held = acquire(rt.store, rt.clock, LEASE_NAME, rt.settings.lease_ttl_ms)
    assert run_reconciler(rt, deadline(rt)) == {"skipped": "lease_held"}
    assert order_of(rt, oid)["status"] == "settling"
    assert order_of(rt, oid)["version"] == 2
    held.release()
    summary = run_reconciler(rt, deadline(rt))
    assert summary["settling->completed"] == 1
    assert order_of(rt, oid)["status"] == "completed"


def test_a_reconciler_whose_lease_was_taken_over_cannot_write(
    payout_rt: Runtime, w3: Any, token_address: str, traders: list[str]
) -> None:
    rt = payout_rt
    oid = settled_legs_but_order_not_told(rt, w3, token_address)
    stale = acquire(rt.store, rt.clock, LEASE_NAME, rt.settings.lease_ttl_ms)
    rt.clock.advance(rt.settings.lease_ttl_ms + 1)  # type: ignore[attr-defined]
    newer = acquire(rt.store, rt.clock, LEASE_NAME, rt.settings.lease_ttl_ms)
    with pytest.raises(LeaseLost):
        advance(rt, oid, stale.fence())
    assert order_of(rt, oid)["status"] == "settling"
    assert advance(rt, oid, newer.fence()) == "settling->completed"
    newer.release()


def test_overlapping_runs_make_one_holder_and_complete_the_trade_once(
    payout_rt: Runtime, w3: Any, token_address: str, traders: list[str]
) -> None:
    rt = payout_rt
    before = balances(w3, token_address, ALICE, BOB)
    oid = settled_legs_but_order_not_told(rt, w3, token_address)
    results = race(*(lambda: run_reconciler(rt, deadline(rt)) for _ in range(3)))
    assert sum(1 for r in results if r.get("settling->completed") == 1) == 1, results
    assert sum(1 for r in results if r == {"skipped": "lease_held"}) >= 1, results
    # The finalizers still run for the confirmed legs: they find nothing left to do.
    assert rt.store.query_work(FINALIZE_QUEUE)[0]
    tick(rt)
    assert not rt.store.query_work(FINALIZE_QUEUE)[0]
    order = order_of(rt, oid)
    assert order["status"] == "completed" and order["version"] == 3
    trades, _ = rt.store.query("otc#trades#SKT/ETH")
    assert len(trades) == 1
    assert nonce_of(w3, hot(rt)) == 2
    after = balances(w3, token_address, ALICE, BOB)
    assert after[BOB][1] == before[BOB][1] + 100 * UNIT
