"""The local store's item writes and expression parsing behave exactly like stock moto.

`local.moto_item_writes` applies the store's own update shape directly and builds items with a
running size; `local.moto_expressions` keeps parsed expressions. Every case below is a sequence
of calls run twice on a fresh in-process moto, once on stock moto and once with the adapters
installed: each call's answer (its returned attributes, or the error code and message) and the
whole table afterwards (base table and work index) must be identical. The cases cover the shape
taken directly and each thing that must go to moto instead.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from local import moto_expressions, moto_item_writes, moto_transactions
from tests.integration.test_local_store_transactions import (
    TABLE,
    key,
    n,
    on_seeded_moto,
    s,
    table_state,
)

Call = tuple[str, dict[str, Any]]


def update(pk: str, expr: str, names: dict[str, str] | None = None,
           values: dict[str, Any] | None = None, **extra: Any) -> Call:
    body: dict[str, Any] = {"TableName": TABLE, "Key": key(pk), "UpdateExpression": expr, **extra}
    if names is not None:
        body["ExpressionAttributeNames"] = names
    if values is not None:
        body["ExpressionAttributeValues"] = values
    return ("update_item", body)


def put(pk: str, **attrs: Any) -> Call:
    return ("put_item", {"TableName": TABLE, "Item": {**key(pk), **attrs}})


def transact(*items: dict[str, Any]) -> Call:
    return ("transact_write_items", {"TransactItems": list(items)})


STORE_SHAPE = "SET #s0 = :s0, #s1 = :s1 REMOVE #r0 ADD #a0 :a0"
STORE_NAMES = {"#s0": "state", "#s1": "note", "#r0": "wsk", "#a0": "tries"}
STORE_VALUES = {":s0": s("done"), ":s1": {"M": {"by": s("x"), "at": n(3)}}, ":a0": n(1)}
IF_OPEN = {"ConditionExpression": "#c0 = :c0"}
OPEN_NAMES = {**STORE_NAMES, "#c0": "state"}
ALL_OLD = {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
BIG = "x" * 350_000

CASES: dict[str, list[Call]] = {
    "the store's shape on an item": [update("a1", STORE_SHAPE, STORE_NAMES, STORE_VALUES)],
    "the store's shape creates a missing item": [
        update("ghost", STORE_SHAPE, STORE_NAMES, STORE_VALUES),
    ],
    "ADD counts up from a missing attribute, then again": [
        update("a1", "ADD #a0 :a0", {"#a0": "tries"}, {":a0": n(2)}),
        update("a1", "ADD #a0 :a0", {"#a0": "tries"}, {":a0": n(-5)}),
        update("a1", "ADD #a0 :a0", {"#a0": "n"}, {":a0": {"N": "0.5"}}),
    ],
    "the same condition text with other values is evaluated each time": [
        update("a1", "SET #s0 = :s0", {"#s0": "state", "#c0": "state"},
               {":s0": s("done"), ":c0": s("open")}, **IF_OPEN),
        update("a1", "SET #s0 = :s0", {"#s0": "state", "#c0": "state"},
               {":s0": s("again"), ":c0": s("open")}, **IF_OPEN, **ALL_OLD),
        update("a2", "SET #s0 = :s0", {"#s0": "state", "#c0": "state"},
               {":s0": s("done"), ":c0": s("closed")}, **IF_OPEN),
        update("a2", "SET #s0 = :s0", {"#s0": "state", "#c0": "state"},
               {":s0": s("done"), ":c0": s("open")}, **IF_OPEN),
    ],
    "a failed condition on a missing item, with ALL_OLD": [
        update("ghost", "SET #s0 = :s0", {"#s0": "state", "#c0": "pk"}, {":s0": s("x")},
               ConditionExpression="attribute_exists(#c0)", **ALL_OLD),
    ],
    "moving an item on the work index and off it": [
        update("a1", "SET #s0 = :s0", {"#s0": "wpk"}, {":s0": s("later")}),
        update("a2", "REMOVE #r0, #r1", {"#r0": "wpk", "#r1": "wsk"}),
        update("new", "SET #s0 = :s0, #s1 = :s1", {"#s0": "wpk", "#s1": "wsk"},
               {":s0": s("due"), ":s1": s("9")}),
    ],
    "ReturnValues of every kind": [
        update("a1", STORE_SHAPE, STORE_NAMES, STORE_VALUES, ReturnValues="ALL_NEW"),
        update("a2", STORE_SHAPE, STORE_NAMES, STORE_VALUES, ReturnValues="ALL_OLD"),
        update("a3", STORE_SHAPE, STORE_NAMES, STORE_VALUES, ReturnValues="UPDATED_NEW"),
        update("a4", STORE_SHAPE, STORE_NAMES, STORE_VALUES, ReturnValues="UPDATED_OLD"),
    ],
    "a key attribute is refused": [update("a1", "SET #s0 = :s0", {"#s0": "pk"}, {":s0": s("z")})],
    "an index key of the wrong type is refused": [
        update("a1", "SET #s0 = :s0", {"#s0": "wpk"}, {":s0": n(1)}),
    ],
    "an empty index key is refused": [
        update("a1", "SET #s0 = :s0", {"#s0": "wpk"}, {":s0": s("")}),
    ],
    "two actions on one attribute are refused": [
        update("a1", "SET #s0 = :s0 REMOVE #r0", {"#s0": "state", "#r0": "state"},
               {":s0": s("z")}),
    ],
    "an undefined name placeholder": [update("a1", "SET #s0 = :s0", {"#x": "state"},
                                             {":s0": s("z")})],
    "an undefined value placeholder": [update("a1", "SET #s0 = :s1", {"#s0": "state"},
                                              {":s0": s("z")})],
    "ADD to a string is refused": [update("text", "ADD #a0 :a0", {"#a0": "n"}, {":a0": n(1)})],
    "ADD of a set": [
        update("a1", "ADD #a0 :a0", {"#a0": "tags"}, {":a0": {"SS": ["b", "a"]}}),
        update("a1", "ADD #a0 :a0", {"#a0": "tags"}, {":a0": {"SS": ["c", "a"]}}),
    ],
    "plain names, functions and paths go to moto": [
        update("a1", "SET n = n + :one", values={":one": n(1)}),
        update("a1", "SET #m = :m", {"#m": "meta"}, {":m": {"M": {"k": s("v")}}}),
        update("a1", "SET #m.#k = :v", {"#m": "meta", "#k": "k"}, {":v": s("w")}),
        update("a1", "SET #l = list_append(if_not_exists(#l, :e), :v)", {"#l": "log"},
               {":e": {"L": []}, ":v": {"L": [s("one")]}}),
        update("a2", "set #s0 = :s0", {"#s0": "state"}, {":s0": s("lower")}),
        update("a3", "REMOVE #r0 SET #s0 = :s0", {"#r0": "n", "#s0": "state"}, {":s0": s("z")}),
    ],
    "whitespace the store does not write": [
        update("a1", "SET #s0=:s0,#s1 =  :s1   REMOVE #r0 ,#r1", {"#s0": "state", "#s1": "x",
               "#r0": "n", "#r1": "wsk"}, {":s0": s("a"), ":s1": s("b")}),
        update("a2", " SET #s0 = :s0", {"#s0": "state"}, {":s0": s("a")}),
        update("a3", "SET #s0 = :s0REMOVE #r0", {"#s0": "state", "#r0": "n"}, {":s0": s("a")}),
    ],
    "an unused value is refused before any write": [
        update("a1", "SET #s0 = :s0", {"#s0": "state"}, {":s0": s("z"), ":extra": s("y")}),
    ],
    "an update near the size limit": [
        update("a1", "SET #s0 = :s0", {"#s0": "big"}, {":s0": s(BIG)}),
        update("a1", "SET #s0 = :s0", {"#s0": "big2"}, {":s0": s(BIG[:60_000])}),
        update("a1", "SET #s0 = :s0", {"#s0": "big3"}, {":s0": s(BIG[:10_000])}),
    ],
    "items of many attributes, and one too large": [
        put("wide", **{f"attr{i}": s(f"value {i}") for i in range(60)}),
        put("huge", a=s(BIG), b=s(BIG[:60_000])),
        put("almost", a=s(BIG), b=s(BIG[:50_000])),
    ],
    "the store's shape inside transactions, twice, then a failed condition": [
        transact({"Update": {"TableName": TABLE, "Key": key("a1"), "UpdateExpression": STORE_SHAPE,
                             "ExpressionAttributeNames": OPEN_NAMES,
                             "ExpressionAttributeValues": {**STORE_VALUES, ":c0": s("open")},
                             **IF_OPEN}}),
        transact({"Update": {"TableName": TABLE, "Key": key("a2"), "UpdateExpression": STORE_SHAPE,
                             "ExpressionAttributeNames": OPEN_NAMES,
                             "ExpressionAttributeValues": {**STORE_VALUES, ":c0": s("open")},
                             **IF_OPEN}}),
        transact({"Update": {"TableName": TABLE, "Key": key("a1"), "UpdateExpression": STORE_SHAPE,
                             "ExpressionAttributeNames": OPEN_NAMES,
                             "ExpressionAttributeValues": {**STORE_VALUES, ":c0": s("open")},
                             **IF_OPEN, **ALL_OLD}}),
    ],
}


def outcome(client: Any, calls: list[Call]) -> dict[str, Any]:
    answers: list[Any] = []
    for method, body in calls:
        try:
            answer = getattr(client, method)(**body)
            answers.append({k: v for k, v in answer.items() if k != "ResponseMetadata"})
        except ClientError as exc:
            error = exc.response["Error"]
            answers.append({"code": error.get("Code"), "message": error.get("Message"),
                            "reasons": exc.response.get("CancellationReasons"),
                            "item": exc.response.get("Item")})
    return {"answers": answers, "after": table_state(client)}


def run_case(calls: list[Call]) -> dict[str, Any]:
    return on_seeded_moto(lambda client: outcome(client, calls))  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", list(CASES))
def test_writes_answer_and_leave_the_table_as_stock_moto_does(name: str, adapter: Any) -> None:
    calls = CASES[name]
    with moto_transactions.stock_moto():
        expected = run_case(calls)
    assert moto_transactions.installed()
    assert run_case(calls) == expected


def test_the_cases_cover_success_refusal_and_failed_conditions(adapter: Any) -> None:
    codes = {a.get("code") for calls in CASES.values() for a in run_case(calls)["answers"]}
    assert {None, "ValidationException", "ConditionalCheckFailedException",
            "TransactionCanceledException"} <= codes


def test_the_store_shape_is_applied_directly(adapter: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The direct path is taken for the store's shape (moto's would be too slow to matter)."""
    to_moto: list[Any] = []
    stock = moto_item_writes.STOCK_UPDATE
    monkeypatch.setattr(moto_item_writes, "STOCK_UPDATE",
                        lambda *a, **k: to_moto.append(a) or stock(*a, **k))
    run_case([update("a1", STORE_SHAPE, STORE_NAMES, STORE_VALUES),
              update("ghost", STORE_SHAPE, STORE_NAMES, STORE_VALUES)])
    assert to_moto == []
    run_case([update("a1", "SET n = :one", values={":one": n(1)})])
    assert len(to_moto) == 1


def test_a_parsed_condition_is_kept_and_reused(adapter: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    moto_expressions.uninstall()  # forgets what earlier tests parsed
    moto_expressions.install()
    parsed: list[str] = []
    stock = moto_expressions.STOCK_PARSE
    monkeypatch.setattr(moto_expressions, "STOCK_PARSE",
                        lambda self: parsed.append(self.condition_expression) or stock(self))
    body = {"TableName": TABLE, "Key": key("a1"), "UpdateExpression": "SET #s0 = :s0",
            "ExpressionAttributeNames": {"#s0": "state", "#c0": "state"},
            "ExpressionAttributeValues": {":s0": s("done"), ":c0": s("open")}, **IF_OPEN}
    run_case([transact({"Update": body})])
    # Checked by moto's request layer and evaluated by the backend: parsed once.
    assert [text for text in parsed if text] == ["#c0 = :c0"]
