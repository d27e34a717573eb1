"""Payout engine figures on the local node: throughput, DynamoDB requests per payout, gas.

Starts its own serialized store and hardhat node on free loopback ports, queues 200 native
payouts and drives them to confirmed, then sends 200 plain transfers with web3 alone as the
baseline. Throughput is printed as a ratio to that baseline (the machine's speed cancels out).
"""

from __future__ import annotations

import secrets
import time
from collections import Counter

import boto3
from eth_account import Account
from web3 import Web3

from bench.counting import WRITES, count_requests, split
from bench.stack import store_and_chain
from chalicelib.core.outbox import finalize
from chalicelib.core.outbox.confirmer import confirm_pass
from chalicelib.core.outbox.engine import with_run
from chalicelib.core.outbox.intents import make_intent, request_payout
from chalicelib.core.outbox.purposes import register_owner
from chalicelib.core.outbox.sender import send_pass
from chalicelib.core.runtime import Runtime
from chalicelib.core.settings import load_settings
from chalicelib.core.table import ensure_table
from chalicelib.core.wallets import FAUCET
from local import bootstrap

PAYOUTS = 200
AMOUNT = 10**15
CONFIRMATIONS = 2


def main() -> None:
    with store_and_chain() as (store_url, rpc_url):
        run(store_url, rpc_url)


def run(store_url: str, rpc_url: str) -> None:
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    client = boto3.client("dynamodb", endpoint_url=store_url, region_name="us-east-1")
    ensure_table(client, "bench")
    key = "0x" + secrets.token_hex(32)
    bootstrap.fund_native(w3, Account.from_key(key).address, 100 * 10**18)
    settings = load_settings({
        "TABLE_NAME": "bench", "CHAIN_RPC_URL": rpc_url, "SIGNER_PRIVATE_KEY": key,
        "CONFIRMATIONS": str(CONFIRMATIONS), "LEASE_TTL_MS": "600000",
    })
    rt = Runtime(settings, dynamodb_client=client)
    finalize.register_finalizer("bench", lambda rt, payout: None)
    register_owner("bench", FAUCET)
    recipients = w3.eth.accounts[1:10]
    steps: dict[str, Counter[str]] = {}

    with count_requests(client) as steps["request"]:
        for i in range(PAYOUTS):
            intent = make_intent(
                f"bench:{i}", "native", recipients[i % 9], AMOUNT, "bench", str(i), purpose=FAUCET
            )
            request_payout(rt.store, intent, rt.clock.now_ms())
    started = time.perf_counter()
    with count_requests(client) as steps["send"]:
        with_run(rt, rt.clock.now_ms() + 600_000, send_pass)
    engine_s = time.perf_counter() - started
    w3.provider.make_request("hardhat_mine", [hex(CONFIRMATIONS)])
    with count_requests(client) as steps["confirm"]:
        with_run(rt, rt.clock.now_ms() + 600_000, confirm_pass)
    with count_requests(client) as steps["finalize"]:
        finalize.run_finalizers(rt, rt.clock.now_ms() + 600_000)
    confirmed, _ = rt.store.query_work("payouts#confirmed", limit=1000)

    baseline_s = plain_transfers(w3, recipients)
    gas = [w3.eth.get_transaction_receipt(p["tx_hash"])["gasUsed"] for p in confirmed[:5]]

    print(f"payouts confirmed: {len(confirmed)}/{PAYOUTS}")
    print(f"sender run: {PAYOUTS / engine_s:.0f} payouts/s; web3-only script: "
          f"{PAYOUTS / baseline_s:.0f} transfers/s; "
          f"ratio engine/plain = {baseline_s / engine_s:.2f}")
    total_w = total_r = total_q = 0
    for name, counts in steps.items():
        w, r = split(counts)
        total_w, total_r = total_w + w, total_r + r
        total_q += sum(n for op, n in counts.items() if op in WRITES)
        print(f"  {name:9s} {w / PAYOUTS:5.2f} writes, {r / PAYOUTS:5.2f} reads per payout  "
              f"{dict(counts)}")
    print(f"DynamoDB per payout, intent to confirmed: {total_q / PAYOUTS:.2f} write requests, "
          f"{total_r / PAYOUTS:.2f} read requests (target <= 5 and <= 5)")
    print(f"  counting every item a transaction writes: {total_w / PAYOUTS:.2f} item writes")
    print(f"gas per native payout: {gas[0]} (floor 21000)")


def plain_transfers(w3: Web3, recipients: list[str]) -> float:
    """The same 200 transfers, signed and sent in a loop with web3 alone."""
    key = "0x" + secrets.token_hex(32)
    account = Account.from_key(key)
    bootstrap.fund_native(w3, account.address, 100 * 10**18)
    nonce = w3.eth.get_transaction_count(account.address)
    started = time.perf_counter()
    block = w3.eth.get_block("latest")
    tip = w3.eth.max_priority_fee
    for i in range(PAYOUTS):
        tx = {
            "type": 2, "chainId": w3.eth.chain_id, "nonce": nonce + i, "to": recipients[i % 9],
            "value": AMOUNT, "gas": 21_000, "maxFeePerGas": 2 * block["baseFeePerGas"] + tip,
            "maxPriorityFeePerGas": tip,
        }
        w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
