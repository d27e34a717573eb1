"""The payout engine end to end on the hardhat node and the serialized store server.

Every test asserts on the chain (recipient balance deltas, the hot wallet's nonce) as well as on
what is stored. Helpers are in `payouts.py`, fixtures in `conftest.py`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from eth_account import Account

from chalicelib.core.outbox import waiting
from chalicelib.core.outbox.intents import IdempotencyKeyConflict
from chalicelib.core.outbox.model import payout_key, requested_queue
from chalicelib.core.outbox.service import get_payout
from chalicelib.core.outbox.wallet import wallet_key
from chalicelib.core.runtime import Runtime
from chalicelib.core.wallets import FAUCET
from local import bootstrap
from tests.integration.payouts import (
    ADMIN,
    ETH,
    TOKEN,
    Finalized,
    automine,
    balance,
    counter,
    deadline,
    hot,
    marker,
    mine,
    new_address,
    nonce_of,
    request,
    rpc,
    send_only,
    stored,
    tick,
    tx_on_chain,
)

# -- 1. happy path ----------------------------------------------------------------------------


def test_native_and_token_payouts_are_confirmed_only_at_depth_with_consecutive_nonces(
    payout_rt: Runtime, w3: Any, token_address: str, finalized: Finalized
) -> None:
    rt = payout_rt
    wallet = hot(rt)
    start_nonce = nonce_of(w3, wallet)
    plan = [
        ("happy-native-1", "native", new_address(), 3 * ETH // 2),
        ("happy-token", token_address, new_address(), 25 * TOKEN),
        ("happy-native-2", "native", new_address(), ETH // 4),
    ]
    before = {to: balance(w3, asset, to) for _, asset, to, _ in plan}
    ids = []
    for key, asset, to, amount in plan:
        item = request(rt, key, asset, to, amount)
        assert item["status"] == "requested"
        ids.append(item["id"])
        rt.clock.advance(1)  # FIFO by creation time
    view = get_payout(rt, ids[0])
    assert (view["status"], view["tx_hash"], view["confirmations"]) == ("requested", None, 0)

    automine(w3, False)  # all three land in one block, so depth is easy to reason about
    summary = tick(rt)
    assert summary["requested->signed"] == 3
    assert summary["signed->broadcast"] == 3
    payouts = [stored(rt, pid) for pid in ids]
    assert [p["status"] for p in payouts] == ["broadcast"] * 3
    assert [int(p["nonce"]) for p in payouts] == [start_nonce, start_nonce + 1, start_nonce + 2]
    assert counter(rt) == start_nonce + 3
    for p in payouts:
        tx = tx_on_chain(w3, p["tx_hash"])
        assert tx["from"] == wallet and tx["nonce"] == int(p["nonce"])
        assert tx["blockNumber"] is None  # pending: nothing moved yet
    assert nonce_of(w3, wallet) == start_nonce

    rpc(w3, "evm_mine")
    automine(w3, True)
    assert nonce_of(w3, wallet) == start_nonce + 3
    for _, asset, to, amount in plan:
        assert balance(w3, asset, to) - before[to] == amount

    summary = tick(rt)  # 1 confirmation (its own block): mined, remembered, not confirmed
    assert summary.get("mined") == 3
    assert {stored(rt, pid)["status"] for pid in ids} == {"broadcast"}
    assert get_payout(rt, ids[0])["confirmations"] == 1
    assert finalized == []

    mine(w3, 1)
    summary = tick(rt)  # 2 confirmations == CONFIRMATIONS
    assert summary["broadcast->confirmed"] == 3
    assert summary["finalize_finalized"] == 3
    for pid, p in zip(ids, payouts, strict=True):
        view = get_payout(rt, pid)
        assert view["status"] == "confirmed"
        assert view["tx_hash"] == p["tx_hash"]
        assert view["confirmations"] == 2
        assert view["attempts"] == 1
    assert sorted(finalized) == sorted((pid, "confirmed") for pid in ids)

    mine(w3, 3)
    for _ in range(2):
        tick(rt)
    assert get_payout(rt, ids[0])["confirmations"] == 5
    assert get_payout(rt, ids[0])["final"] is False  # FINALITY_DEPTH is 64
    assert len(finalized) == 3
    assert nonce_of(w3, wallet) == start_nonce + 3
    for _, asset, to, amount in plan:
        assert balance(w3, asset, to) - before[to] == amount


# -- 2. idempotency ---------------------------------------------------------------------------


def test_the_same_key_with_the_same_parameters_is_one_payout_and_one_transfer(
    payout_rt: Runtime, w3: Any, finalized: Finalized
) -> None:
    rt = payout_rt
    wallet, to = hot(rt), new_address()
    first = request(rt, "idem-same", "native", to, ETH)
    rt.clock.advance(5_000)
    again = request(rt, "idem-same", "native", to, ETH)
    assert again["id"] == first["id"]
    assert again["created_at"] == first["created_at"]

    tick(rt)
    rt.clock.advance(5_000)
    assert request(rt, "idem-same", "native", to, ETH)["status"] == "broadcast"
    mine(w3, 2)
    tick(rt)
    assert request(rt, "idem-same", "native", to, ETH)["status"] == "confirmed"
    tick(rt)
    assert balance(w3, "native", to) == ETH
    assert nonce_of(w3, wallet) == 1
    assert finalized == [(first["id"], "confirmed")]


def test_the_same_key_with_another_amount_is_a_conflict_and_changes_nothing(
    payout_rt: Runtime, w3: Any, finalized: Finalized
) -> None:
    rt = payout_rt
    wallet, to = hot(rt), new_address()
    first = request(rt, "idem-conflict", "native", to, ETH)
    before = stored(rt, first["id"])
    with pytest.raises(IdempotencyKeyConflict) as err:
        request(rt, "idem-conflict", "native", to, 2 * ETH)
    assert err.value.status == 409
    assert err.value.code == "idempotency_key_conflict"
    assert err.value.details == {"payout_id": first["id"]}
    with pytest.raises(IdempotencyKeyConflict):
        request(rt, "idem-conflict", "native", new_address(), ETH)
    assert stored(rt, first["id"]) == before

    tick(rt)
    mine(w3, 2)
    tick(rt)
    assert stored(rt, first["id"])["amount"] == str(ETH)
    assert balance(w3, "native", to) == ETH
    assert nonce_of(w3, wallet) == 1


# -- 4. concurrent senders --------------------------------------------------------------------


def test_concurrent_engine_runs_let_one_holder_send_each_payout_exactly_once(
    payout_rt: Runtime, w3: Any, finalized: Finalized
) -> None:
    rt = payout_rt
    wallet = hot(rt)
    threads = 4
    recipients = [new_address() for _ in range(20)]
    ids = [
        request(rt, f"race-{i}", "native", to, ETH // 100 + i)["id"]
        for i, to in enumerate(recipients)
    ]
    barrier = threading.Barrier(threads)

    def work(_: int) -> dict[str, Any] | BaseException:
        barrier.wait(timeout=30)
        try:
            return tick(rt)
        except BaseException as exc:  # noqa: BLE001 - inspected below
            return exc

    results: list[Any] = [None] * threads

    def runner(i: int) -> None:
        results[i] = work(i)

    workers = [threading.Thread(target=runner, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=120)
    assert not any(isinstance(r, BaseException) for r in results), results
    holders = [r for r in results if "skipped" not in r]
    skipped = [r for r in results if r.get("skipped") == "lease_held"]
    assert len(holders) == 1, results
    assert len(skipped) == threads - 1, results
    assert holders[0]["requested->signed"] == 20

    mine(w3, 2)
    tick(rt)
    assert {stored(rt, pid)["status"] for pid in ids} == {"confirmed"}
    assert nonce_of(w3, wallet) == 20
    nonces = sorted(int(stored(rt, pid)["nonce"]) for pid in ids)
    assert nonces == list(range(20))
    assert counter(rt) == 20
    for i, to in enumerate(recipients):
        assert balance(w3, "native", to) == ETH // 100 + i
    assert len(finalized) == 20


# -- 9. reverting token transfer ----------------------------------------------------------------


def test_a_reverted_token_transfer_fails_once_is_not_retried_and_alerts_once(
    payout_rt: Runtime,
    w3: Any,
    token_address: str,
    finalized: Finalized,
    alerts: Callable[..., int],
) -> None:
    rt = payout_rt
    wallet, to = hot(rt), new_address()
    token = bootstrap.token(w3, token_address)
    token.functions.set_paused(True).transact({"from": w3.eth.accounts[0]})
    hot_tokens = balance(w3, token_address, wallet)
    pid = request(rt, "reverting", token_address, to, 7 * TOKEN)["id"]

    for _ in range(3):  # send (possibly after the node's revert answer), then follow
        tick(rt)
        mine(w3, 1)
    tick(rt)
    payout = stored(rt, pid)
    assert payout["status"] == "failed"
    assert len(payout["attempts"]) == 1
    receipt = w3.eth.get_transaction_receipt(payout["tx_hash"])
    assert receipt["status"] == 0
    assert nonce_of(w3, wallet) == 1
    assert finalized == [(pid, "failed")]
    assert marker(rt, pid) is None

    for _ in range(3):
        mine(w3, 1)
        tick(rt)
    assert stored(rt, pid)["status"] == "failed"
    assert nonce_of(w3, wallet) == 1
    assert balance(w3, token_address, to) == 0
    assert balance(w3, token_address, wallet) == hot_tokens
    assert len(finalized) == 1
    assert alerts("payout_reverted") == 1


# -- 10. insufficient hot-wallet balance --------------------------------------------------------


def test_a_payout_bigger_than_the_hot_wallet_waits_alerts_once_and_pays_after_funding(
    payout_rt: Runtime, w3: Any, finalized: Finalized, alerts: Callable[..., int]
) -> None:
    rt = payout_rt
    wallet, to = hot(rt), new_address()
    pid = request(rt, "too-big", "native", to, 150 * ETH)["id"]
    for _ in range(4):
        summary = tick(rt)
        assert summary.get("waiting_for_funds") == 1
        rt.clock.advance(60_000)
    payout = stored(rt, pid)
    assert payout["status"] == "requested"
    assert payout.get("nonce") is None
    assert nonce_of(w3, wallet) == 0
    assert balance(w3, "native", to) == 0
    assert alerts("hot_wallet_insolvent") == 1
    assert "insolvent_since" in rt.store.get(**wallet_key(wallet))

    bootstrap.fund_native(w3, wallet, 100 * ETH)
    tick(rt)
    assert stored(rt, pid)["status"] == "broadcast"
    mine(w3, 2)
    tick(rt)
    assert stored(rt, pid)["status"] == "confirmed"
    assert balance(w3, "native", to) == 150 * ETH
    assert nonce_of(w3, wallet) == 1
    assert "insolvent_since" not in rt.store.get(**wallet_key(wallet))
    assert finalized == [(pid, "confirmed")]
    assert alerts("hot_wallet_insolvent") == 1


def test_an_intent_waiting_for_funds_costs_no_read_and_no_write_per_run(
    payout_rt: Runtime, w3: Any, alerts: Callable[..., int]
) -> None:
    """Every run walks past it on its index copy: its amount and asset never change, and a run
    that only skips it must not pay a consistent read, nor a failed flag write, each time."""
    rt = payout_rt
    wallet = hot(rt)
    pid = request(rt, "waits", "native", new_address(), 150 * ETH)["id"]
    tick(rt)  # the first run flags the wallet and alerts
    touched: list[tuple[str, str]] = []

    def hook(model: Any, params: Any = None, **_: Any) -> None:
        pk = ((params or {}).get("Key") or {}).get("pk", {}).get("S", "")
        touched.append((model.name, pk))

    client = rt.store.client
    client.meta.events.register("before-parameter-build.dynamodb", hook)
    try:
        for _ in range(3):
            assert tick(rt).get("waiting_for_funds") == 1
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb", hook)
    assert [t for t in touched if t[1] == payout_key(pid)["pk"]] == []
    assert [t for t in touched if t == ("UpdateItem", wallet_key(wallet)["pk"])] == []
    assert stored(rt, pid)["status"] == "requested"
    assert alerts("hot_wallet_insolvent") == 1


class WaitingReads:
    """The reads of the faucet's waiting queue: each Query's condition and items answered."""

    def __init__(self, rt: Runtime) -> None:
        self.client = rt.store.client
        self.queue = requested_queue(FAUCET)
        self.conditions: list[str] = []
        self.items = 0

    def __enter__(self) -> WaitingReads:
        self.client.meta.events.register("before-parameter-build.dynamodb.Query", self._asked)
        self.client.meta.events.register("after-call.dynamodb.Query", self._answered)
        return self

    def __exit__(self, *_: Any) -> None:
        self.client.meta.events.unregister("before-parameter-build.dynamodb.Query", self._asked)
        self.client.meta.events.unregister("after-call.dynamodb.Query", self._answered)

    def _asked(self, params: Any, **_: Any) -> None:
        self._mine = params["ExpressionAttributeValues"][":w"]["S"] == self.queue
        if self._mine:
            self.conditions.append(params["KeyConditionExpression"])

    def _answered(self, parsed: Any, **_: Any) -> None:
        if self._mine:
            self.items += len(parsed.get("Items", []))


def test_an_insolvent_wallet_reads_only_new_intents_until_its_funds_grow(
    payout_rt: Runtime, w3: Any, alerts: Callable[..., int]
) -> None:
    """An empty wallet behind a backlog must not read the whole backlog every run: its next runs
    read only what arrived since (a new intent it can fund still goes out), until a balance
    grows, the gas price falls or FULL_READ_EVERY_MS passed; then it reads everything again."""
    rt = payout_rt
    wallet = hot(rt)
    big = [request(rt, f"big-{i}", "native", new_address(), 150 * ETH)["id"] for i in range(30)]
    rt.clock.advance(1)
    with WaitingReads(rt) as first:
        assert tick(rt)["waiting_for_funds"] == 30
    assert first.items == 30 and all(">" not in c for c in first.conditions)
    assert alerts("hot_wallet_insolvent") == 1
    rt.clock.advance(waiting.LATE_MS + 1_000)
    with WaitingReads(rt) as aged:  # read once more: they were "just created" at the first read
        assert tick(rt)["waiting_for_funds"] == 30
    assert aged.items == 30 and aged.conditions and all(">" in c for c in aged.conditions)

    with WaitingReads(rt) as again:
        assert tick(rt)["waiting_for_funds"] == 30
    assert again.items == 0 and again.conditions and all(">" in c for c in again.conditions)

    small = request(rt, "small", "native", new_address(), ETH // 100)["id"]
    with WaitingReads(rt) as new:
        summary = tick(rt)
    assert (summary["requested->signed"], summary["waiting_for_funds"]) == (1, 30)
    assert new.items == 1 and stored(rt, small)["status"] in ("broadcast", "confirmed")
    assert alerts("hot_wallet_insolvent") == 1  # still flagged, not alerted again

    rt.clock.advance(waiting.FULL_READ_EVERY_MS)
    with WaitingReads(rt) as periodic:
        assert tick(rt)["waiting_for_funds"] == 30
    assert periodic.items == 30 and all(">" not in c for c in periodic.conditions)

    rpc(w3, "hardhat_setBalance", [wallet, hex(10_000 * ETH)])  # the operator funds it
    with WaitingReads(rt) as funded:
        summary = tick(rt)
    assert funded.items == 30 and all(">" not in c for c in funded.conditions)
    assert summary["requested->signed"] == 30 and summary.get("waiting_for_funds", 0) == 0
    assert {stored(rt, pid)["status"] for pid in big} <= {"broadcast", "confirmed"}


def test_the_sender_reads_its_batch_in_one_request_and_skips_a_stale_index_copy(
    payout_rt: Runtime, w3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index may still list an intent another run already took: the consistent read of
    the batch (one BatchGetItem, not a GetItem per intent) drops it, and the nonces stay
    consecutive for the others."""
    rt = payout_rt
    wallet = hot(rt)
    start_nonce = nonce_of(w3, wallet)
    ids = []
    for i in range(3):
        ids.append(request(rt, f"stale-{i}", "native", new_address(), ETH // 10)["id"])
        rt.clock.advance(1)
    queue = requested_queue(FAUCET)
    copies = list(rt.store.iter_work(queue))
    assert [c["id"] for c in copies] == ids
    taken = rt.store.update(payout_key(ids[1]), set={"status": "cancelled"})  # by another run
    assert taken["status"] == "cancelled"
    real_iter = rt.store.iter_work
    monkeypatch.setattr(rt.store, "iter_work",
                        lambda q, **kw: iter(copies) if q == queue else real_iter(q, **kw))
    calls: list[tuple[str, str]] = []

    def hook(model: Any, params: Any = None, **_: Any) -> None:
        calls.append((model.name, ((params or {}).get("Key") or {}).get("pk", {}).get("S", "")))

    rt.store.client.meta.events.register("before-parameter-build.dynamodb", hook)
    try:
        summary = send_only(rt)
    finally:
        rt.store.client.meta.events.unregister("before-parameter-build.dynamodb", hook)
    assert summary["requested->signed"] == 2
    assert [c for c in calls if c[1].startswith("payout#")] == []
    assert [name for name, _ in calls].count("BatchGetItem") == 1
    sent = [stored(rt, ids[0]), stored(rt, ids[2])]
    assert [int(p["nonce"]) for p in sent] == [start_nonce, start_nonce + 1]
    assert stored(rt, ids[1]).get("nonce") is None
    for p in sent:
        assert tx_on_chain(w3, p["tx_hash"])["nonce"] == int(p["nonce"])


# -- 11. duplicate scheduled invocations --------------------------------------------------------


def test_duplicate_and_concurrent_scheduled_ticks_change_nothing_twice(
    payout_rt: Runtime, w3: Any, token_address: str, finalized: Finalized
) -> None:
    from chalicelib.jobs import run_tick

    rt = payout_rt
    wallet = hot(rt)
    plan = [
        (f"dup-{i}", asset, new_address(), (i + 1) * ETH)
        for i, asset in enumerate(["native", token_address, "native"])
    ]
    ids = [request(rt, key, asset, to, amount)["id"] for key, asset, to, amount in plan]

    def both_at_once() -> list[Any]:
        barrier = threading.Barrier(2)
        out: list[Any] = [None, None]

        def go(i: int) -> None:
            barrier.wait(timeout=30)
            try:
                out[i] = run_tick(rt, deadline(rt))
            except BaseException as exc:  # noqa: BLE001 - inspected below
                out[i] = exc

        ts = [threading.Thread(target=go, args=(i,)) for i in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(timeout=60)
        assert not any(isinstance(r, BaseException) for r in out), out
        return out

    def chain_state() -> tuple[int, list[int]]:
        return nonce_of(w3, wallet), [balance(w3, a, to) for _, a, to, _ in plan]

    run_tick(rt, deadline(rt))
    run_tick(rt, deadline(rt))
    after_first = chain_state()
    assert after_first == (3, [amount for *_, amount in plan])
    both_at_once()
    assert chain_state() == after_first

    mine(w3, 2)
    both_at_once()
    run_tick(rt, deadline(rt))
    assert {stored(rt, pid)["status"] for pid in ids} == {"confirmed"}
    assert chain_state() == after_first
    assert counter(rt) == 3
    # Finalizers may be called more than once (they must be idempotent) but each hears confirmed.
    assert {pid for pid, _ in finalized} == set(ids)
    assert {status for _, status in finalized} == {"confirmed"}
    assert all(marker(rt, pid) is None for pid in ids)


# -- 12. nonce counter raised when the chain is ahead -------------------------------------------


def test_a_transaction_sent_outside_the_engine_raises_the_counter_which_never_goes_down(
    payout_rt: Runtime, w3: Any, hot_key: str, finalized: Finalized
) -> None:
    rt = payout_rt
    wallet = hot(rt)
    seen: list[int] = []

    first = request(rt, "ahead-1", "native", new_address(), ETH)["id"]
    tick(rt)
    seen.append(counter(rt))
    assert int(stored(rt, first)["nonce"]) == 0

    latest = w3.eth.get_block("latest")
    outside = Account.from_key(hot_key).sign_transaction(
        {
            "type": 2,
            "chainId": 31337,
            "nonce": 1,
            "to": new_address(),
            "value": 1,
            "gas": 21_000,
            "maxFeePerGas": 2 * latest["baseFeePerGas"] + 10**9,
            "maxPriorityFeePerGas": 10**9,
        }
    )
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(outside.raw_transaction))
    assert nonce_of(w3, wallet) == 2
    seen.append(counter(rt))

    to = new_address()
    second = request(rt, "ahead-2", "native", to, 2 * ETH)["id"]
    tick(rt)
    seen.append(counter(rt))
    payout = stored(rt, second)
    assert int(payout["nonce"]) == 2
    assert tx_on_chain(w3, payout["tx_hash"])["nonce"] == 2
    mine(w3, 2)
    tick(rt)
    seen.append(counter(rt))
    assert stored(rt, second)["status"] == "confirmed"
    assert stored(rt, first)["status"] == "confirmed"
    assert balance(w3, "native", to) == 2 * ETH
    assert nonce_of(w3, wallet) == 3
    for _ in range(2):
        tick(rt)
        seen.append(counter(rt))
    assert seen == sorted(seen)
    assert seen[-1] == 3


# -- 13. admin routes -----------------------------------------------------------------------------

PUBLIC_FIELDS = {
    "id",
    "status",
    "asset",
    "to",
    "amount",
    "tx_hash",
    "attempts",
    "confirmations",
    "created_at",
    "updated_at",
}


@pytest.fixture
def api(payout_rt: Runtime) -> Iterator[Any]:
    from chalice.test import Client

    import app
    from chalicelib.core.runtime import set_runtime

    set_runtime(payout_rt)
    try:
        with Client(app.app) as client:
            yield client
    finally:
        set_runtime(None)


def post(api: Any, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return api.http.post(
        path,
        body=json.dumps(body),
        headers={"Content-Type": "application/json", **(ADMIN if headers is None else headers)},
    )


def test_admin_routes_order_list_reconcile_and_show_payouts(
    payout_rt: Runtime, w3: Any, token_address: str, api: Any
) -> None:
    rt = payout_rt
    wallet, to, token_to = hot(rt), new_address(), new_address()
    order = {"key": "refund-42", "asset": "native", "to": to, "amount": "1.5"}

    for headers in ({}, {"Authorization": "Bearer not-the-admin-token-at-all"}):
        resp = post(api, "/v1/admin/payouts", order, headers)
        assert resp.status_code == 401, resp.json_body
    created = post(api, "/v1/admin/payouts", order)
    assert created.status_code == 202, created.json_body
    pid = created.json_body["id"]
    assert created.json_body["status"] == "requested"
    assert created.json_body["amount"] == "1.5"

    rt.clock.advance(1_000)
    again = post(api, "/v1/admin/payouts", order)
    assert again.status_code == 200, again.json_body
    assert again.json_body["id"] == pid
    conflict = post(api, "/v1/admin/payouts", {**order, "amount": "2"})
    assert conflict.status_code == 409
    assert conflict.json_body["error"] == "idempotency_key_conflict"
    token_order = {"key": "refund-43", "asset": "SKT", "to": token_to, "amount": "2.25"}
    token_pid = post(api, "/v1/admin/payouts", token_order).json_body["id"]
    assert stored(rt, pid)["amount"] == str(3 * ETH // 2)

    resp = api.http.post("/v1/admin/reconcile", headers=ADMIN)
    assert resp.status_code == 200, resp.json_body
    summary = resp.json_body["summary"]["payouts"]
    assert summary["requested->signed"] == 2
    assert summary["signed->broadcast"] == 2
    # Automine put them in two blocks: the first has 2 confirmations (its own block counts).
    early = summary.get("broadcast->confirmed", 0)
    assert early == summary.get("finalize_finalized", 0) <= 1
    mine(w3, 2)
    summary = api.http.post("/v1/admin/reconcile", headers=ADMIN).json_body["summary"]["payouts"]
    assert early + summary["broadcast->confirmed"] == 2
    assert early + summary["finalize_finalized"] == 2
    assert nonce_of(w3, wallet) == 2
    assert balance(w3, "native", to) == 3 * ETH // 2
    assert balance(w3, token_address, token_to) == 9 * TOKEN // 4

    listed = api.http.get("/v1/admin/payouts?status=confirmed", headers=ADMIN)
    assert listed.status_code == 200
    assert {p["id"] for p in listed.json_body["payouts"]} == {pid, token_pid}
    assert (
        api.http.get("/v1/admin/payouts?status=requested", headers=ADMIN).json_body["payouts"] == []
    )
    bad = api.http.get("/v1/admin/payouts?status=bogus", headers=ADMIN)
    assert bad.status_code == 400 and bad.json_body["error"] == "invalid_status"
    assert api.http.get("/v1/admin/payouts?status=confirmed").status_code == 401

    shown = api.http.get(f"/v1/payouts/{pid}")
    assert shown.status_code == 200
    view = shown.json_body
    assert PUBLIC_FIELDS <= set(view)
    assert "raw_tx" not in json.dumps(view) and "owner_id" not in view
    assert view["status"] == "confirmed"
    assert (view["asset"], view["to"], view["amount"]) == ("native", to, "1.5")
    assert view["tx_hash"] == stored(rt, pid)["tx_hash"]
    assert view["attempts"] == 1
    assert view["confirmations"] >= 2
    assert view["created_at"].endswith("Z") and view["updated_at"].endswith("Z")
    assert w3.eth.get_transaction(view["tx_hash"])["nonce"] in (0, 1)

    for unknown in ("po_" + "0" * 32, "nope"):
        missing = api.http.get(f"/v1/payouts/{unknown}")
        assert missing.status_code == 404
        assert missing.json_body["error"] == "payout_not_found"
    assert nonce_of(w3, wallet) == 2


def test_repeating_an_admin_order_in_the_same_millisecond_answers_200_not_202(
    payout_rt: Runtime, w3: Any, api: Any
) -> None:
    order = {"key": "same-ms", "asset": "native", "to": new_address(), "amount": "1"}
    first = post(api, "/v1/admin/payouts", order)
    assert first.status_code == 202
    again = post(api, "/v1/admin/payouts", order)  # the clock has not moved
    assert again.json_body["id"] == first.json_body["id"]
    assert nonce_of(w3, hot(payout_rt)) == 0
    assert again.status_code == 200
