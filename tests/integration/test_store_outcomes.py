"""The store tells a lost race from everything else, and resolves a write whose answer was lost.

Real moto behind store_faults wrappers: the wrapper loses answers, the store underneath is real.
"""

from __future__ import annotations

from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ReadTimeoutError

from chalicelib.core import commits
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.runtime import Runtime
from chalicelib.core.settings import load_settings
from chalicelib.core.store import (
    ConditionFailed,
    DynamoStore,
    StoreUnavailable,
    TransactionFailed,
    WriteUnresolved,
    key,
    put_op,
    update_op,
)
from tests.store_faults import Cancelled, CommitTimeout, LostTimeout, Resubmit, every, only

TABLE = "settlekit-test"


def store_with(client: Any) -> DynamoStore:
    return DynamoStore(client, TABLE)


def create_ops(n: int = 1) -> list[Any]:
    """A transaction a caller would make: create an item (if absent), count it."""
    return [
        put_op({**key(f"thing#{n}", "thing"), "n": n}, if_absent=True, name="thing"),
        update_op(key("things", "count"), add={"count": 1}, name="counter"),
    ]


def count(store: DynamoStore) -> int:
    item = store.get("things", "count")
    return int(item["count"]) if item else 0


# -- lost answers -------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", [Resubmit, CommitTimeout])
def test_a_transaction_that_committed_but_lost_its_answer_succeeds_once(
    moto_client: Any, fault: type
) -> None:
    store = store_with(fault(moto_client, every(1)))
    store.transact(create_ops())  # no TransactionFailed for its own write, no 503
    assert store.get("thing#1", "thing") == {**key("thing#1", "thing"), "n": 1}
    assert count(store) == 1


def test_a_transaction_whose_send_was_lost_is_sent_again_identically_and_commits_once(
    moto_client: Any,
) -> None:
    faulty = LostTimeout(moto_client, only(1))
    sent: list[Any] = []
    moto_client.meta.events.register(
        "before-parameter-build.dynamodb.TransactWriteItems",
        lambda params, **_: sent.append((params["ClientRequestToken"], params["TransactItems"])),
    )
    store = store_with(faulty)
    store.transact(create_ops())
    assert count(store) == 1
    assert faulty.writes == 2 and len(sent) == 1  # the lost send never reached the store
    token, items = sent[0]
    # The commit marker under that very token is what the read-back found absent.
    assert store.get(**commits.marker_key(token)) is not None
    assert len(items) == 3


def test_every_send_of_a_transaction_carries_the_same_client_request_token(
    moto_client: Any,
) -> None:
    tokens: list[str] = []
    moto_client.meta.events.register(
        "before-parameter-build.dynamodb.TransactWriteItems",
        lambda params, **_: tokens.append(params["ClientRequestToken"]),
    )
    store = store_with(Resubmit(moto_client, every(1)))
    store.transact(create_ops())
    assert len(tokens) == 2 and tokens[0] == tokens[1] and 1 <= len(tokens[0]) <= 36
    store.transact(create_ops(2))
    assert len(set(tokens)) == 2  # a new logical transaction, a new token


def test_a_transaction_never_committed_after_every_send_is_a_503_that_wrote_nothing(
    moto_client: Any,
) -> None:
    store = store_with(LostTimeout(moto_client, every(1)))
    with pytest.raises(StoreUnavailable) as caught:
        store.transact(create_ops())
    assert caught.value.status == 503 and caught.value.details["retry_safe"] is True
    assert "Retry-After" in caught.value.headers
    assert count(store_with(moto_client)) == 0


class Unreadable(CommitTimeout):
    """Commits and loses the answer, then the store cannot be reached at all (nor read)."""

    def fault(self, send: Any, request: dict[str, Any]) -> Any:
        if self.faults == 1:
            return super().fault(send, request)
        raise ReadTimeoutError(endpoint_url="http://store.invalid/")

    def __getattr__(self, name: str) -> Any:
        if name == "get_item":
            def fail(**_: Any) -> Any:
                raise ReadTimeoutError(endpoint_url="http://store.invalid/")
            return fail
        return super().__getattr__(name)


def test_an_outcome_the_store_cannot_confirm_is_a_503_marked_retry_safe(moto_client: Any) -> None:
    store = store_with(Unreadable(moto_client, every(1)))
    with pytest.raises(WriteUnresolved) as caught:
        store.transact(create_ops())
    assert caught.value.status == 503 and caught.value.code == "write_outcome_unknown"
    assert caught.value.details == {"retry_safe": True}
    assert count(store_with(moto_client)) == 1  # it had committed: once


