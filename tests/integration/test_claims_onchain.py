"""Claims and drips on the hardhat node: crashes, a killed job runner, reverted payouts.

Each test asserts what arrived on chain (balances, the hot wallet's nonce) as well as what the
store says, after the failure and after recovery.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import chalicelib.faucet.finalizer  # noqa: F401 - registers the drip and claim finalizers
from chalicelib.core import failpoints
from chalicelib.core.clock import iso
from chalicelib.core.errors import Conflict
from chalicelib.core.failpoints import InjectedCrash
from chalicelib.core.outbox.model import finalize_key, payout_key
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import DynamoStore
from chalicelib.faucet import batches, claims, drips, events
from chalicelib.faucet.keys import claim_key, code_key
from local import bootstrap
from local.processes import ROOT
from tests.conftest import START_MS
from tests.integration.payouts import (
    balance,
    hot,
    mine,
    new_address,
    nonce_of,
    tick,
)
from tests.integration.test_payout_crashes import SENDER_POINTS

AMOUNT = 7 * 10**18
IP = "198.51.100.20"


@pytest.fixture
def rt(payout_rt: Runtime) -> Runtime:
    """The engine's runtime with events on and one drip per wallet per hour."""
    settings = dataclasses.replace(
        payout_rt.settings, events_enabled=True, drip_max_requests=1, drip_window_seconds=3600,
        drip_amount="7",
    )
    return Runtime(settings, clock=payout_rt.clock, dynamodb_client=payout_rt.store.client)


def one_code(rt: Runtime) -> str:
    event = events.create_event(rt, {"name": "onchain", "amount": "7",
                                     "expires_at": iso(START_MS + 86_400_000)})
    return str(batches.create_codes(rt, event["id"], {"count": 1})[0]["codes"][0])


def claim(rt: Runtime, code: str, wallet: str) -> tuple[int, dict[str, Any]]:
    return claims.claim_code(rt, {"code": code, "wallet": wallet}, IP)


def settle(rt: Runtime, w3: Any, rounds: int = 3) -> None:
    """Let the engine send, follow to depth and finalize whatever is due."""
    for _ in range(rounds):
        tick(rt)
        mine(w3, 1)
    tick(rt)


def code_state(rt: Runtime, code: str) -> str:
    return str(rt.store.get(**code_key(code))["state"])


@pytest.mark.parametrize("point", [*SENDER_POINTS, "during_finalize"])
def test_a_crash_anywhere_between_claim_and_confirmation_pays_the_code_exactly_once(
    rt: Runtime, w3: Any, token_address: str, point: str
) -> None:
    code, wallet = one_code(rt), new_address()
    status, body = claim(rt, code, wallet)
    assert status == 202
    with failpoints.armed(point), pytest.raises(InjectedCrash):
        settle(rt, w3, rounds=4)
    assert code_state(rt, code) in ("claimed", "paid")
    settle(rt, w3)
    assert code_state(rt, code) == "paid"
    assert rt.store.get(**claim_key(code, 1))["status"] == "paid"
    payout = rt.store.get(**payout_key(body["payout_id"]))
    assert payout["status"] == "confirmed" and len(payout["attempts"]) == 1
    assert rt.store.get(**finalize_key(body["payout_id"])) is None
    assert balance(w3, token_address, wallet) == AMOUNT
    assert nonce_of(w3, hot(rt)) == 1
    with pytest.raises(Conflict) as refused:
        claim(rt, code, new_address())
    assert refused.value.code == "already_claimed"
    settle(rt, w3)
    assert balance(w3, token_address, wallet) == AMOUNT


