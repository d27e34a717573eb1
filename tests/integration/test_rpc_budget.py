"""A hung chain node (accepts the connection, never answers) costs one RPC_TIMEOUT_SECONDS per
request at most: web3's hidden retries are off, and after one timeout the next calls fail fast."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from chalice.test import Client

from bench import stack
from chalicelib.core.chain import ChainUnavailable, Web3Chain
from chalicelib.core.payments import Expected, verify_payment
from chalicelib.core.runtime import Runtime, set_runtime
from chalicelib.core.settings import load_settings
from chalicelib.core.store import DynamoStore

BUDGET_S = 1.0
MARGIN_S = 1.0  # the target: a request never runs past RPC_TIMEOUT_SECONDS + 1 s
TX = "0x" + "ab" * 32
ADDR = "0x" + "11" * 20


@pytest.fixture
def hung_node() -> Iterator[str]:
    """A local socket that accepts every connection and never answers a byte."""
    with stack.hung_node() as url:
        yield url


def test_one_rpc_call_to_a_hung_node_ends_within_the_budget(hung_node: str) -> None:
    chain = Web3Chain(hung_node, 31337, timeout=BUDGET_S)
    started = time.monotonic()
    with pytest.raises(ChainUnavailable):
        chain.send_raw(b"\x02" + bytes(100))  # allow-listed for web3's retries by default
    assert time.monotonic() - started < BUDGET_S + MARGIN_S


def test_a_payment_check_of_several_calls_costs_one_budget_on_a_hung_node(hung_node: str) -> None:
    chain = Web3Chain(hung_node, 31337, timeout=BUDGET_S)
    expected = Expected(TX, sender=ADDR, recipient=ADDR, asset="native", min_amount=1)
    started = time.monotonic()
    with pytest.raises(ChainUnavailable):
        verify_payment(chain, expected, 2)
    with pytest.raises(ChainUnavailable):
        chain.block_number()  # still within the cool-down: fails at once
    assert time.monotonic() - started < BUDGET_S + MARGIN_S


def test_health_answers_within_the_budget_when_the_node_hangs(
    hung_node: str, moto_client: object
) -> None:
    import app

    settings = load_settings(
        {
            "TABLE_NAME": "settlekit-test",
            "CHAIN_RPC_URL": hung_node,
            "RPC_TIMEOUT_SECONDS": str(BUDGET_S),
        }
    )
    rt = Runtime(settings, dynamodb_client=moto_client)
    assert isinstance(rt.store, DynamoStore)
    set_runtime(rt)
    try:
        with Client(app.app) as client:
            started = time.monotonic()
            resp = client.http.get("/v1/health")
            took = time.monotonic() - started
    finally:
        set_runtime(None)
    assert resp.status_code == 200
    assert resp.json_body["chain"] == "unreachable"
    assert took < BUDGET_S + MARGIN_S
