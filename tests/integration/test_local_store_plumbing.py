"""The local store's plumbing shortcuts (`local.moto_plumbing`) answer byte for byte like moto.

The same reads and failed writes run on stock moto and with the shortcuts installed, on items
holding every kind of DynamoDB value (binary ones included, which keep moto's own serializer);
the raw response bodies must be identical.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import responses as moto_responses

from chalicelib.core.table import WORK_INDEX, ensure_table
from local import moto_plumbing, moto_transactions

TABLE = "plumbing"

ITEMS: list[dict[str, Any]] = [
    {"pk": {"S": "plain"}, "sk": {"S": "x"}, "text": {"S": "héllo ✓"}, "empty": {"S": ""},
     "n": {"N": "-12.500"}, "big": {"N": "123456789012345678901234567890"},
     "yes": {"BOOL": True}, "no": {"BOOL": False}, "nothing": {"NULL": True},
     "wpk": {"S": "due"}, "wsk": {"S": "1"}},
    {"pk": {"S": "nested"}, "sk": {"S": "x"},
     "m": {"M": {"a": {"L": [{"S": "x"}, {"N": "1"}, {"M": {}}, {"L": []}]},
                 "b": {"M": {"deep": {"BOOL": False}}}}},
     "tags": {"SS": ["b", "a"]}, "nums": {"NS": ["3", "1.5"]}, "list": {"L": []},
     "wpk": {"S": "due"}, "wsk": {"S": "2"}},
    {"pk": {"S": "binary"}, "sk": {"S": "x"}, "raw": {"B": b"\x00\xffbytes"},
     "raws": {"BS": [b"a", b"b"]}, "mixed": {"L": [{"S": "t"}, {"B": b"\x01"}]},
     "wpk": {"S": "due"}, "wsk": {"S": "3"}},
]


def answers() -> list[Any]:
    """Every read kind and a cancelled transaction with ALL_OLD, as raw response bodies."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        ensure_table(client, TABLE)
        bodies: list[Any] = []  # from here on: the table's description holds its creation time
        client.meta.events.register("response-received.dynamodb", _collect(bodies))
        for item in ITEMS:
            client.put_item(TableName=TABLE, Item=item, ReturnValues="NONE")
        keys = [{"pk": item["pk"], "sk": item["sk"]} for item in ITEMS]
        for k in keys:
            client.get_item(TableName=TABLE, Key=k, ConsistentRead=True)
            client.get_item(TableName=TABLE, Key=k, ProjectionExpression="pk, m.a[0], tags")
        client.query(TableName=TABLE, KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues={":p": {"S": "nested"}})
        client.query(TableName=TABLE, IndexName=WORK_INDEX, KeyConditionExpression="wpk = :d",
                     ExpressionAttributeValues={":d": {"S": "due"}}, Limit=2)
        client.batch_get_item(RequestItems={TABLE: {"Keys": keys}})
        client.update_item(TableName=TABLE, Key=keys[0], UpdateExpression="SET n = n + :one",
                           ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="ALL_NEW")
        client.put_item(TableName=TABLE, Item=ITEMS[1], ReturnValues="ALL_OLD")
        for k in keys:
            try:
                client.transact_write_items(TransactItems=[{"ConditionCheck": {
                    "TableName": TABLE, "Key": k, "ConditionExpression": "attribute_not_exists(pk)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}])
            except ClientError:
                pass
        return bodies


def _collect(bodies: list[Any]) -> Any:
    def hook(response_dict: Any, **_: Any) -> None:
        bodies.append(response_dict["body"])

    return hook


@pytest.fixture
def adapter() -> Any:
    was = moto_transactions.installed()
    moto_transactions.install()
    yield
    if not was:
        moto_transactions.uninstall()


def test_answers_are_identical_to_stock_moto(adapter: Any) -> None:
    with moto_transactions.stock_moto():
        assert moto_responses.method_names_from_class is moto_plumbing.STOCK_METHOD_NAMES
        stock = answers()
    assert moto_responses.method_names_from_class is moto_plumbing.method_names_from_class
    used: list[Any] = []
    real = moto_plumbing.plain_value

    def counted(value: Any) -> Any:
        used.append(value)
        return real(value)

    moto_plumbing.plain_value = counted  # type: ignore[assignment]
    try:
        fast = answers()
    finally:
        moto_plumbing.plain_value = real  # type: ignore[assignment]
    assert any("M" in value for value in used)  # the short way was taken
    assert len(stock) == len(fast) == 17
    assert fast == stock


def test_only_plain_values_take_the_short_way() -> None:
    assert moto_plumbing.plain_value({"M": {"a": {"L": [{"N": "1"}]}}}) == {
        "M": {"a": {"L": [{"N": "1"}]}}
    }
    for odd in ({"B": "AAE="}, {"L": [{"BS": ["AA=="]}]}, {"S": None}, {"S": "a", "N": "1"},
                {"N": 5}, {"SS": ["a", 1]}):
        assert moto_plumbing.plain_value(odd) is moto_plumbing._MISSING
