"""The fixed-window limiter under real concurrency (threads against the serialized store server):
never more than `max` per window, and a request over one limit uses none of the others."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core.errors import RateLimited
from chalicelib.core.ratelimit import Limit, counter_key, take
from chalicelib.core.store import DynamoStore
from tests.conftest import START_MS
from tests.integration.test_otc_races import race

T0 = START_MS // 60_000 * 60_000  # the start of a one-minute window


def test_concurrent_requests_never_pass_more_than_the_limit(served_store: DynamoStore) -> None:
    limit = Limit("otc:create:wallet", "0xabc", 5, 60)

    def attempt() -> Any:
        take(served_store, [limit], T0)
        return "passed"

    results = race(*(attempt for _ in range(16)))
    assert results.count("passed") == 5, results
    refused = [r for r in results if r != "passed"]
    assert all(isinstance(r, RateLimited) and r.status == 429 for r in refused), refused
    assert all(r.headers["Retry-After"] == "60" for r in refused)
    counter = served_store.get(**counter_key(limit, T0))
    assert counter is not None and counter["count"] == 5


def test_a_request_over_one_limit_takes_nothing_from_the_others(
    served_store: DynamoStore,
) -> None:
    wallet = Limit("otc:match:wallet", "0xabc", 1, 60)
    ip = Limit("otc:match:ip", "hashed-ip", 10, 60)
    take(served_store, [wallet, ip], T0)
    with pytest.raises(RateLimited) as err:
        take(served_store, [wallet, ip], T0 + 1_000)
    assert err.value.details["limits"] == ["otc:match:wallet"]
    assert int(err.value.headers["Retry-After"]) == 59
    assert served_store.get(**counter_key(ip, T0))["count"] == 1
    take(served_store, [wallet, ip], T0 + 60_000)  # the next window
    assert served_store.get(**counter_key(wallet, T0 + 60_000))["count"] == 1
