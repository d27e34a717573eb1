"""Per wallet, everything: key rotation with payouts in flight, unfundable intents that must not
block the queue, a chain that stops answering, and work-index copies that lag behind."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

from eth_account import Account

from chalicelib.core.clock import FixedClock
from chalicelib.core.outbox.jobs import run_confirmer
from chalicelib.core.outbox.model import BROADCAST, wallet_queue
from chalicelib.core.outbox.wallet import wallet_key
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import DynamoStore, Item
from local import bootstrap
from tests.integration.conftest import RuntimeWith
from tests.integration.payouts import (
    ETH,
    PAST_TIMEOUT_MS,
    TOKEN,
    Finalized,
    SlowReadsStore,
    automine,
    balance,
    hot,
    mine,
    new_address,
    nonce_of,
    request,
    rpc,
    stored,
    tick,
)


def settle(rt: Runtime, w3: Any, rounds: int = 4) -> None:
    for _ in range(rounds):
        tick(rt)
        mine(w3, 1)
    tick(rt)


# -- key rotation ----


def test_rotating_the_key_mid_flight_pays_every_payout_once_each_from_its_own_wallet(
    payout_rt: Runtime,
    w3: Any,
    runtime_with: RuntimeWith,
    token_address: str,
    hot_key: str,
    engine_clock: FixedClock,
    finalized: Finalized,
) -> None:
    old_rt = payout_rt
    old_wallet = Account.from_key(hot_key).address
    new_key = "0x" + secrets.token_hex(32)
    new_wallet = Account.from_key(new_key).address
    bootstrap.fund_native(w3, new_wallet, 100 * ETH)
    bootstrap.mint(w3, token_address, new_wallet, 1_000 * TOKEN)

    plan = [("rot-old-eth", "native", ETH), ("rot-old-skt", token_address, 7 * TOKEN)]
    before = []
    for key, asset, amount in plan:
        to = new_address()
        before.append((request(old_rt, key, asset, to, amount)["id"], asset, to, amount))
        engine_clock.advance(1)
    automine(w3, False)  # the old key's transactions stay pending across the rotation
    tick(old_rt)
    assert {stored(old_rt, pid)["status"] for pid, *_ in before} == {"broadcast"}

    # Rotate: the new key is active, the old one retires and drains what it signed.
    rt = runtime_with(new_key, RETIRING_SIGNER_PRIVATE_KEYS=hot_key)
    to_new = new_address()
    new_pid = request(rt, "rot-new-eth", "native", to_new, 2 * ETH)["id"]
    # Two timeouts: the old payouts are rebroadcast, then replaced at their nonces.
    for _ in range(2):
        engine_clock.advance(PAST_TIMEOUT_MS)
        tick(rt)
    for pid, *_ in before:
        payout = stored(rt, pid)
        assert payout["wallet"] == old_wallet
        assert len(payout["attempts"]) == 2  # replaced, by the old key only
        for attempt in payout["attempts"]:
            assert Account.recover_transaction("0x" + attempt["raw_tx"]) == old_wallet
        latest = w3.eth.get_transaction(payout["attempts"][-1]["hash"])
        assert latest["from"] == old_wallet and latest["nonce"] == int(payout["nonce"])
    new_payout = stored(rt, new_pid)
    assert new_payout["wallet"] == new_wallet and int(new_payout["nonce"]) == 0

    rpc(w3, "evm_mine")
    automine(w3, True)
    settle(rt, w3)
    for pid, asset, to, amount in [*before, (new_pid, "native", to_new, 2 * ETH)]:
        assert stored(rt, pid)["status"] == "confirmed"
        assert balance(w3, asset, to) == amount  # landed once, not twice
    assert nonce_of(w3, old_wallet) == 2
    assert nonce_of(w3, new_wallet) == 1
    assert sorted(finalized) == sorted(
        (pid, "confirmed") for pid in [*(p for p, *_ in before), new_pid]
    )

    # Drained: further ticks with both keys change nothing on chain.
    for _ in range(2):
        engine_clock.advance(PAST_TIMEOUT_MS)
        settle(rt, w3, rounds=1)
    assert (nonce_of(w3, old_wallet), nonce_of(w3, new_wallet)) == (2, 1)


def test_a_deployment_without_a_wallets_key_never_touches_that_wallets_payouts(
    payout_rt: Runtime,
    w3: Any,
    runtime_with: RuntimeWith,
    engine_clock: FixedClock,
) -> None:
    other_key = "0x" + secrets.token_hex(32)
    other_wallet = Account.from_key(other_key).address
    bootstrap.fund_native(w3, other_wallet, 10 * ETH)
    to = new_address()
    pid = request(payout_rt, "shared-table", "native", to, ETH)["id"]
    automine(w3, False)
    tick(payout_rt)
    sent = stored(payout_rt, pid)

    # Another deployment with another key on the same table (no retiring key configured).
    other = runtime_with(other_key)
    for _ in range(3):
        engine_clock.advance(PAST_TIMEOUT_MS)
        tick(other)
    assert stored(other, pid)["attempts"] == sent["attempts"]
    assert nonce_of(w3, other_wallet) == 0
    assert rpc(w3, "eth_getTransactionCount", [other_wallet, "pending"]) == "0x0"

    rpc(w3, "evm_mine")
    automine(w3, True)
    settle(payout_rt, w3)
    assert stored(payout_rt, pid)["status"] == "confirmed"
    assert balance(w3, "native", to) == ETH


# -- head-of-line blocking ----


def test_an_unfundable_payout_waits_while_ten_fundable_ones_behind_it_in_two_assets_confirm(
    payout_rt: Runtime,
    w3: Any,
    token_address: str,
    finalized: Finalized,
    alerts: Callable[..., int],
) -> None:
    rt = payout_rt
    wallet = rt.signer.address  # type: ignore[union-attr]
    big_to = new_address()
    big = request(rt, "hol-too-big", token_address, big_to, 2_000_000 * TOKEN)["id"]
    rt.clock.advance(1)
    small = []
    for i in range(10):
        asset, amount = (token_address, TOKEN) if i % 2 else ("native", ETH // 10)
        to = new_address()
        small.append((request(rt, f"hol-{i}", asset, to, amount)["id"], asset, to, amount))
        rt.clock.advance(1)

    settle(rt, w3)
    for pid, asset, to, amount in small:
        assert stored(rt, pid)["status"] == "confirmed"
        assert balance(w3, asset, to) == amount
    nonces = sorted(int(stored(rt, pid)["nonce"]) for pid, *_ in small)
    assert nonces == list(range(10))  # consecutive: the waiting one took none
    waiting = stored(rt, big)
    assert waiting["status"] == "requested" and waiting.get("nonce") is None
    assert nonce_of(w3, wallet) == 10
    assert alerts("hot_wallet_insolvent") == 1

    # Funded: it goes out with the next nonce, and the flag clears.
    bootstrap.mint(w3, token_address, wallet, 2_000_000 * TOKEN)
    settle(rt, w3)
    done = stored(rt, big)
    assert done["status"] == "confirmed" and int(done["nonce"]) == 10
    assert balance(w3, token_address, big_to) == 2_000_000 * TOKEN
    assert "insolvent_since" not in rt.store.get(**wallet_key(wallet))
    assert alerts("hot_wallet_insolvent") == 1
    assert len(finalized) == 11


# -- a dead chain node ----


def test_finalizers_still_run_when_the_chain_node_is_down(
    payout_rt: Runtime,
    w3: Any,
    runtime_with: RuntimeWith,
    served_store: DynamoStore,
    engine_clock: FixedClock,
    finalized: Finalized,
) -> None:
    pid = request(payout_rt, "dead-node", "native", new_address(), ETH)["id"]
    settle(payout_rt, w3, rounds=3)
    assert stored(payout_rt, pid)["status"] == "confirmed"
    finalized.clear()
    # Put the marker back, as if the finalize step had not run yet, and kill the node.
    from chalicelib.core.outbox.model import finalize_marker

    served_store.put(finalize_marker(stored(payout_rt, pid), "confirmed", engine_clock.now_ms()))
    dead = runtime_with(rpc="http://127.0.0.1:9")
    summary = tick(dead)
    assert summary.get("chain_unavailable") == 1
    assert summary.get("finalize_finalized") == 1
    assert finalized == [(pid, "confirmed")]


# -- work-index copies that lag ----


class LaggingIndexStore(DynamoStore):
    """The work index answers with copies taken earlier (as a GSI may in AWS)."""

    def __init__(self, inner: DynamoStore) -> None:
        super().__init__(inner.client, inner.table)
        self.frozen: dict[str, list[Item]] = {}

    def iter_work(self, wpk: str, **kwargs: Any) -> Iterator[Item]:
        if wpk in self.frozen:
            return iter(self.frozen[wpk])
        return super().iter_work(wpk, **kwargs)


def test_a_lagging_index_copy_never_parks_a_mined_payout(
    payout_rt: Runtime,
    w3: Any,
    served_store: DynamoStore,
    finalized: Finalized,
    alerts: Callable[..., int],
) -> None:
    rt = payout_rt
    pid = request(rt, "lagging", "native", new_address(), ETH)["id"]
    automine(w3, False)
    tick(rt)
    broadcast = wallet_queue(BROADCAST, hot(rt))
    stale = list(served_store.iter_work(broadcast))  # one attempt
    for _ in range(2):  # rebroadcast, then a replacement at the same nonce
        rt.clock.advance(PAST_TIMEOUT_MS)
        tick(rt)
    payout = stored(rt, pid)
    assert len(payout["attempts"]) == 2
    rpc(w3, "evm_mine")  # the replacement is mined
    automine(w3, True)
    mine(w3, 3)

    lagging = LaggingIndexStore(served_store)
    lagging.frozen[broadcast] = stale  # the index still shows the first attempt only
    rt.__dict__["store"] = lagging
    rt.clock.advance(PAST_TIMEOUT_MS)
    tick(rt)
    payout = stored(rt, pid)
    assert payout["status"] == "confirmed"
    assert payout["tx_hash"] == payout["attempts"][1]["hash"]
    assert alerts("payout_needs_attention") == 0
    assert finalized == [(pid, "confirmed")]


# -- a backlog larger than one run can read ----


def test_the_confirmer_concludes_the_oldest_payouts_of_a_backlog_it_cannot_read_in_one_run(
    payout_rt: Runtime, w3: Any, served_store: DynamoStore, engine_clock: FixedClock,
) -> None:
    rt = payout_rt
    pids = []
    for i in range(8):
        pids.append(request(rt, f"backlog-{i}", "native", new_address(), ETH // 100)["id"])
        engine_clock.advance(10)  # created one after the other
    automine(w3, False)
    tick(rt)
    assert all(stored(rt, pid)["status"] == "broadcast" for pid in pids)
    automine(w3, True)
    mine(w3, 3)  # every one of them is mined and at depth now

    rt.__dict__["store"] = SlowReadsStore(served_store, engine_clock)
    # Time for about four reads: reading the whole backlog first would leave none to act.
    run_confirmer(rt, rt.clock.now_ms() + rt.settings.job_margin_ms + 4_500)

    rt.__dict__["store"] = served_store
    statuses = [stored(rt, pid)["status"] for pid in pids]
    assert statuses[0] == "confirmed", statuses  # the oldest first, within the run's time
    assert "broadcast" in statuses  # the rest wait for the next run
