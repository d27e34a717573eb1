"""A process death at every step boundary of settlement, cancel, expiry and refunds.

Each test arms one failpoint for a whole flow: wherever the flow first passes it, the process
"dies" there (InjectedCrash). A client whose request died retries it (with a fresh signature),
and the scheduled jobs simply run again. Every order must end in exactly one terminal state,
every payout must have been sent exactly once (one transaction each from the hot wallet), and
every balance on chain must be exactly what the trade promised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.core import failpoints
from chalicelib.core.failpoints import InjectedCrash
from chalicelib.core.outbox.model import payout_id
from chalicelib.core.runtime import Runtime
from chalicelib.otc import cancel as cancel_mod
from chalicelib.otc import matching, orders, settlement
from chalicelib.otc.model import OPEN, TERMINAL
from tests.integration import test_otc_flows as flows
from tests.integration.payouts import hot, mine, nonce_of
from tests.integration.test_otc_flows import (
    ALICE,
    BOB,
    CAROL,
    HOUR_MS,
    UNIT,
    balances,
    order_of,
    payout_of,
    send,
    signed,
    tick,
)

# Shared fixtures, used by name.
engine_clock = flows.engine_clock
traders = flows.traders

IP = "198.51.100.7"
# Where the payout engine and the OTC drivers can die, for every flow. The engine's boundaries
# a flow can tell apart: bytes stored but not sent, sent but not recorded, concluded but the flow
# not yet told (its own tests crash it at every other step too).
ENGINE = [
    "after_store_before_broadcast",
    "after_broadcast_before_record",
    "during_finalize",
]
DRIVERS = ["otc.advance.after_read", "otc.reconciler.after_order"]


class Crashes:
    """Runs steps, swallowing the one injected crash (and counting it)."""

    def __init__(self) -> None:
        self.count = 0

    def survive(self, step: Callable[[], Any]) -> Any:
        try:
            return step()
        except InjectedCrash:
            self.count += 1
            return None

    def retry(self, request: Callable[[], Any]) -> Any:
        """A client request: if the process died under it, the client sends it again."""
        result = self.survive(request)
        return request() if result is None else result


def drive_to_the_end(
    rt: Runtime, w3: Any, crashes: Crashes, *order_ids: str, payouts: tuple[str, ...] = ()
) -> None:
    """Run the jobs (the reconciler on its own too) and mine, until every order has ended."""
    from chalicelib.otc.reconciler import run_reconciler

    for _ in range(8):
        crashes.survive(lambda: tick(rt))
        mine(w3, 2)
        crashes.survive(lambda: run_reconciler(rt, rt.clock.now_ms() + 60_000))
        if all(order_of(rt, oid)["status"] in TERMINAL for oid in order_ids) and all(
            payout_of(rt, pid)["status"] == "confirmed" for pid in payouts
        ):
            break
    tick(rt)  # one more pass changes nothing (asserted by the callers on chain)


def assert_paid_once(rt: Runtime, w3: Any, order_id: str, end: str, payouts: int) -> None:
    order = order_of(rt, order_id)
    assert order["status"] == end and end in TERMINAL
    for pid in order["payouts"].values():
        payout = payout_of(rt, pid)
        assert payout["status"] == "confirmed"
        assert len(payout["attempts"]) == 1
    # One transaction per payout left the hot wallet: nothing was sent twice.
    assert nonce_of(w3, hot(rt)) == payouts


def _create(rt: Runtime, maker: str, tx: str, **fields: Any) -> str:
    body = {"maker": maker, "pair": "SKT/ETH", "side": "sell", "amount": "100",
            "price": "0.01", "ttl_seconds": 3600, "deposit_tx": tx, **fields}
    return str(orders.create_order(rt, signed(rt, "create_order", body), IP)["id"])


def _match(rt: Runtime, oid: str, taker: str, tx: str = "") -> Callable[[], Any]:
    fields = {"taker": taker, **({"deposit_tx": tx} if tx else {})}
    # A fresh signature per attempt: the clock moves a second, so the deadline differs.
    def request() -> Any:
        rt.clock.advance(1_000)  # type: ignore[attr-defined]
        return matching.match_order(rt, oid, signed(rt, "match_order", fields, oid), IP)

    return request


@pytest.mark.parametrize(
    "point", ["otc.match.after_verify", "otc.after_match_commit", *ENGINE, *DRIVERS]
)
def test_an_on_chain_trade_survives_a_crash_at_each_step_and_pays_each_leg_once(
    payout_rt: Runtime, w3: Any, token_address: str, traders: list[str], point: str
) -> None:
    rt, crashes = payout_rt, Crashes()
    before = balances(w3, token_address, ALICE, BOB)
    maker_dep = send(w3, rt, ALICE, token_address, 100 * UNIT)
    oid = _create(rt, ALICE, maker_dep.tx)
    taker_dep = send(w3, rt, BOB, "native", UNIT)
    with failpoints.armed(point):
        crashes.retry(_match(rt, oid, BOB, taker_dep.tx))
        drive_to_the_end(rt, w3, crashes, oid)
    assert crashes.count == 1
    assert_paid_once(rt, w3, oid, "completed", payouts=2)
    after = balances(w3, token_address, ALICE, BOB)
    assert after[ALICE] == (before[ALICE][0] + UNIT - maker_dep.gas_cost,
                            before[ALICE][1] - 100 * UNIT)
    assert after[BOB] == (before[BOB][0] - UNIT - taker_dep.gas_cost,
                          before[BOB][1] + 100 * UNIT)
    trades, _ = rt.store.query("otc#trades#SKT/ETH")
    assert [t["order_id"] for t in trades] == [oid]


@pytest.mark.parametrize(
    "point", ["otc.after_match_commit", "otc.after_confirm_commit", *ENGINE, *DRIVERS]
)
def test_an_external_trade_survives_a_crash_at_each_step_and_pays_base_once(
    payout_rt: Runtime, w3: Any, token_address: str, traders: list[str], point: str
) -> None:
    rt, crashes = payout_rt, Crashes()
    before = balances(w3, token_address, ALICE, BOB)
    dep = send(w3, rt, ALICE, token_address, 100 * UNIT)
    oid = _create(rt, ALICE, dep.tx, pair="SKT/BTC", price="0.00001")

    def confirm() -> Any:
        rt.clock.advance(1_000)  # type: ignore[attr-defined]
        body = signed(rt, "confirm_order", {"seller": ALICE, "quote_reference": "btc:1"}, oid)
        return settlement.confirm_order(rt, oid, body)

    with failpoints.armed(point):
        crashes.retry(_match(rt, oid, BOB))
        status, answer = crashes.retry(confirm)
        assert (status, answer["status"]) == (202, "payout_pending")
        drive_to_the_end(rt, w3, crashes, oid)
    assert crashes.count == 1
    assert_paid_once(rt, w3, oid, "completed", payouts=1)
    after = balances(w3, token_address, ALICE, BOB)
    assert after[ALICE][1] == before[ALICE][1] - 100 * UNIT
    assert after[BOB][1] == before[BOB][1] + 100 * UNIT


@pytest.mark.parametrize(
    "point", ["otc.after_cancel_commit", "otc.expiry.after_commit", *ENGINE, *DRIVERS]
)
def test_a_cancel_and_an_expiry_survive_a_crash_at_each_step_and_refund_once(
    payout_rt: Runtime, w3: Any, token_address: str, traders: list[str], point: str
) -> None:
    rt, crashes = payout_rt, Crashes()
    before = balances(w3, token_address, ALICE, CAROL)
    cancelled = _create(rt, ALICE, send(w3, rt, ALICE, token_address, 30 * UNIT).tx,
                        amount="30", ttl_seconds=7200)
    expiring = _create(rt, CAROL, send(w3, rt, CAROL, token_address, 12 * UNIT).tx,
                       amount="12")

    def request() -> Any:
        rt.clock.advance(1_000)  # type: ignore[attr-defined]
        body = signed(rt, "cancel_order", {"maker": ALICE}, cancelled)
        return cancel_mod.cancel_order(rt, cancelled, body, IP)

    with failpoints.armed(point):
        first = crashes.survive(request)
        if first is None and order_of(rt, cancelled)["status"] == OPEN:
            request()  # died before its commit: the maker cancels again
        rt.clock.advance(HOUR_MS)  # type: ignore[attr-defined]
        drive_to_the_end(rt, w3, crashes, cancelled, expiring)
    assert crashes.count == 1
    assert_paid_once(rt, w3, cancelled, "cancelled", payouts=2)
    assert_paid_once(rt, w3, expiring, "expired", payouts=2)
    after = balances(w3, token_address, ALICE, CAROL)
    assert after[ALICE][1] == before[ALICE][1] and after[CAROL][1] == before[CAROL][1]


@pytest.mark.parametrize(
    "point", ["otc.after_refused_refund_commit", *ENGINE]
)
def test_a_refused_takers_refund_survives_a_crash_at_each_step_and_is_paid_once(
    payout_rt: Runtime, w3: Any, token_address: str, traders: list[str], point: str
) -> None:
    rt, crashes = payout_rt, Crashes()
    before = balances(w3, token_address, CAROL)
    oid = _create(rt, ALICE, send(w3, rt, ALICE, token_address, 100 * UNIT).tx)
    _match(rt, oid, BOB, send(w3, rt, BOB, "native", UNIT).tx)()
    late = send(w3, rt, CAROL, "native", UNIT)

    def request() -> Any:
        try:
            _match(rt, oid, CAROL, late.tx)()
        except matching.Conflict as exc:
            return exc
        raise AssertionError("a taken order was matched again")

    refund_id = payout_id(f"otc:{oid}:refused:{late.tx}")
    with failpoints.armed(point):
        refused = crashes.retry(request)
        drive_to_the_end(rt, w3, crashes, oid, payouts=(refund_id,))
    assert crashes.count == 1
    # Asked again after a crash, Carol hears the same refusal and the same refund.
    assert (refused.code, refused.details["refund_payout_id"]) == ("order_not_open", refund_id)
    assert_paid_once(rt, w3, oid, "completed", payouts=3)
    refund = payout_of(rt, refund_id)
    assert (refund["status"], refund["to"], refund["amount"]) == ("confirmed", CAROL, str(UNIT))
    # Carol got her 1 ETH back, once: she is out of pocket only her deposit's gas.
    assert balances(w3, token_address, CAROL)[CAROL][0] == before[CAROL][0] - late.gas_cost
