"""The issue's "done when", on the hardhat node: a concurrent burst of drips, claims and admin
payouts with the store committing and then timing out on every other write leaves exactly one
payout per request, checked on chain (token balances), and resubmitted writes pay nothing twice.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import chalicelib.faucet.finalizer  # noqa: F401 - registers the drip and claim finalizers
from chalicelib.core.clock import iso
from chalicelib.core.errors import ServiceError
from chalicelib.core.outbox import service
from chalicelib.core.runtime import Runtime
from chalicelib.faucet import batches, claims, drips, events
from tests.conftest import START_MS
from tests.integration.payouts import balance, mine, new_address, tick
from tests.integration.test_claims_concurrency import race
from tests.store_faults import FAULTS, every

UNIT = 10**18
BURST = 8

pytestmark = pytest.mark.chain


@pytest.mark.parametrize("fault", ["commit_timeout", "resubmit"])
def test_a_burst_with_lost_answers_pays_every_request_exactly_once_on_chain(
    payout_rt: Runtime, w3: Any, token_address: str, fault: str
) -> None:
    settings = dataclasses.replace(
        payout_rt.settings, events_enabled=True, drip_max_requests=5, drip_window_seconds=3600,
        drip_amount="7",
    )
    clean = Runtime(settings, clock=payout_rt.clock, dynamodb_client=payout_rt.store.client)
    event, _ = events.record_event(
        clean, {"name": "burst", "amount": "3", "expires_at": iso(START_MS + 86_400_000)})
    codes = batches.create_codes(clean, event["id"], {"count": BURST})[0]["codes"]
    faulty = FAULTS[fault](payout_rt.store.client, every(2))
    rt = Runtime(settings, clock=payout_rt.clock, dynamodb_client=faulty)
    drip_to = [new_address() for _ in range(BURST)]
    claim_to = [new_address() for _ in range(BURST)]
    admin_to = [new_address() for _ in range(BURST)]

    def request(i: int) -> Any:
        kind, n = divmod(i, BURST)
        if kind == 0:
            return drips.request_drip(rt, {"wallet": drip_to[n]}, f"198.51.100.{n}", f"d-{n}")
        if kind == 1:
            return claims.claim_code(rt, {"code": codes[n], "wallet": claim_to[n]}, "192.0.2.9")
        return service.request_admin_payout(
            rt, {"key": f"burst-{n}", "asset": token_address, "to": admin_to[n], "amount": "2"})

    results = race(3 * BURST, request)
    refused = [r for r in results if isinstance(r, ServiceError)]
    # The answer is the committed result or a 503 marked retry-safe: never a 409 for one's own.
    assert all(r.status == 503 and r.details["retry_safe"] for r in refused), refused
    assert faulty.faults >= BURST
    for _ in range(6):  # the engine sends and confirms (its own writes are not faulted here)
        tick(clean)
        mine(w3, 2)
    tick(clean)
    for i, r in enumerate(results):
        if isinstance(r, ServiceError):  # retried, as a client would, with the same identity
            request(i)
    for _ in range(4):
        tick(clean)
        mine(w3, 2)
    assert [balance(w3, token_address, w) for w in drip_to] == [7 * UNIT] * BURST
    assert [balance(w3, token_address, w) for w in claim_to] == [3 * UNIT] * BURST
    assert [balance(w3, token_address, w) for w in admin_to] == [2 * UNIT] * BURST
