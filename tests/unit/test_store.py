"""DynamoStore against in-process moto: conditional writes, transactions, queries, cursors."""

from __future__ import annotations

import base64
import json

import pytest
from boto3.dynamodb.conditions import Attr

from chalicelib.core.errors import BadRequest
from chalicelib.core.store import (
    ConditionFailed,
    DynamoStore,
    StoreUnavailable,
    TransactionFailed,
    check_op,
    delete_op,
    key,
    put_op,
    update_op,
)
from chalicelib.core.table import TTL_ATTRIBUTE, ensure_table

# -- reads --------------------------------------------------------------------------------------


def test_get_many_reads_what_exists_in_requests_of_100_keys(moto_store: DynamoStore) -> None:
    for i in range(150):
        moto_store.put_new({**key(f"p#{i}", "payout"), "n": i})
    asked = [key(f"p#{i}", "payout") for i in range(0, 160, 1)] + [key("p#3", "payout")]
    calls: list[int] = []
    moto_store.client.meta.events.register(
        "before-parameter-build.dynamodb.BatchGetItem",
        lambda params, **_: calls.append(len(params["RequestItems"][moto_store.table]["Keys"])),
    )
    found = moto_store.get_many(asked)
    assert sorted(found) == sorted((f"p#{i}", "payout") for i in range(150))
    assert found[("p#7", "payout")] == {"pk": "p#7", "sk": "payout", "n": 7}
    assert calls == [100, 60]  # one request per 100 distinct keys
    assert moto_store.get_many([]) == {}


