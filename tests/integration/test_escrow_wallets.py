"""Escrow that is really escrow, on the hardhat node: one wallet per purpose, checkable reserves.

The service runs with three keys: escrow (funded with gas only; its tokens are the traders'
deposits), faucet (a little gas and a few drips' worth of tokens) and anchor. A faucet that runs
dry waits for funds in its own lane, and never spends what traders deposited; an escrow wallet
drained from outside shows `solvent: false` and raises exactly one alert.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest

import chalicelib.otc.signatures  # noqa: F401 - the signed actions the traders use
from chalicelib import jobs
from chalicelib.core.clock import FixedClock
from chalicelib.core.outbox import finalize
from chalicelib.core.outbox.intents import intent_item, make_intent
from chalicelib.core.outbox.model import CONFIRMED, REQUESTED, payout_key
from chalicelib.core.outbox.purposes import register_owner
from chalicelib.core.outbox.wallet import wallet_key
from chalicelib.core.runtime import Runtime, set_runtime
from chalicelib.core.store import DynamoStore
from chalicelib.core.wallets import ANCHOR, ESCROW, FAUCET
from chalicelib.faucet import drips
from chalicelib.otc import ledger, matching, orders
from local import bootstrap
from tests.integration import test_otc_flows as flows
from tests.integration.conftest import engine_settings
from tests.integration.payouts import balance, mine, nonce_of
from tests.integration.test_otc_flows import ALICE, BOB, DAVE, UNIT, order_of, send, signed

engine_clock = flows.engine_clock
traders = flows.traders

IP = "198.51.100.20"
GAS = 10**18  # 1 ETH: plenty of gas on the local node
DRIP = 10  # SKT per drip (the setting below)
BURST = "test_burst"  # a test owner of faucet payouts


def purpose_runtime(
    w3: Any, chain_url: str, store: DynamoStore, token: str, clock: FixedClock,
    faucet_tokens: int, **extra: str,
) -> tuple[Runtime, dict[str, str]]:
    """Three wallets with fresh keys: each gets gas; the faucet also `faucet_tokens`."""
    from eth_account import Account

    keys = {p: extra.pop(f"{p.upper()}_PRIVATE_KEY", "") or "0x" + secrets.token_hex(32)
            for p in (ESCROW, FAUCET, ANCHOR)}
    for key in keys.values():
        bootstrap.fund_native(w3, Account.from_key(key).address, GAS)
    bootstrap.mint(w3, token, Account.from_key(keys[FAUCET]).address, faucet_tokens)
    settings = engine_settings(
        chain_url, "", token, store.table,
        SIGNER_PRIVATE_KEY="",
        ESCROW_PRIVATE_KEY=keys[ESCROW],
        FAUCET_PRIVATE_KEY=keys[FAUCET],
        ANCHOR_PRIVATE_KEY=keys[ANCHOR],
        DRIP_AMOUNT=str(DRIP),
        DRIP_MAX_REQUESTS="100",
        OTC_WALLET_RATE_MAX="0",
        OTC_IP_RATE_MAX="0",
        **extra,
    )
    addresses = {p: Account.from_key(k).address for p, k in keys.items()}
    return Runtime(settings, clock=clock, dynamodb_client=store.client), addresses


@pytest.fixture
def purpose_rt(
    w3: Any, chain_url: str, chain_snapshot: None, served_store: DynamoStore, token_address: str,
    engine_clock: FixedClock, traders: list[str],
) -> Runtime:
    """Three wallets: escrow with gas only, faucet with gas and two drips' worth, anchor."""
    rt, _ = purpose_runtime(w3, chain_url, served_store, token_address, engine_clock,
                            2 * DRIP * UNIT)
    return rt


def wallet_of(rt: Runtime, purpose: str) -> str:
    address = rt.wallets.address(purpose)
    assert address is not None
    return address


def trade(rt: Runtime, w3: Any, token: str) -> str:
    """Alice sells 100 SKT for 1 ETH, Bob takes it: both deposits in escrow, order settling."""
    dep = send(w3, rt, ALICE, token, 100 * UNIT)
    body = {"maker": ALICE, "pair": "SKT/ETH", "side": "sell", "amount": "100",
            "price": "0.01", "ttl_seconds": 3600, "deposit_tx": dep.tx}
    oid = str(orders.create_order(rt, signed(rt, "create_order", body), IP)["id"])
    taker_dep = send(w3, rt, BOB, "native", UNIT)
    rt.clock.advance(1_000)  # type: ignore[attr-defined]
    body = signed(rt, "match_order", {"taker": BOB, "deposit_tx": taker_dep.tx}, oid)
    assert matching.match_order(rt, oid, body, IP)["status"] == "settling"
    return oid


