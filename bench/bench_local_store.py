"""Local store figures: does a transaction, a claim, a code batch cost the same on a full table?

In-process moto with the transaction adapter of `local.moto_transactions` (what the tests and
the local store server use), next to stock moto for reference:

- one 25-item TransactWriteItems at 100 and at 20,000 items in the table (target <= 1.5x);
- one Query on the work index at 100 and at 20,000 items (same target);
- 500-code batches through `chalice.test.Client`, until the event holds 20,000 codes
  (target <= 0.5 s a batch);
- claims through `chalice.test.Client` on that table of 20,000 codes (target >= 200 claims/s,
  and each claim under 100 ms).
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script or a module

import boto3  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

import app  # noqa: E402
from bench.bench_faucet import new_event, post, runtime  # noqa: E402
from chalicelib.core.runtime import set_runtime  # noqa: E402
from chalicelib.core.table import WORK_INDEX, ensure_table  # noqa: E402
from local import moto_transactions  # noqa: E402

BIG = 20_000
SMALL = 100
TX_ITEMS = 25
BATCH = 500
CLAIMS = 200


def fill(client: Any, table: str, start: int, stop: int) -> None:
    for first in range(start, stop, 25):
        client.batch_write_item(RequestItems={table: [
            {"PutRequest": {"Item": {"pk": {"S": f"fill#{i}"}, "sk": {"S": "x"}}}}
            for i in range(first, min(first + 25, stop))
        ]})


def one_transaction(client: Any, table: str, tag: str) -> float:
    """A 25-item transaction whose last condition fails, so moto writes and then undoes all."""
    items: list[dict[str, Any]] = [
        {"Put": {"TableName": table, "Item": {"pk": {"S": f"{tag}#{i}"}, "sk": {"S": "x"}}}}
        for i in range(TX_ITEMS - 1)
    ]
    items.append({"ConditionCheck": {
        "TableName": table, "Key": {"pk": {"S": "fill#0"}, "sk": {"S": "x"}},
        "ConditionExpression": "attribute_not_exists(pk)",
    }})
    started = time.perf_counter()
    try:
        client.transact_write_items(TransactItems=items)
    except ClientError:
        pass
    return time.perf_counter() - started


def one_query(client: Any, table: str, tag: str) -> float:
    started = time.perf_counter()
    client.query(TableName=table, IndexName=WORK_INDEX, KeyConditionExpression="wpk = :w",
                 ExpressionAttributeValues={":w": {"S": "due"}})
    return time.perf_counter() - started


def cost(label: str, sizes: list[int], repeat: int, what: Any) -> dict[int, float]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        ensure_table(client, "tx")
        filled, costs = 0, {}
        for size in sizes:
            fill(client, "tx", filled, size)
            filled = size
            costs[size] = min(what(client, "tx", f"t{size}-{r}") for r in range(repeat))
    row = "  ".join(f"{size:>6,} items {cost * 1000:8.1f} ms" for size, cost in costs.items())
    print(f"  {label:8s} {row}")
    return costs


def claims(http: Any, codes: list[str]) -> list[float]:
    """Claim each code for a new wallet; the time of each claim."""
    spent: list[float] = []
    for code in codes:
        wallet = "0x" + secrets.token_hex(20)
        started = time.perf_counter()
        post(http, "/v1/claims", {"code": code, "wallet": wallet})
        spent.append(time.perf_counter() - started)
    return spent


def batches_and_claims() -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        rt = runtime(client, "bench-local")
        http = Client(app.app).http
        event_id = new_event(http, rt)
        batch_s: list[float] = []
        codes: list[str] = []
        few = claims(http, post(http, f"/v1/events/{event_id}/codes", {"count": 100})["codes"])
        while len(codes) < BIG:
            started = time.perf_counter()
            body = post(http, f"/v1/events/{event_id}/codes", {"count": BATCH})
            batch_s.append(time.perf_counter() - started)
            codes += body["codes"]
        items = client.describe_table(TableName="bench-local")["Table"]["ItemCount"]
        print(f"500-code batches: {len(batch_s)} to reach {len(codes):,} codes "
              f"({items:,} items in the table)")
        print(f"  first {batch_s[0]:.2f} s, median {statistics.median(batch_s):.2f} s, "
              f"last {batch_s[-1]:.2f} s, slowest {max(batch_s):.2f} s   (target <= 0.5 s)")

        claim_s = claims(http, codes[-CLAIMS:])
        total = sum(claim_s)
        ordered = sorted(claim_s)
        print(f"claims through chalice.test.Client with {len(codes):,} codes in the table: "
              f"{CLAIMS / total:.0f} claims/s   (target >= 200)")
        print(f"  per claim: median {statistics.median(claim_s) * 1000:.1f} ms, "
              f"p99 {ordered[int(len(ordered) * 0.99) - 1] * 1000:.1f} ms, "
              f"slowest {ordered[-1] * 1000:.1f} ms   (target < 100 ms)")
        print(f"  median claim with {len(codes):,} codes / with 100 codes in the table: "
              f"{statistics.median(claim_s) / statistics.median(few):.2f}x "
              f"({statistics.median(few) * 1000:.1f} ms with 100)")
        set_runtime(None)


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    for name, what, repeat in (
        (f"one {TX_ITEMS}-item TransactWriteItems (cancelled, so undone)", one_transaction, 3),
        ("one Query on the work index", one_query, 9),
    ):
        print(f"{name}, best of {repeat}")
        with moto_transactions.stock_moto():
            stock = cost("stock", [SMALL, 1_000], repeat, what)
        moto_transactions.install()
        adapter = cost("adapter", [SMALL, 1_000, BIG], repeat, what)
        print(f"  adapter at {BIG:,} / at {SMALL}: {adapter[BIG] / adapter[SMALL]:.2f}x "
              f"(target <= 1.5x); stock moto at 1,000 / at {SMALL}: "
              f"{stock[1_000] / stock[SMALL]:.1f}x")
    batches_and_claims()


if __name__ == "__main__":
    main()
