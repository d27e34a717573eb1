"""Local store figures: does a transaction, a claim, a code batch cost the same on a full table?

In-process moto with the transaction adapter of `local.moto_transactions` (what the tests and
the local store server use), next to stock moto for reference:

- one 25-item TransactWriteItems at 100 and at 20,000 items in the table (target <= 1.5x);
- one Query on the work index at 100 and at 20,000 items (same target);
- 500-code batches through `chalice.test.Client`, until the event holds 20,000 codes
  (target <= 0.5 s a batch);
- claims through `chalice.test.Client` on that table of 20,000 codes, three rounds of 200
  (target >= 200 claims/s, and each claim under 100 ms).

Wall-clock figures on a shared machine move with its load, so each is printed with the CPU time
this process spent, and a claim's and a batch's CPU time is split by layer: Settlekit and chalice,
botocore (the client our code uses in AWS too), moto's request plumbing (the in-process stand-in
for HTTP: request parsing, dispatch, response serialization), moto's DynamoDB operations (each
request's checks and expressions) and its backend (items, conditions, indexes). The first two
are the floor any store leaves. For claims that floor is measured: right after each round, the
same claims again, each request answered at once with moto's recorded answer to it (botocore
still validates, serializes, signs and parses; moto does nothing), so what a claim costs beyond
it is moto's, in the same state of the machine.
"""

from __future__ import annotations

import functools
import os
import secrets
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script or a module

import boto3  # noqa: E402
import botocore.client  # noqa: E402
from botocore.awsrequest import AWSResponse  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.core import models as moto_models  # noqa: E402
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse  # noqa: E402
from moto.dynamodb.models import DynamoDBBackend  # noqa: E402
from moto.dynamodb.responses import DynamoHandler  # noqa: E402

import app  # noqa: E402
from bench.bench_faucet import new_event, post, runtime  # noqa: E402
from bench.counting import hooked  # noqa: E402
from chalicelib.core.runtime import set_runtime  # noqa: E402
from chalicelib.core.table import WORK_INDEX, ensure_table  # noqa: E402
from local import moto_transactions  # noqa: E402

BIG = 20_000
SMALL = 100
TX_ITEMS = 25
BATCH = 500
CLAIMS = 200
ROUNDS = 3
TARGET_CLAIMS_S = 200


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


def cpu_time(what: Any) -> Any:
    """The same measurement, in CPU seconds of this process instead of wall-clock seconds."""

    def measured(client: Any, table: str, tag: str) -> float:
        started = time.process_time()
        what(client, table, tag)
        return time.process_time() - started

    return measured


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


OPERATIONS = ("get_item", "query", "transact_write_items", "put_item", "update_item",
              "delete_item", "batch_write_item")
LAYERS = (
    (botocore.client.BaseClient, ("_make_api_call",), "botocore client"),
    (BotocoreStubber, ("__call__",), "moto request plumbing"),
    (DynamoHandler, OPERATIONS, "moto DynamoDB operations"),
    (DynamoDBBackend, OPERATIONS, "moto DynamoDB backend"),
)


class Layers:
    """CPU seconds spent in each layer (its own time: the layers below it taken out)."""

    def __init__(self) -> None:
        self.inside: dict[str, float] = {}
        self.depth: dict[str, int] = {}
        self.saved: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> Layers:
        for owner, names, label in LAYERS:
            for name in names:
                stock = getattr(owner, name)
                self.saved.append((owner, name, stock))
                setattr(owner, name, self._timed(stock, label))
        return self

    def __exit__(self, *_: Any) -> None:
        for owner, name, stock in reversed(self.saved):
            setattr(owner, name, stock)

    def _timed(self, stock: Any, label: str) -> Any:
        @functools.wraps(stock)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self.depth.get(label):  # a backend method calling another: counted once
                return stock(*args, **kwargs)
            self.depth[label] = 1
            started = time.process_time()
            try:
                return stock(*args, **kwargs)
            finally:
                self.depth[label] = 0
                self.inside[label] = self.inside.get(label, 0.0) + time.process_time() - started

        return timed

    def split(self, total: float) -> dict[str, float]:
        """Each layer's own CPU time, outermost first (Settlekit + chalice get the rest)."""
        labels = ["Settlekit + chalice"] + [label for _, _, label in LAYERS]
        inclusive = [total] + [self.inside.get(label, 0.0) for label in labels[1:]]
        return {label: inclusive[i] - (inclusive[i + 1] if i + 1 < len(inclusive) else 0.0)
                for i, label in enumerate(labels)}