class JobRunner:
    """`python -m local.jobs_loop` (what `make dev` runs) against the test store and chain."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "local.jobs_loop"], cwd=ROOT, env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture
def runner(rt: Runtime, store_server: str, served_store: DynamoStore) -> Iterator[JobRunner]:
    s = rt.settings
    env = {
        **os.environ,
        "TABLE_NAME": served_store.table,
        "DYNAMODB_ENDPOINT_URL": store_server,
        "CHAIN_RPC_URL": s.chain_rpc_url or "",
        "SIGNER_PRIVATE_KEY": s.signer_private_key or "",
        "TOKEN_ADDRESS": s.token_address or "",
        "CONFIRMATIONS": str(s.confirmations),
        "EVENTS_ENABLED": "true",
        # The killed runner's lease must free up quickly for the restarted one.
        "LEASE_TTL_MS": "1000",
    }
    job = JobRunner(env)
    yield job
    job.kill()


def wait_for(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def test_killing_the_job_runner_mid_payout_still_pays_the_code_exactly_once(
    rt: Runtime, w3: Any, token_address: str, runner: JobRunner
) -> None:
    code, wallet = one_code(rt), new_address()
    pid = claim(rt, code, wallet)[1]["payout_id"]

    def payout_status() -> str:
        return str(rt.store.get(**payout_key(pid))["status"])

    runner.start()
    wait_for(lambda: payout_status() == "broadcast")  # sent, but no block built on it yet
    runner.kill()
    assert code_state(rt, code) == "claimed"
    mine(w3, 2)
    runner.start()
    wait_for(lambda: code_state(rt, code) == "paid")
    runner.kill()
    assert payout_status() == "confirmed"
    assert balance(w3, token_address, wallet) == AMOUNT
    assert nonce_of(w3, hot(rt)) == 1


def test_a_reverted_claim_payout_releases_the_code_and_the_retry_pays_once(
    rt: Runtime, w3: Any, token_address: str
) -> None:
    token = bootstrap.token(w3, token_address)
    code, wallet = one_code(rt), new_address()
    token.functions.set_paused(True).transact({"from": w3.eth.accounts[0]})
    first = claim(rt, code, wallet)[1]
    settle(rt, w3)
    assert rt.store.get(**payout_key(first["payout_id"]))["status"] == "failed"
    assert code_state(rt, code) == "available"
    shown = claims.claim_status(rt, code, IP)
    assert (shown["status"], shown["claimable"]) == ("failed", True)
    assert balance(w3, token_address, wallet) == 0

    token.functions.set_paused(False).transact({"from": w3.eth.accounts[0]})
    status, retry = claim(rt, code, wallet)  # the wallet's allowance was given back
    assert status == 202 and retry["attempt"] == 2
    assert retry["payout_id"] != first["payout_id"]
    settle(rt, w3)
    assert code_state(rt, code) == "paid"
    assert balance(w3, token_address, wallet) == AMOUNT
    assert nonce_of(w3, hot(rt)) == 2  # the reverted attempt and the one that paid
    assert [rt.store.get(**claim_key(code, n))["status"] for n in (1, 2)] == ["failed", "paid"]


def test_a_reverted_drip_gives_its_quota_back_and_the_next_drip_pays_once(
    rt: Runtime, w3: Any, token_address: str
) -> None:
    token = bootstrap.token(w3, token_address)
    wallet = new_address()
    token.functions.set_paused(True).transact({"from": w3.eth.accounts[0]})
    first = drips.request_drip(rt, {"wallet": wallet}, IP)
    with pytest.raises(drips.DripRateLimited):
        drips.request_drip(rt, {"wallet": wallet}, IP)
    settle(rt, w3)
    assert rt.store.get(**payout_key(first["payout_id"]))["status"] == "failed"

    token.functions.set_paused(False).transact({"from": w3.eth.accounts[0]})
    drips.request_drip(rt, {"wallet": wallet}, IP)
    settle(rt, w3)
    assert balance(w3, token_address, wallet) == AMOUNT
    figures = drips.faucet_status(rt)["totals"]
    assert figures == {"drips": 2, "amount": "7", "confirmed": 1, "failed": 1}
    with pytest.raises(drips.DripRateLimited):
        drips.request_drip(rt, {"wallet": wallet}, IP)
