"""Faucet figures: DynamoDB requests per claim, per drip and per 500-code batch; claims/second.

Runs in-process on moto through `chalice.test.Client` (the whole HTTP path: routing, middleware,
validation, the store). No chain: the payouts stay `requested`, which is what the request path
writes. moto runs with the local store's adapters installed, as in the tests and `make dev`
(`local.moto_transactions`: stock moto deep-copies the whole table for every item of every
transaction). Claims/s on a full table, with the target, is `bench.bench_local_store`.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script or a module

import boto3  # noqa: E402
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

import app  # noqa: E402
from bench.counting import count_requests, split  # noqa: E402
from chalicelib.core.clock import iso  # noqa: E402
from chalicelib.core.runtime import Runtime, set_runtime  # noqa: E402
from chalicelib.core.settings import load_settings  # noqa: E402
from chalicelib.core.table import ensure_table  # noqa: E402
from local import moto_transactions  # noqa: E402

CLAIMS = 100
ADMIN = "bench-admin-token-0123456789"
HEADERS = {"Content-Type": "application/json", "Authorization": f"Bearer {ADMIN}"}


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    moto_transactions.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        try:
            batch_cost(client, runtime(client, "bench-batch"))
            claim_costs(client, runtime(client, "bench-claims"))
        finally:
            set_runtime(None)


def runtime(client: Any, table: str) -> Runtime:
    """A fresh table with the faucet's settings, and the runtime the routes use."""
    ensure_table(client, table)
    settings = load_settings({
        "TABLE_NAME": table, "TOKEN_ADDRESS": "0x" + "ab" * 20, "ADMIN_TOKEN": ADMIN,
        "EVENTS_ENABLED": "true", "DRIP_MAX_REQUESTS": "100",
    })
    rt = Runtime(settings, dynamodb_client=client)
    set_runtime(rt)
    return rt


def post(http: Any, path: str, body: dict[str, Any]) -> Any:
    resp = http.post(path, body=json.dumps(body), headers=HEADERS)
    assert resp.status_code in (200, 201, 202), (path, resp.status_code, resp.body)
    return resp.json_body


def describe(name: str, counts: Counter[str], per: int = 1) -> None:
    writes, reads = split(counts)
    requests = sum(n for op, n in counts.items() if op != "items_in_transactions")
    detail = {k: round(v / per, 2) for k, v in counts.items()}
    print(f"  {name:32s} {requests / per:5.2f} requests = {detail}  "
          f"({writes / per:.2f} item writes, {reads / per:.2f} reads)")


def new_event(http: Any, rt: Runtime) -> str:
    expires = iso(rt.clock.now_ms() + 7 * 86_400_000)
    body = {"name": "bench", "amount": "1", "expires_at": expires}
    return str(post(http, "/v1/events", body)["id"])


def batch_cost(client: Any, rt: Runtime) -> None:
    http = Client(app.app).http
    event_id = new_event(http, rt)
    with count_requests(client) as batch:
        started = time.perf_counter()
        post(http, f"/v1/events/{event_id}/codes", {"count": 500})
        elapsed = time.perf_counter() - started
    print("DynamoDB requests per 500-code batch (transactions of <= 100 items)")
    describe("POST /v1/events/{id}/codes", batch)
    print(f"  {'':32s} {split(batch)[0] / 500:.3f} item writes per code; {elapsed:.1f} s on moto")


def claim_costs(client: Any, rt: Runtime) -> None:
    http = Client(app.app).http
    event_id = new_event(http, rt)
    codes = post(http, f"/v1/events/{event_id}/codes", {"count": CLAIMS})["codes"]
    wallets = ["0x" + secrets.token_hex(20) for _ in range(CLAIMS)]
    in_store = [0.0]

    def timed(send: Any) -> Any:
        def call(method: str, **request: Any) -> Any:
            started = time.perf_counter()
            try:
                return send(method, **request)
            finally:
                in_store[0] += time.perf_counter() - started

        return call

    # Time spent inside moto: reads and single writes (_raw), transactions (_write).
    rt.store._raw = timed(rt.store._raw)  # type: ignore[method-assign]
    rt.store._write = timed(rt.store._write)  # type: ignore[method-assign]
    with count_requests(client) as claims:
        started = time.perf_counter()
        for code, wallet in zip(codes, wallets, strict=True):
            post(http, "/v1/claims", {"code": code, "wallet": wallet})
        elapsed = time.perf_counter() - started
    store_s = in_store[0]
    with count_requests(client) as again:
        post(http, "/v1/claims", {"code": codes[1], "wallet": wallets[1]})
    with count_requests(client) as miss:
        http.post("/v1/claims", body=json.dumps({"code": "NOPE", "wallet": wallets[0]}),
                  headers=HEADERS)
    with count_requests(client) as drip:
        post(http, "/v1/faucet/drip", {"wallet": wallets[0]})
    with count_requests(client) as status:
        http.get("/v1/faucet/status")
    with count_requests(client) as shown:
        http.get(f"/v1/events/{event_id}", headers=HEADERS)

    print("DynamoDB requests on the request path (target for a claim: one transaction)")
    describe(f"claim (mean of {CLAIMS})", claims, CLAIMS)
    describe("claim again, same wallet (200)", again)
    describe("unknown code (404)", miss)
    describe("drip", drip)
    describe("faucet status", status)
    describe("event with its counts", shown)
    items = client.describe_table(TableName=rt.settings.table_name)["Table"]["ItemCount"]
    print(f"claims per second through chalice.test.Client on moto in-process: "
          f"{CLAIMS / elapsed:.1f} ({CLAIMS} claims, table grew to {items} items)")
    print(f"  of which inside moto: {store_s / elapsed:.0%}; everything else (routing, "
          f"validation, building the transaction): {(elapsed - store_s) / CLAIMS * 1000:.1f} ms "
          f"per claim = {CLAIMS / max(elapsed - store_s, 1e-9):.0f} claims/s without the store")


if __name__ == "__main__":
    main()
