"""Resumable code batches: a batch id makes a repeated request return the same codes.

The store is real (moto); tests/store_faults.py makes it stop answering part-way through a batch,
as a slow store did (a 500-code batch answered 503 with 198 codes committed and none returned).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.faucet.codes import CODES_PER_TRANSACTION
from tests.e2e.test_faucet_drips import Api, error
from tests.e2e.test_lost_answers_api import admin_post, make_faulty, new_event, stored
from tests.store_faults import FaultyClient, LostTimeout, every

_fixtures = (make_faulty,)
MakeFaulty = Callable[..., tuple[Api, FaultyClient]]


def batch(api: Api, event_id: str, body: dict[str, Any], key: str | None = None) -> Any:
    return admin_post(api, f"/v1/events/{event_id}/codes", body, key)


def test_a_batch_interrupted_after_two_of_six_transactions_resumes_with_the_same_id(
    make_faulty: MakeFaulty,
) -> None:
    assert -(-500 // CODES_PER_TRANSACTION) == 6
    api, faulty = make_faulty("lost_timeout")
    assert isinstance(faulty, LostTimeout)
    event = new_event(api)
    faulty._due = every(1, first=3)  # the store stops answering after two transactions
    faulty.active = True
    cut = batch(api, event["id"], {"count": 500, "batch_id": "summit-500"})
    assert cut.status_code == 503 and cut.json_body["details"]["retry_safe"] is True
    committed = stored(api, "code#")
    assert len(committed) == 2 * CODES_PER_TRANSACTION  # two parts committed, none returned

    listed = api.get(f"/v1/events/{event['id']}/code-batches/summit-500", admin=True).json_body
    assert listed["complete"] is False and listed["requested"] == 500
    assert sorted(listed["codes"]) == sorted(c["code"]["S"] for c in committed)

    faulty.active = False
    again = batch(api, event["id"], {"count": 500, "batch_id": "summit-500"})
    assert again.status_code == 201, again.json_body
    codes = again.json_body["codes"]
    assert len(codes) == len(set(codes)) == 500 and again.json_body["batch_id"] == "summit-500"
    assert set(listed["codes"]) <= set(codes)  # the committed ones are returned, not remade
    assert sorted(c["code"]["S"] for c in stored(api, "code#")) == sorted(codes)
    counts = api.get(f"/v1/events/{event['id']}", admin=True).json_body["counts"]
    assert counts["available"] == counts["total"] == 500

    replay = batch(api, event["id"], {"count": 500, "batch_id": "summit-500"})
    assert replay.status_code == 201 and replay.json_body["codes"] == codes
    assert replay.headers["Idempotent-Replayed"] == "true"
    full = api.get(f"/v1/events/{event['id']}/code-batches/summit-500", admin=True).json_body
    assert full["complete"] is True and full["codes"] == codes


def test_an_idempotency_key_names_the_batch_and_another_body_under_it_is_a_409(
    make_faulty: MakeFaulty,
) -> None:
    api, _ = make_faulty("lost_timeout")
    event = new_event(api)
    first = batch(api, event["id"], {"count": 3}, key="batch-1")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = batch(api, event["id"], {"count": 3}, key="batch-1")
    assert again.json_body == first.json_body and again.headers["Idempotent-Replayed"] == "true"
    other = batch(api, event["id"], {"count": 4, "batch_id": first.json_body["batch_id"]})
    assert other.status_code == 409 and error(other) == "batch_conflict"
    assert len(stored(api, "code#")) == 3


def test_a_batch_without_an_id_gets_one_and_bad_ids_are_refused(make_faulty: MakeFaulty) -> None:
    api, _ = make_faulty("lost_timeout")
    event = new_event(api)
    one = batch(api, event["id"], {"count": 2}).json_body
    two = batch(api, event["id"], {"count": 2}).json_body
    assert one["batch_id"] != two["batch_id"] and set(one["codes"]).isdisjoint(two["codes"])
    for bad in ("", "a b", "x" * 65, 7):
        resp = batch(api, event["id"], {"count": 2, "batch_id": bad})
        assert resp.status_code == 400 and error(resp) == "invalid_batch_id"
    missing = api.get(f"/v1/events/{event['id']}/code-batches/nope", admin=True)
    assert missing.status_code == 404 and error(missing) == "batch_not_found"
    assert len(stored(api, "code#")) == 4
