"""OTC jobs and market data on moto in-process: the expiry job, the reconciler's deadline and
resume, 24-hour statistics, and the book without expired orders. Payout outcomes are set by
hand here; the on-chain tests in tests/integration prove them with real transfers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.core.clock import FixedClock
from chalicelib.core.outbox.intents import intent_item, make_intent
from chalicelib.core.outbox.model import payout_key
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import DynamoStore, Item
from chalicelib.otc import book, counters, reconciler
from chalicelib.otc.expiry import run_expiry
from chalicelib.otc.model import order_key
from chalicelib.otc.reconciler import CURSOR_KEY, run_reconciler
from chalicelib.otc.settlement import trade_item
from tests.conftest import START_MS
from tests.unit.test_otc_model import MAKER, TAKER, TOKEN, UNIT, seed_order, settings

HOUR = 3_600_000


@pytest.fixture
def rt(moto_client: Any, clock: FixedClock) -> Iterator[Runtime]:
    yield Runtime(settings(JOB_MARGIN_MS="5000"), clock=clock, dynamodb_client=moto_client)


def settling(store: DynamoStore, n: int, status: str = "confirmed") -> Item:
    """A matched on-chain order whose two legs are in `status`."""
    oid = seed_order(store, n)["id"]
    legs = {
        "base": make_intent(f"otc:{oid}:base", TOKEN, TAKER, 10 * UNIT, "otc", oid,
                            purpose="escrow"),
        "quote": make_intent(f"otc:{oid}:quote", "native", MAKER, UNIT // 10, "otc", oid,
                             purpose="escrow"),
    }
    for intent in legs.values():
        store.put({**intent_item(intent, START_MS), "status": status})
    return seed_order(store, n, status="settling", taker=TAKER, buyer=TAKER, seller=MAKER,
                      version=2, payouts={r: i.id for r, i in legs.items()})


def status_of(rt: Runtime, order: Item) -> str:
    item = rt.store.get(**order_key(order["id"]))
    assert item is not None
    return str(item["status"])


# -- expiry ----------------------------------------------------------------------------------------


def test_the_expiry_job_refunds_due_orders_only_once_and_leaves_the_rest(
    rt: Runtime, clock: FixedClock
) -> None:
    due = seed_order(rt.store, 1)
    later = seed_order(rt.store, 2, expires_at=START_MS + 2 * HOUR)
    taken = seed_order(rt.store, 3)
    # A stale index entry: the order was matched meanwhile (the index still says open).
    rt.store.update(order_key(taken["id"]), set={"status": "settling"}, add={"version": 1})
    clock.advance(HOUR - 1)
    assert run_expiry(rt, clock.now_ms() + 60_000) == {}
    clock.advance(1)
    assert run_expiry(rt, clock.now_ms() + 60_000) == {"open->refund_pending": 1}
    order = rt.store.get(**order_key(due["id"]))
    assert order is not None and order["refund_reason"] == "expiry"
    refund = rt.store.get(**payout_key(order["payouts"]["refund_maker"]))
    assert refund is not None
    assert (refund["to"], refund["asset"], refund["amount"]) == (MAKER, TOKEN, str(10 * UNIT))
    assert run_expiry(rt, clock.now_ms() + 60_000) == {}  # idempotent
    assert status_of(rt, later) == "open" and status_of(rt, taken) == "settling"


def test_the_expiry_job_stops_before_its_deadline(rt: Runtime, clock: FixedClock) -> None:
    seed_order(rt.store, 1)
    clock.advance(HOUR)
    assert run_expiry(rt, clock.now_ms() + 5_000) == {"stopped_at_deadline": 1}


# -- reconciler ------------------------------------------------------------------------------------


def test_the_reconciler_stops_at_its_deadline_and_the_next_run_resumes_where_it_stopped(
    rt: Runtime, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = [settling(rt.store, n) for n in range(1, 6)]
    visited: list[str] = []
    real = reconciler.advance

    def slow_advance(rt_: Runtime, order_id: str, fence: Any = None) -> str | None:
        visited.append(order_id)
        clock.advance(10_000)  # each order takes 10 s of the budget
        return real(rt_, order_id, fence)

    monkeypatch.setattr(reconciler, "advance", slow_advance)
    # Margin 5 s, budget 30 s: three orders fit (0, 10 and 20 s in), the fourth does not.
    first = run_reconciler(rt, clock.now_ms() + 30_000)
    assert first["settling->completed"] == 3 and first["stopped_at_deadline"] == 1
    assert [status_of(rt, o) for o in orders].count("completed") == 3
    assert rt.store.get(**CURSOR_KEY)["cursor"]
    done_first = list(visited)

    second = run_reconciler(rt, clock.now_ms() + 60_000)
    assert second["resumed"] == 1 and second["settling->completed"] == 2
    assert visited[3:] and not set(visited[3:]) & set(done_first)
    assert {status_of(rt, o) for o in orders} == {"completed"}
    assert rt.store.get(**CURSOR_KEY).get("cursor") is None  # the end: next run starts at the front
    assert run_reconciler(rt, clock.now_ms() + 60_000) == {}


def test_the_reconciler_waits_while_legs_move_and_parks_a_failed_leg_for_an_admin(
    rt: Runtime, clock: FixedClock
) -> None:
    moving = settling(rt.store, 1, status="broadcast")
    ambiguous = settling(rt.store, 2, status="needs_attention")
    failed = settling(rt.store, 3, status="failed")
    summary = run_reconciler(rt, clock.now_ms() + 60_000)
    assert summary == {"settling->settlement_recovery": 1}
    assert status_of(rt, moving) == "settling" and status_of(rt, ambiguous) == "settling"
    parked = rt.store.get(**order_key(failed["id"]))
    assert parked is not None
    assert (parked["recovery_from"], parked["failed_roles"], parked["awaiting"]) == (
        "settling", ["base", "quote"], "admin"
    )
    assert "wpk" not in parked  # off the queue until an admin acts
    assert run_reconciler(rt, clock.now_ms() + 60_000) == {}  # the others still wait
    assert status_of(rt, moving) == "settling"


def test_a_failed_refund_goes_to_recovery_and_an_admin_refund_sends_it_again(
    rt: Runtime, clock: FixedClock
) -> None:
    from chalicelib.otc import recovery

    order = seed_order(rt.store, 1)
    refund = make_intent(f"otc:{order['id']}:refund_maker", TOKEN, MAKER, 10 * UNIT, "otc",
                         order["id"], purpose="escrow")
    rt.store.put({**intent_item(refund, START_MS), "status": "failed"})
    seed_order(rt.store, 1, status="refund_pending", refund_reason="cancel", version=2,
               payouts={"refund_maker": refund.id})
    assert run_reconciler(rt, clock.now_ms() + 60_000) == {
        "refund_pending->settlement_recovery": 1
    }
    answer = recovery.refund(rt, order["id"])  # a failed refund: refunding is retrying it
    again = answer["payouts"]["refund_maker"]
    assert again != refund.id and answer["order"]["status"] == "refund_pending"
    payout = rt.store.get(**payout_key(again))
    assert payout is not None and payout["idem_key"].endswith(":retry1")
    rt.store.update(payout_key(again), set={"status": "confirmed"})
    assert run_reconciler(rt, clock.now_ms() + 60_000) == {"refund_pending->cancelled": 1}


def test_a_recovery_order_stays_queued_while_another_leg_moves_then_waits_for_an_admin(
    rt: Runtime, clock: FixedClock
) -> None:
    order = settling(rt.store, 1, status="broadcast")
    rt.store.update(payout_key(order["payouts"]["base"]), set={"status": "failed"})
    assert run_reconciler(rt, clock.now_ms() + 60_000) == {"settling->settlement_recovery": 1}
    parked = rt.store.get(**order_key(order["id"]))
    assert parked is not None and parked["awaiting"] == "payouts" and parked["wpk"]
    assert run_reconciler(rt, clock.now_ms() + 60_000) == {}  # the quote leg still moves
    rt.store.update(payout_key(order["payouts"]["quote"]), set={"status": "confirmed"})
    assert run_reconciler(rt, clock.now_ms() + 60_000) == {
        "settlement_recovery->awaiting_admin": 1
    }
    parked = rt.store.get(**order_key(order["id"]))
    assert parked is not None and parked["awaiting"] == "admin" and "wpk" not in parked


# -- market data -----------------------------------------------------------------------------------


def put_trade(rt: Runtime, n: int, at: int, price: int, amount: int = UNIT) -> None:
    order = {"id": f"ord_{n:024x}", "pair": "SKT/ETH", "side": "sell", "amount": str(amount),
             "price": str(price), "quote_total": str(amount * price // UNIT), "matched_at": at}
    rt.store.put(trade_item(order, at))


def test_stats_count_the_last_24_hours_only_and_never_an_expired_order(
    rt: Runtime, clock: FixedClock
) -> None:
    now = clock.now_ms()
    put_trade(rt, 1, now - 24 * HOUR, price=9 * 10**16)  # exactly 24 h ago: outside
    put_trade(rt, 2, now - 24 * HOUR + 1, price=3 * 10**16)
    put_trade(rt, 3, now - HOUR, price=5 * 10**16, amount=2 * UNIT)
    put_trade(rt, 4, now - 1, price=4 * 10**16)
    seed_order(rt.store, 1, price=str(6 * 10**16))
    seed_order(rt.store, 2, price=str(10**16), expires_at=now)  # expired, job not run yet
    seed_order(rt.store, 3, side="buy", price=str(2 * 10**16), expires_at=now - 1)
    rt.store.transact([counters.count_op("SKT/ETH", "ord_0a", "created")])

    stats = book.stats(rt, {"pair": "SKT/ETH"})["pairs"][0]
    assert stats["trades_24h"] == 3
    assert (stats["volume_24h"], stats["quote_volume_24h"]) == ("4", "0.17")
    assert (stats["high_24h"], stats["low_24h"], stats["last_price"]) == ("0.05", "0.03", "0.04")
    assert stats["open_orders"] == {"buy": 0, "sell": 1}
    assert (stats["best_bid"], stats["best_ask"]) == (None, "0.06")
    assert stats["totals"] == {"created": 1, "completed": 0, "cancelled": 0, "expired": 0}
    shown = book.orderbook(rt, {"pair": "SKT/ETH"})
    assert [lv["price"] for lv in shown["asks"]] == ["0.06"] and shown["bids"] == []
    tape = book.trades(rt, {"pair": "SKT/ETH", "limit": "2"})
    assert [t["price"] for t in tape["trades"]] == ["0.04", "0.05"] and tape["next"]

    clock.advance(24 * HOUR)  # a day later: nothing in the window, the last price remains
    quiet = book.stats(rt, {})["pairs"][0]
    assert (quiet["trades_24h"], quiet["high_24h"], quiet["last_price"]) == (0, None, "0.04")


def test_a_trade_record_is_written_once_however_often_completion_is_tried(
    rt: Runtime, clock: FixedClock
) -> None:
    from chalicelib.otc.settlement import complete

    order = settling(rt.store, 1)
    stale = dict(order)
    assert complete(rt, order, None, clock.now_ms()) is True
    clock.advance(5)
    assert complete(rt, stale, None, clock.now_ms()) is False  # a second try from a stale read
    trades, _ = rt.store.query("otc#trades#SKT/ETH")
    assert len(trades) == 1
    assert counters.totals(rt.store, "SKT/ETH")["completed"] == 1
    assert rt.store.get(f"trade#{trades[0]['id']}", "trade") is not None
