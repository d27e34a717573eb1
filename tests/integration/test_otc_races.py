"""Races, with real threads against the serialized store server, asserted on chain.

Two (or more) takers racing for one order: exactly one match, every loser's deposit refunded
once through the payout engine. A cancel racing a match: exactly one wins. A deposit offered
twice at once: it funds one order side, ever.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from chalicelib.core.errors import ServiceError
from chalicelib.core.runtime import Runtime
from chalicelib.otc import cancel as cancel_mod
from chalicelib.otc import matching, orders
from tests.integration import test_otc_flows as flows
from tests.integration.payouts import hot, nonce_of
from tests.integration.test_otc_flows import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    UNIT,
    balances,
    order_of,
    payout_of,
    run_until_settled,
    send,
    signed,
)

engine_clock = flows.engine_clock
traders = flows.traders
IP = "203.0.113.9"


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same moment on their own threads; each one's result or error."""
    barrier = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            out[i] = calls[i]()
        except BaseException as exc:  # noqa: BLE001 - inspected by the test
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return out


def open_sell(rt: Runtime, w3: Any, token: str, amount: int = 100) -> str:
    dep = send(w3, rt, ALICE, token, amount * UNIT)
    body = {"maker": ALICE, "pair": "SKT/ETH", "side": "sell", "amount": str(amount),
            "price": "0.01", "ttl_seconds": 3600, "deposit_tx": dep.tx}
    return str(orders.create_order(rt, signed(rt, "create_order", body), IP)["id"])


def taking(rt: Runtime, oid: str, taker: str, tx: str) -> Callable[[], Any]:
    body = signed(rt, "match_order", {"taker": taker, "deposit_tx": tx}, oid)
    return lambda: matching.match_order(rt, oid, body, IP)


def test_three_takers_racing_for_one_order_make_one_match_and_two_refunds_on_chain(
    payout_rt: Runtime, w3: Any, token_address: str, traders: list[str]
) -> None:
    rt = payout_rt
    takers = [BOB, CAROL, DAVE]
    before = balances(w3, token_address, ALICE, *takers)
    oid = open_sell(rt, w3, token_address)
    deposits = {t: send(w3, rt, t, "native", UNIT, depth=0) for t in takers}
    flows.mine(w3, 2)

    results = race(*(taking(rt, oid, t, deposits[t].tx) for t in takers))
    won = [t for t, r in zip(takers, results, strict=True) if isinstance(r, dict)]
    lost = [(t, r) for t, r in zip(takers, results, strict=True) if not isinstance(r, dict)]
    assert len(won) == 1, results
    winner = won[0]
    assert results[takers.index(winner)]["status"] == "settling"
    order = order_of(rt, oid)
    assert (order["taker"], order["buyer"]) == (winner, winner)
    refunds = {}
    for taker, error in lost:
        assert isinstance(error, ServiceError) and error.status == 409, error
        assert error.code == "order_not_open"
        assert error.details["status"] == "settling"
        refunds[taker] = error.details["refund_payout_id"]
        refund = payout_of(rt, refunds[taker])
        assert (refund["to"], refund["asset"], refund["amount"]) == (taker, "native", str(UNIT))

    run_until_settled(rt, w3)
    assert order_of(rt, oid)["status"] == "completed"
    for pid in refunds.values():
        assert payout_of(rt, pid)["status"] == "confirmed"
    # base + quote + one refund per loser, each sent once.
    assert nonce_of(w3, hot(rt)) == 2 + len(lost)
    after = balances(w3, token_address, ALICE, *takers)
    assert after[ALICE][1] == before[ALICE][1] - 100 * UNIT
    assert after[winner][1] == before[winner][1] + 100 * UNIT
    assert after[winner][0] == before[winner][0] - UNIT - deposits[winner].gas_cost
    for taker, _ in lost:
        # A loser is out of pocket only the gas of its deposit.
        assert after[taker] == (before[taker][0] - deposits[taker].gas_cost, before[taker][1])


def test_a_cancel_racing_a_match_leaves_exactly_one_winner_and_no_money_twice(
    payout_rt: Runtime, w3: Any, token_address: str, traders: list[str]
) -> None:
    rt = payout_rt
    before = balances(w3, token_address, ALICE, BOB)
    oid = open_sell(rt, w3, token_address)
    dep = send(w3, rt, BOB, "native", UNIT)
    cancel_body = signed(rt, "cancel_order", {"maker": ALICE}, oid)
    results = race(
        taking(rt, oid, BOB, dep.tx),
        lambda: cancel_mod.cancel_order(rt, oid, cancel_body, IP),
    )
    matched, cancelled = (isinstance(r, dict) for r in results)
    assert matched != cancelled, results
    loser = results[1] if matched else results[0]
    assert isinstance(loser, ServiceError) and loser.status == 409
    run_until_settled(rt, w3)
    after = balances(w3, token_address, ALICE, BOB)
    if matched:
        assert order_of(rt, oid)["status"] == "completed"
        assert after[BOB][1] == before[BOB][1] + 100 * UNIT
        assert after[ALICE][1] == before[ALICE][1] - 100 * UNIT
    else:
        assert order_of(rt, oid)["status"] == "cancelled"
        assert payout_of(rt, loser.details["refund_payout_id"])["status"] == "confirmed"
        assert after[ALICE][1] == before[ALICE][1]
        assert after[BOB] == (before[BOB][0] - dep.gas_cost, before[BOB][1])
    assert nonce_of(w3, hot(rt)) == 2


def test_one_deposit_offered_for_two_orders_at_once_funds_exactly_one(
    payout_rt: Runtime, w3: Any, token_address: str, traders: list[str]
) -> None:
    rt = payout_rt
    dep = send(w3, rt, ALICE, token_address, 100 * UNIT)
    bodies = [
        {"maker": ALICE, "pair": "SKT/ETH", "side": "sell", "amount": "100", "price": price,
         "ttl_seconds": 3600, "deposit_tx": dep.tx}
        for price in ("0.01", "0.02")
    ]
    results = race(*(
        (lambda b=b: orders.create_order(rt, signed(rt, "create_order", b), IP))
        for b in bodies
    ))
    created = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if not isinstance(r, dict)]
    assert len(created) == 1 and len(refused) == 1, results
    assert isinstance(refused[0], ServiceError)
    assert (refused[0].status, refused[0].code) == (409, "tx_already_used")
    listed = orders.list_orders(rt, {"pair": "SKT/ETH"})["orders"]
    assert [o["id"] for o in listed] == [created[0]["id"]]
