"""Conditional writes under real concurrency, against the serialized local store server."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from boto3.dynamodb.conditions import Attr

from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.store import (
    ConditionFailed,
    DynamoStore,
    TransactionFailed,
    key,
    put_op,
    update_op,
)
from local.processes import ROOT
from tests.conftest import served_client

THREADS = 32


def race(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` on n threads released together; each result or exception is returned."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait(timeout=30)
        try:
            return work(i)
        except Exception as exc:  # noqa: BLE001 - the caller inspects outcomes
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_concurrent_put_new_of_one_key_has_exactly_one_winner(served_store: DynamoStore) -> None:
    def work(i: int) -> str:
        served_store.put_new({**key("claim#code", "meta"), "winner": f"w{i}"})
        return f"w{i}"

    results = race(THREADS, work)
    winners = [r for r in results if isinstance(r, str)]
    losers = [r for r in results if isinstance(r, ConditionFailed)]
    assert len(winners) == 1, results
    assert len(losers) == THREADS - 1, results
    # Every loser saw the winner's item.
    assert {r.item["winner"] for r in losers} == set(winners)
    assert served_store.get("claim#code", "meta")["winner"] == winners[0]


def test_concurrent_compare_and_set_increments_lose_no_update(served_store: DynamoStore) -> None:
    served_store.put_new({**key("counter", "meta"), "version": 0})

    def work(_: int) -> int:
        wins = 0
        for _attempt in range(5):
            current = served_store.get("counter", "meta")["version"]
            try:
                served_store.update(
                    key("counter", "meta"),
                    set={"version": current + 1},
                    condition=Attr("version").eq(current),
                )
                wins += 1
            except ConditionFailed as exc:
                # What won is reported, and it is ahead of what we read.
                assert exc.item["version"] > current
        return wins

    results = race(THREADS, work)
    assert all(isinstance(r, int) for r in results), results
    successes = sum(results)
    assert successes >= 5  # somebody made progress in every round
    assert served_store.get("counter", "meta")["version"] == successes


def test_concurrent_transactions_taking_the_last_slot_have_exactly_one_winner(
    served_store: DynamoStore,
) -> None:
    served_store.put_new({**key("event#1", "meta"), "slots_left": 1})

    def work(i: int) -> str:
        served_store.transact([
            update_op(key("event#1", "meta"), add={"slots_left": -1},
                      condition=Attr("slots_left").gt(0), name="event"),
            put_op({**key("event#1", f"seat#{i}"), "holder": f"u{i}"}, if_absent=True,
                   name="seat"),
        ])
        return f"u{i}"

    results = race(THREADS, work)
    winners = [r for r in results if isinstance(r, str)]
    assert len(winners) == 1, results
    for r in results:
        if isinstance(r, str):
            continue
        # A loser either saw the slot gone, or (rarely) the store asked it to come back later;
        # it never wrote anything.
        assert isinstance(r, TransactionFailed | DependencyUnavailable), r
        if isinstance(r, TransactionFailed):
            failure = r.failed("event")
            assert failure is not None and failure.reason == "ConditionalCheckFailed"
            assert failure.item["slots_left"] == 0
    assert served_store.get("event#1", "meta")["slots_left"] == 0
    seats, _ = served_store.query("event#1", sk_prefix="seat#", consistent=True)
    assert [s["holder"] for s in seats] == winners


ENSURE = """
import sys
from tests.conftest import served_client
from chalicelib.core.table import ensure_table
created = ensure_table(served_client(sys.argv[1]), sys.argv[2])
print("created" if created else "existed")
"""


def test_ensure_table_from_two_processes_at_once(store_server: str) -> None:
    name = f"t-{uuid.uuid4().hex[:12]}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ENSURE, store_server, name],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    answers = sorted(out.strip() for out, _ in outs)
    # Exactly one process created the table; the other found it and waited for it.
    assert answers == ["created", "existed"], answers

    client = served_client(store_server)
    assert client.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
    ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] in ("ENABLED", "ENABLING")
    pitr = client.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"][
        "PointInTimeRecoveryDescription"
    ]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"


def test_the_store_server_keeps_a_connection_open_across_requests(store_server: str) -> None:
    """One TCP connection carries request after request: no new connection (and no new server
    thread) per request, as with moto's own development server."""
    url = urlsplit(store_server)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    headers = {
        "X-Amz-Target": "DynamoDB_20120810.ListTables",
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/"
                         "aws4_request, SignedHeaders=host, Signature=00",
    }
    sockets = []
    for _ in range(3):
        conn.request("POST", "/", body=json.dumps({}), headers=headers)
        answer = conn.getresponse()
        assert answer.status == 200 and "TableNames" in json.loads(answer.read())
        assert answer.getheader("Connection", "").lower() != "close"
        sockets.append(conn.sock)  # http.client drops its socket when told to close
    conn.close()
    assert sockets[0] is not None and all(s is sockets[0] for s in sockets)
