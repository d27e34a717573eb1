"""The pages over HTTP: security headers, caching, CORS by setting, and the organizer's QR sheet."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import segno
from chalice.test import Client

import app
from chalicelib.core.runtime import Runtime, set_runtime
from chalicelib.core.settings import load_settings
from chalicelib.web import assets
from chalicelib.web.qr import QR_BORDER, QR_SCALE

ADMIN = "admin-token-for-tests-0123456789"
RPC = "https://rpc.example.org/v3/abc"


@pytest.fixture
def web(moto_client: Any) -> Iterator[Any]:
    def _client(**env: str) -> Client:
        settings = load_settings({"TABLE_NAME": "settlekit-test", "ADMIN_TOKEN": ADMIN,
                                  "EVENTS_ENABLED": "true", "TOKEN_ADDRESS": "0x" + "ab" * 20,
                                  **env})
        set_runtime(Runtime(settings, dynamodb_client=moto_client))
        return Client(app.app)

    yield _client
    set_runtime(None)


@pytest.mark.parametrize("path", ["/", "/claim", "/claim/MEETUP-ABC", "/faucet", "/organizer",
                                  "/anchors", "/bounties", "/otc"])
def test_pages_carry_a_strict_policy_and_are_revalidated(web: Any, path: str) -> None:
    res = web(WEB_RPC_URLS=RPC).http.get(path)
    assert res.status_code == 200
    h = res.headers
    assert h["Content-Type"].startswith("text/html")
    assert h["Cache-Control"] == "no-cache"
    csp = dict(part.split(" ", 1) for part in h["Content-Security-Policy"].split("; "))
    assert csp["default-src"] == "'none'" and csp["script-src"] == "'self'"
    assert csp["connect-src"] == "'self' https://rpc.example.org"
    assert "unsafe" not in h["Content-Security-Policy"]
    assert h["X-Content-Type-Options"] == "nosniff" and h["Referrer-Policy"] == "no-referrer"


def test_assets_are_cached_forever_under_their_hash_and_unknown_ones_are_404(web: Any) -> None:
    client = web()
    asset = assets.assets()["claim.js"]
    res = client.http.get(f"/assets/{asset.hashed}")
    assert res.status_code == 200 and res.body.decode() == asset.body
    assert res.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert res.headers["Content-Type"].startswith("text/javascript")
    assert client.http.get("/assets/claim.js").status_code == 404
    assert client.http.get("/assets/claim.0000000000.js").status_code == 404


def test_cors_is_off_by_default(web: Any) -> None:
    client = web()
    res = client.http.get("/v1/info", headers={"Origin": "https://community.example"})
    assert "Access-Control-Allow-Origin" not in res.headers
    pre = client.http.request("OPTIONS", "/v1/claims", headers={
        "Origin": "https://community.example", "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 204 and "Access-Control-Allow-Origin" not in pre.headers


def test_an_allowed_origin_gets_cors_headers_and_preflights_answered(web: Any) -> None:
    client = web(WEB_ALLOWED_ORIGINS="https://community.example, http://127.0.0.1:8000")
    res = client.http.get("/v1/info", headers={"Origin": "https://community.example"})
    assert res.headers["Access-Control-Allow-Origin"] == "https://community.example"
    assert "Origin" in res.headers["Vary"]
    pre = client.http.request("OPTIONS", "/v1/claims", headers={
        "Origin": "https://community.example", "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 204
    assert pre.headers["Access-Control-Allow-Origin"] == "https://community.example"
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in pre.headers["Access-Control-Allow-Headers"]
    other = client.http.get("/v1/info", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    # An error answer carries the header too, so the page can read the error.
    err = client.http.post("/v1/claims", body=b"{", headers={"Origin": "https://community.example"})
    assert err.status_code == 400
    assert err.headers["Access-Control-Allow-Origin"] == "https://community.example"


def test_bad_web_settings_are_refused_naming_the_variable() -> None:
    from chalicelib.core.errors import SettingsError

    for env in ({"WEB_ALLOWED_ORIGINS": "*"}, {"WEB_RPC_URLS": "https://x.example; script-src *"},
                {"EXPLORER_TX_URL": "https://explorer.example/tx/"}):
        with pytest.raises(SettingsError, match=next(iter(env))):
            load_settings(env)


def test_qr_sheet_needs_the_admin_token_and_encodes_each_claim_url(web: Any) -> None:
    client = web()
    auth = {"Authorization": f"Bearer {ADMIN}", "Host": "events.example"}
    tomorrow = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
    ev = json.loads(client.http.post("/v1/events", headers=auth, body=json.dumps(
        {"name": "Meetup", "amount": "5", "expires_at": tomorrow})).body)
    client.http.post(f"/v1/events/{ev['id']}/codes", headers=auth, body=b'{"count": 2}')
    assert client.http.get(f"/organizer/events/{ev['id']}/qr").status_code == 401
    res = client.http.get(f"/organizer/events/{ev['id']}/qr", headers=auth)
    assert res.status_code == 200
    items = json.loads(res.body)["items"]
    assert len(items) == 2
    for item in items:
        assert item["claim_url"] == f"http://events.example/claim/{item['code']}"
        qr = segno.make(item["claim_url"], error="m")
        assert item["qr"] == qr.png_data_uri(scale=QR_SCALE, border=QR_BORDER)
