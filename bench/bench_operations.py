"""Operations figures: head-of-line blocking by an unfundable payout, and requests against a hung
chain node.

1. Time from an unfundable intent's arrival to the confirmation of a fundable one queued right
   after it, against the same fundable payout with no unfundable intent ahead (target: equal).
   Runs on its own serialized store and hardhat node; one engine tick per mined block. Each
   measurement starts with nothing left to watch (earlier payouts are made final first) and the
   two cases alternate A-B-B-A, so neither carries the other's leftovers or the machine's drift.
2. The longest request time while the chain node accepts connections and never answers
   (target: <= RPC_TIMEOUT_SECONDS + 1 s), over the routes that ask the chain.
"""

from __future__ import annotations

import secrets
import statistics
import time
from collections import Counter

import boto3
from eth_account import Account
from web3 import Web3

from bench import stack
from bench.counting import count_requests
from chalicelib.core import payments
from chalicelib.core.clock import Clock
from chalicelib.core.outbox import finalize
from chalicelib.core.outbox.intents import make_intent, request_payout
from chalicelib.core.outbox.jobs import run_engine
from chalicelib.core.outbox.model import payout_key
from chalicelib.core.outbox.purposes import register_owner
from chalicelib.core.outbox.service import cancel_payout
from chalicelib.core.runtime import Runtime, set_runtime
from chalicelib.core.settings import load_settings
from chalicelib.core.table import ensure_table
from chalicelib.core.wallets import FAUCET
from local import bootstrap

ROUNDS = 10
# Concluded payouts are watched until final; a shallow depth lets them leave between rounds.
FINALITY_DEPTH = 3
RPC_TIMEOUT_S = 2.0


def main() -> None:
    with stack.store_and_chain() as (store_url, rpc_url):
        head_of_line(store_url, rpc_url)
        hung_node(store_url)


def head_of_line(store_url: str, rpc_url: str) -> None:
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    client = boto3.client("dynamodb", endpoint_url=store_url, region_name="us-east-1")
    ensure_table(client, "bench-hol")
    key = "0x" + secrets.token_hex(32)
    bootstrap.fund_native(w3, Account.from_key(key).address, 100 * 10**18)
    settings = load_settings({
        "TABLE_NAME": "bench-hol", "CHAIN_RPC_URL": rpc_url, "SIGNER_PRIVATE_KEY": key,
        "CONFIRMATIONS": "2", "FINALITY_DEPTH": str(FINALITY_DEPTH),
    })
    rt = Runtime(settings, clock=Clock(), dynamodb_client=client)
    finalize.register_finalizer("bench", lambda rt, payout: None)
    register_owner("bench", FAUCET)
    to = w3.eth.accounts[1]
    # Requests per engine pass, by case: deterministic, where times on a busy machine are not.
    counts: dict[bool, Counter[str]] = {False: Counter(), True: Counter()}
    provider = rt.chain.w3.provider  # type: ignore[union-attr]
    plain = provider.make_request

    def counted(method: str, params: object) -> object:
        if case is not None:
            counts[case]["chain RPC"] += 1
        return plain(method, params)

    provider.make_request = counted
    case: bool | None = None  # the case being measured, None between measurements

    def until_confirmed(pid: str, blocked: bool) -> float:
        started = time.perf_counter()
        for _ in range(50):
            with count_requests(client) as store:
                run_engine(rt, rt.clock.now_ms() + 60_000)
            counts[blocked]["store"] += sum(n for op, n in store.items() if op[0].isupper())
            counts[blocked]["passes"] += 1
            payout = rt.store.get(**payout_key(pid))
            if payout is not None and payout["status"] == "confirmed":
                return time.perf_counter() - started
            w3.provider.make_request("hardhat_mine", ["0x1"])
        raise RuntimeError("the fundable payout never confirmed")

    def settle() -> None:
        """Make every earlier payout final, so the measured passes watch nothing else."""
        w3.provider.make_request("hardhat_mine", [hex(FINALITY_DEPTH + 1)])
        run_engine(rt, rt.clock.now_ms() + 60_000)

    def one(i: int, blocked: bool) -> float:
        nonlocal case
        settle()
        case = blocked
        big = make_intent(f"big:{i}", "native", to, 10**24, "bench", f"big{i}", purpose=FAUCET)
        if blocked:  # more than the wallet will ever hold: it waits for funds
            request_payout(rt.store, big, rt.clock.now_ms())
        small = make_intent(
            f"small:{blocked}:{i}", "native", to, 10**15, "bench", f"s{i}", purpose=FAUCET
        )
        request_payout(rt.store, small, rt.clock.now_ms())
        took = until_confirmed(small.id, blocked)
        case = None
        if blocked:
            cancel_payout(rt, big.id)  # one unfundable intent per round, not a growing pile
        return took

    alone: list[float] = []
    behind: list[float] = []
    for i in range(ROUNDS):  # A-B-B-A, so the machine's drift hits both alike
        for blocked in ((False, True) if i % 2 == 0 else (True, False)):
            (behind if blocked else alone).append(one(i, blocked))
    print(f"fundable payout, intent to confirmed, median of {ROUNDS}: "
          f"alone {statistics.median(alone) * 1000:.0f} ms; queued behind an unfundable one "
          f"{statistics.median(behind) * 1000:.0f} ms "
          f"(ratio {statistics.median(behind) / statistics.median(alone):.2f}, target 1)")
    for blocked, name in ((False, "alone"), (True, "behind an unfundable one")):
        c = counts[blocked]
        passes = c["passes"]
        print(f"  {name}: {passes / ROUNDS:.1f} engine passes to confirmed; per pass "
              f"{c['store'] / passes:.1f} store requests, {c['chain RPC'] / passes:.1f} chain RPC")


