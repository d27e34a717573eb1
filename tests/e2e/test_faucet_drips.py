"""Drips through the HTTP API (chalice.test.Client, moto in-process, a hand-moved clock).

Also holds the harness the sibling `test_events_*` and `test_claims_*` modules import: an `Api`
with admin and per-client-IP requests, and `conclude()`, which ends a payout the way the payout
engine does (status + finalize marker) and runs the real finalize job.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from chalice.local import LambdaEventConverter
from chalice.test import Client

import app
from bench.counting import count_requests
from chalicelib import jobs
from chalicelib.core.addresses import to_checksum
from chalicelib.core.clock import FixedClock, parse_iso
from chalicelib.core.outbox.finalize import run_finalizers
from chalicelib.core.outbox.model import finalize_marker, index_fields, payout_key
from chalicelib.core.runtime import Runtime, set_runtime
from chalicelib.core.settings import load_settings
from chalicelib.core.store import Item
from chalicelib.faucet.keys import drip_key

ADMIN_TOKEN = "admin-token-for-faucet-tests-0123"
TOKEN = "0x" + "ab" * 20
TOKEN_CHECKSUMMED = to_checksum(TOKEN)
UNIT = 10**18
ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
BOB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
CAROL = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
DAVE = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
HOUR_MS = 3_600_000
BASE_ENV = {
    "TABLE_NAME": "settlekit-test",
    "TOKEN_ADDRESS": TOKEN,
    "ADMIN_TOKEN": ADMIN_TOKEN,
    "EVENTS_ENABLED": "true",
    "DRIP_MAX_REQUESTS": "2",
    "DRIP_WINDOW_SECONDS": "3600",
}
DEFAULT_IP = "203.0.113.1"


@contextmanager
def source_ip(ip: str) -> Iterator[None]:
    """What API Gateway would put in requestContext.identity.sourceIp for this request."""
    old = LambdaEventConverter.LOCAL_SOURCE_IP
    LambdaEventConverter.LOCAL_SOURCE_IP = ip
    try:
        yield
    finally:
        LambdaEventConverter.LOCAL_SOURCE_IP = old


@dataclass
class Api:
    client: Client
    rt: Runtime
    clock: FixedClock

    def _headers(self, admin: bool, headers: dict[str, str] | None) -> dict[str, str]:
        base = {"Content-Type": "application/json"}
        if admin:
            base["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        return {**base, **(headers or {})}

    def post(self, path: str, body: Any = None, *, admin: bool = False, ip: str = DEFAULT_IP,
             headers: dict[str, str] | None = None, raw: bytes | None = None) -> Any:
        data = raw if raw is not None else json.dumps({} if body is None else body).encode()
        with source_ip(ip):
            return self.client.http.post(path, body=data, headers=self._headers(admin, headers))

    def get(self, path: str, *, admin: bool = False, ip: str = DEFAULT_IP,
            headers: dict[str, str] | None = None) -> Any:
        with source_ip(ip):
            return self.client.http.get(path, headers=self._headers(admin, headers))

    def drip(self, wallet: Any, ip: str = DEFAULT_IP, **kw: Any) -> Any:
        return self.post("/v1/faucet/drip", {"wallet": wallet}, ip=ip, **kw)

    def status(self) -> dict[str, Any]:
        resp = self.get("/v1/faucet/status")
        assert resp.status_code == 200, resp.json_body
        return dict(resp.json_body)

    def payout(self, pid: str) -> Item:
        item = self.rt.store.get(**payout_key(pid))
        assert item is not None
        return item

    def conclude(self, pid: str, status: str) -> dict[str, Any]:
        """End a payout as the engine does (status + finalize marker), then run finalizers."""
        jobs.register_owners()
        payout = self.payout(pid)
        self.rt.store.update(
            payout_key(pid),
            set={"status": status, **index_fields(status, payout["created_at"], pid)},
        )
        payout = self.payout(pid)
        self.rt.store.put(finalize_marker(payout, status, self.clock.now_ms()))
        return run_finalizers(self.rt, self.clock.now_ms() + 60_000)


@pytest.fixture
def make_api(moto_client: Any, clock: FixedClock) -> Iterator[Callable[..., Api]]:
    """An Api on a fresh moto table with BASE_ENV plus `env` overrides."""

    def make(**env: str) -> Api:
        settings = load_settings({**BASE_ENV, **env})
        rt = Runtime(settings, clock=clock, dynamodb_client=moto_client)
        set_runtime(rt)
        return Api(Client(app.app), rt, clock)

    yield make
    set_runtime(None)


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


@pytest.fixture
def alerts(monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[str]]:
    """The events of the `alert` log lines written since the test started, in order."""
    buffer = io.StringIO()
    for handler in logging.getLogger("settlekit").handlers:
        if type(handler) is logging.StreamHandler:  # the service's own, not pytest's
            monkeypatch.setattr(handler, "stream", buffer)

    def seen() -> list[str]:
        records = [json.loads(line) for line in buffer.getvalue().splitlines() if line]
        return [r["event"] for r in records if r.get("alert") is True]

    return seen


def error(resp: Any) -> str:
    return str(resp.json_body["error"])


# -- a drip -------------------------------------------------------------------------------------


def test_a_drip_answers_202_with_its_payout_and_writes_one_intent_for_the_wallet(
    api: Api,
) -> None:
    resp = api.drip(f"  {ALICE.lower()} ")
    assert resp.status_code == 202, resp.json_body
    body = resp.json_body
    assert body["wallet"] == ALICE  # trimmed and checksummed
    assert (body["amount"], body["asset"], body["status"]) == ("10", "SKT", "requested")
    assert parse_iso(body["next_available_at"]) == api.clock.now_ms()  # one of two slots left
    payout = api.payout(body["payout_id"])
    assert payout["to"] == ALICE and payout["asset"] == TOKEN_CHECKSUMMED
    assert payout["amount"] == str(10 * UNIT) and payout["status"] == "requested"
    assert (payout["owner_type"], payout["owner_id"]) == ("drip", body["drip_id"])
    assert payout["idem_key"] == f"drip:{body['drip_id']}"
    assert api.get(f"/v1/payouts/{body['payout_id']}").json_body["amount"] == "10"

    second = api.drip(ALICE).json_body
    assert parse_iso(second["next_available_at"]) == api.clock.now_ms() + HOUR_MS


def test_a_drip_is_one_transaction_and_a_bad_wallet_makes_no_request_at_all(api: Api) -> None:
    with count_requests(api.rt.store.client) as counts:
        assert api.drip(ALICE).status_code == 202
    assert counts["TransactWriteItems"] == 1
    assert counts["items_in_transactions"] == 7  # 2 slots, drip, intent, 2 counters, marker
    assert counts["Query"] == 2 and counts["PutItem"] + counts["UpdateItem"] == 0
    with count_requests(api.rt.store.client) as counts:
        assert api.drip("0x123").status_code == 400
    assert sum(counts.values()) == 0


# -- rate limits --------------------------------------------------------------------------------


def test_a_wallet_gets_at_most_max_drips_per_sliding_window_then_429_with_retry_after(
    api: Api,
) -> None:
    t0 = api.clock.now_ms()
    assert api.drip(ALICE, ip="198.51.100.1").status_code == 202
    api.clock.advance(600_000)
    assert api.drip(ALICE, ip="198.51.100.2").status_code == 202
    refused = api.drip(ALICE, ip="198.51.100.3")
    assert refused.status_code == 429
    assert error(refused) == "drip_rate_limited"
    assert refused.headers["Retry-After"] == str(3_000)  # the first slot frees at t0 + 1 h
    assert parse_iso(refused.json_body["details"]["next_available_at"]) == t0 + HOUR_MS
    assert refused.json_body["details"]["limited_by"] == ["wallet"]

    api.clock.set(t0 + HOUR_MS - 1)
    assert api.drip(ALICE, ip="198.51.100.4").status_code == 429
    api.clock.set(t0 + HOUR_MS)
    assert api.drip(ALICE, ip="198.51.100.5").status_code == 202
    # Sliding, not fixed: the drip made at t0 + 10 min still counts until t0 + 70 min.
    late = api.drip(ALICE, ip="198.51.100.6")
    assert late.status_code == 429
    assert parse_iso(late.json_body["details"]["next_available_at"]) == t0 + 600_000 + HOUR_MS


def test_one_client_ip_gets_at_most_max_drips_across_different_wallets(api: Api) -> None:
    assert api.drip(ALICE, ip="198.51.100.9").status_code == 202
    assert api.drip(BOB, ip="198.51.100.9").status_code == 202
    refused = api.drip(CAROL, ip="198.51.100.9")
    assert refused.status_code == 429
    assert refused.json_body["details"]["limited_by"] == ["ip"]
    assert api.drip(CAROL, ip="198.51.100.10").status_code == 202
    # CAROL's refused attempt used none of her quota: one more from elsewhere still passes.
    assert api.drip(CAROL, ip="198.51.100.11").status_code == 202


def test_forwarded_headers_are_ignored_unless_trust_proxy_headers_is_set(
    make_api: Callable[..., Api],
) -> None:
    api = make_api()
    for i, wallet in enumerate([ALICE, BOB, CAROL]):
        resp = api.drip(wallet, headers={"X-Forwarded-For": f"192.0.2.{i}"})
        assert resp.status_code == (202 if i < 2 else 429)  # all from the one source IP


def test_with_a_trusted_proxy_the_client_is_the_last_forwarded_hop_not_a_spoofed_one(
    make_api: Callable[..., Api],
) -> None:
    api = make_api(TRUST_PROXY_HEADERS="true")
    hops = ["192.0.2.50", "192.0.2.51"]
    # Different spoofed left-most entries, but our proxy saw one client: limited as one.
    for i, wallet in enumerate([ALICE, BOB, CAROL]):
        forwarded = f"10.0.0.{i}, {hops[0]}"
        resp = api.drip(wallet, headers={"X-Forwarded-For": forwarded})
        assert resp.status_code == (202 if i < 2 else 429), resp.json_body
    assert api.drip(CAROL, headers={"X-Forwarded-For": hops[1]}).status_code == 202


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"wallet": "0x123"}, "invalid_address"),
        ({"wallet": ALICE[:-1] + "c"}, "invalid_checksum"),
        ({"wallet": 42}, "invalid_address"),
        ({}, "invalid_address"),
        ({"wallet": "0x" + "0" * 40}, "invalid_address"),
        ({"wallet": DAVE}, "wallet_blocked"),
        ({"wallet": DAVE.lower()}, "wallet_blocked"),
        ({"wallet": CAROL}, "wallet_not_allowed"),
    ],
)
def test_a_bad_or_unlisted_wallet_is_a_400_and_uses_no_quota(
    make_api: Callable[..., Api], body: dict[str, Any], code: str
) -> None:
    # Lists compare case-insensitively: DAVE is blocked although listed upper-case.
    api = make_api(
        WALLET_ALLOWLIST=f"{ALICE},{BOB},{DAVE}", WALLET_BLOCKLIST="0x" + DAVE[2:].upper()
    )
    for _ in range(3):
        resp = api.post("/v1/faucet/drip", body)
        assert resp.status_code == 400 and error(resp) == code, resp.json_body
    assert api.drip(ALICE).status_code == 202
    assert api.drip(BOB).status_code == 202  # the IP's two drips were both still there
    assert api.status()["totals"]["drips"] == 2


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1]", b'{"wallet": NaN}', b"null"])
def test_a_body_that_is_not_a_json_object_is_a_400(api: Api, raw: bytes) -> None:
    resp = api.post("/v1/faucet/drip", raw=raw)
    assert resp.status_code == 400
    assert error(resp) in ("invalid_json", "body_not_object")


def test_drips_are_404_when_no_faucet_asset_is_configured_or_drips_are_off(
    make_api: Callable[..., Api],
) -> None:
    for env in ({"TOKEN_ADDRESS": ""}, {"DRIP_MAX_REQUESTS": "0"}):
        resp = make_api(**env).drip(ALICE)
        assert resp.status_code == 404 and error(resp) == "faucet_disabled"


def test_a_native_faucet_pays_the_chain_coin(make_api: Callable[..., Api]) -> None:
    api = make_api(FAUCET_ASSET="native", DRIP_AMOUNT="0.05")
    body = api.drip(ALICE).json_body
    assert (body["asset"], body["amount"]) == ("ETH", "0.05")
    assert api.payout(body["payout_id"])["asset"] == "native"


# -- outcomes -----------------------------------------------------------------------------------


def test_a_failed_drip_payout_gives_its_quota_back_exactly_once(api: Api) -> None:
    first = api.drip(ALICE).json_body
    assert api.drip(ALICE).status_code == 202
    assert api.drip(ALICE).status_code == 429
    summary = api.conclude(first["payout_id"], "failed")
    assert summary == {"finalized": 1}
    assert api.rt.store.get(**drip_key(first["drip_id"]))["status"] == "failed"
    # The finalizer may be called again for the same outcome: nothing is given back twice.
    api.conclude(first["payout_id"], "failed")
    assert api.drip(ALICE).status_code == 202
    assert api.drip(ALICE).status_code == 429
    figures = api.status()["totals"]
    assert figures == {"drips": 3, "amount": "20", "confirmed": 0, "failed": 1}


def test_a_confirmed_drip_keeps_its_quota_and_is_counted_once(api: Api) -> None:
    pid = api.drip(ALICE).json_body["payout_id"]
    api.drip(ALICE)
    api.conclude(pid, "confirmed")
    api.conclude(pid, "confirmed")
    assert api.drip(ALICE).status_code == 429
    assert api.status()["totals"] == {"drips": 2, "amount": "20", "confirmed": 1, "failed": 0}


def test_an_ambiguous_drip_keeps_its_quota_until_its_payout_is_proven_failed(api: Api) -> None:
    first = api.drip(ALICE).json_body
    api.drip(ALICE)
    api.conclude(first["payout_id"], "needs_attention")
    api.clock.advance(30 * 60_000)
    assert api.drip(ALICE).status_code == 429
    assert api.rt.store.get(**drip_key(first["drip_id"]))["status"] == "needs_attention"
    api.conclude(first["payout_id"], "failed")
    assert api.drip(ALICE).status_code == 202


def test_an_old_failure_never_frees_a_slot_a_later_drip_holds(
    make_api: Callable[..., Api],
) -> None:
    api = make_api(DRIP_MAX_REQUESTS="1")
    old = api.drip(ALICE).json_body
    api.clock.advance(HOUR_MS)
    assert api.drip(ALICE).status_code == 202  # the same single slot, taken again
    api.conclude(old["payout_id"], "failed")
    assert api.drip(ALICE).status_code == 429


# -- status -------------------------------------------------------------------------------------


def test_status_reports_totals_and_the_last_24_hours_of_drips_only(api: Api) -> None:
    empty = api.status()
    assert empty["totals"] == {"drips": 0, "amount": "0", "confirmed": 0, "failed": 0}
    assert empty["last_drip_at"] is None
    assert (empty["asset"], empty["drip_amount"], empty["max_requests"]) == ("SKT", "10", 2)
    wallets = [ALICE, BOB, CAROL, DAVE]
    for i, wallet in enumerate(wallets):
        assert api.drip(wallet, ip=f"198.51.100.{i}").status_code == 202
        api.clock.advance(10 * HOUR_MS)  # drips at 0 h, 10 h, 20 h, 30 h
    now_figures = api.status()
    assert now_figures["totals"]["drips"] == 4
    assert now_figures["totals"]["amount"] == "40"
    # At 40 h: the drips made at 20 h and 30 h are within the last 24 h.
    assert now_figures["last_24h"]["drips"] == 2
    assert now_figures["last_24h"]["amount"] == "20"
    assert parse_iso(now_figures["last_drip_at"]) == api.clock.now_ms() - 10 * HOUR_MS
    api.clock.advance(24 * HOUR_MS)
    assert api.status()["last_24h"]["drips"] == 0
    assert api.status()["totals"]["drips"] == 4


def test_status_is_a_few_queries_whatever_the_number_of_drips(api: Api) -> None:
    for i in range(12):
        api.drip(ALICE if i % 2 else BOB, ip=f"198.51.100.{i}")
        api.clock.advance(HOUR_MS)
    with count_requests(api.rt.store.client) as counts:
        assert api.status()["totals"]["drips"] == 12
    assert counts["Query"] == 4 and set(counts) == {"Query"}
