"""Signing a payout through KMS (moto on the local store server) vs with a local key.

Starts its own serialized store server (which answers KMS too, as on `make dev`), signs the same
EIP-1559 payout transactions with both signers, and prints the time per payout as a ratio (the
machine's speed cancels out) and the number of KMS `Sign` calls per transaction attempt. AWS
adds its own latency per `Sign` call (a network round trip), which this figure cannot show.
"""

from __future__ import annotations

import os
import secrets
import statistics
import time
from collections import Counter
from typing import Any

import boto3

from chalicelib.core.signer import HotSigner, KmsSigner, LocalKeySigner
from local import processes

PAYOUTS = 200


def payout_tx(nonce: int) -> dict[str, Any]:
    return {
        "type": 2,
        "chainId": 31337,
        "nonce": nonce,
        "to": "0x" + "22" * 20,
        "value": 10**15,
        "data": "0x",
        "gas": 21_000,
        "maxFeePerGas": 3 * 10**9,
        "maxPriorityFeePerGas": 10**9,
    }


def per_payout_ms(signer: HotSigner) -> float:
    times = []
    for nonce in range(PAYOUTS):
        start = time.perf_counter()
        signer.sign_transaction(payout_tx(nonce))
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    store_child, store_url = processes.start_store(processes.free_port())
    try:
        kms = boto3.client("kms", endpoint_url=store_url, region_name="us-east-1")
        key_id = kms.create_key(KeySpec="ECC_SECG_P256K1", KeyUsage="SIGN_VERIFY")[
            "KeyMetadata"
        ]["KeyId"]
        calls: Counter[str] = Counter()

        def count(model: Any, **_: Any) -> None:
            calls[model.name] += 1

        kms.meta.events.register("before-call.kms", count)
        kms_signer = KmsSigner(kms, key_id)
        _ = kms_signer.address  # GetPublicKey once per container, not per payout
        local_ms = per_payout_ms(LocalKeySigner("0x" + secrets.token_hex(32)))
        kms_ms = per_payout_ms(kms_signer)
    finally:
        store_child.stop()
    print(f"signing per payout (median of {PAYOUTS}): local key {local_ms:.2f} ms, "
          f"KMS on moto {kms_ms:.2f} ms")
    print(f"KMS/local ratio: {kms_ms / local_ms:.1f}x (AWS adds one network round trip per Sign)")
    print(f"KMS calls: Sign {calls['Sign']} for {PAYOUTS} transactions "
          f"({calls['Sign'] / PAYOUTS:.0f} per attempt), GetPublicKey {calls['GetPublicKey']}")


if __name__ == "__main__":
    main()
