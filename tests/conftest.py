"""Shared fixtures: an in-process moto store, the serialized local store server, the chain node.

Unit and API tests use moto in-process (`moto_store`), with the local store's transaction
adapter installed (`local.moto_transactions`: no whole-table copy per transaction item).
Anything with real concurrency uses the serialized store server in a subprocess
(`served_store`), and chain tests use one hardhat node for the session, reverted to a
snapshot after each test (`w3`, `chain_snapshot`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from chalicelib.core.clock import FixedClock
from chalicelib.core.store import DynamoStore
from chalicelib.core.table import ensure_table
from local import moto_transactions, processes

# Fake credentials: the moto server and mock_aws accept anything, and no test may reach AWS.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
)
for _name in ("CHAIN_RPC_URL", "DYNAMODB_ENDPOINT_URL", "ADMIN_TOKEN", "SIGNER_PRIVATE_KEY"):
    os.environ.pop(_name, None)

moto_transactions.install()

# One session for the tests' clients: mock_aws() resets boto3's default session, so
# `boto3.client` would load the service's JSON model from disk again in every test (0.1-0.3 s).
# A client of this session is built from the models it loaded once (a few ms); moto's handler is
# in every session created after moto's import, so its clients inside `mock_aws()` are mocked
# like any other (and those with an `endpoint_url` reach the store server).
SESSION = boto3.Session()


def moto_client_of(service: str) -> Any:
    """A client of in-process moto (inside `mock_aws()`), from the shared session."""
    return SESSION.client(service, region_name="us-east-1")


START_MS = 1_790_000_000_000  # 2026-09-21T..Z: a fixed "now" for clock-driven tests


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START_MS)


@pytest.fixture
def moto_client() -> Iterator[object]:
    from moto import mock_aws

    with mock_aws():
        client = moto_client_of("dynamodb")
        ensure_table(client, "settlekit-test")
        yield client


@pytest.fixture
def moto_store(moto_client: object) -> DynamoStore:
    return DynamoStore(moto_client, "settlekit-test")


@pytest.fixture(scope="session")
def store_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = processes.free_port()
    log = tmp_path_factory.mktemp("store") / "store.log"
    child, url = processes.start_store(port, log_path=log)
    yield url
    child.stop()


def served_client(url: str) -> object:
    return SESSION.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=url,
        config=Config(max_pool_connections=64, retries={"max_attempts": 2}),
    )


@pytest.fixture
def served_store(store_server: str) -> DynamoStore:
    """A fresh table on the serialized store server (one per test)."""
    client = served_client(store_server)
    name = f"t-{uuid.uuid4().hex[:12]}"
    ensure_table(client, name)
    return DynamoStore(client, name)


@pytest.fixture(scope="session")
def chain_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = processes.free_port()
    log = tmp_path_factory.mktemp("chain") / "hardhat.log"
    child, url = processes.start_chain(port, log_path=log)
    yield url
    child.stop()


@pytest.fixture(scope="session")
def w3(chain_url: str) -> object:
    from web3 import Web3

    return Web3(Web3.HTTPProvider(chain_url, request_kwargs={"timeout": 30}))


@pytest.fixture
def chain_snapshot(w3: object) -> Iterator[None]:
    """Each chain test starts from the same state and leaves nothing behind."""
    snap = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[attr-defined]
    yield
    w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[attr-defined]
    w3.provider.make_request("evm_revert", [snap])  # type: ignore[attr-defined]
