"""Browser tests: Debian's Chromium driven by Playwright against `make dev`'s own stack.

One stack for the session (store server, hardhat node mining every second, `chalice local`, the
jobs loop), started by `local.dev` on free ports exactly as a developer runs it. Each test gets
fresh browser contexts; a test wallet (an EIP-1193 provider, announced by EIP-6963) forwards
requests to the node's unlocked accounts.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from local.browser import launch_chromium
from local.devstack import dev_stack
from local.processes import ROOT

SCREENSHOTS = ROOT / "build" / "screenshots"
ADMIN_TOKEN = "browser-tests-admin-token-0123456789"
WALLET_JS = (Path(__file__).parent / "wallet_provider.js").read_text()


@dataclass
class Stack:
    api: str
    rpc: str
    token: str
    registry: str
    admin: str
    logs: Path
    # The node's unlocked accounts (public test keys); #0 deployed the contracts.
    accounts: list[str] = field(default_factory=list)

    def rpc_call(self, method: str, params: list[Any]) -> dict[str, Any]:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        req = urllib.request.Request(self.rpc, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as res:  # noqa: S310 - loopback node
            out: dict[str, Any] = json.loads(res.read())
        return out

    def token_balance(self, account: str) -> int:
        data = "0x70a08231" + account[2:].lower().rjust(64, "0")
        res = self.rpc_call("eth_call", [{"to": self.token, "data": data}, "latest"])
        return int(res["result"], 16)

    def api_json(self, method: str, path: str, body: Any = None, admin: bool = False) -> Any:
        headers = {"Content-Type": "application/json"}
        if admin:
            headers["Authorization"] = f"Bearer {self.admin}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.api + path, data, headers, method=method)
        with urllib.request.urlopen(req, timeout=30) as res:  # noqa: S310 - loopback API
            return json.loads(res.read())


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    log = tmp_path_factory.mktemp("devstack") / "dev.log"
    with dev_stack(log, ADMIN_TOKEN) as banner:
        live = Stack(api=banner["API URL"], rpc=banner["RPC URL"], token=banner["token (SKT)"],
                     registry=banner["registry"], admin=ADMIN_TOKEN, logs=Path(banner["logs"]))
        live.accounts = live.rpc_call("eth_accounts", [])["result"]
        yield live


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = launch_chromium(pw)
        yield b
        b.close()


@dataclass
class TestWallet:
    """The state behind one injected wallet: which account, which chain it says it is on."""

    stack: Stack
    account: str
    chain_id: int = 31337
    calls: list[str] = field(default_factory=list)
    authorized: bool = False

    def handle(self, method: str, params: list[Any]) -> dict[str, Any]:
        self.calls.append(method)
        if method == "eth_requestAccounts":
            self.authorized = True  # the user approved this site
        if method in ("eth_requestAccounts", "eth_accounts"):
            return {"result": [self.account] if self.authorized else []}
        if method == "eth_chainId":
            return {"result": hex(self.chain_id)}
        if method == "wallet_switchEthereumChain":
            self.chain_id = int(params[0]["chainId"], 16)
            return {"result": None}
        res = self.stack.rpc_call(method, params)
        return {"error": res["error"]} if "error" in res else {"result": res["result"]}


OpenPage = Callable[..., tuple[Any, TestWallet]]


@pytest.fixture
def open_page(browser: Any, stack: Stack) -> Iterator[OpenPage]:
    """open_page(path, account=1, width=1280): a page in a fresh context with a test wallet."""
    contexts: list[Any] = []

    def _open(path: str, account: int = 1, width: int = 1280, chain_id: int = 31337,
              wallet: bool = True) -> tuple[Any, TestWallet]:
        context = browser.new_context(viewport={"width": width, "height": 900})
        contexts.append(context)
        tw = TestWallet(stack, stack.accounts[account], chain_id)
        if wallet:
            context.expose_function("__testWalletRpc", tw.handle)
            context.add_init_script(WALLET_JS)
        page = context.new_page()
        page.set_default_timeout(30_000)  # the machine may be shared and busy
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        # Uncaught exceptions and console errors, except the browser's own log line for every
        # 4xx answer (a refusal the page then explains is expected behaviour).
        page.on("console", lambda m: errors.append(m.text) if m.type == "error"
                and not m.text.startswith("Failed to load resource") else None)
        page.js_errors = errors  # type: ignore[attr-defined]
        page.goto(stack.api + path)
        return page, tw

    yield _open
    for context in contexts:
        context.close()


def screenshot(page: Any, name: str) -> None:
    """Saved for people to look at (build/ is ignored by git); docs/img holds a chosen few."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def wait_text(page: Any, text: str, timeout: float = 30_000) -> None:
    """Wait for `text`; on a timeout, fail with what the page said instead (its alerts)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.get_by_text(text).first.wait_for(timeout=timeout)
    except PlaywrightTimeout:
        said = [a.inner_text() for a in page.get_by_role("alert").all()]
        raise AssertionError(f"{text!r} never showed; the page said {said}, "
                             f"errors {page.js_errors}") from None
