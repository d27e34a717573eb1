"""The escrow ledger stays exact: whatever runs, races or crashes, it equals the open deposits.

A seeded random sequence of creates, matches (won and refused), confirms, cancels, expiries and
refunds runs with a crash injected at a random step boundary around each step; the scheduled
jobs run (and die) in between. Once every payout has concluded, the ledger must equal the sum of
the deposits of the orders still open, and the escrow wallet's token balance must have grown by
exactly that: the chain agrees with the ledger.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import chalicelib.otc.signatures  # noqa: F401 - the signed actions the traders use
from chalicelib.core import failpoints
from chalicelib.core.clock import FixedClock
from chalicelib.core.errors import ServiceError
from chalicelib.core.failpoints import InjectedCrash
from chalicelib.core.outbox.model import BROADCAST, FINALIZE_QUEUE, REQUESTED, SIGNED, queue
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import DynamoStore
from chalicelib.otc import cancel as cancel_mod
from chalicelib.otc import ledger, matching, orders, reserves, settlement
from chalicelib.otc.model import MATCHED, OPEN, TERMINAL, order_id_for
from local import bootstrap
from tests.integration import test_otc_flows as flows
from tests.integration.conftest import HOT_NATIVE, HOT_TOKENS, engine_settings
from tests.integration.payouts import balance, mine
from tests.integration.test_otc_flows import KEYS, UNIT, order_of, send, signed

engine_clock = flows.engine_clock
traders = flows.traders

IP = "198.51.100.9"
TRADERS = list(KEYS)
# Every step boundary a crash can hit in these flows: the requests, the drivers, the engine.
POINTS = [
    "otc.after_create_commit",
    "otc.match.after_verify",
    "otc.after_match_commit",
    "otc.after_refused_refund_commit",
    "otc.after_confirm_commit",
    "otc.after_cancel_commit",
    "otc.expiry.after_commit",
    "otc.advance.after_read",
    "otc.advance.before_debit",
    "otc.reconciler.after_order",
    "after_store_before_broadcast",
    "after_broadcast_before_record",
    "during_finalize",
]


@pytest.fixture
def escrow_rt(
    w3: Any, chain_url: str, chain_snapshot: None, served_store: DynamoStore, token_address: str,
    hot_key: str, engine_clock: FixedClock, traders: list[str],
) -> Iterator[Runtime]:
    """The service with one funded wallet, and no OTC rate limits (one trader acts often)."""
    from eth_account import Account

    wallet = Account.from_key(hot_key).address
    bootstrap.fund_native(w3, wallet, HOT_NATIVE)
    bootstrap.mint(w3, token_address, wallet, HOT_TOKENS)
    settings = engine_settings(chain_url, hot_key, token_address, served_store.table,
                               OTC_WALLET_RATE_MAX="0", OTC_IP_RATE_MAX="0")
    yield Runtime(settings, clock=engine_clock, dynamodb_client=served_store.client)


class Market:
    """The traders' side: real deposits on chain, signed requests straight to the flow."""

    def __init__(self, rt: Runtime, w3: Any, token: str, rng: random.Random) -> None:
        self.rt, self.w3, self.token, self.rng = rt, w3, token, rng
        self.orders: list[str] = []
        self.crashes = 0
        self.refused = 0  # matches of an order no longer open, with a proven deposit

    def survive(self, step: Callable[[], Any]) -> None:
        try:
            step()
        except InjectedCrash:
            self.crashes += 1
        except ServiceError:
            pass  # a refusal (taken, closed, expired...): the client's problem, not ours

    def pick(self, *statuses: str) -> dict[str, Any] | None:
        found = [order_of(self.rt, oid) for oid in self.orders]
        found = [o for o in found if o["status"] in statuses or not statuses]
        return self.rng.choice(found) if found else None

    def tick(self) -> None:
        self.rt.clock.advance(1_000)  # type: ignore[attr-defined]

    def create(self) -> None:
        maker = self.rng.choice(TRADERS)
        external = self.rng.random() < 0.3
        amount = self.rng.randint(1, 20)
        extra = self.rng.choice([0, 0, self.rng.randint(1, 3)])  # change goes back to the maker
        dep = send(self.w3, self.rt, maker, self.token, (amount + extra) * UNIT)
        self.orders.append(order_id_for(self.rt.settings.chain_id, dep.tx))
        body = {"maker": maker, "pair": "SKT/BTC" if external else "SKT/ETH", "side": "sell",
                "amount": str(amount), "price": "0.00001" if external else "0.01",
                "ttl_seconds": self.rng.choice([3600, 7200]), "deposit_tx": dep.tx}
        self.tick()
        self.survive(lambda: orders.create_order(self.rt, signed(self.rt, "create_order", body),
                                                 IP))

    def match(self) -> None:
        # Sometimes an order that is no longer open: a proven deposit is then refunded.
        order = self.pick(OPEN) if self.rng.random() < 0.7 else self.pick()
        if order is None:
            return
        taker = self.rng.choice([t for t in TRADERS if t != order["maker"]])
        fields: dict[str, Any] = {"taker": taker}
        if order["pair"] == "SKT/ETH":
            extra = self.rng.choice([0, UNIT // 100])
            fields["deposit_tx"] = send(self.w3, self.rt, taker, "native",
                                        int(order["quote_total"]) + extra).tx
            self.refused += order["status"] != OPEN
        elif order["status"] != OPEN:
            return  # external pairs take no deposit: nothing to refund
        self.tick()
        body = signed(self.rt, "match_order", fields, order["id"])
        self.survive(lambda: matching.match_order(self.rt, order["id"], body, IP))

    def confirm(self) -> None:
        order = self.pick(MATCHED)
        if order is None:
            return
        self.tick()
        body = signed(self.rt, "confirm_order",
                      {"seller": order["seller"], "quote_reference": "btc:tx"}, order["id"])
        self.survive(lambda: settlement.confirm_order(self.rt, order["id"], body))

    def cancel(self) -> None:
        order = self.pick(OPEN)
        if order is None:
            return
        self.tick()
        body = signed(self.rt, "cancel_order", {"maker": order["maker"]}, order["id"])
        self.survive(lambda: cancel_mod.cancel_order(self.rt, order["id"], body, IP))

    def expire(self) -> None:
        """Time passes on both clocks: orders past their ttl are expired by the next tick."""
        seconds = self.rng.choice([1800, 7300])
        self.rt.clock.advance(seconds * 1000)  # type: ignore[attr-defined]
        self.w3.provider.make_request("evm_increaseTime", [seconds])
        mine(self.w3, 1)

    def jobs(self) -> None:
        self.survive(lambda: flows.tick(self.rt))
        mine(self.w3, self.rng.randint(0, 2))


def settle_everything(rt: Runtime, w3: Any) -> None:
    """Run the jobs (no crashes now) until no payout is moving and every flow has been told."""
    for _ in range(20):
        flows.tick(rt)
        mine(w3, 2)
        busy = any(
            next(rt.store.iter_work(q), None) is not None
            for q in (queue(REQUESTED), queue(SIGNED), queue(BROADCAST), FINALIZE_QUEUE)
        )
        if not busy:
            flows.tick(rt)
            return
    raise AssertionError("payouts still moving after 20 ticks")


def open_deposits(rt: Runtime, order_ids: list[str]) -> dict[str, int]:
    """What escrow must still hold: the deposits of the orders that are still open or matched."""
    owed: dict[str, int] = defaultdict(int)
    for oid in order_ids:
        order = rt.store.get(pk=f"order#{oid}", sk="order")
        if order is None:
            continue  # its create died before committing: that deposit funded nothing
        assert order["status"] in (OPEN, MATCHED, *TERMINAL), order["status"]
        if order["status"] in (OPEN, MATCHED):
            for party in ("maker", "taker"):
                dep = order.get(f"{party}_deposit")
                if dep:
                    owed[dep["asset"]] += int(dep["amount"])
    return owed


# A seed whose sequence completes, cancels and expires orders and refuses a taken one (asserted
# below), so a change of the random draws cannot silently skip a path.
@pytest.mark.parametrize("seed", [3])
def test_the_ledger_equals_the_open_deposits_after_random_steps_and_crashes(
    escrow_rt: Runtime, w3: Any, token_address: str, seed: int
) -> None:
    rt, rng = escrow_rt, random.Random(seed)
    market = Market(rt, w3, token_address, rng)
    escrow = rt.wallets.address("escrow")
    assert escrow is not None
    tokens_before = balance(w3, token_address, escrow)
    # A few orders first, then every kind of step in a random order.
    steps = [market.create] * 4
    rest = [market.create] * 7 + [market.match] * 9 + [market.confirm] * 3 + [
        market.cancel] * 3 + [market.expire] * 2 + [market.jobs] * 8
    rng.shuffle(rest)
    for step in steps + rest:
        point = rng.choice(POINTS) if rng.random() < 0.6 else None
        if point is None:
            step()
        else:
            with failpoints.armed(point):
                step()
                market.jobs()  # a crash armed for the drivers or the engine happens here
    settle_everything(rt, w3)

    owed = open_deposits(rt, market.orders)
    ends = {str(order_of(rt, o)["status"]) for o in market.orders
            if rt.store.get(pk=f"order#{o}", sk="order")}
    # The sequence went through every kind of step that moves escrow money.
    assert {"completed", "cancelled", "expired"} <= ends and market.refused > 0
    assert market.crashes > 0
    assert ledger.owed(rt, token_address) == owed[token_address]
    assert ledger.owed(rt, "native") == owed["native"]
    # The chain agrees: escrow holds its own funding plus exactly the open deposits.
    assert balance(w3, token_address, escrow) - tokens_before == owed[token_address]
    shown = reserves.reserves(rt)
    by_asset = {a["asset"]: a for a in shown["assets"]}
    assert by_asset[token_address]["liabilities"]["base_units"] == str(owed[token_address])
    assert by_asset[token_address]["pending_outgoing"]["base_units"] == "0"
    assert shown["solvent"] is True
