"""`Idempotency-Key` on `POST /v1/messages` through the HTTP API (chalice test client, moto).

Concurrent repeats on the serialized store server are in
`tests/integration/test_messages_idempotency_concurrency.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from chalice.test import Client

from bench.counting import WRITES, count_requests
from chalicelib.anchoring import idempotency
from chalicelib.anchoring.model import COUNTER_KEY, PENDING_QUEUE
from chalicelib.core.runtime import Runtime
from tests.e2e.test_messages_api import api, message, new_app, post, rt  # noqa: F401 - fixtures

NewApp = Callable[..., tuple[str, dict[str, str]]]


def with_key(headers: dict[str, str], value: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": value}


def last_seq(rt: Runtime) -> int:  # noqa: F811 - the fixture's name, used as a parameter
    counter = rt.store.get(**COUNTER_KEY)
    return int(counter["last_seq"]) if counter else 0


def waiting_messages(rt: Runtime) -> list[dict[str, Any]]:  # noqa: F811
    items, _ = rt.store.query_work(PENDING_QUEUE, limit=100)
    return items


def test_a_repeat_with_the_same_key_and_body_returns_the_first_answer_and_writes_nothing(
    api: Client, rt: Runtime, new_app: NewApp  # noqa: F811
) -> None:
    _, key = new_app()
    first = post(api, "/v1/messages", message(), with_key(key, "order-42/attempt"))
    assert first.status_code == 201, first.json_body
    assert "Idempotent-Replayed" not in first.headers
    with count_requests(rt.store.client) as counts:
        again = post(api, "/v1/messages", message(), with_key(key, "order-42/attempt"))
    assert again.status_code == 201
    assert again.json_body == first.json_body  # same message_id, seq and leaf_hash
    assert again.headers["Idempotent-Replayed"] == "true"
    assert sum(n for op, n in counts.items() if op in WRITES) == 0
    assert last_seq(rt) == 1 and len(waiting_messages(rt)) == 1
    later = post(api, "/v1/messages", message(), key).json_body
    assert later["seq"] == 2  # the repeat took no seq either


def test_the_same_key_with_another_body_is_409_and_records_nothing(
    api: Client, rt: Runtime, new_app: NewApp  # noqa: F811
) -> None:
    _, key = new_app()
    first = post(api, "/v1/messages", message(), with_key(key, "k1")).json_body
    for change in ({"sender": "bob"}, {"content_hash": "0x" + "cd" * 32}):
        resp = post(api, "/v1/messages", message(**change), with_key(key, "k1"))
        assert resp.status_code == 409
        assert resp.json_body["error"] == "idempotency_key_conflict"
        assert resp.json_body["details"] == {"message_id": first["message_id"]}
    assert last_seq(rt) == 1 and len(waiting_messages(rt)) == 1
    again = post(api, "/v1/messages", message(), with_key(key, "k1"))
    assert again.status_code == 201 and again.json_body == first


def test_the_same_json_body_with_other_key_order_and_spacing_is_a_repeat(
    api: Client, rt: Runtime, new_app: NewApp  # noqa: F811
) -> None:
    _, key = new_app()
    body = message()
    first = post(api, "/v1/messages", json.dumps(body), with_key(key, "k")).json_body
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    again = post(api, "/v1/messages", reordered, with_key(key, "k"))
    assert again.status_code == 201 and again.json_body == first
    assert last_seq(rt) == 1


def test_keys_of_different_apps_never_collide(
    api: Client, rt: Runtime, new_app: NewApp  # noqa: F811
) -> None:
    _, one = new_app("one")
    _, two = new_app("two")
    a = post(api, "/v1/messages", message(), with_key(one, "shared-key")).json_body
    b = post(api, "/v1/messages", message(), with_key(two, "shared-key"))
    assert b.status_code == 201 and "Idempotent-Replayed" not in b.headers
    assert b.json_body["message_id"] != a["message_id"] and b.json_body["seq"] == 2
    # Each app's repeat gets its own message back; another app's body is not a conflict.
    assert post(api, "/v1/messages", message(), with_key(one, "shared-key")).json_body == a
    assert post(api, "/v1/messages", message(), with_key(two, "shared-key")).json_body == (
        b.json_body
    )
    assert last_seq(rt) == 2


def test_without_a_key_every_post_records_a_new_message(
    api: Client, rt: Runtime, new_app: NewApp  # noqa: F811
) -> None:
    _, key = new_app()
    seqs = [post(api, "/v1/messages", message(), key).json_body["seq"] for _ in range(3)]
    assert seqs == [1, 2, 3]


@pytest.mark.parametrize(
    "value",
    ["", "x" * 129, "tab\there", "bell\x07", "caf\u00e9"],
    ids=["empty", "too-long", "tab", "control", "non-ascii"],
)
def test_a_malformed_key_is_a_400_that_records_nothing(
    api: Client, rt: Runtime, new_app: NewApp, value: str  # noqa: F811
) -> None:
    _, key = new_app()
    resp = post(api, "/v1/messages", message(), with_key(key, value))
    assert resp.status_code == 400 and resp.json_body["error"] == "invalid_idempotency_key"
    assert last_seq(rt) == 0


def test_keys_of_1_to_128_printable_characters_are_accepted(
    api: Client, new_app: NewApp  # noqa: F811
) -> None:
    _, key = new_app()
    for value in ("k", "x" * 128, " ~!#$%&'()*+,-./:;<=>?@[\\]^_`{|}"):
        resp = post(api, "/v1/messages", message(), with_key(key, value))
        assert resp.status_code == 201, (value, resp.json_body)


def test_a_bad_body_does_not_use_up_its_key(
    api: Client, rt: Runtime, new_app: NewApp  # noqa: F811
) -> None:
    _, key = new_app()
    bad = post(api, "/v1/messages", message(content_hash="0x12"), with_key(key, "k"))
    assert bad.status_code == 400 and bad.json_body["error"] == "invalid_content_hash"
    good = post(api, "/v1/messages", message(), with_key(key, "k"))
    assert good.status_code == 201 and good.json_body["seq"] == 1


def test_a_repeat_after_the_message_was_deleted_still_returns_it_and_records_nothing(
    api: Client, rt: Runtime, new_app: NewApp  # noqa: F811
) -> None:
    _, key = new_app()
    first = post(api, "/v1/messages", message(), with_key(key, "k")).json_body
    assert api.http.delete(f"/v1/messages/{first['message_id']}", headers=key).status_code == 200
    again = post(api, "/v1/messages", message(), with_key(key, "k"))
    assert again.status_code == 201 and again.json_body == first
    assert last_seq(rt) == 1


def test_the_stored_key_item_holds_a_hash_of_the_key_and_of_the_body_only(
    api: Client, rt: Runtime, new_app: NewApp  # noqa: F811
) -> None:
    app_id, key = new_app()
    created = post(api, "/v1/messages", message(), with_key(key, "order#7")).json_body
    stored = rt.store.get(**idempotency.item_key(app_id, "order#7"))
    assert stored is not None
    assert "order#7" not in json.dumps(stored, default=str)
    assert stored["message_id"] == created["message_id"] and stored["app_id"] == app_id
    assert stored["body_sha256"] == idempotency.body_digest(message())
    assert "wpk" not in stored and "gc_at" not in stored
