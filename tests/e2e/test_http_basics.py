"""The HTTP surface through Chalice's test client: health, info, and the one error shape."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from chalice import Blueprint, Chalice
from chalice.test import Client

import app
from chalicelib import VERSION
from chalicelib.api import http
from chalicelib.api.http import error_middleware, json_object, json_response, route
from chalicelib.core.errors import Conflict
from chalicelib.core.runtime import Runtime, set_runtime
from chalicelib.core.settings import load_settings
from local.processes import HOST, ROOT, free_port

TABLE = "settlekit-test"
# Hardhat's well-known first development account (public test key, holds nothing real).
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
TOKEN = "0x" + "ab" * 20

Install = Callable[..., Runtime]


@pytest.fixture
def install(moto_client: Any) -> Iterator[Install]:
    """Install a Runtime built from `env` (plus the test table) on the moto client."""

    def _install(env: dict[str, str] | None = None, client: Any = None) -> Runtime:
        settings = load_settings({"TABLE_NAME": TABLE, **(env or {})})
        rt = Runtime(settings, dynamodb_client=client or moto_client)
        set_runtime(rt)
        return rt

    yield _install
    set_runtime(None)


@pytest.fixture
def client(install: Install) -> Iterator[Client]:
    install()
    with Client(app.app) as c:
        yield c


class NoStore:
    """A DynamoDB client stand-in for routes that must not touch the store: any use fails."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"this request should not use the store (called {name})")


@pytest.fixture
def bare() -> Iterator[Callable[[dict[str, str] | None], None]]:
    """Install a Runtime with no store at all (fast: no moto), for error-shape tests."""

    def _install(env: dict[str, str] | None = None) -> None:
        set_runtime(Runtime(load_settings({"TABLE_NAME": TABLE, **(env or {})}),
                            dynamodb_client=NoStore()))

    yield _install
    set_runtime(None)


@pytest.fixture
def bare_client(bare: Callable[[dict[str, str] | None], None]) -> Iterator[Client]:
    bare(None)
    with Client(app.app) as c:
        yield c


def body_of(resp: Any) -> dict[str, Any]:
    assert resp.headers.get("Content-Type") == "application/json"
    body = json.loads(resp.body)
    assert isinstance(body, dict)
    return body


def assert_error(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.body
    body = body_of(resp)
    assert set(body) in ({"error", "message"}, {"error", "message", "details"}), body
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


# -- health ------------------------------------------------------------------------------------


def test_health_is_ok_with_the_store_up_and_the_chain_disabled(client: Client) -> None:
    resp = client.http.get("/v1/health")
    assert resp.status_code == 200
    assert body_of(resp) == {"status": "ok", "store": "ok", "chain": "disabled", "version": VERSION}


def test_health_is_degraded_not_500_when_the_chain_is_unreachable(install: Install) -> None:
    install({"CHAIN_RPC_URL": f"http://{HOST}:{free_port()}", "RPC_TIMEOUT_SECONDS": "2"})
    with Client(app.app) as c:
        resp = c.http.get("/v1/health")
    assert resp.status_code == 200
    body = body_of(resp)
    assert body["status"] == "degraded"
    assert body["store"] == "ok"
    assert body["chain"] == "unreachable"


def test_health_is_down_with_503_when_the_store_is_unreachable(install: Install) -> None:
    broken = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=f"http://{HOST}:{free_port()}",
        config=Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1}),
    )
    install(client=broken)
    with Client(app.app) as c:
        resp = c.http.get("/v1/health")
    assert resp.status_code == 503
    body = body_of(resp)
    assert body["status"] == "down"
    assert body["store"] == "dependency_unavailable"
    assert body["chain"] == "disabled"
    assert "Traceback" not in resp.body.decode()


HEALTH_WITHOUT_CHAIN = textwrap.dedent(
    """
    import json, sys
    import boto3
    from moto import mock_aws
    from chalice.test import Client
    import app
    from chalicelib.core.runtime import Runtime, set_runtime
    from chalicelib.core.settings import load_settings
    from chalicelib.core.table import ensure_table

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        ensure_table(client, "settlekit-test")
        env = {"TABLE_NAME": "settlekit-test"}
        if len(sys.argv) > 1:
            env["CHAIN_RPC_URL"] = sys.argv[1]
        set_runtime(Runtime(load_settings(env), dynamodb_client=client))
        with Client(app.app) as c:
            resp = c.http.get("/v1/health")
    loaded = sorted(m for m in ("web3", "eth_account") if m in sys.modules)
    print(json.dumps({"status": resp.status_code, "loaded": loaded}))
    """
)


