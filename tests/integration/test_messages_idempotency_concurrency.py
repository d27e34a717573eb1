"""Concurrent repeats of one `Idempotency-Key` (real threads, serialized store server): exactly one
message is recorded, and every repeat gets its answer or a conflict, never a second message."""

from __future__ import annotations

from typing import Any

from chalicelib.anchoring.idempotency import IdempotencyKeyConflict
from chalicelib.anchoring.messages import record_message
from chalicelib.anchoring.model import COUNTER_KEY, PENDING_QUEUE
from chalicelib.core.runtime import Runtime
from chalicelib.core.settings import load_settings
from chalicelib.core.store import DynamoStore
from tests.integration.test_anchor_race import together

THREADS = 8
BODY = {
    "conversation_id": "c", "content_hash": "0x" + "04" * 32, "sender": "s",
    "sent_at": "2026-01-01T00:00:00Z",
}


def runtime(store: DynamoStore) -> Runtime:
    return Runtime(load_settings({"TABLE_NAME": store.table}), dynamodb_client=store.client)


def recorded(store: DynamoStore) -> list[dict[str, Any]]:
    counter = store.get(**COUNTER_KEY)
    items, _ = store.query_work(PENDING_QUEUE, limit=100)
    assert counter is not None and counter["last_seq"] == len(items)  # seqs are gapless
    return items


def attempt(rt: Runtime, app_id: str, key: str, body: dict[str, Any]) -> Any:
    """(201 body, replayed) or ("conflict", the 409): `together` takes exceptions for failures."""
    try:
        return record_message(rt, {"app_id": app_id}, body, key)
    except IdempotencyKeyConflict as exc:
        return "conflict", exc


def test_concurrent_repeats_of_one_key_record_exactly_one_message(
    served_store: DynamoStore,
) -> None:
    rt = runtime(served_store)
    app_id = "app_" + "1" * 16
    results = together(THREADS, lambda i: attempt(rt, app_id, "same-key", BODY))
    bodies = [body for body, _ in results]
    assert all(b == bodies[0] for b in bodies)  # one message_id, seq, leaf_hash for all
    assert sorted(replayed for _, replayed in results) == [False] + [True] * (THREADS - 1)
    (message,) = recorded(served_store)
    assert message["message_id"] == bodies[0]["message_id"] and message["seq"] == 1


def test_concurrent_posts_of_one_key_with_different_bodies_record_one_and_refuse_the_rest(
    served_store: DynamoStore,
) -> None:
    rt = runtime(served_store)
    app_id = "app_" + "2" * 16
    bodies = [{**BODY, "sender": f"s{i}"} for i in range(THREADS)]
    results = together(THREADS, lambda i: attempt(rt, app_id, "contested", bodies[i]))
    winners = [(i, r) for i, r in enumerate(results) if r[0] != "conflict"]
    assert len(winners) == 1
    (i, (created, replayed)) = winners[0]
    assert replayed is False
    losers = [r[1] for r in results if r[0] == "conflict"]
    assert len(losers) == THREADS - 1
    assert all(r.details == {"message_id": created["message_id"]} for r in losers)
    (message,) = recorded(served_store)
    assert message["message_id"] == created["message_id"] and message["sender"] == f"s{i}"


def test_the_same_key_from_many_apps_at_once_records_one_message_per_app(
    served_store: DynamoStore,
) -> None:
    rt = runtime(served_store)
    apps = [f"app_{i % 4:016x}" for i in range(THREADS)]  # 4 apps, 2 threads each
    results = together(THREADS, lambda i: attempt(rt, apps[i], "shared", BODY))
    by_app: dict[str, set[str]] = {}
    for app_id, (body, _) in zip(apps, results, strict=True):
        by_app.setdefault(app_id, set()).add(body["message_id"])
    assert all(len(ids) == 1 for ids in by_app.values()) and len(by_app) == 4
    messages = recorded(served_store)
    assert len(messages) == 4
    assert {m["app_id"] for m in messages} == set(apps)
