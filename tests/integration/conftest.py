"""Fixtures for tests that run the payout engine against the hardhat node and the store server."""

from __future__ import annotations

import json
import logging
import secrets
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.core.clock import FixedClock
from chalicelib.core.outbox import finalize
from chalicelib.core.runtime import Runtime
from chalicelib.core.settings import load_settings
from chalicelib.core.store import DynamoStore, Item
from local import bootstrap
from tests.conftest import START_MS
from tests.integration.payouts import OWNER, Finalized

HOT_NATIVE = 100 * 10**18
HOT_TOKENS = 1_000_000 * 10**18


@pytest.fixture(scope="session")
def token_address(w3: Any) -> str:
    """The test token, deployed once for the session (before any per-test snapshot)."""
    return bootstrap.deploy(w3, "TestToken", "Settlekit Test Token", "SKT", 18)


def engine_settings(chain_url: str, key: str, token: str, table: str, **extra: str) -> Any:
    env = {
        "TABLE_NAME": table,
        "CHAIN_RPC_URL": chain_url,
        "CHAIN_ID": "31337",
        "CONFIRMATIONS": "2",
        "SIGNER_PRIVATE_KEY": key,
        "TOKEN_ADDRESS": token,
        "PAYOUT_REBROADCAST_SECONDS": "30",
        "ADMIN_TOKEN": "admin-token-for-tests-0123456789",
        **extra,
    }
    return load_settings(env)


def engine_runtime(
    served_store: DynamoStore, chain_url: str, token: str, key: str, clock: FixedClock, **extra: str
) -> Runtime:
    """A runtime on the served store with `engine_settings` (plus `extra`) and a given clock."""
    settings = engine_settings(chain_url, key, token, served_store.table, **extra)
    return Runtime(settings, clock=clock, dynamodb_client=served_store.client)


RuntimeWith = Callable[..., Runtime]


@pytest.fixture
def runtime_with(
    served_store: DynamoStore, chain_url: str, token_address: str, hot_key: str,
    engine_clock: FixedClock,
) -> RuntimeWith:
    """runtime_with(key=..., rpc=..., **settings): another runtime on this test's store, token and
    clock, by default with the test's hot key and chain (`payout_rt` funds that key)."""

    def build(key: str | None = None, rpc: str | None = None, **settings: str) -> Runtime:
        return engine_runtime(served_store, rpc or chain_url, token_address, key or hot_key,
                              engine_clock, **settings)

    return build


@pytest.fixture
def adapter() -> Iterator[None]:
    """The local store's moto adapters (`local.moto_transactions.install`) for this test."""
    from local import moto_transactions

    was = moto_transactions.installed()
    moto_transactions.install()
    yield
    if not was:
        moto_transactions.uninstall()


@pytest.fixture
def hot_key() -> str:
    return "0x" + secrets.token_hex(32)


@pytest.fixture
def engine_clock() -> FixedClock:
    return FixedClock(START_MS)


@pytest.fixture
def payout_rt(
    w3: Any, chain_url: str, chain_snapshot: None, served_store: DynamoStore, token_address: str,
    hot_key: str, engine_clock: FixedClock,
) -> Iterator[Runtime]:
    """A runtime with a fresh, funded hot wallet, on its own table, with a hand-moved clock."""
    from eth_account import Account

    wallet = Account.from_key(hot_key).address
    bootstrap.fund_native(w3, wallet, HOT_NATIVE)
    bootstrap.mint(w3, token_address, wallet, HOT_TOKENS)
    yield engine_runtime(served_store, chain_url, token_address, hot_key, engine_clock)


@pytest.fixture
def finalized() -> Iterator[Finalized]:
    """A finalizer for owner type `test` recording (payout id, status) per call."""
    calls: Finalized = []

    def record(_rt: Runtime, payout: Item) -> None:
        calls.append((payout["id"], payout["status"]))

    finalize.register_finalizer(OWNER, record)
    yield calls
    finalize.FINALIZERS.pop(OWNER, None)


class _CurrentStdout:
    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def alerts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., int]:
    """Count `"alert": true` stdout log lines (of one event, or all) since the test started.

    The service's log handler keeps the stream it saw at import, so for this test it writes to
    whatever `sys.stdout` is at the time of each line (capsys's while the test runs).
    """
    for handler in logging.getLogger("settlekit").handlers:
        if type(handler) is logging.StreamHandler:  # the service's own, not pytest's
            monkeypatch.setattr(handler, "stream", _CurrentStdout())
    lines: list[dict[str, Any]] = []

    def count(event: str | None = None) -> int:
        for line in capsys.readouterr().out.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                lines.append(record)
        return sum(1 for r in lines if r.get("alert") is True and event in (None, r.get("event")))

    return count
