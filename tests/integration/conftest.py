"""Fixtures for tests that run the payout engine against the hardhat node and the store server."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.core.clock import FixedClock
from chalicelib.core.runtime import Runtime
from chalicelib.core.settings import load_settings
from chalicelib.core.store import DynamoStore
from local import bootstrap
from tests.conftest import START_MS

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
    settings = engine_settings(chain_url, hot_key, token_address, served_store.table)
    yield Runtime(settings, clock=engine_clock, dynamodb_client=served_store.client)
