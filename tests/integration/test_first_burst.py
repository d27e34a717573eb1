"""The first requests of a flow, all at once, in a fresh process: none may be a 500.

Each flow's modules load on their first request (core/lazy.py). Thirty simultaneous first
requests race that load; a loader that is not thread-safe shows up here as an AttributeError
500. Requests within one burst are identical, so the app's single `current_request` (Chalice
keeps one per app) is the same whichever thread set it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid

import pytest

from chalicelib.core.table import ensure_table
from local.processes import ROOT
from tests.conftest import served_client

BURST = 30
ADMIN = "burst-admin-token-0123456789"
BURST_SCRIPT = textwrap.dedent(
    """
    import json, sys, threading
    import boto3
    from botocore.config import Config
    from chalice.test import Client
    import app
    from chalicelib.core.runtime import Runtime, set_runtime
    from chalicelib.core.settings import load_settings

    url, table, method, path, body, burst, admin = sys.argv[1:8]
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=url,
                          config=Config(max_pool_connections=64))
    env = {"TABLE_NAME": table, "ADMIN_TOKEN": admin, "EVENTS_ENABLED": "true",
           "TOKEN_ADDRESS": "0x" + "ab" * 20}
    set_runtime(Runtime(load_settings(env), dynamodb_client=client))
    http = Client(app.app).http
    gate = threading.Barrier(int(burst))
    statuses = []
    headers = {"Content-Type": "application/json", "Authorization": "Bearer " + admin}

    def one():
        gate.wait()
        try:
            resp = http.request(method, path, headers=headers, body=body.encode())
            statuses.append(resp.status_code)
        except Exception as exc:
            statuses.append(repr(exc))

    threads = [threading.Thread(target=one) for _ in range(int(burst))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(statuses))
    """
)

WALLET = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
FIRST_REQUESTS = {
    "faucet": ("GET", "/v1/faucet/status", ""),
    "claims": ("POST", "/v1/claims", json.dumps({"code": "NOPE-1", "wallet": WALLET})),
    "events": ("GET", "/v1/events/ev_0000000000000000", ""),
    "payouts": ("GET", "/v1/payouts/po_unknown", ""),
    "bounties": ("GET", "/v1/bounties", ""),
    "otc": ("GET", "/v1/orderbook?pair=SKT/ETH", ""),
    "anchoring": ("GET", "/v1/anchors/1", ""),
    "typed_data": ("GET", "/v1/typed-data", ""),
    "openapi": ("GET", "/v1/openapi.json", ""),
}


@pytest.mark.parametrize("flow", sorted(FIRST_REQUESTS))
def test_a_burst_of_first_requests_of_a_flow_has_no_server_error(
    store_server: str, flow: str
) -> None:
    table = f"t-{uuid.uuid4().hex[:12]}"
    ensure_table(served_client(store_server), table)
    method, path, body = FIRST_REQUESTS[flow]
    proc = subprocess.run(
        [sys.executable, "-c", BURST_SCRIPT, store_server, table, method, path, body,
         str(BURST), ADMIN],
        cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    statuses = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(statuses) == BURST
    assert all(isinstance(s, int) and s < 500 for s in statuses), (statuses, proc.stdout[-3000:])
