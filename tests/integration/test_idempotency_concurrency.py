"""Concurrent retries with one Idempotency-Key make one result, on the serialized store server.

Real threads, as in test_claims_concurrency.py; some runs also lose the answer of every other
write (tests/store_faults.py), as a slow store does.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account

from chalicelib.core.clock import iso
from chalicelib.core.errors import ServiceError
from chalicelib.core.outbox.model import requested_queue
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import DynamoStore
from chalicelib.core.wallets import FAUCET
from chalicelib.faucet import batches, drips, events, stats
from chalicelib.faucet.keys import drip_slots_pk
from tests.conftest import START_MS
from tests.integration.test_claims_concurrency import faucet_runtime, race
from tests.store_faults import FAULTS, every

DAY_MS = 86_400_000


def runtime(store: DynamoStore, fault: str | None, **env: str) -> Runtime:
    rt = faucet_runtime(store, **env)
    if fault is None:
        return rt
    faulty = FAULTS[fault](store.client, every(2))
    return Runtime(rt.settings, clock=rt.clock, dynamodb_client=faulty)


@pytest.mark.parametrize("fault", [None, "commit_timeout", "resubmit"])
def test_twenty_concurrent_drips_with_one_key_make_one_drip_and_one_payout(
    served_store: DynamoStore, fault: str | None
) -> None:
    rt = runtime(served_store, fault, DRIP_MAX_REQUESTS="5")
    wallet = Account.create().address
    results = race(20, lambda i: drips.record_drip(
        rt, {"wallet": wallet}, f"198.51.100.{i}", "one-drip-please"))
    assert not [r for r in results if isinstance(r, ServiceError)], results
    assert len({view["drip_id"] for view, _ in results}) == 1
    assert sum(not replayed for _, replayed in results) == 1  # one made it, 19 replayed it
    slots, _ = served_store.query(drip_slots_pk("wallet", wallet.lower()), consistent=True)
    assert [s["drip_id"] for s in slots] == [results[0][0]["drip_id"]]
    assert len(served_store.query_work(requested_queue(FAUCET))[0]) == 1
    assert stats.read(served_store, START_MS)["totals"]["drips"] == 1


def test_the_same_key_with_another_wallet_is_a_409_and_pays_nothing_more(
    served_store: DynamoStore,
) -> None:
    rt = runtime(served_store, None, DRIP_MAX_REQUESTS="5")
    first = drips.request_drip(rt, {"wallet": Account.create().address}, "192.0.2.1", "k-1")
    with pytest.raises(ServiceError) as caught:
        drips.request_drip(rt, {"wallet": Account.create().address}, "192.0.2.1", "k-1")
    assert (caught.value.status, caught.value.code) == (409, "idempotency_key_conflict")
    assert caught.value.details == {"drip_id": first["drip_id"]}
    assert len(served_store.query_work(requested_queue(FAUCET))[0]) == 1


@pytest.mark.parametrize("fault", [None, "commit_timeout"])
def test_concurrent_event_creations_with_one_key_make_one_event(
    served_store: DynamoStore, fault: str | None
) -> None:
    rt = runtime(served_store, fault)
    body = {"name": "Summit", "amount": "5", "expires_at": iso(START_MS + DAY_MS)}
    results = race(10, lambda i: events.record_event(rt, dict(body), "event-1"))
    assert not [r for r in results if isinstance(r, ServiceError)], results
    assert len({view["id"] for view, _ in results}) == 1
    assert sum(not replayed for _, replayed in results) == 1


def test_concurrent_repeats_of_one_code_batch_return_the_same_codes_made_once(
    served_store: DynamoStore,
) -> None:
    rt = runtime(served_store, "commit_timeout")
    event, _ = events.record_event(
        rt, {"name": "Summit", "amount": "5", "expires_at": iso(START_MS + DAY_MS)})
    body = {"count": 150, "batch_id": "b-150"}
    results: list[Any] = race(4, lambda i: batches.create_codes(rt, event["id"], dict(body)))
    assert not [r for r in results if isinstance(r, ServiceError)], results
    codes = results[0][0]["codes"]
    assert len(set(codes)) == 150
    assert all(view["codes"] == codes for view, _ in results)
    assert events.get_event(rt, event["id"])["counts"]["total"] == 150
