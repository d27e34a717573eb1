"""Races with real threads against the serialized store server: claims and drips stay exact.

Threads call the service functions directly: a Chalice app object keeps the current request on
itself, so sharing one between threads would race inside the test client, whereas in AWS every
concurrent request is its own Lambda process. What is raced here is the store, as in production.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from eth_account import Account

from chalicelib.core.clock import FixedClock, iso
from chalicelib.core.errors import ServiceError
from chalicelib.core.runtime import Runtime
from chalicelib.core.settings import load_settings
from chalicelib.core.store import DynamoStore
from chalicelib.faucet import batches, claims, drips, events, stats
from chalicelib.faucet.keys import code_key, drip_slots_pk
from tests.conftest import START_MS
from tests.integration.payouts import balance, hot, mine, nonce_of, tick

THREADS = 50
TOKEN = "0x" + "ab" * 20


def race(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(i) on n threads released together; each result or ServiceError is returned."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait(timeout=30)
        try:
            return work(i)
        except ServiceError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def faucet_runtime(store: DynamoStore, **env: str) -> Runtime:
    settings = load_settings({"TABLE_NAME": store.table, "TOKEN_ADDRESS": TOKEN,
                              "EVENTS_ENABLED": "true", **env})
    return Runtime(settings, clock=FixedClock(START_MS), dynamodb_client=store.client)


def statuses(results: list[Any]) -> list[Any]:
    return [r[0] if isinstance(r, tuple) else (r.status, r.code) for r in results]


def test_fifty_concurrent_claims_of_one_code_make_one_202_one_payout_one_transfer(
    payout_rt: Runtime, w3: Any, token_address: str
) -> None:
    import chalicelib.faucet.finalizer  # noqa: F401 - registers the claim finalizer

    rt = Runtime(dataclasses.replace(payout_rt.settings, events_enabled=True),
                 clock=payout_rt.clock, dynamodb_client=payout_rt.store.client)
    event = events.create_event(rt, {"name": "race", "amount": "3",
                                     "expires_at": iso(START_MS + 86_400_000)})
    code = batches.create_codes(rt, event["id"], {"count": 1})[0]["codes"][0]
    wallets = [Account.create().address for _ in range(THREADS)]

    results = race(THREADS, lambda i: claims.claim_code(
        rt, {"code": code, "wallet": wallets[i]}, f"198.51.100.{i}"))
    outcomes = statuses(results)
    assert outcomes.count(202) == 1, outcomes
    assert outcomes.count((409, "already_claimed")) == THREADS - 1, outcomes
    winner = next(r[1] for r in results if isinstance(r, tuple))
    assert rt.store.get(**code_key(code))["wallet"] == winner["wallet"]
    requested, _ = rt.store.query_work("payouts#requested")
    assert [p["id"] for p in requested] == [winner["payout_id"]]

    tick(rt)
    mine(w3, 2)
    tick(rt)
    assert rt.store.get(**code_key(code))["state"] == "paid"
    assert nonce_of(w3, hot(rt)) == 1  # one transaction left the hot wallet
    paid = [w for w in wallets if balance(w3, token_address, w)]
    assert paid == [winner["wallet"]]
    assert balance(w3, token_address, winner["wallet"]) == 3 * 10**18


def test_concurrent_claims_of_many_codes_by_one_wallet_stop_at_its_allowance(
    served_store: DynamoStore,
) -> None:
    rt = faucet_runtime(served_store)
    event = events.create_event(rt, {"name": "x", "amount": "1", "max_claims_per_wallet": 2,
                                     "expires_at": iso(START_MS + 86_400_000)})
    batch = batches.create_codes(rt, event["id"], {"count": 20})[0]["codes"]
    wallet = Account.create().address
    results = race(20, lambda i: claims.claim_code(
        rt, {"code": batch[i], "wallet": wallet}, "198.51.100.1"))
    outcomes = statuses(results)
    assert outcomes.count(202) == 2, outcomes
    assert outcomes.count((409, "wallet_claim_limit")) == 18, outcomes
    shown = events.get_event(rt, event["id"])["counts"]
    assert (shown["claimed"], shown["available"]) == (2, 18)


def test_concurrent_drips_from_one_wallet_are_exactly_drip_max_requests(
    served_store: DynamoStore,
) -> None:
    rt = faucet_runtime(served_store, DRIP_MAX_REQUESTS="3")
    wallet = Account.create().address
    results = race(20, lambda i: drips.request_drip(rt, {"wallet": wallet}, f"198.51.100.{i}"))
    accepted = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(accepted) == 3, results
    assert {(r.status, r.code) for r in refused} == {(429, "drip_rate_limited")}
    slots, _ = served_store.query(drip_slots_pk("wallet", wallet.lower()), consistent=True)
    assert sorted(s["drip_id"] for s in slots) == sorted(r["drip_id"] for r in accepted)
    assert len(served_store.query_work("payouts#requested")[0]) == 3
    assert stats.read(served_store, START_MS)["totals"]["drips"] == 3


def test_concurrent_drips_from_one_ip_for_many_wallets_are_exactly_drip_max_requests(
    served_store: DynamoStore,
) -> None:
    rt = faucet_runtime(served_store, DRIP_MAX_REQUESTS="2")
    wallets = [Account.create().address for _ in range(20)]
    results = race(20, lambda i: drips.request_drip(rt, {"wallet": wallets[i]}, "192.0.2.7"))
    assert sum(isinstance(r, dict) for r in results) == 2, results
    assert len(served_store.query_work("payouts#requested")[0]) == 2
