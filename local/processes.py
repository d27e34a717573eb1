"""Start and stop the local stack's child processes (store server, chain node, chalice local)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


class StackError(Exception):
    """A local service could not start; the message says what to do."""


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def require_free(port: int, what: str, variable: str) -> None:
    if not port_free(port):
        raise StackError(
            f"port {port} on {HOST} is already in use, so the {what} cannot start. "
            f"Stop whatever uses it or choose another port with {variable}=<port>."
        )


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()


def spawn(
    name: str,
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
    append: bool = False,
) -> Child:
    out = open(log_path, "ab" if append else "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so stop() ends its children too
    )
    return Child(name, proc)


def wait_until(check: Callable[[], object], child: Child, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise StackError(f"the {what} exited during start-up (code {child.proc.returncode})")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise StackError(f"the {what} did not start within {timeout:.0f} s")


def start_store(port: int, log_path: Path | None = None) -> tuple[Child, str]:
    child = spawn(
        "store",
        [sys.executable, "-m", "local.store_server", "--port", str(port)],
        log_path=log_path,
    )
    url = f"http://{HOST}:{port}"
    wait_until(lambda: _http_ok(url), child, "DynamoDB-compatible store")
    return child, url


def start_chain(
    port: int, *, interval_ms: int = 0, log_path: Path | None = None
) -> tuple[Child, str]:
    hardhat = ROOT / "node_modules" / ".bin" / "hardhat"
    if not hardhat.exists():
        raise StackError("hardhat is not installed: run `npm ci` (make dev and make test do)")
    env = {
        "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true",
        "SETTLEKIT_MINING_INTERVAL_MS": str(interval_ms),
    }
    child = spawn(
        "chain",
        [str(hardhat), "node", "--hostname", HOST, "--port", str(port)],
        env=env,
        log_path=log_path,
    )
    url = f"http://{HOST}:{port}"
    wait_until(lambda: rpc(url, "eth_chainId", []) is not None, child, "hardhat node")
    return child, url


def start_api(
    port: int,
    env: dict[str, str],
    *,
    log_path: Path | None = None,
    stock: bool = False,
    append: bool = False,
) -> tuple[Child, str]:
    """`chalice local` on loopback with a deep listen backlog (`local.api_server`).

    `stock=True` runs chalice's own command instead (the burst test shows the difference).
    """
    command = (
        [str(Path(sys.executable).parent / "chalice"), "local"]
        if stock
        else [sys.executable, "-m", "local.api_server"]
    )
    child = spawn(
        "api",
        [
            *command,
            "--host",
            HOST,
            "--port",
            str(port),
            "--stage",
            "local",
            # A code change must not restart the server under a user's requests.
            "--no-autoreload",
        ],
        env=env,
        log_path=log_path,
        append=append,
    )
    url = f"http://{HOST}:{port}"
    try:
        wait_until(lambda: _http_ok(f"{url}/v1/health"), child, "API (chalice local)", timeout=90)
    except StackError:
        child.stop()
        raise
    return child, url


def rpc(url: str, method: str, params: list) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=2) as resp:  # noqa: S310 - loopback only
        return json.loads(resp.read()).get("result")


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback only
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means the server is up
