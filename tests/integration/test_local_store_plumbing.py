"""The local store's plumbing shortcuts (`local.moto_plumbing`) answer byte for byte like moto.

The same reads and failed writes run on stock moto and with the shortcuts installed, on items
holding every kind of DynamoDB value (binary ones included, which keep moto's own serializer);
the raw response bodies must be identical.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import parse as moto_parse
from moto.core import responses as moto_responses
from moto.core.utils import get_service_model

from chalicelib.core.table import WORK_INDEX, ensure_table
from local import moto_plumbing, moto_transactions
from tests.conftest import moto_client_of

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
        client = moto_client_of("dynamodb")
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


def parsed(parser: Any, operation: str, body: dict[str, Any]) -> Any:
    model = get_service_model("dynamodb").operation_model(operation)
    request = {"method": "POST", "values": {}, "headers": {}, "url_path": "/", "url_params": {},
               "body": json.dumps(body).encode()}
    return parser(model, map_type=dict).parse(request)


def test_requests_are_parsed_as_stock_moto_parses_them() -> None:
    """Every kind of value (binary ones as base64, as on the wire), and odd shapes moto drops
    or keeps: the parsed parameters must be identical."""
    wire = [{k: {"B": "AP9ieXRlcw=="} if "B" in v else v for k, v in item.items()}
            for item in ITEMS[:2]]
    odd = {**wire[0], "two": {"S": "a", "N": "1"}, "none": {"S": None}, "extra": {"Q": "?"},
           "bin": {"B": "AAE="}, "bins": {"BS": ["AA==", "AQ=="]}, "int": {"N": 5},
           "deep": {"M": {"b": {"B": "AAE="}, "ok": {"S": "fine"}}}}
    bodies = [("PutItem", {"TableName": TABLE, "Item": item}) for item in [*wire, odd]] + [
        ("TransactWriteItems", {"TransactItems": [
            {"Put": {"TableName": TABLE, "Item": wire[1], "ConditionExpression": "#a = :v",
                     "ExpressionAttributeNames": {"#a": "n"},
                     "ExpressionAttributeValues": {":v": {"N": "1"}}}},
            {"Update": {"TableName": TABLE, "Key": {"pk": {"S": "a"}, "sk": {"S": "b"}},
                        "UpdateExpression": "SET #a = :v", "ExpressionAttributeNames": {"#a": "m"},
                        "ExpressionAttributeValues": {":v": odd["deep"]}}}]}),
        ("Query", {"TableName": TABLE, "KeyConditionExpression": "pk = :p", "Limit": "2",
                   "ExpressionAttributeValues": {":p": {"S": "x"}}}),
    ]
    assert moto_plumbing.STOCK_JSON_PARSER is not moto_plumbing.DynamoDBParser
    for operation, body in bodies:
        stock = parsed(moto_plumbing.STOCK_JSON_PARSER, operation, body)
        assert parsed(moto_plumbing.DynamoDBParser, operation, body) == stock, operation
    assert parsed(moto_plumbing.STOCK_JSON_PARSER, "PutItem", bodies[2][1])["Item"]["bin"] == {
        "B": b"\x00\x01"}  # moto decodes base64: a binary value must keep moto's parser


def test_the_parser_is_installed_with_the_adapter(adapter: Any) -> None:
    assert moto_parse.PROTOCOL_PARSERS["json"] is moto_plumbing.DynamoDBParser
    with moto_transactions.stock_moto():
        assert moto_parse.PROTOCOL_PARSERS["json"] is moto_plumbing.STOCK_JSON_PARSER
