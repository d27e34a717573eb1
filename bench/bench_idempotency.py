"""What resolving lost answers costs: DynamoDB requests on the happy path, and after a fault.

The read-back rule (core/commits.py) reads a transaction's commit marker only after an ambiguous
failure. Target: it adds no request on the happy path. The marker is one more item in each
transaction (billed as a transactional write), which this also prints. Runs in-process on moto
through `chalice.test.Client`; store faults come from tests/store_faults.py.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script or a module

import boto3  # noqa: E402
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

import app  # noqa: E402
from bench.counting import count_requests  # noqa: E402
from chalicelib.core.clock import iso  # noqa: E402
from chalicelib.core.runtime import Runtime, set_runtime  # noqa: E402
from chalicelib.core.settings import load_settings  # noqa: E402
from chalicelib.core.table import ensure_table  # noqa: E402
from tests.store_faults import FAULTS, FaultyClient, every  # noqa: E402

ADMIN = "bench-admin-token-0123456789"
HEADERS = {"Content-Type": "application/json", "Authorization": f"Bearer {ADMIN}"}


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    logging.getLogger("settlekit").disabled = True  # the figures only
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        try:
            print("DynamoDB requests per request; read-backs = GetItem of a commit marker")
            print(f"  {'':34s} {'requests':>8s} {'read-backs':>10s} {'txn items':>9s}")
            for fault in (None, *sorted(FAULTS)):
                run(client, fault)
        finally:
            set_runtime(None)


def run(client: Any, fault: str | None) -> None:
    table = f"bench-idem-{fault or 'none'}"
    ensure_table(client, table)
    settings = load_settings({
        "TABLE_NAME": table, "TOKEN_ADDRESS": "0x" + "ab" * 20, "ADMIN_TOKEN": ADMIN,
        "EVENTS_ENABLED": "true", "DRIP_MAX_REQUESTS": "100",
    })
    faulty: FaultyClient | None = FAULTS[fault](client, every(1)) if fault else None
    if fault == "lost_timeout" and faulty is not None:
        faulty = FAULTS[fault](client, every(2))  # else nothing ever commits
    rt = Runtime(settings, dynamodb_client=faulty or client)
    set_runtime(rt)
    http = Client(app.app).http
    if faulty:
        faulty.active = False
    event_id = post(http, "/v1/events", {"name": "bench", "amount": "1",
                                         "expires_at": iso(rt.clock.now_ms() + 86_400_000)})["id"]
    code = post(http, f"/v1/events/{event_id}/codes", {"count": 1})["codes"][0]
    if faulty:
        faulty.active = True
    print(f"with {fault or 'no fault (the happy path)'}:")
    steps = [
        ("POST /v1/faucet/drip", "/v1/faucet/drip", {"wallet": "0x" + "12" * 20}),
        ("POST /v1/claims", "/v1/claims", {"code": code, "wallet": "0x" + "34" * 20}),
        ("POST /v1/events", "/v1/events", {"name": "b", "amount": "1",
                                           "expires_at": iso(rt.clock.now_ms() + 86_400_000)}),
        ("POST /v1/events/{id}/codes (100)", f"/v1/events/{event_id}/codes", {"count": 100}),
        ("POST /v1/admin/payouts", "/v1/admin/payouts",
         {"key": "bench-1", "to": "0x" + "56" * 20, "amount": "1"}),
    ]
    for name, path, body in steps:
        with count_requests(client) as counts, read_backs(client) as backs:
            post(http, path, body)
        requests = sum(n for op, n in counts.items() if op != "items_in_transactions")
        print(f"  {name:34s} {requests:8d} {backs['n']:10d} {counts['items_in_transactions']:9d}")


def post(http: Any, path: str, body: dict[str, Any]) -> Any:
    resp = http.post(path, body=json.dumps(body), headers=HEADERS)
    assert resp.status_code in (200, 201, 202), (path, resp.status_code, resp.body)
    return resp.json_body


class read_backs:  # noqa: N801 - used as a context manager like count_requests
    """Counts GetItem calls whose key is a commit marker (the read-back rule at work)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.counts: Counter[str] = Counter()

    def hook(self, params: Any = None, **_: Any) -> None:
        if str((params or {}).get("Key", {}).get("pk", {}).get("S", "")).startswith("commit#"):
            self.counts["n"] += 1

    def __enter__(self) -> Counter[str]:
        self.client.meta.events.register("before-parameter-build.dynamodb.GetItem", self.hook)
        return self.counts

    def __exit__(self, *exc: object) -> None:
        self.client.meta.events.unregister("before-parameter-build.dynamodb.GetItem", self.hook)


if __name__ == "__main__":
    main()