def test_a_dry_faucet_waits_in_its_own_lane_and_never_spends_the_escrowed_deposits(
    purpose_rt: Runtime, w3: Any, token_address: str, alerts: Callable[..., int]
) -> None:
    rt = purpose_rt
    escrow, faucet = wallet_of(rt, ESCROW), wallet_of(rt, FAUCET)
    # Five drips, but the faucet holds only two drips' worth.
    drip_ids = [drips.request_drip(rt, {"wallet": w3.eth.accounts[10 + i]}, f"198.51.100.{i}")
                ["payout_id"] for i in range(5)]
    oid = trade(rt, w3, token_address)
    assert balance(w3, token_address, escrow) == 100 * UNIT  # the traders' deposit, nothing else

    flows.run_until_settled(rt, w3)

    # The trade completed on time, paid from escrow alone, and escrow owes nothing now.
    order = order_of(rt, oid)
    assert order["status"] == "completed"
    legs = [rt.store.get(**payout_key(pid)) for pid in order["payouts"].values()]
    assert all(p and p["status"] == CONFIRMED and p["wallet"] == escrow for p in legs)
    assert balance(w3, token_address, escrow) == 0 and nonce_of(w3, escrow) == 2
    assert ledger.owed(rt, token_address) == 0 and ledger.owed(rt, "native") == 0
    # The faucet paid what it had, from its own wallet, and the rest waits for funds there.
    paid = [p for p in rt.store.iter_work("payouts#confirmed") if p["purpose"] == FAUCET]
    waiting = [p for p in rt.store.iter_work(f"payouts#{REQUESTED}") if p["purpose"] == FAUCET]
    assert len(paid) == 2 and all(p["wallet"] == faucet for p in paid)
    assert len(waiting) == 3 and len(drip_ids) == 5
    assert balance(w3, token_address, faucet) == 0 and nonce_of(w3, faucet) == 2
    # One funding alert, the faucet's: escrow never waited for anything.
    assert alerts("hot_wallet_insolvent") == 1
    assert "insolvent_since" in rt.store.get(**wallet_key(faucet))  # type: ignore[operator]
    assert "insolvent_since" not in rt.store.get(**wallet_key(escrow))  # type: ignore[operator]


def test_reserves_show_the_escrow_short_and_alert_once_when_drained_from_outside(
    purpose_rt: Runtime, w3: Any, token_address: str, alerts: Callable[..., int]
) -> None:
    from chalice.test import Client

    import app

    rt = purpose_rt
    escrow = wallet_of(rt, ESCROW)
    dep = send(w3, rt, ALICE, token_address, 100 * UNIT)
    body = {"maker": ALICE, "pair": "SKT/ETH", "side": "sell", "amount": "100",
            "price": "0.01", "ttl_seconds": 3600, "deposit_tx": dep.tx}
    orders.create_order(rt, signed(rt, "create_order", body), IP)

    set_runtime(rt)
    try:
        with Client(app.app) as client:
            whole = client.http.get("/v1/otc/reserves").json_body
            assert whole["escrow_address"] == escrow and whole["solvent"] is True
            skt = next(a for a in whole["assets"] if a["asset"] == token_address)
            assert skt["liabilities"] == {"amount": "100", "base_units": str(100 * UNIT)}
            assert skt["balance"]["base_units"] == str(100 * UNIT)

            # Someone with the escrow key moves 60 SKT out behind the service's back.
            w3.provider.make_request("hardhat_impersonateAccount", [escrow])
            bootstrap.token(w3, token_address).functions.transfer(DAVE, 60 * UNIT).transact(
                {"from": escrow}
            )
            mine(w3, 1)
            short = client.http.get("/v1/otc/reserves").json_body
    finally:
        set_runtime(None)
    assert short["solvent"] is False
    skt = next(a for a in short["assets"] if a["asset"] == token_address)
    assert (skt["solvent"], skt["shortfall"]["amount"], skt["balance"]["amount"]) == (
        False, "60", "40")
    assert short["block"]["number"] == w3.eth.block_number
    assert skt["balance"]["base_units"] == str(
        bootstrap.token(w3, token_address).functions.balanceOf(escrow).call(
            block_identifier=short["block"]["number"]))

    for _ in range(3):  # the scheduled check, three times: one alert
        assert jobs.otc_reserves(rt, rt.clock.now_ms() + 60_000)["short"] == 1
    assert alerts("escrow_short") == 1 and alerts() == 1

    bootstrap.mint(w3, token_address, escrow, 60 * UNIT)  # topped up: whole again
    for _ in range(2):
        assert jobs.otc_reserves(rt, rt.clock.now_ms() + 60_000).get("short") is None
    assert alerts("escrow_short") == 1
    bootstrap.token(w3, token_address).functions.transfer(DAVE, UNIT).transact({"from": escrow})
    jobs.otc_reserves(rt, rt.clock.now_ms() + 60_000)
    assert alerts("escrow_short") == 2  # a new shortfall after a recovery: a new alert


