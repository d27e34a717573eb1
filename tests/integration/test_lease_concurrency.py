"""Many workers racing for one lease on the serialized store server: exactly one holds it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from chalicelib.core.clock import Clock
from chalicelib.core.leases import Lease, LeaseHeld, acquire, lease_key
from chalicelib.core.store import DynamoStore

THREADS = 32


def test_many_threads_acquiring_at_once_yield_exactly_one_holder(
    served_store: DynamoStore,
) -> None:
    clock = Clock()
    barrier = threading.Barrier(THREADS)

    def work(_: int) -> Lease | Exception:
        barrier.wait(timeout=30)
        try:
            return acquire(served_store, clock, "sender", 60_000)
        except Exception as exc:  # noqa: BLE001 - inspected below
            return exc

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(work, range(THREADS)))

    holders = [r for r in results if isinstance(r, Lease)]
    refused = [r for r in results if isinstance(r, LeaseHeld)]
    assert len(holders) == 1, results
    assert len(refused) == THREADS - 1, results
    k = lease_key("sender")
    assert served_store.get(k["pk"], k["sk"])["owner"] == holders[0].owner
