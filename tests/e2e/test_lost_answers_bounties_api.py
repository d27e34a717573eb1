"""Bounty actions with the store losing answers: each signed action is recorded exactly once.

As in test_lost_answers_api.py: real moto behind tests/store_faults.py. A lost answer must never
turn the caller's own signed action into a 409 `signature_replayed` or a second record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

import app
from chalicelib.core.clock import FixedClock
from chalicelib.core.runtime import Runtime, set_runtime
from chalicelib.core.settings import load_settings
from tests.e2e.test_bounty_api import ALICE, BOB, TOKEN, BountyApi
from tests.store_faults import FAULTS, FaultyClient, every


@pytest.fixture(params=sorted(FAULTS))
def faulty_api(
    request: pytest.FixtureRequest, moto_client: Any, clock: FixedClock
) -> Iterator[tuple[BountyApi, FaultyClient]]:
    kind = str(request.param)
    # Resubmit and CommitTimeout on every write; LostTimeout on every other (else nothing lands).
    faulty = FAULTS[kind](moto_client, every(2) if kind == "lost_timeout" else every(1))
    faulty.active = False
    settings = load_settings({"TABLE_NAME": "settlekit-test", "TOKEN_ADDRESS": TOKEN})
    rt = Runtime(settings, clock=clock, dynamodb_client=faulty)
    set_runtime(rt)
    with Client(app.app) as client:
        yield BountyApi(client, rt, clock), faulty
    set_runtime(None)


def items(api: BountyApi, bid: str, prefix: str) -> list[dict[str, Any]]:
    found, _ = api.rt.store.query(f"bounty#{bid}", sk_prefix=prefix, consistent=True)
    return found


def test_every_bounty_action_with_lost_answers_is_recorded_once(
    faulty_api: tuple[BountyApi, FaultyClient],
) -> None:
    api, faulty = faulty_api
    faulty.active = True
    status, body = api.create(max_winners=2, reward="2")
    assert status == 201, body
    bid = body["bounty"]["id"]
    assert api.all_pages() == [bid]  # one bounty

    status, body = api.submit(bid, ALICE)
    assert status == 201, body
    sid = body["submission"]["id"]
    assert status == 201 and [s["id"] for s in items(api, bid, "sub#")] == [sid]
    status, body = api.submit(bid, BOB)
    assert status == 201, body

    status, body = api.accept(bid, sid)
    assert status == 200, body
    assert body["bounty"]["winner_count"] == 1
    assert [w["submission_id"] for w in items(api, bid, "winner#")] == [sid]

    other = api.new_bounty(title="Another one")["id"]
    status, body = api.cancel(other)
    assert status == 200, body
    assert body["bounty"]["status"] == "cancelled"
    assert sorted(api.all_pages()) == sorted([bid, other])
    assert faulty.faults >= 4
