"""OTC figures: DynamoDB requests per request and per job step, and what reads cost per order.

Runs in-process on moto through the domain functions the routes call. The on-chain deposit
check is replaced by a stub that accepts the deposit (it costs JSON-RPC calls, not DynamoDB
requests, and needs a node); everything else is the real code. Payout outcomes are set by hand
where a step waits for them.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script or a module

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from bench.counting import count_requests, split  # noqa: E402
from chalicelib.core import payments, signing  # noqa: E402
from chalicelib.core.clock import FixedClock  # noqa: E402
from chalicelib.core.outbox.model import payout_key  # noqa: E402
from chalicelib.core.runtime import Runtime  # noqa: E402
from chalicelib.core.settings import load_settings  # noqa: E402
from chalicelib.core.table import ensure_table  # noqa: E402
from chalicelib.otc import book, cancel, matching, orders, settlement  # noqa: E402
from chalicelib.otc.advance import advance  # noqa: E402
from chalicelib.otc.reconciler import run_reconciler  # noqa: E402

START_MS = 1_790_000_000_000
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
HOT_KEY = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"
KEYS = {  # the hardhat node's well-known accounts #1 and #2 (public test keys)
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8":
        "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC":
        "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
}
MAKER, TAKER = list(KEYS)
IP = "192.0.2.1"
BOOK_SIZES = (10, 100)


def stub_verify(chain: Any, expected: payments.Expected, confirmations: int) -> payments.Payment:
    return payments.Payment(expected.tx_hash.lower(), expected.min_amount, 1, "0x0", START_MS, 2)


def signed(rt: Runtime, action: str, fields: dict[str, Any], oid: str | None = None) -> Any:
    act = signing.get_action(action)
    deadline = rt.clock.now_ms() // 1000 + 300
    message = {act.path_field: oid} if act.path_field else {}
    message.update({f.name: fields.get(f.name, None if f.required else f.default)
                    for f in act.fields})
    message["deadline"] = deadline
    key = KEYS[fields[act.signer_field]]
    return {**fields, "deadline": deadline, "signature": signing.sign(rt.settings, act, message,
                                                                      key)}


class Bench:
    def __init__(self, client: Any, table: str) -> None:
        ensure_table(client, table)
        env = {"TABLE_NAME": table, "TOKEN_ADDRESS": TOKEN, "SIGNER_PRIVATE_KEY": HOT_KEY,
               "OTC_WALLET_RATE_MAX": "1000000", "OTC_IP_RATE_MAX": "1000000"}
        self.rt = Runtime(load_settings(env), clock=FixedClock(START_MS), dynamodb_client=client)
        self.client = client
        self.n = 0
        self.rows: list[tuple[str, Counter[str]]] = []

    def count(self, label: str, fn: Any) -> Any:
        with count_requests(self.client) as counts:
            out = fn()
        self.rows.append((label, counts))
        return out

    def tx(self) -> str:
        self.n += 1
        return "0x" + f"{self.n:064x}"

    def create(self, pair: str = "SKT/ETH", price: str = "0.01", side: str = "sell") -> str:
        body = {"maker": MAKER, "pair": pair, "side": side, "amount": "10", "price": price,
                "ttl_seconds": 3600, "deposit_tx": self.tx()}
        self.rt.clock.advance(1)  # type: ignore[attr-defined]
        return str(orders.create_order(self.rt, signed(self.rt, "create_order", body), IP)["id"])

    def confirm_legs(self, oid: str) -> None:
        order = orders.load(self.rt, oid)
        for pid in order["payouts"].values():
            self.rt.store.update(payout_key(pid), set={"status": "confirmed"})


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    payments.verify_payment = stub_verify  # type: ignore[assignment]
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        b = Bench(client, "bench-otc")
        rt = b.rt

        body = {"maker": MAKER, "pair": "SKT/ETH", "side": "sell", "amount": "10",
                "price": "0.01", "ttl_seconds": 3600, "deposit_tx": b.tx()}
        oid = b.count("create order", lambda: orders.create_order(
            rt, signed(rt, "create_order", body), IP)["id"])
        b.count("match (on-chain: both legs requested)", lambda: matching.match_order(
            rt, oid, signed(rt, "match_order", {"taker": TAKER, "deposit_tx": b.tx()}, oid), IP))
        b.count("advance while legs move (no write)", lambda: advance(rt, oid))
        b.confirm_legs(oid)
        b.count("advance -> completed (trade recorded)", lambda: advance(rt, oid))

        ext = b.create("SKT/BTC", "0.00001")
        b.count("match (external: secret drawn)", lambda: matching.match_order(
            rt, ext, signed(rt, "match_order", {"taker": TAKER}, ext), IP))
        b.count("confirm (external)", lambda: settlement.confirm_order(rt, ext, signed(
            rt, "confirm_order", {"seller": MAKER, "quote_reference": "btc:1"}, ext)))

        gone = b.create()
        b.count("cancel", lambda: cancel.cancel_order(
            rt, gone, signed(rt, "cancel_order", {"maker": MAKER}, gone), IP))

        taken = b.create()
        matching.match_order(rt, taken, signed(rt, "match_order",
                                               {"taker": TAKER, "deposit_tx": b.tx()}, taken), IP)
        b.count("match refused (order taken): refund", lambda: _refused(b, taken))

        waiting = [b.create() for _ in range(10)]
        for w in waiting:
            rt.clock.advance(1)  # type: ignore[attr-defined]
            matching.match_order(rt, w, signed(rt, "match_order",
                                               {"taker": TAKER, "deposit_tx": b.tx()}, w), IP)
        b.count("reconciler pass, 10 orders waiting", lambda: run_reconciler(
            rt, rt.clock.now_ms() + 60_000))
        for w in waiting:
            b.confirm_legs(w)
        b.count("reconciler pass, 10 orders completing", lambda: run_reconciler(
            rt, rt.clock.now_ms() + 60_000))

        for size in BOOK_SIZES:
            bb = Bench(client, f"bench-book-{size}")
            for i in range(size):
                bb.create(price=f"0.0{1 + i % 9}")
            bb.count(f"orderbook, {size} open orders", lambda bb=bb: book.orderbook(
                bb.rt, {"pair": "SKT/ETH"}))
            bb.count(f"stats, {size} open orders", lambda bb=bb: book.stats(
                bb.rt, {"pair": "SKT/ETH"}))
            b.rows += bb.rows

    print(f"{'step':44} {'requests':>8} {'item writes':>11} {'reads':>5}  by operation")
    for label, counts in b.rows:
        writes, reads = split(counts)
        ops = {k: v for k, v in sorted(counts.items()) if k != "items_in_transactions"}
        total = sum(ops.values())
        print(f"{label:44} {total:>8} {writes:>11} {reads:>5}  {ops}")


def _refused(b: Bench, oid: str) -> None:
    body = signed(b.rt, "match_order", {"taker": TAKER, "deposit_tx": b.tx()}, oid)
    try:
        matching.match_order(b.rt, oid, body, IP)
    except matching.Conflict:
        return
    raise AssertionError("a taken order was matched twice")


if __name__ == "__main__":
    main()