def _health_in_fresh_process(*args: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("CHAIN_RPC_URL", "SIGNER_PRIVATE_KEY")}
    proc = subprocess.run(
        [sys.executable, "-c", HEALTH_WITHOUT_CHAIN, *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_health_with_the_chain_disabled_does_not_import_web3() -> None:
    result = _health_in_fresh_process()
    assert result == {"status": 200, "loaded": []}
    # The probe itself works: with a chain configured, the same script does load web3.
    control = _health_in_fresh_process(f"http://{HOST}:{free_port()}")
    assert control["status"] == 200
    assert "web3" in control["loaded"]


# -- info --------------------------------------------------------------------------------------


def test_info_describes_chain_assets_and_escrow(install: Install) -> None:
    install({
        "CHAIN_ID": "31337",
        "CONFIRMATIONS": "3",
        "TOKEN_ADDRESS": TOKEN,
        "TOKEN_SYMBOL": "SKT",
        "TOKEN_DECIMALS": "6",
        "SIGNER_PRIVATE_KEY": DEV_KEY,
    })
    with Client(app.app) as c:
        resp = c.http.get("/v1/info")
    assert resp.status_code == 200
    body = body_of(resp)
    # The OTC pairs (the built-in defaults here) are tested with the OTC routes.
    assert [p["pair"] for p in body.pop("pairs")] == ["SKT/ETH", "SKT/BTC"]
    assert body == {
        "version": VERSION,
        "chain_id": 31337,
        "confirmations": 3,
        "escrow_address": DEV_ADDRESS,
        # One shared wallet here (only SIGNER_PRIVATE_KEY is set), shown as such.
        "wallets": [
            {"address": DEV_ADDRESS, "purposes": ["escrow", "faucet", "anchor"], "shared": True}
        ],
        "assets": {
            "ETH": {"address": "native", "decimals": 18},
            "SKT": {"address": TOKEN, "decimals": 6},
        },
        "contracts": {"token": TOKEN},
    }
    assert DEV_KEY[2:] not in resp.body.decode()


def test_info_without_token_or_signer(client: Client) -> None:
    resp = client.http.get("/v1/info")
    assert resp.status_code == 200
    body = body_of(resp)
    assert set(body) == {
        "version", "chain_id", "confirmations", "escrow_address", "wallets", "assets",
        "contracts", "pairs",
    }
    assert body["wallets"] == []
    assert body["pairs"] == []
    assert body["escrow_address"] is None
    assert body["assets"] == {"ETH": {"address": "native", "decimals": 18}}
    assert body["contracts"] == {}
    assert body["chain_id"] == 31337 and body["confirmations"] == 2


# -- errors from the real app ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/", "/nope", "/v1/nope", "/v1/health/extra", "/v2/info", "/a/b/c/d/e/f/g/h"],
)
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_an_unknown_route_is_a_json_404(bare_client: Client, path: str, method: str) -> None:
    if (method, path) == ("get", "/"):
        # GET / is the web pages' home (docs/web.md); only that method of / is taken.
        assert bare_client.http.get("/").headers["Content-Type"].startswith("text/html")
        return
    resp = getattr(bare_client.http, method)(path)
    assert_error(resp, 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/v1/health"), ("delete", "/v1/health"), ("put", "/v1/info"), ("patch", "/v1/info")],
)
def test_a_wrong_method_is_a_json_405(bare_client: Client, method: str, path: str) -> None:
    resp = getattr(bare_client.http, method)(path)
    assert_error(resp, 405, "method_not_allowed")
    assert resp.headers.get("Allow") == "GET, OPTIONS"  # OPTIONS: CORS preflights


def test_an_oversized_body_is_a_json_413(install: Install) -> None:
    install({"MAX_BODY_BYTES": "1024"})  # with a store: the health call below is answered
    with Client(app.app) as c:
        ok = c.http.get("/v1/health", body="x" * 1024)
        assert ok.status_code == 200
        for path in ("/v1/health", "/nope"):
            resp = c.http.post(path, body=b"x" * 1025, headers={"content-type": "application/json"})
            body = assert_error(resp, 413, "payload_too_large")
            assert body["details"] == {"max_bytes": 1024}


# -- errors from views: a throwaway app using the same plumbing ---------------------------------


LEAKED_KEY = "0x" + "de" * 32
SECRET_TEXT = f"private key {LEAKED_KEY} leaked in an exception"


def _echo_app() -> Chalice:
    echo = Chalice(app_name="echo")
    echo.register_middleware(error_middleware, "http")
    bp = Blueprint("echo_routes")

    @route(bp, "/echo", methods=["POST"], documented=False)
    def do_echo() -> Any:
        return json_response(200, {"got": json_object(bp.current_request)})

    @route(bp, "/echo-optional", methods=["POST"], documented=False)
    def do_echo_optional() -> Any:
        return json_response(200, {"got": json_object(bp.current_request, allow_empty=True)})

    @route(bp, "/boom", methods=["GET"], documented=False)
    def boom() -> Any:
        raise RuntimeError(SECRET_TEXT)

    @route(bp, "/conflict", methods=["GET"], documented=False)
    def conflict() -> Any:
        raise Conflict("lost the race", code="already_claimed", details={"id": "c1"})

    echo.register_blueprint(bp)
    return echo


@pytest.fixture
def echo(bare: Callable[[dict[str, str] | None], None]) -> Iterator[Client]:
    bare(None)
    with Client(_echo_app()) as c:
        yield c


def _post(c: Client, path: str, body: str | bytes) -> Any:
    return c.http.post(path, body=body, headers={"content-type": "application/json"})


def test_a_json_object_body_is_accepted(echo: Client) -> None:
    resp = _post(echo, "/echo", '{"amount": "1.5", "n": [1, 2]}')
    assert resp.status_code == 200
    assert body_of(resp) == {"got": {"amount": "1.5", "n": [1, 2]}}
    assert body_of(_post(echo, "/echo-optional", "")) == {"got": {}}


@pytest.mark.parametrize(
    "raw", ["{", "{'a': 1}", '{"a": 1,}', "not json", "", "   ", b"\xff\xfe{}", '{"a": 1} x'],
)
def test_malformed_json_is_a_400_invalid_json(echo: Client, raw: str | bytes) -> None:
    assert_error(_post(echo, "/echo", raw), 400, "invalid_json")


@pytest.mark.parametrize("raw", ["[1, 2]", '"text"', "1", "null", "true", "[]"])
def test_json_that_is_not_an_object_is_a_400_body_not_object(echo: Client, raw: str) -> None:
    assert_error(_post(echo, "/echo", raw), 400, "body_not_object")


@pytest.mark.parametrize(
    "raw", ['{"amount": NaN}', '{"amount": Infinity}', '{"amount": -Infinity}', "NaN"],
)
def test_nan_and_infinity_literals_are_a_400(echo: Client, raw: str) -> None:
    assert_error(_post(echo, "/echo", raw), 400, "invalid_json")


def test_a_service_error_in_a_view_keeps_its_status_code_and_details(echo: Client) -> None:
    body = assert_error(echo.http.get("/conflict"), 409, "already_claimed")
    assert body == {"error": "already_claimed", "message": "lost the race", "details": {"id": "c1"}}


def test_an_unexpected_exception_is_a_500_without_traceback(
    echo: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    logged: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(http, "log", lambda event, **fields: logged.append((event, fields)))
    resp = echo.http.get("/boom")
    body = assert_error(resp, 500, "internal_error")
    assert set(body) == {"error", "message"}
    text = resp.body.decode()
    for leak in ("Traceback", "File \"", "RuntimeError", SECRET_TEXT, LEAKED_KEY):
        assert leak not in text
    # The server log keeps the traceback (where it failed), with the secret masked.
    [(event, fields)] = logged
    assert event == "unhandled_error"
    assert (fields["path"], fields["error"]) == ("/boom", "RuntimeError")
    trace = fields["traceback"]
    assert trace.startswith("Traceback") and "in boom" in trace and "RuntimeError" in trace
    assert LEAKED_KEY not in trace and LEAKED_KEY[2:] not in trace


def test_the_echo_app_shares_the_json_404_and_405_shapes(echo: Client) -> None:
    assert_error(echo.http.get("/echo"), 405, "method_not_allowed")
    resp = echo.http.post("/echo", body="{}", headers={"content-type": "application/xml"})
    assert_error(resp, 415, "unsupported_media_type")


def test_a_configured_secret_in_an_unexpected_error_is_masked_in_the_log(
    bare: Callable[[dict[str, str] | None], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "a-configured-admin-token-not-hex-shaped"
    bare({"ADMIN_TOKEN": token})
    echo = Chalice(app_name="leaky")
    bp = Blueprint("leaky_routes")

    @route(bp, "/leak", methods=["GET"], documented=False)
    def leak() -> Any:
        raise ValueError(f"compared with {token}")

    echo.register_blueprint(bp)
    logged: list[dict[str, Any]] = []
    monkeypatch.setattr(http, "log", lambda event, **fields: logged.append(fields))
    with Client(echo) as c:
        resp = c.http.get("/leak")
    assert resp.status_code == 500 and token not in resp.body.decode()
    [fields] = logged
    assert "ValueError" in fields["traceback"] and token not in fields["traceback"]