def test_a_burst_of_200_faucet_payouts_delays_neither_a_settlement_nor_an_anchor(
    w3: Any, chain_url: str, chain_snapshot: None, served_store: DynamoStore,
    token_address: str, engine_clock: FixedClock, traders: list[str],
) -> None:
    from eth_account import Account

    from chalicelib.anchoring.job import run_anchor_job
    from chalicelib.anchoring.messages import post_message
    from chalicelib.anchoring.model import ANCHORED, batch_key

    anchor_key = "0x" + secrets.token_hex(32)  # the registry's submitter is the anchor wallet
    registry = bootstrap.deploy(w3, "AnchorRegistry", Account.from_key(anchor_key).address)
    rt, wallets = purpose_runtime(
        w3, chain_url, served_store, token_address, engine_clock, 20 * DRIP * UNIT,
        ANCHOR_PRIVATE_KEY=anchor_key, ANCHOR_REGISTRY_ADDRESS=registry,
        ANCHOR_MAX_AGE_SECONDS="0",
    )
    # 200 faucet payouts queued first, ahead of everything else; the faucet can fund 20 now.
    register_owner(BURST, FAUCET)
    finalize.register_finalizer(BURST, lambda rt, payout: None)
    for i in range(200):
        intent = make_intent(f"burst:{i}", token_address, "0x" + secrets.token_hex(20),
                             DRIP * UNIT, BURST, str(i), purpose=FAUCET)
        rt.store.put(intent_item(intent, rt.clock.now_ms()))  # one plain put each: fast setup
    post_message(rt, {"app_id": "app_" + "b" * 16}, {
        "conversation_id": "room", "content_hash": "0x" + "11" * 32, "sender": "u",
        "sent_at": "2026-09-21T10:00:00Z"})
    run_anchor_job(rt, rt.clock.now_ms() + 60_000)
    oid = trade(rt, w3, token_address)

    # As with an idle faucet: one tick sends the legs and the anchor, the next (one block
    # later, CONFIRMATIONS=2) sees them confirmed and the order completed.
    flows.tick(rt)
    assert nonce_of(w3, wallets[ESCROW]) == 2 and nonce_of(w3, wallets[ANCHOR]) == 1
    mine(w3, 1)
    flows.tick(rt)
    assert order_of(rt, oid)["status"] == "completed"
    assert rt.store.get(**batch_key(1))["status"] == ANCHORED  # type: ignore[index]
    # The faucet's lane went its own way meanwhile, from its own wallet: 20 sent, 180 wait.
    assert nonce_of(w3, wallets[FAUCET]) == 20
    waiting = [p for p in rt.store.iter_work(f"payouts#{REQUESTED}") if p["owner_type"] == BURST]
    assert len(waiting) == 180
    assert balance(w3, token_address, wallets[ESCROW]) == 0


def test_a_stuck_faucet_lane_holds_up_neither_the_escrow_lane_nor_the_finalizers(
    w3: Any, chain_url: str, chain_snapshot: None, served_store: DynamoStore,
    token_address: str, engine_clock: FixedClock, traders: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The local loop's lanes are threads of their own: a faucet lane that hangs in the
    middle of its pass (signing its burst) does not stop the escrow lane from sending and
    confirming the settlement legs, nor the tick from finalizing the order."""
    import threading
    import time

    from local import jobs_loop

    rt, wallets = purpose_runtime(w3, chain_url, served_store, token_address, engine_clock,
                                  20 * DRIP * UNIT)
    register_owner(BURST, FAUCET)
    finalize.register_finalizer(BURST, lambda rt, payout: None)
    for i in range(5):
        intent = make_intent(f"stuck:{i}", token_address, "0x" + secrets.token_hex(20),
                             DRIP * UNIT, BURST, str(i), purpose=FAUCET)
        rt.store.put(intent_item(intent, rt.clock.now_ms()))
    faucet = rt.wallet(FAUCET)
    assert faucet is not None
    entered, release = threading.Event(), threading.Event()
    sign = faucet.sign_digest

    def stuck(digest: bytes) -> tuple[int, int, int]:
        entered.set()
        release.wait(120)
        return sign(digest)

    monkeypatch.setattr(faucet, "sign_digest", stuck)
    oid = trade(rt, w3, token_address)
    stop = threading.Event()
    lanes = jobs_loop.start_lanes(rt, stop, interval_s=0.05)
    try:
        assert entered.wait(60), "the faucet lane never started signing"
        for _ in range(200):
            jobs_loop.tick(rt)
            mine(w3, 1)
            if order_of(rt, oid)["status"] == "completed":
                break
            time.sleep(0.05)
        assert order_of(rt, oid)["status"] == "completed"
        assert nonce_of(w3, wallets[ESCROW]) == 2
        assert nonce_of(w3, wallets[FAUCET]) == 0  # still stuck in its first signature
    finally:
        release.set()
        stop.set()
        for lane in lanes:
            lane.join(60)
    assert not any(lane.is_alive() for lane in lanes)