def test_a_condition_that_really_failed_is_still_a_lost_race(moto_client: Any) -> None:
    store = store_with(moto_client)
    store.transact(create_ops())
    with pytest.raises(TransactionFailed) as caught:
        store_with(Resubmit(moto_client, every(1))).transact(create_ops())
    assert [f.name for f in caught.value.failures] == ["thing"]
    assert caught.value.failures[0].item == {**key("thing#1", "thing"), "n": 1}
    assert count(store) == 1


@pytest.mark.parametrize("fault", [Resubmit, CommitTimeout, LostTimeout])
def test_put_new_finds_its_own_item_after_a_lost_answer(moto_client: Any, fault: type) -> None:
    store = store_with(fault(moto_client, only(1)))
    item = {**key("app#1", "app"), "name": "one", "n": 1}
    store.put_new(item)
    assert store.get("app#1", "app") == item
    with pytest.raises(ConditionFailed):  # another item under that key is still a conflict
        store.put_new({**item, "name": "two"})


# -- errors by cause ----------------------------------------------------------------------------

NOT_A_CONDITION = [
    "ThrottlingError",
    "TransactionConflict",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
    "ValidationError",
    "ItemCollectionSizeLimitExceeded",
    "InternalServerError",
]


@pytest.mark.parametrize("reason", NOT_A_CONDITION)
def test_a_cancellation_that_is_not_a_failed_condition_is_a_503_never_a_lost_race(
    moto_client: Any, reason: str
) -> None:
    store = store_with(Cancelled(moto_client, reason, due=every(1)))
    with pytest.raises(StoreUnavailable) as caught:
        store.transact(create_ops())
    exc = caught.value
    assert not isinstance(exc, TransactionFailed)
    assert exc.status == 503 and exc.headers["Retry-After"] == "1"
    assert exc.details == {"retry_safe": True, "reasons": [reason]}
    assert count(store_with(moto_client)) == 0


@pytest.mark.parametrize("reason", NOT_A_CONDITION)
def test_a_passing_cancellation_is_retried_with_the_same_transaction(
    moto_client: Any, reason: str
) -> None:
    faulty = Cancelled(moto_client, reason, due=only(1))
    store_with(faulty).transact(create_ops())
    assert faulty.writes == 2 and count(store_with(moto_client)) == 1


def test_a_throttled_item_beside_a_failed_condition_reports_only_the_condition(
    moto_client: Any,
) -> None:
    store = store_with(moto_client)
    store.transact(create_ops())
    faulty = Cancelled(moto_client, "ThrottlingError", index=1, due=every(1))

    def both(send: Any, request: dict[str, Any]) -> Any:
        try:
            return send(**request)  # fails on "thing" (it exists)
        except Exception as exc:
            exc.response["CancellationReasons"][1] = {"Code": "ThrottlingError"}  # type: ignore[attr-defined]
            raise

    faulty.fault = both  # type: ignore[method-assign]
    with pytest.raises(TransactionFailed) as caught:
        store_with(faulty).transact(create_ops())
    assert [(f.name, f.reason) for f in caught.value.failures] == [
        ("thing", "ConditionalCheckFailed")
    ]


def test_a_throttled_single_item_write_is_sent_again(moto_client: Any) -> None:
    class Throttled(Cancelled):
        methods = ("update_item",)

        def fault(self, send: Any, request: dict[str, Any]) -> Any:
            from botocore.exceptions import ClientError

            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "UpdateItem"
            )

    store = store_with(Throttled(moto_client, "x", due=only(1)))
    store.update(key("things", "count"), add={"count": 1}, condition=Attr("pk").not_exists())
    assert count(store) == 1
    always = store_with(Throttled(moto_client, "x", due=every(1)))
    with pytest.raises(DependencyUnavailable) as caught:
        always.update(key("things", "count"), add={"count": 1})
    assert caught.value.status == 503 and count(store) == 1


def test_the_runtime_store_never_lets_botocore_resend_a_write() -> None:
    rt = Runtime(load_settings({"TABLE_NAME": TABLE}))
    store = rt.store
    assert store.write_client is not store.client
    assert store.write_client.meta.config.retries["total_max_attempts"] == 1
    assert store.client.meta.config.retries["total_max_attempts"] > 1  # reads still retry
