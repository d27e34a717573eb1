"""Helpers for the tests that drive the payout engine on the hardhat node and the store server.

Test payouts belong to owner type `test` and come from the faucet wallet (in these tests one
shared wallet pays every purpose); the `finalized` and `alerts` fixtures are in `conftest.py`.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account

from chalicelib.core.clock import FixedClock
from chalicelib.core.outbox import purposes
from chalicelib.core.outbox.intents import make_intent, request_payout
from chalicelib.core.outbox.jobs import run_confirmer, run_engine, run_sender
from chalicelib.core.outbox.model import finalize_key, payout_key
from chalicelib.core.outbox.wallet import wallet_key
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import DynamoStore, Item
from chalicelib.core.wallets import FAUCET
from local import bootstrap

ETH = 10**18
TOKEN = 10**18
OWNER = "test"
purposes.register_owner(OWNER, FAUCET)
Finalized = list[tuple[str, str]]
PAST_TIMEOUT_MS = 31_000  # PAYOUT_REBROADCAST_SECONDS is 30 in the test settings (conftest)


def deadline(rt: Runtime) -> int:
    return rt.clock.now_ms() + 60_000


def tick(rt: Runtime) -> dict[str, Any]:
    return run_engine(rt, deadline(rt))


def send_only(rt: Runtime) -> dict[str, Any]:
    return run_sender(rt, deadline(rt))


def confirm_only(rt: Runtime) -> dict[str, Any]:
    return run_confirmer(rt, deadline(rt))


def rpc(w3: Any, method: str, params: list[Any] | None = None) -> Any:
    resp = w3.provider.make_request(method, params or [])
    assert "error" not in resp, resp
    return resp.get("result")


def mine(w3: Any, blocks: int = 1) -> None:
    rpc(w3, "hardhat_mine", [hex(blocks)])


def automine(w3: Any, on: bool) -> None:
    rpc(w3, "evm_setAutomine", [on])


def new_address() -> str:
    return str(Account.create().address)


def hot(rt: Runtime) -> str:
    assert rt.signer is not None
    return rt.signer.address


def nonce_of(w3: Any, address: str) -> int:
    return int(w3.eth.get_transaction_count(address))


def balance(w3: Any, asset: str, address: str) -> int:
    if asset == "native":
        return int(w3.eth.get_balance(address))
    return int(bootstrap.token(w3, asset).functions.balanceOf(address).call())


def request(
    rt: Runtime, key: str, asset: str, to: str, amount: int, owner_id: str | None = None
) -> Item:
    intent = make_intent(key, asset, to, amount, OWNER, owner_id or key, purpose=FAUCET)
    return request_payout(rt.store, intent, rt.clock.now_ms())[0]


def stored(rt: Runtime, pid: str) -> Item:
    item = rt.store.get(**payout_key(pid))
    assert item is not None
    return item


def counter(rt: Runtime) -> int | None:
    item = rt.store.get(**wallet_key(hot(rt)))
    return None if item is None else int(item["next_nonce"])


def marker(rt: Runtime, pid: str) -> Item | None:
    return rt.store.get(**finalize_key(pid))


def tx_on_chain(w3: Any, tx_hash: str) -> Any:
    return w3.eth.get_transaction(tx_hash)


def known(w3: Any, tx_hash: str) -> bool:
    """Whether the node still has the transaction (mined or in its pool)."""
    return rpc(w3, "eth_getTransactionByHash", [tx_hash]) is not None


ADMIN = {"Authorization": "Bearer admin-token-for-tests-0123456789"}


class SlowReadsStore(DynamoStore):
    """Each read of an item takes a second of the run's clock (a slow or throttled store)."""

    def __init__(self, inner: DynamoStore, clock: FixedClock) -> None:
        super().__init__(inner.client, inner.table)
        self.clock = clock

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Item | None:
        self.clock.advance(1_000)
        return super().get(pk, sk, consistent=consistent)
