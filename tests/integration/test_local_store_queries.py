"""The local store's Query adapter answers exactly like stock moto, at a cost that stays flat.

One scenario of writes (puts, overwrites, updates that set and remove the work-index key,
deletes, batch writes, cancelled and committed transactions), with queries in between so the
adapter's index maps are built early and must follow every later write. It runs on stock moto
and with `local.moto_transactions.install()` (which installs `local.moto_queries`); every
query's answer must be identical.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from chalicelib.core.table import WORK_INDEX, ensure_table
from local import moto_transactions
from tests.conftest import moto_client_of

TABLE = "q-cases"


def s(value: str) -> dict[str, str]:
    return {"S": value}


def item(pk: str, sk: str, **attrs: Any) -> dict[str, Any]:
    return {"pk": s(pk), "sk": s(sk), **attrs}


def queries(client: Any) -> list[Any]:
    """Every kind of Query the project makes, and a few more, with their pages."""
    asked: list[dict[str, Any]] = [
        {"IndexName": WORK_INDEX, "KeyConditionExpression": "wpk = :w",
         "ExpressionAttributeValues": {":w": s("due")}},
        {"IndexName": WORK_INDEX, "KeyConditionExpression": "wpk = :w AND wsk <= :t",
         "ExpressionAttributeValues": {":w": s("due"), ":t": s("5")}, "Limit": 2},
        {"IndexName": WORK_INDEX, "KeyConditionExpression": "wpk = :w AND begins_with(wsk, :p)",
         "ExpressionAttributeValues": {":w": s("later"), ":p": s("1")},
         "ScanIndexForward": False},
        {"IndexName": WORK_INDEX, "KeyConditionExpression": "wpk = :w",
         "FilterExpression": "n > :z", "ExpressionAttributeValues": {":w": s("due"),
                                                                     ":z": {"N": "2"}}},
        {"IndexName": WORK_INDEX, "KeyConditionExpression": "wpk = :w",
         "ExpressionAttributeValues": {":w": s("nobody")}},
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": s("a")}},
        {"KeyConditionExpression": "pk = :p AND begins_with(sk, :x)",
         "ExpressionAttributeValues": {":p": s("a"), ":x": s("s1")}, "Limit": 1,
         "ScanIndexForward": False},
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": s("ghost")}},
        {"KeyConditionExpression": "pk = :p", "ProjectionExpression": "sk, n",
         "ExpressionAttributeValues": {":p": s("b")}},
    ]
    answers = []
    for request in asked:
        pages, start = [], None
        while True:
            extra = {"ExclusiveStartKey": start} if start else {}
            page = client.query(TableName=TABLE, **request, **extra)
            pages.append({k: page.get(k) for k in ("Items", "Count", "LastEvaluatedKey")})
            start = page.get("LastEvaluatedKey")
            if not start or len(pages) > 20:
                break
        answers.append(pages)
    return answers


def scenario(client: Any) -> list[Any]:
    ensure_table(client, TABLE)
    seen = []
    for i in range(8):
        client.put_item(TableName=TABLE, Item=item(
            "a" if i % 2 else "b", f"s{i}", n={"N": str(i)}, wpk=s("due" if i < 5 else "later"),
            wsk=s(str(i))))
    seen.append(queries(client))  # the adapter builds its maps here; later writes must follow
    client.update_item(TableName=TABLE, Key=item("a", "s1"), UpdateExpression="REMOVE wpk, wsk")
    client.update_item(TableName=TABLE, Key=item("b", "s6"),
                       UpdateExpression="SET wpk = :d, wsk = :k",
                       ExpressionAttributeValues={":d": s("due"), ":k": s("0")})
    client.update_item(TableName=TABLE, Key=item("c", "new"),
                       UpdateExpression="SET wpk = :d, wsk = :k, n = :n",
                       ExpressionAttributeValues={":d": s("due"), ":k": s("9"), ":n": {"N": "7"}})
    client.put_item(TableName=TABLE, Item=item("b", "s2", n={"N": "20"}, wpk=s("later"),
                                                wsk=s("12")))
    client.delete_item(TableName=TABLE, Key=item("a", "s3"))
    client.batch_write_item(RequestItems={TABLE: [
        {"PutRequest": {"Item": item("d", "x", wpk=s("due"), wsk=s("4"), n={"N": "4"})}},
        {"DeleteRequest": {"Key": item("b", "s4")}},
    ]})
    seen.append(queries(client))
    with pytest.raises(ClientError):
        client.transact_write_items(TransactItems=[
            {"Update": {"TableName": TABLE, "Key": item("a", "s5"),
                        "UpdateExpression": "SET wpk = :d", "ExpressionAttributeValues":
                            {":d": s("due")}}},
            {"Delete": {"TableName": TABLE, "Key": item("b", "s0")}},
            {"Put": {"TableName": TABLE, "Item": item("e", "y", wpk=s("due"), wsk=s("1"))}},
            {"ConditionCheck": {"TableName": TABLE, "Key": item("a", "s7"),
                                "ConditionExpression": "attribute_not_exists(pk)"}},
        ])
    seen.append(queries(client))
    client.transact_write_items(TransactItems=[
        {"Update": {"TableName": TABLE, "Key": item("a", "s5"), "UpdateExpression": "SET wpk = :d",
                    "ExpressionAttributeValues": {":d": s("due")}}},
        {"Delete": {"TableName": TABLE, "Key": item("b", "s0")}},
        {"Put": {"TableName": TABLE, "Item": item("e", "y", wpk=s("due"), wsk=s("1"))}},
    ])
    seen.append(queries(client))
    return seen


def run() -> list[Any]:
    with mock_aws():
        return scenario(moto_client_of("dynamodb"))


def test_queries_answer_as_stock_moto_after_every_kind_of_write() -> None:
    with moto_transactions.stock_moto():
        expected = run()
    moto_transactions.install()
    got = run()
    assert got == expected
    assert any(page["Items"] for rounds in expected for pages in rounds for page in pages)


def test_a_work_index_query_costs_the_same_on_a_large_table() -> None:
    moto_transactions.install()
    with mock_aws():
        client = moto_client_of("dynamodb")
        ensure_table(client, TABLE)

        def fill(start: int, stop: int) -> None:
            for first in range(start, stop, 25):
                client.batch_write_item(RequestItems={TABLE: [
                    {"PutRequest": {"Item": item(f"f{i}", "x")}}
                    for i in range(first, min(first + 25, stop))
                ]})

        def cost() -> float:
            started = time.perf_counter()
            client.query(TableName=TABLE, IndexName=WORK_INDEX, KeyConditionExpression="wpk = :w",
                         ExpressionAttributeValues={":w": s("due")})
            client.query(TableName=TABLE, KeyConditionExpression="pk = :p",
                         ExpressionAttributeValues={":p": s("f1")})
            return time.perf_counter() - started

        fill(0, 100)
        small = min(cost() for _ in range(5))
        fill(100, 5000)
        large = min(cost() for _ in range(5))
    # Stock moto takes ~50x longer at 5,000 items than at 100; a generous bound for a busy CI.
    assert large < max(small * 3, 0.05), (small, large)