def test_get_many_asks_again_for_keys_left_unprocessed(
    moto_store: DynamoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(3):
        moto_store.put_new({**key(f"p#{i}", "payout"), "n": i})
    real = moto_store.client.batch_get_item
    seen: list[int] = []

    def throttled(**request: object) -> dict[str, object]:
        keys = request["RequestItems"][moto_store.table]["Keys"]  # type: ignore[index]
        seen.append(len(keys))
        if len(seen) == 1:  # DynamoDB throttled: the first key answered, the others left
            answer = real(RequestItems={moto_store.table: {"Keys": keys[:1],
                                                           "ConsistentRead": True}})
            answer["UnprocessedKeys"] = {moto_store.table: {"Keys": keys[1:],
                                                            "ConsistentRead": True}}
            return answer
        return real(**request)

    monkeypatch.setattr(moto_store.client, "batch_get_item", throttled)
    found = moto_store.get_many([key(f"p#{i}", "payout") for i in range(3)])
    assert sorted(found) == [(f"p#{i}", "payout") for i in range(3)]
    assert seen == [3, 2]
    monkeypatch.setattr(moto_store.client, "batch_get_item", lambda **r: {
        "Responses": {}, "UnprocessedKeys": r["RequestItems"]})
    with pytest.raises(StoreUnavailable):
        moto_store.get_many([key("p#0", "payout")])


# -- single-item writes ------------------------------------------------------------------------


def test_put_new_creates_the_item(moto_store: DynamoStore) -> None:
    moto_store.put_new({**key("order#1", "meta"), "state": "new", "version": 1})
    assert moto_store.get("order#1", "meta") == {
        "pk": "order#1", "sk": "meta", "state": "new", "version": 1,
    }


def test_second_put_new_raises_condition_failed_with_the_existing_item(
    moto_store: DynamoStore,
) -> None:
    moto_store.put_new({**key("order#1", "meta"), "state": "new", "owner": "alice"})
    with pytest.raises(ConditionFailed) as info:
        moto_store.put_new({**key("order#1", "meta"), "state": "other", "owner": "bob"})
    assert info.value.item == {"pk": "order#1", "sk": "meta", "state": "new", "owner": "alice"}
    assert info.value.status == 409
    assert moto_store.get("order#1", "meta")["owner"] == "alice"


def test_update_conditioned_on_expected_state_and_version_returns_the_new_item(
    moto_store: DynamoStore,
) -> None:
    moto_store.put_new({**key("p#1", "meta"), "state": "pending", "version": 1})
    new = moto_store.update(
        key("p#1", "meta"),
        set={"state": "sent", "version": 2},
        condition=Attr("state").eq("pending") & Attr("version").eq(1),
    )
    assert new == {"pk": "p#1", "sk": "meta", "state": "sent", "version": 2}
    assert moto_store.get("p#1", "meta") == new


def test_failed_compare_and_set_reports_what_the_item_held_and_leaves_it_unchanged(
    moto_store: DynamoStore,
) -> None:
    moto_store.put_new({**key("p#1", "meta"), "state": "sent", "version": 2})
    with pytest.raises(ConditionFailed) as info:
        moto_store.update(
            key("p#1", "meta"),
            set={"state": "failed", "version": 3},
            condition=Attr("state").eq("pending") & Attr("version").eq(1),
        )
    held = {"pk": "p#1", "sk": "meta", "state": "sent", "version": 2}
    assert info.value.item == held
    assert moto_store.get("p#1", "meta") == held


def test_conditional_update_of_a_missing_item_fails_with_no_item(moto_store: DynamoStore) -> None:
    with pytest.raises(ConditionFailed) as info:
        moto_store.update(key("nope", "meta"), set={"x": 1}, condition=Attr("pk").exists())
    assert info.value.item is None
    assert moto_store.get("nope", "meta") is None


def test_set_with_none_removes_the_attribute(moto_store: DynamoStore) -> None:
    moto_store.put_new({**key("w#1", "meta"), "wpk": "due", "wsk": "0001", "state": "a"})
    new = moto_store.update(key("w#1", "meta"), set={"wpk": None, "wsk": None, "state": "b"})
    assert new == {"pk": "w#1", "sk": "meta", "state": "b"}
    assert "wpk" not in moto_store.get("w#1", "meta")


def test_remove_drops_attributes(moto_store: DynamoStore) -> None:
    moto_store.put_new({**key("w#1", "meta"), "a": 1, "b": 2})
    assert moto_store.update(key("w#1", "meta"), remove=["a"]) == {
        "pk": "w#1", "sk": "meta", "b": 2,
    }


def test_add_increments_a_counter(moto_store: DynamoStore) -> None:
    moto_store.put_new({**key("c#1", "meta"), "count": 5})
    assert moto_store.update(key("c#1", "meta"), add={"count": 3})["count"] == 8
    assert moto_store.update(key("c#1", "meta"), add={"count": 1})["count"] == 9
    # ADD on a missing attribute starts from zero.
    assert moto_store.update(key("c#1", "meta"), add={"other": 2})["other"] == 2


def test_conditional_put_and_delete_report_the_held_item(moto_store: DynamoStore) -> None:
    moto_store.put_new({**key("d#1", "meta"), "owner": "a"})
    with pytest.raises(ConditionFailed) as info:
        moto_store.put({**key("d#1", "meta"), "owner": "b"}, condition=Attr("owner").eq("x"))
    assert info.value.item == {"pk": "d#1", "sk": "meta", "owner": "a"}
    with pytest.raises(ConditionFailed) as info:
        moto_store.delete(key("d#1", "meta"), condition=Attr("owner").eq("b"))
    assert info.value.item == {"pk": "d#1", "sk": "meta", "owner": "a"}
    assert moto_store.get("d#1", "meta") == {"pk": "d#1", "sk": "meta", "owner": "a"}
    moto_store.delete(key("d#1", "meta"), condition=Attr("owner").eq("a"))
    assert moto_store.get("d#1", "meta") is None


# -- transactions ------------------------------------------------------------------------------


def test_transaction_of_several_ops_writes_all_of_them(moto_store: DynamoStore) -> None:
    moto_store.put_new({**key("acct#1", "meta"), "balance": 10, "version": 1})
    moto_store.put_new({**key("old#1", "meta"), "x": 1})
    moto_store.transact([
        update_op(key("acct#1", "meta"), set={"version": 2}, add={"balance": -4},
                  condition=Attr("version").eq(1), name="acct"),
        put_op({**key("payout#1", "meta"), "amount": 4}, if_absent=True, name="payout"),
        delete_op(key("old#1", "meta"), name="old"),
        check_op(key("old#2", "meta"), Attr("pk").not_exists(), name="guard"),
        put_op({**key("log#1", "1"), "e": "x"}, name="log"),
    ])
    assert moto_store.get("acct#1", "meta") == {
        "pk": "acct#1", "sk": "meta", "balance": 6, "version": 2,
    }
    assert moto_store.get("payout#1", "meta")["amount"] == 4
    assert moto_store.get("old#1", "meta") is None
    assert moto_store.get("log#1", "1") is not None


def test_transaction_is_all_or_nothing_and_names_the_failing_op(moto_store: DynamoStore) -> None:
    moto_store.put_new({**key("acct#1", "meta"), "balance": 10, "version": 1})
    moto_store.put_new({**key("slot#1", "meta"), "state": "taken", "by": "bob"})
    with pytest.raises(TransactionFailed) as info:
        moto_store.transact([
            update_op(key("acct#1", "meta"), set={"version": 2}, add={"balance": -4},
                      condition=Attr("version").eq(1), name="acct"),
            put_op({**key("payout#1", "meta"), "amount": 4}, if_absent=True, name="payout"),
            update_op(key("slot#1", "meta"), set={"state": "taken", "by": "alice"},
                      condition=Attr("state").eq("free"), name="slot"),
        ])
    exc = info.value
    assert exc.status == 409
    assert [f.name for f in exc.failures] == ["slot"]
    failure = exc.failed("slot")
    assert failure is not None
    assert failure.index == 2
    assert failure.reason == "ConditionalCheckFailed"
    assert failure.item == {"pk": "slot#1", "sk": "meta", "state": "taken", "by": "bob"}
    assert exc.failed("acct") is None
    # Nothing was written.
    assert moto_store.get("acct#1", "meta") == {
        "pk": "acct#1", "sk": "meta", "balance": 10, "version": 1,
    }
    assert moto_store.get("payout#1", "meta") is None
    assert moto_store.get("slot#1", "meta")["by"] == "bob"


def test_failed_condition_check_in_a_transaction_writes_nothing(moto_store: DynamoStore) -> None:
    with pytest.raises(TransactionFailed) as info:
        moto_store.transact([
            check_op(key("guard#1", "meta"), Attr("pk").exists(), name="guard"),
            put_op({**key("x#1", "meta"), "v": 1}, name="x"),
        ])
    failure = info.value.failed("guard")
    assert failure is not None and failure.reason == "ConditionalCheckFailed"
    assert failure.item is None
    assert moto_store.get("x#1", "meta") is None


# -- queries -----------------------------------------------------------------------------------


def test_query_with_prefix_and_cursor_paging_returns_every_item_exactly_once(
    moto_store: DynamoStore,
) -> None:
    for i in range(23):
        moto_store.put_new({**key("user#1", f"claim#{i:03d}"), "i": i})
    for i in range(5):
        moto_store.put_new({**key("user#1", f"other#{i:03d}"), "i": i})
    moto_store.put_new({**key("user#2", "claim#000"), "i": 0})

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        items, cursor = moto_store.query("user#1", sk_prefix="claim#", limit=5, cursor=cursor)
        assert len(items) <= 5
        seen += [i["sk"] for i in items]
        pages += 1
        if cursor is None:
            break
        assert pages < 20
    assert pages >= 5
    assert seen == [f"claim#{i:03d}" for i in range(23)]

    items, cursor = moto_store.query("user#1", limit=100)
    assert len(items) == 28 and cursor is None
    items, _ = moto_store.query("user#1", sk_prefix="claim#", limit=3, forward=False)
    assert [i["sk"] for i in items] == ["claim#022", "claim#021", "claim#020"]


def _work_items(store: DynamoStore) -> None:
    # Due times deliberately inserted out of order.
    for i in (7, 2, 9, 0, 5, 3, 8, 1, 6, 4):
        store.put_new({**key(f"job#{i}", "meta"), "wpk": "send", "wsk": f"t{i:02d}#job{i}"})
    # Items without work attributes, and under another queue, never show up.
    for i in range(4):
        store.put_new({**key(f"done#{i}", "meta"), "state": "done"})
    store.put_new({**key("job#x", "meta"), "wpk": "confirm", "wsk": "t00#x"})
    store.put_new({**key("job#y", "meta"), "wpk": "send"})  # no wsk: not in the index


def test_query_work_returns_only_items_with_work_attributes_in_wsk_order(
    moto_store: DynamoStore,
) -> None:
    _work_items(moto_store)
    items, cursor = moto_store.query_work("send")
    assert cursor is None
    assert [i["pk"] for i in items] == [f"job#{i}" for i in range(10)]
    assert all(i["wpk"] == "send" for i in items)


def test_query_work_honours_until(moto_store: DynamoStore) -> None:
    _work_items(moto_store)
    items, _ = moto_store.query_work("send", until="t04~")
    assert [i["pk"] for i in items] == [f"job#{i}" for i in range(5)]
    items, _ = moto_store.query_work("send", until="t")
    assert items == []


def test_query_work_pages_with_the_cursor(moto_store: DynamoStore) -> None:
    _work_items(moto_store)
    seen: list[str] = []
    cursor = None
    for _ in range(20):
        items, cursor = moto_store.query_work("send", limit=3, cursor=cursor)
        seen += [i["pk"] for i in items]
        if cursor is None:
            break
    assert seen == [f"job#{i}" for i in range(10)]


def test_iter_work_drains_every_page(moto_store: DynamoStore) -> None:
    _work_items(moto_store)
    assert [i["pk"] for i in moto_store.iter_work("send", page=3)] == [
        f"job#{i}" for i in range(10)
    ]
    assert [i["pk"] for i in moto_store.iter_work("send", until="t02~", page=2)] == [
        "job#0", "job#1", "job#2",
    ]
    assert list(moto_store.iter_work("nothing")) == []


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!not-base64!!!",
        "a",
        _b64(b"not json"),
        _b64(b"[1, 2]"),
        _b64(json.dumps({"pk": 1, "sk": "x"}).encode()),
        _b64(json.dumps({"pk": "a", "sk": "b", "evil": "c"}).encode()),
        _b64(b"\xff\xfe"),
    ],
)
def test_a_tampered_cursor_is_a_bad_request(moto_store: DynamoStore, cursor: str) -> None:
    moto_store.put_new({**key("user#1", "a"), "v": 1})
    with pytest.raises(BadRequest) as info:
        moto_store.query("user#1", cursor=cursor)
    assert info.value.code == "invalid_cursor"
    assert info.value.status == 400
    with pytest.raises(BadRequest) as info:
        moto_store.query_work("send", cursor=cursor)
    assert info.value.code == "invalid_cursor"