def show_split(what: str, own: dict[str, float], cpu: float, count: int) -> None:
    parts = ", ".join(f"{label} {seconds / count * 1000:.1f} ms" for label, seconds in own.items())
    print(f"  CPU per {what}: {cpu / count * 1000:.1f} ms = {parts}")


def claims(http: Any, codes: list[str]) -> list[float]:
    """Claim each code for a new wallet; the time of each claim."""
    spent: list[float] = []
    for code in codes:
        wallet = "0x" + secrets.token_hex(20)
        started = time.perf_counter()
        post(http, "/v1/claims", {"code": code, "wallet": wallet})
        spent.append(time.perf_counter() - started)
    return spent


Answer = tuple[int, dict[str, str], bytes]


@contextmanager
def recording(client: Any) -> Iterator[list[Answer]]:
    """Every answer the store gives the client inside the block, in order."""
    answers: list[Answer] = []

    def keep(http_response: Any, **_: Any) -> None:
        answers.append((http_response.status_code, dict(http_response.headers),
                        http_response.content))

    with hooked(client, "after-call.dynamodb", keep):
        yield answers


def replayed(client: Any, http: Any, codes: list[str], answers: list[Answer]) -> float:
    """The same claims again, each request answered with its recorded answer instead of by moto:
    CPU seconds of the claims. (botocore calls every `before-send` handler, so moto's is turned
    off meanwhile rather than merely preceded.)"""
    queue = iter(answers)

    def answer(request: Any, **_: Any) -> AWSResponse:
        status, headers, body = next(queue)
        return AWSResponse(request.url, status, headers, MockRawResponse(body))

    moto_models.botocore_stubber.enabled = False
    try:
        with hooked(client, "before-send.dynamodb", answer):
            started = time.process_time()
            claims(http, codes)
            spent = time.process_time() - started
    finally:
        moto_models.botocore_stubber.enabled = True
    assert next(queue, None) is None, "the replayed claims made other requests than recorded"
    return spent


@dataclass
class Round:
    spent: list[float]  # wall seconds of each claim
    cpu: float  # CPU seconds of the claims
    own: dict[str, float]  # their CPU seconds by layer (Layers.split)
    floor: float  # CPU seconds of the same claims with the store's answers replayed

    @property
    def executing(self) -> float:
        return self.own["moto DynamoDB operations"] + self.own["moto DynamoDB backend"]


def claim_round(client: Any, http: Any, codes: list[str]) -> Round:
    """Claims on the store, then the same claims with its answers replayed (right after, so both
    run in the same state of a shared machine)."""
    with Layers() as layers, recording(client) as answers:
        cpu = time.process_time()
        spent = claims(http, codes)
        cpu = time.process_time() - cpu
    return Round(spent, cpu, layers.split(cpu), replayed(client, http, codes, answers))


