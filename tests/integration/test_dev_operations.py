"""The operations runbook (docs/operations.md), walked on a real `make dev` stack.

With the base fee held above PAYOUT_MAX_FEE_WEI, three payouts go out from the faucet wallet and
stay pending; the hot key is rotated (`local.rotate_key`) while they are in flight; an unfundable
payout is queued ahead of a fundable one; the first payout is cancelled above the cap. Asserted
on chain: the cancel's no-op lands during the spike and leaves no nonce gap, the payouts in
flight at rotation each land once from the retiring wallet, the fundable payout behind the
unfundable one lands from the new wallet, and the unfundable one goes out once funded.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from local import processes
from local.devstack import dev_stack
from local.rotate_key import rotate

pytestmark = pytest.mark.chain

ADMIN_TOKEN = "admin-token-for-the-operations-walk"
ETH = 10**18
GWEI = 10**9
CAP = 500 * GWEI  # PAYOUT_MAX_FEE_WEI's default
SPIKE = 2 * CAP  # what the runbook holds the base fee at
HOT_NATIVE = 1_000  # what make dev funds a faucet wallet with (ETH)
# Fast enough for a test: a stuck payout is rebroadcast, then parked, within seconds.
SETTINGS = {"PAYOUT_REBROADCAST_SECONDS": "2"}
FUNDER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # hardhat's unlocked account #0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    log = tmp_path_factory.mktemp("dev-operations") / "dev.log"
    with dev_stack(log, ADMIN_TOKEN, SETTINGS) as banner:
        yield banner


def call(stack: dict[str, str], method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        stack["API URL"] + path, data, method=method,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback only
        return json.loads(resp.read())


def rpc(stack: dict[str, str], method: str, *params: Any) -> Any:
    return processes.rpc(stack["RPC URL"], method, list(params))


def pay(stack: dict[str, str], key: str, to: str, eth: int) -> str:
    body = {"key": key, "to": to, "amount": str(eth)}
    return str(call(stack, "POST", "/v1/admin/payouts", body)["id"])


def status(stack: dict[str, str], pid: str) -> str:
    return str(call(stack, "GET", f"/v1/payouts/{pid}")["status"])


def wait_for(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def tx(stack: dict[str, str], tx_hash: str) -> dict[str, Any]:
    found: dict[str, Any] = rpc(stack, "eth_getTransactionByHash", tx_hash)
    receipt = rpc(stack, "eth_getTransactionReceipt", tx_hash)
    return {**found, "status": int(receipt["status"], 16)}


def balance(stack: dict[str, str], address: str) -> int:
    return int(rpc(stack, "eth_getBalance", address, "latest"), 16)


def nonce(stack: dict[str, str], address: str) -> int:
    return int(rpc(stack, "eth_getTransactionCount", address, "latest"), 16)


def hold_base_fee(stack: dict[str, str], stop: threading.Event) -> threading.Thread:
    """The runbook's fee spike: every block's base fee set above the cap until `stop`."""

    def hold() -> None:
        while not stop.is_set():
            rpc(stack, "hardhat_setNextBlockBaseFeePerGas", hex(SPIKE))
            stop.wait(0.25)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    return thread


def test_rotation_fee_spike_cancel_and_an_unfundable_payout_land_every_payout_once(
    stack: dict[str, str],
) -> None:
    old = stack["faucet wallet"]
    to = Account.create().address
    stop = threading.Event()
    spike = hold_base_fee(stack, stop)
    try:
        wait_for(lambda: int(rpc(stack, "eth_getBlockByNumber", "latest", False)
                             ["baseFeePerGas"], 16) >= SPIKE, "the fee spike")
        in_flight = [pay(stack, f"walk-{i}", to, 1) for i in range(3)]
        wait_for(lambda: all(status(stack, p) == "broadcast" for p in in_flight),
                 "the payouts to go out")

        answer = rotate(int(stack["API URL"].rsplit(":", 1)[1]), "faucet")
        new = str(answer["wallet"])
        assert answer["retiring"] == old and new != old

        big = pay(stack, "walk-unfundable", to, 2 * HOT_NATIVE)  # twice what the wallet holds
        behind = pay(stack, "walk-behind", to, 1)
        wait_for(lambda: status(stack, behind) in ("broadcast", "needs_attention"),
                 "the fundable payout behind the unfundable one to go out")
        assert status(stack, big) == "requested"

        first = in_flight[0]
        wait_for(lambda: status(stack, first) == "needs_attention", "the fee cap to park it")
        cancel = call(stack, "POST", f"/v1/admin/payouts/{first}/cancel",
                      {"max_fee": str(3 * SPIKE)})
        assert cancel["cancel_requested"] is True
        wait_for(lambda: status(stack, first) == "failed", "the cancel's no-op to land")
        # It landed during the spike: nothing priced at the cap could have.
        assert [status(stack, p) for p in in_flight[1:]] == ["needs_attention"] * 2
        assert balance(stack, to) == 0
    finally:
        stop.set()
        spike.join()

    rest = [*in_flight[1:], behind]
    wait_for(lambda: all(status(stack, p) == "confirmed" for p in rest), "the rest to land")
    assert status(stack, big) == "requested"  # still waiting for funds, blocking nothing

    rpc(stack, "eth_sendTransaction",
        {"from": FUNDER, "to": new, "value": hex(2 * HOT_NATIVE * ETH)})
    wait_for(lambda: status(stack, big) == "confirmed", "the funded payout to land")

    # On chain: every payout once, each from the wallet that signed it, no nonce gap.
    noop = tx(stack, call(stack, "GET", f"/v1/payouts/{first}")["tx_hash"])
    assert noop["from"].lower() == noop["to"].lower() == old.lower()
    assert int(noop["value"], 16) == 0 and noop["status"] == 1
    assert int(noop["maxFeePerGas"], 16) > CAP
    for pid, wallet in [(p, old) for p in in_flight[1:]] + [(behind, new), (big, new)]:
        sent = tx(stack, call(stack, "GET", f"/v1/payouts/{pid}")["tx_hash"])
        assert sent["from"].lower() == wallet.lower() and sent["to"].lower() == to.lower()
        assert sent["status"] == 1
    assert balance(stack, to) == (2 + 1 + 2 * HOT_NATIVE) * ETH
    assert nonce(stack, old) == 3  # the no-op and the two payouts in flight: no gap
    assert nonce(stack, new) == 2
    alerts = [json.loads(line) for line in _log(stack, "jobs.log") if '"alert": true' in line]
    insolvent = [a for a in alerts if a["event"] == "hot_wallet_insolvent"]
    assert [a["wallet"] for a in insolvent] == [new]


def _log(stack: dict[str, str], name: str) -> list[str]:
    return (Path(stack["logs"]) / name).read_text().splitlines()
