"""Escrow lane figure: time for an OTC settlement to confirm while the faucet has a queue.

Starts its own serialized store and hardhat node on free loopback ports, runs the service with
three wallets (escrow, faucet, anchor), and times, from the match to the order `completed`, an
OTC trade whose two legs are paid from escrow: once with an idle faucet, once with 200 faucet
claims queued at the same moment. The jobs run as the local loop runs them: each payout lane
(escrow, faucet, anchor) in a thread of its own, the other jobs in ticks (one tick, then a
block), at a short interval. Target: the same time, and the same number of ticks, as with an
idle faucet.
"""

from __future__ import annotations

import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script or a module

import boto3  # noqa: E402
from eth_account import Account  # noqa: E402
from web3 import Web3  # noqa: E402

from bench.stack import store_and_chain  # noqa: E402
from chalicelib import jobs  # noqa: E402
from chalicelib.core import signing  # noqa: E402
from chalicelib.core.outbox import finalize  # noqa: E402
from chalicelib.core.outbox.intents import intent_item, make_intent  # noqa: E402
from chalicelib.core.outbox.model import requested_queue  # noqa: E402
from chalicelib.core.outbox.purposes import register_owner  # noqa: E402
from chalicelib.core.runtime import Runtime  # noqa: E402
from chalicelib.core.settings import load_settings  # noqa: E402
from chalicelib.core.table import ensure_table  # noqa: E402
from chalicelib.core.wallets import FAUCET  # noqa: E402
from chalicelib.otc import matching, orders  # noqa: E402
from chalicelib.otc import signatures as _signatures  # noqa: E402, F401 - registers the actions
from local import bootstrap, jobs_loop  # noqa: E402

QUEUED = 200
INTERVAL_S = 0.2  # the loop's 2 s, shortened so the figure is mostly chain and engine work
UNIT = 10**18
KEYS = {  # the hardhat node's well-known accounts #1 and #2 (public test keys)
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8":
        "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC":
        "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
}
ALICE, BOB = list(KEYS)
IP = "192.0.2.1"
BENCH_OWNER = "bench_claims"
register_owner(BENCH_OWNER, FAUCET)
finalize.register_finalizer(BENCH_OWNER, lambda rt, payout: None)


def main() -> None:
    with store_and_chain() as (store_url, rpc_url):
        w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 60}))
        token = bootstrap.deploy(w3, "TestToken", "Settlekit Test Token", "SKT", 18)
        bootstrap.mint(w3, token, ALICE, 10_000 * UNIT)
        client = boto3.client("dynamodb", endpoint_url=store_url, region_name="us-east-1")
        idle = scenario(w3, client, rpc_url, token, "idle", queued=0)
        busy = scenario(w3, client, rpc_url, token, "busy", queued=QUEUED)
    print("OTC settlement, match -> completed (2 escrow legs, CONFIRMATIONS=2):")
    print(f"  idle faucet              {idle[0]:6.2f} s  {idle[1]} ticks")
    print(f"  {QUEUED} claims queued        {busy[0]:6.2f} s  {busy[1]} ticks"
          f"  (faucet sent {busy[2]} of them meanwhile)")
    print(f"  ratio busy/idle          {busy[0] / idle[0]:6.2f}")


def runtime(w3: Any, client: Any, rpc_url: str, token: str, table: str) -> Runtime:
    ensure_table(client, table)
    keys = {p: "0x" + secrets.token_hex(32) for p in ("ESCROW", "FAUCET", "ANCHOR")}
    for key in keys.values():
        bootstrap.fund_native(w3, Account.from_key(key).address, 100 * UNIT)
    bootstrap.mint(w3, token, Account.from_key(keys["FAUCET"]).address, 1_000_000 * UNIT)
    settings = load_settings({
        "TABLE_NAME": table, "CHAIN_RPC_URL": rpc_url, "TOKEN_ADDRESS": token,
        **{f"{p}_PRIVATE_KEY": k for p, k in keys.items()},
        "CONFIRMATIONS": "2", "LEASE_TTL_MS": "600000", "DRIP_MAX_REQUESTS": "100",
        "OTC_WALLET_RATE_MAX": "0", "OTC_IP_RATE_MAX": "0",
    })
    return Runtime(settings, dynamodb_client=client)


def signed(rt: Runtime, action: str, fields: dict[str, Any], oid: str | None = None) -> Any:
    act = signing.get_action(action)
    deadline = rt.clock.now_ms() // 1000 + 300
    message = {act.path_field: oid} if act.path_field else {}
    message.update({f.name: fields.get(f.name, None if f.required else f.default)
                    for f in act.fields})
    message["deadline"] = deadline
    key = KEYS[fields[act.signer_field]]
    return {**fields, "deadline": deadline,
            "signature": signing.sign(rt.settings, act, message, key)}


def deposit(w3: Any, rt: Runtime, sender: str, asset: str, amount: int) -> str:
    escrow = rt.wallets.address("escrow")
    if asset == "native":
        tx = w3.eth.send_transaction({"from": sender, "to": escrow, "value": amount})
    else:
        tx = bootstrap.token(w3, asset).functions.transfer(escrow, amount).transact(
            {"from": sender})
    w3.eth.wait_for_transaction_receipt(tx)
    w3.provider.make_request("hardhat_mine", ["0x2"])
    return "0x" + bytes(tx).hex()


def scenario(
    w3: Any, client: Any, rpc_url: str, token: str, name: str, queued: int
) -> tuple[float, int, int]:
    rt = runtime(w3, client, rpc_url, token, f"bench-escrow-{name}")
    for i in range(queued):  # queued as the claim flow queues them: an intent each
        intent = make_intent(f"bench:{name}:{i}", token, "0x" + secrets.token_hex(20), 10 * UNIT,
                             BENCH_OWNER, str(i), purpose=FAUCET)
        rt.store.put(intent_item(intent, rt.clock.now_ms()))
    maker_tx = deposit(w3, rt, ALICE, token, 100 * UNIT)
    body = {"maker": ALICE, "pair": "SKT/ETH", "side": "sell", "amount": "100", "price": "0.01",
            "ttl_seconds": 3600, "deposit_tx": maker_tx}
    oid = orders.create_order(rt, signed(rt, "create_order", body), IP)["id"]
    taker_tx = deposit(w3, rt, BOB, "native", UNIT)
    started = time.perf_counter()
    matching.match_order(
        rt, oid, signed(rt, "match_order", {"taker": BOB, "deposit_tx": taker_tx}, oid), IP)
    stop = threading.Event()
    lanes = jobs_loop.start_lanes(rt, stop, INTERVAL_S)
    ticks = 0
    try:
        while orders.load(rt, oid)["status"] != "completed":
            tick_started = time.monotonic()
            jobs.run_tick(rt, rt.clock.now_ms() + 60_000, jobs.LANELESS_JOBS)
            w3.provider.make_request("evm_mine", [])
            ticks += 1
            if ticks > 200:
                raise RuntimeError("the settlement did not complete in 200 ticks")
            time.sleep(max(0.0, INTERVAL_S - (time.monotonic() - tick_started)))
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
        for lane in lanes:
            lane.join()
    left = sum(1 for _ in rt.store.iter_work(requested_queue(FAUCET)))
    return elapsed, ticks, queued - left


if __name__ == "__main__":
    main()
