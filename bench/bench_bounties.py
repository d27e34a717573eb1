"""Bounties: DynamoDB requests per action, and what a listing page costs (no Scan).

Runs on moto in-process with a fixed clock; the chain check of a payment is stubbed (this counts
store requests only). Listing cost is shown against a table holding many bounties that do not
match, to show it follows the page, not the table.
"""

from __future__ import annotations

import logging
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from bench.counting import count_requests, split  # noqa: E402
from chalicelib.bounties import accept, cancel, create, listing, pay, submit  # noqa: E402
from chalicelib.core.clock import FixedClock, iso  # noqa: E402
from chalicelib.core.payments import Payment  # noqa: E402
from chalicelib.core.runtime import Runtime  # noqa: E402
from chalicelib.core.settings import load_settings  # noqa: E402
from chalicelib.core.table import ensure_table  # noqa: E402
from tests.unit.test_signing import ADDRESSES, KEYS, signed_body  # noqa: E402

DAY = 86_400_000
BACKGROUND = 100  # bounties that a filtered listing must not pay for


class Bench:
    def __init__(self, rt: Runtime, clock: FixedClock) -> None:
        self.rt, self.clock, self.n = rt, clock, 0

    def sign(self, action: str, body: dict[str, Any], who: int, bid: str | None = None
             ) -> dict[str, Any]:
        self.n += 1
        now = self.clock.now_ms()
        return signed_body(self.rt.settings, action, body, KEYS[who], now_ms=now,
                           path_value=bid, deadline=now // 1000 + 600 - self.n % 500)

    def create(self, who: int = 0, days: int = 2, winners: int = 2) -> str:
        body = {"poster": ADDRESSES[who], "title": "t", "description": "d", "reward": "2",
                "asset": "native", "max_winners": winners,
                "expires_at": iso(self.clock.now_ms() + days * DAY), "tags": ["docs"]}
        return str(create.create_bounty(self.rt, self.sign("create_bounty", body, who))["id"])

    def submit(self, bid: str, who: int) -> str:
        body = self.sign("submit_solution", {"submitter": ADDRESSES[who], "message": "m"}, who, bid)
        return str(submit.submit_solution(self.rt, bid, body)["id"])

    def accept(self, bid: str, sid: str) -> None:
        body = self.sign("accept_submission", {"poster": ADDRESSES[0], "submission_id": sid}, 0,
                         bid)
        accept.accept_submission(self.rt, bid, body)

    def pay(self, bid: str, sid: str, tx: str) -> None:
        body = self.sign("record_payment",
                         {"poster": ADDRESSES[0], "submission_id": sid, "tx_hash": tx}, 0, bid)
        pay.record_payment(self.rt, bid, body)

    def cancel(self, bid: str) -> None:
        cancel.cancel_bounty(self.rt, bid, self.sign("cancel_bounty", {"poster": ADDRESSES[0]},
                                                     0, bid))


def show(name: str, counts: Counter[str]) -> None:
    writes, reads = split(counts)
    detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())
                       if k != "items_in_transactions")
    print(f"{name:<44} {reads:>3} reads {writes:>3} item writes  ({detail})")


def main() -> None:
    def stub_payment(chain: Any, expected: Any, confirmations: int) -> Payment:
        return Payment(expected.tx_hash, expected.min_amount, 1, "0x00", 0, confirmations)

    pay.verify_payment = stub_payment  # type: ignore[assignment] - store cost only
    logging.getLogger("settlekit").disabled = True  # the figures, not one log line per write
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        ensure_table(client, "bench")
        clock = FixedClock(1_790_000_000_000)
        rt = Runtime(load_settings({"TABLE_NAME": "bench"}), clock=clock, dynamodb_client=client)
        b = Bench(rt, clock)
        with count_requests(client) as c:
            bid = b.create()
        show("create (2 winners, 1 tag)", c)
        with count_requests(client) as c:
            s1 = b.submit(bid, 1)
        show("submit", c)
        s2 = b.submit(bid, 2)
        with count_requests(client) as c:
            b.accept(bid, s1)
        show("accept (first slot, moves state entry)", c)
        with count_requests(client) as c:
            b.accept(bid, s2)
        show("accept (last slot, moves state entry)", c)
        with count_requests(client) as c:
            b.pay(bid, s1, "0x" + "01" * 32)
        show("record payment (chain check stubbed)", c)
        other = b.create()
        with count_requests(client) as c:
            b.cancel(other)
        show("cancel", c)

        # Many bounties by someone else that have long expired (abandoned), and 20 open ones.
        for _ in range(BACKGROUND):
            b.create(who=3, days=1)
        clock.advance(20 * DAY)
        for _ in range(20):
            b.create(who=0, days=30)
        print(f"-- listing with {BACKGROUND} abandoned bounties by another poster in the table")
        for query in ("status=open&limit=20", "poster=" + ADDRESSES[0] + "&limit=20",
                      "status=abandoned&limit=20", "limit=20"):
            params = dict(p.split("=") for p in query.split("&"))
            with count_requests(client) as c:
                page = listing.list_bounties(rt, params)
            show(f"GET /v1/bounties?{query[:30]} -> {len(page['bounties'])}", c)


if __name__ == "__main__":
    main()
