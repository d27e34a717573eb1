"""Webhook figures: what webhooks add to a claim's DynamoDB requests, and delivery latency.

1. In-process on moto: a claim (`POST /v1/claims`) with an endpoint subscribed to every event,
   against the same claim with none; then the claim's outcome (the finalizer that writes
   `claim.paid`): its requests, and its transaction's items, of which the event is one.
2. On a local stack (`python -m local.dev`, API on 127.0.0.1:9150, node on 9151, started here
   and stopped at the end): a receiver on 127.0.0.1 registered for claim.paid and
   anchor.confirmed; latency from each event's state change (its `created_at`) to its receipt.
   `--no-stack` skips part 2.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script or a module

import boto3  # noqa: E402
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

import app  # noqa: E402
from bench.counting import count_requests, hooked  # noqa: E402
from chalicelib import jobs  # noqa: E402
from chalicelib.core.clock import iso, parse_iso  # noqa: E402
from chalicelib.core.outbox.model import payout_key  # noqa: E402
from chalicelib.core.runtime import Runtime, set_runtime  # noqa: E402
from chalicelib.core.settings import load_settings  # noqa: E402
from chalicelib.core.table import ensure_table  # noqa: E402
from chalicelib.faucet import claim_outcomes  # noqa: E402
from tests.receiver import Receiver  # noqa: E402

ADMIN = "bench-admin-token-0123456789"
HEADERS = {"Content-Type": "application/json", "Authorization": f"Bearer {ADMIN}"}
CLAIMS = 20
API_PORT, RPC_PORT = 9150, 9151


def post(http: Any, path: str, body: dict[str, Any]) -> Any:
    resp = http.post(path, body=json.dumps(body), headers=HEADERS)
    assert resp.status_code in (200, 201, 202), (path, resp.status_code, resp.body)
    return resp.json_body


def requests_of(counts: Any) -> int:
    return sum(n for op, n in counts.items() if op != "items_in_transactions")


def claim_path(client: Any, table: str, subscribed: bool) -> tuple[float, float, float, int]:
    """(requests per claim, requests of the outcome, items in its transaction, events in it)"""
    ensure_table(client, table)
    settings = load_settings({"TABLE_NAME": table, "ADMIN_TOKEN": ADMIN, "EVENTS_ENABLED": "true",
                              "TOKEN_ADDRESS": "0x" + "ab" * 20})
    rt = Runtime(settings, dynamodb_client=client)
    set_runtime(rt)
    http = Client(app.app).http
    if subscribed:
        jobs.register_webhook_events()
        events = ["claim.paid", "claim.failed", "payout.confirmed", "drip.paid"]
        post(http, "/v1/admin/webhooks", {"url": "http://127.0.0.1:9/h", "events": events})
    expires = iso(rt.clock.now_ms() + 86_400_000)
    event_id = post(http, "/v1/events", {"name": "b", "amount": "1", "expires_at": expires})["id"]
    codes = post(http, f"/v1/events/{event_id}/codes", {"count": CLAIMS})["codes"]
    claimed = []
    with count_requests(client) as claims:
        for i, code in enumerate(codes):
            claimed.append(post(http, "/v1/claims", {"code": code, "wallet": f"0x{i + 1:040x}"}))
    # The payout engine confirmed the first claim's payout; the finalizer tells the faucet.
    payout = rt.store.update(payout_key(claimed[0]["payout_id"]),
                             set={"status": "confirmed", "tx_hash": "0x" + "ab" * 32})
    events_in = []

    def spot(params: Any = None, **_: Any) -> None:
        for item in (params or {}).get("TransactItems", []):
            pk = item.get("Put", {}).get("Item", {}).get("pk", {}).get("S", "")
            events_in.append(pk.startswith("whevt#"))

    with hooked(client, "before-parameter-build.dynamodb", spot), \
            count_requests(client) as outcome:
        claim_outcomes.apply(rt, payout)
    return (requests_of(claims) / CLAIMS, requests_of(outcome),
            outcome["items_in_transactions"], sum(events_in))


def request_costs() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        try:
            without = claim_path(client, "bench-no-hooks", subscribed=False)
            with_hooks = claim_path(client, "bench-hooks", subscribed=True)
        finally:
            set_runtime(None)
    print("DynamoDB requests added by webhooks (target: 0 extra requests, the event rides along)")
    print(f"  POST /v1/claims (mean of {CLAIMS}):     {without[0]:.2f} requests without an "
          f"endpoint, {with_hooks[0]:.2f} with one subscribed")
    print(f"  claim outcome (finalizer, confirmed): {with_hooks[1]} requests, one transaction "
          f"of {with_hooks[2]} items, {with_hooks[3]} of them the claim.paid event "
          f"({with_hooks[2] - with_hooks[3]} items before webhooks; requests unchanged)")


# -- latency on a local stack ------------------------------------------------------------------


def api(method: str, path: str, body: Any = None, token: str = "") -> Any:
    req = urllib.request.Request(
        f"http://127.0.0.1:{API_PORT}{path}", method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback
        return json.load(resp)


def wait_for(receiver: Receiver, kind: str, timeout: float) -> dict[str, Any]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        for r in receiver.requests:
            if r["payload"]["type"] == kind and r["verified"]:
                return r
        time.sleep(0.05)
    raise TimeoutError(f"no {kind} within {timeout} s")


def stack_latency() -> None:
    token = "bench-admin-token-for-the-local-stack"
    env = {**os.environ, "API_PORT": str(API_PORT), "RPC_PORT": str(RPC_PORT),
           "ADMIN_TOKEN": token}
    stack = subprocess.Popen([sys.executable, "-m", "local.dev"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True)
    receiver = Receiver()
    try:
        assert stack.stdout is not None
        for line in stack.stdout:
            if "Press Ctrl-C" in line:
                break
        else:
            raise RuntimeError("the local stack did not start")
        hook = api("POST", "/v1/admin/webhooks", {
            "url": receiver.url, "events": ["claim.paid", "anchor.confirmed", "message.anchored"],
        }, token)
        receiver.secret = hook["secret"]
        expires = iso(int(time.time() * 1000) + 86_400_000)
        event = api("POST", "/v1/events", {"name": "b", "amount": "1", "expires_at": expires},
                    token)
        code = api("POST", f"/v1/events/{event['id']}/codes", {"count": 1}, token)["codes"][0]
        app_key = api("POST", "/v1/admin/apps", {"name": "bench"}, token)["api_key"]
        started = time.time()
        api("POST", "/v1/claims", {"code": code, "wallet": "0x" + "42" * 20})
        api("POST", "/v1/messages", {"conversation_id": "c", "sender": "s",
                                     "sent_at": iso(int(time.time() * 1000)),
                                     "content_hash": "0x" + "ab" * 32}, app_key)
        print("Delivery latency on a local stack (jobs every 2 s; receiver on 127.0.0.1)")
        for kind in ("claim.paid", "anchor.confirmed", "message.anchored"):
            got = wait_for(receiver, kind, 90)
            arrived = got.get("at", time.time())
            created = parse_iso(got["payload"]["created_at"]) / 1000
            print(f"  {kind:17s} state change -> receipt {1000 * (arrived - created):7.0f} ms; "
                  f"request -> receipt {arrived - started:5.1f} s")
    finally:
        receiver.stop()
        os.killpg(stack.pid, signal.SIGINT)
        try:
            stack.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(stack.pid, signal.SIGKILL)


if __name__ == "__main__":
    request_costs()
    if "--no-stack" not in sys.argv:
        stack_latency()