def hung_node(store_url: str) -> None:


    with stack.hung_node() as rpc_url:
        times = _hung_request_times(store_url, rpc_url)
    worst = max(times, key=lambda n: times[n])
    print(f"hung chain node, RPC_TIMEOUT_SECONDS={RPC_TIMEOUT_S:g}: longest {worst} "
          f"{times[worst]:.2f} s (target <= {RPC_TIMEOUT_S + 1:g} s); "
          + ", ".join(f"{n} {t:.2f} s" for n, t in times.items()))


def _hung_request_times(store_url: str, rpc_url: str) -> dict[str, float]:
    """Each request's time with the chain node at `rpc_url` hanging."""
    from chalice.test import Client

    import app

    client = boto3.client("dynamodb", endpoint_url=store_url, region_name="us-east-1")
    ensure_table(client, "bench-hung")
    settings = load_settings({
        "TABLE_NAME": "bench-hung",
        "CHAIN_RPC_URL": rpc_url,
        "SIGNER_PRIVATE_KEY": "0x" + secrets.token_hex(32),
        "RPC_TIMEOUT_SECONDS": str(RPC_TIMEOUT_S),
    })
    rt = Runtime(settings, dynamodb_client=client)
    expected = payments.Expected("0x" + "ab" * 32, "0x" + "11" * 20, "0x" + "22" * 20,
                                 "native", 1)
    set_runtime(rt)
    times: dict[str, float] = {}
    try:
        with Client(app.app) as http:
            for name, call in (
                ("GET /v1/health", lambda: http.http.get("/v1/health")),
                ("GET /v1/info", lambda: http.http.get("/v1/info")),
                ("payment check", lambda: _refused(lambda: payments.verify_payment(
                    rt.chain, expected, 2))),
                ("engine tick", lambda: run_engine(rt, rt.clock.now_ms() + 60_000)),
            ):
                time.sleep(RPC_TIMEOUT_S)  # each starts with the node not yet known to hang
                started = time.perf_counter()
                call()
                times[name] = time.perf_counter() - started
    finally:
        set_runtime(None)
    return times


def _refused(call: object) -> None:
    from chalicelib.core.chain import ChainUnavailable

    try:
        call()  # type: ignore[operator]
    except ChainUnavailable:
        pass


if __name__ == "__main__":
    main()