def test_a_query_cursor_is_not_accepted_with_work_keys_on_the_base_table(
    moto_store: DynamoStore,
) -> None:
    cursor = _b64(json.dumps({"pk": "a", "sk": "b", "wpk": "c", "wsk": "d"}).encode())
    with pytest.raises(BadRequest) as info:
        moto_store.query("a", cursor=cursor)
    assert info.value.code == "invalid_cursor"


# -- values ------------------------------------------------------------------------------------


def test_integers_round_trip_as_int_and_big_integers_as_strings(moto_store: DynamoStore) -> None:
    big = 2**256 - 1
    moto_store.put_new({
        **key("v#1", "meta"),
        "n": 42,
        "zero": 0,
        "neg": -7,
        "wide": 10**37,
        "big": str(big),
        "nested": {"a": 1, "l": [1, 2, 3]},
        "flag": True,
    })
    item = moto_store.get("v#1", "meta")
    assert item is not None
    for name, value in {"n": 42, "zero": 0, "neg": -7, "wide": 10**37}.items():
        assert item[name] == value and type(item[name]) is int
    assert item["big"] == str(big) and int(item["big"]) == big
    assert item["nested"] == {"a": 1, "l": [1, 2, 3]}
    assert type(item["nested"]["l"][0]) is int
    assert item["flag"] is True