def batches_and_claims() -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        rt = runtime(client, "bench-local")
        http = Client(app.app).http
        event_id = new_event(http, rt)
        batch_s: list[float] = []
        batch_cpu: list[float] = []
        codes: list[str] = []
        few = claims(http, post(http, f"/v1/events/{event_id}/codes", {"count": 100})["codes"])
        while len(codes) < BIG:
            last = len(codes) + BATCH >= BIG
            with Layers() if last else _nothing() as layers:
                started, cpu = time.perf_counter(), time.process_time()
                body = post(http, f"/v1/events/{event_id}/codes", {"count": BATCH})
                batch_cpu.append(time.process_time() - cpu)
                batch_s.append(time.perf_counter() - started)
            codes += body["codes"]
        items = client.describe_table(TableName="bench-local")["Table"]["ItemCount"]
        print(f"500-code batches: {len(batch_s)} to reach {len(codes):,} codes "
              f"({items:,} items in the table)")
        print(f"  first {batch_s[0]:.2f} s, median {statistics.median(batch_s):.2f} s, "
              f"last {batch_s[-1]:.2f} s, slowest {max(batch_s):.2f} s   (target <= 0.5 s)")
        print(f"  CPU time of this process: median {statistics.median(batch_cpu):.2f} s, "
              f"last {batch_cpu[-1]:.2f} s")
        own = layers.split(batch_cpu[-1])
        show_split("batch (the last)", own, batch_cpu[-1], 1)
        print(f"  floor with a store that costs nothing: "
              f"{own['Settlekit + chalice'] + own['botocore client']:.2f} s CPU a batch")

        rounds = [claim_round(client, http, codes[len(codes) - (r + 1) * CLAIMS:][:CLAIMS])
                  for r in range(ROUNDS)]
        claim_s = [spent for one in rounds for spent in one.spent]
        ordered = sorted(claim_s)
        rates = ", ".join(f"{CLAIMS / sum(one.spent):.0f}" for one in rounds)
        print(f"claims through chalice.test.Client with {len(codes):,} codes in the table, "
              f"{ROUNDS} rounds of {CLAIMS}: {rates} claims/s   (target >= {TARGET_CLAIMS_S})")
        print(f"  per claim: median {statistics.median(claim_s) * 1000:.1f} ms, "
              f"p99 {ordered[int(len(ordered) * 0.99) - 1] * 1000:.1f} ms, "
              f"slowest {ordered[-1] * 1000:.1f} ms   (target < 100 ms)")
        print(f"  median claim with {len(codes):,} codes / with 100 codes in the table: "
              f"{statistics.median(claim_s) / statistics.median(few):.2f}x "
              f"({statistics.median(few) * 1000:.1f} ms with 100)")
        for r, one in enumerate(rounds, 1):
            show_split(f"claim, round {r}", one.own, one.cpu, CLAIMS)
        print("  floor, no store at all (the same claims again, each request answered with "
              "moto's recorded answer): " + ", ".join(
                  f"{one.floor / CLAIMS * 1000:.1f} ms CPU a claim = "
                  f"{CLAIMS / one.floor:.0f} claims/s" for one in rounds))
        print("  moto's part of a claim (CPU beyond the floor): " + ", ".join(
            f"{(one.cpu - one.floor) / CLAIMS * 1000:.1f} ms" for one in rounds)
            + f"; at {TARGET_CLAIMS_S} claims/s it would have " + ", ".join(
            f"{max(1 / TARGET_CLAIMS_S - one.floor / CLAIMS, 0) * 1000:.1f} ms" for one in rounds))
        print("  of it, executing the requests (moto's operations and backend, after the local "
              "adapters): " + ", ".join(f"{one.executing / CLAIMS * 1000:.1f} ms" for one in rounds)
              + "; so with no request plumbing at all, at most " + ", ".join(
              f"{CLAIMS / (one.floor + one.executing):.0f}" for one in rounds) + " claims/s")
        set_runtime(None)


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    for name, what, repeat in (
        (f"one {TX_ITEMS}-item TransactWriteItems (cancelled, so undone)", one_transaction, 3),
        ("the same, CPU time of this process (steadier on a shared machine)",
         cpu_time(one_transaction), 7),
        ("one Query on the work index", one_query, 9),
        ("the same, CPU time of this process", cpu_time(one_query), 9),
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