# -- table -------------------------------------------------------------------------------------


def test_ensure_table_twice_is_fine_and_keeps_ttl_and_pitr_on(moto_client: object) -> None:
    # The fixture already created the table once.
    assert ensure_table(moto_client, "settlekit-test") is False
    assert ensure_table(moto_client, "settlekit-test") is False
    ttl = moto_client.describe_time_to_live(TableName="settlekit-test")["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] in ("ENABLED", "ENABLING")
    assert ttl["AttributeName"] == TTL_ATTRIBUTE == "gc_at"
    backups = moto_client.describe_continuous_backups(TableName="settlekit-test")
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
    table = moto_client.describe_table(TableName="settlekit-test")["Table"]
    assert table["TableStatus"] == "ACTIVE"


def test_ensure_table_returns_true_when_it_creates(moto_client: object) -> None:
    assert ensure_table(moto_client, "settlekit-other") is True
    assert ensure_table(moto_client, "settlekit-other") is False
    pitr = moto_client.describe_continuous_backups(TableName="settlekit-other")[
        "ContinuousBackupsDescription"
    ]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"


def test_integers_too_wide_for_a_number_are_refused_never_rounded(moto_store: DynamoStore) -> None:
    widest = 10**38 - 1  # DynamoDB numbers carry 38 significant digits
    moto_store.put_new({**key("v#1", "meta"), "n": widest})
    assert moto_store.get("v#1", "meta")["n"] == widest
    for value in (10**38 + 1, 2**256 - 1):
        with pytest.raises(ArithmeticError):
            moto_store.put_new({**key("v#2", "meta"), "n": value})
    with pytest.raises(TypeError):
        moto_store.put_new({**key("v#2", "meta"), "n": 1.5})
    assert moto_store.get("v#2", "meta") is None


def test_every_request_the_store_makes_is_granted_to_the_functions(
    moto_store: DynamoStore,
) -> None:
    """The deployed roles list their table actions one by one (scripts/operations.py): a store
    method using another DynamoDB operation would be refused in AWS only."""
    from scripts.operations import TABLE_ACTIONS

    made: set[str] = set()
    moto_store.client.meta.events.register(
        "before-parameter-build.dynamodb", lambda model, **_: made.add(model.name))
    moto_store.put_new({**key("a", "x"), "n": 1, "wpk": "due", "wsk": "1"})
    moto_store.put({**key("b", "x"), "n": 1})
    moto_store.update(key("a", "x"), set={"n": 2}, condition=Attr("n").eq(1))
    moto_store.get("a", "x")
    moto_store.get_many([key("a", "x"), key("b", "x")])
    moto_store.query("a")
    list(moto_store.iter_work("due"))
    moto_store.transact([put_op({**key("c", "x")}, if_absent=True),
                         check_op(key("a", "x"), Attr("n").eq(2)),
                         update_op(key("b", "x"), add={"n": 1})], token="t-1")
    moto_store.committed("t-1")
    moto_store.transact_or_single(delete_op(key("c", "x")))
    moto_store.delete(key("b", "x"))
    assert {"GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "Query",
            "TransactWriteItems"} <= made
    granted = {a.split(":", 1)[1] for a in TABLE_ACTIONS}
    # A transaction needs the rights of the writes and checks inside it, not an action of its own.
    assert made - {"TransactWriteItems"} <= granted
    assert {"PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"} <= granted
