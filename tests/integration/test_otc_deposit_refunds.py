"""Stray deposits: a verified deposit that funds no order goes back to its sender, once, on a
signed `refund_deposit` request, even when that request arrives twice at the same moment."""

from __future__ import annotations

import secrets
import threading
from typing import Any

import pytest
from eth_account import Account

from chalicelib.core.payments import WrongRecipient
from chalicelib.core.runtime import Runtime
from chalicelib.otc import deposits
from chalicelib.otc.deposit_refunds import refund_deposit
from local import bootstrap
from local.rotation import rotated_env
from tests.integration import test_otc_flows as flows
from tests.integration.conftest import RuntimeWith
from tests.integration.payouts import balance
from tests.integration.test_otc_flows import (
    ALICE,
    BOB,
    UNIT,
    create,
    match,
    payout_of,
    post,
    run_until_settled,
    send,
    signed,
)

engine_clock = flows.engine_clock
traders = flows.traders
api = flows.api


def refund_body(rt: Runtime, tx: str, sender: str, asset: str, later_s: int = 0) -> dict[str, Any]:
    deadline = rt.clock.now_ms() // 1000 + 300 + later_s
    return signed(rt, "refund_deposit", {"sender": sender, "asset": asset}, tx, deadline=deadline)


def test_a_refused_takers_deposit_is_refunded_once_even_when_asked_twice_concurrently(
    api: Any, payout_rt: Runtime, w3: Any, token_address: str
) -> None:
    rt = payout_rt
    dep = send(w3, rt, ALICE, token_address, 100 * UNIT)
    oid = create(api, rt, ALICE, dep.tx, amount="100", price="0.01").json_body["id"]
    # Bob pays too little for 100 SKT at 0.01 ETH (1 ETH): refused, and told how to get it back.
    short = send(w3, rt, BOB, "native", UNIT // 2)
    refused = match(api, rt, oid, BOB, short.tx)
    assert refused.status_code == 422, refused.json_body
    assert refused.json_body["error"] == "amount_too_low"
    assert "refund_deposit" in refused.json_body["details"]["refund"]
    before = balance(w3, "native", BOB)

    # Only the sender can ask, and only for what it sent.
    stranger = post(api, f"/v1/deposits/{short.tx}/refund",
                    refund_body(rt, short.tx, ALICE, "ETH"))
    assert stranger.status_code == 422 and stranger.json_body["error"] == "wrong_sender"

    bodies = [refund_body(rt, short.tx, BOB, "ETH"), refund_body(rt, short.tx, BOB, "ETH", 1)]
    answers: list[tuple[int, dict[str, Any]]] = []
    barrier = threading.Barrier(len(bodies))

    def ask(body: dict[str, Any]) -> None:
        barrier.wait()
        answers.append(refund_deposit(rt, short.tx, body))

    threads = [threading.Thread(target=ask, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(status for status, _ in answers) == [200, 202]
    pids = {view["refund"]["id"] for _, view in answers}
    assert len(pids) == 1
    pid = pids.pop()
    assert answers[0][1]["refund"]["amount_base_units"] == str(UNIT // 2)

    run_until_settled(rt, w3)
    assert payout_of(rt, pid)["status"] == "confirmed"
    assert balance(w3, "native", BOB) - before == UNIT // 2  # all of it, once

    # Refunded: it can neither fund a match now nor be refunded again.
    again = post(api, f"/v1/deposits/{short.tx}/refund",
                 refund_body(rt, short.tx, BOB, "ETH", 2))
    assert again.status_code == 200 and again.json_body["refund"]["id"] == pid
    reused = match(api, rt, oid, BOB, short.tx)
    assert reused.status_code == 409 and reused.json_body["error"] == "tx_already_used"
    run_until_settled(rt, w3, rounds=2)
    assert balance(w3, "native", BOB) - before == UNIT // 2


def test_a_deposit_that_funds_an_order_cannot_be_refunded_and_own_order_points_to_refunds(
    api: Any, payout_rt: Runtime, w3: Any, token_address: str
) -> None:
    rt = payout_rt
    dep = send(w3, rt, ALICE, token_address, 10 * UNIT)
    oid = create(api, rt, ALICE, dep.tx, amount="10", price="0.01").json_body["id"]
    used = post(api, f"/v1/deposits/{dep.tx}/refund", refund_body(rt, dep.tx, ALICE, "SKT"))
    assert used.status_code == 409 and used.json_body["error"] == "tx_already_used"

    own = send(w3, rt, ALICE, "native", UNIT // 10)
    refused = match(api, rt, oid, ALICE, own.tx)
    assert refused.status_code == 400 and refused.json_body["error"] == "own_order"
    assert "refund_deposit" in refused.json_body["details"]["refund"]
    got = post(api, f"/v1/deposits/{own.tx}/refund", refund_body(rt, own.tx, ALICE, "ETH"))
    assert got.status_code == 202, got.json_body


def test_a_transfer_to_a_rotated_out_faucet_wallet_is_never_refunded_from_escrow(
    runtime_with: RuntimeWith, w3: Any, chain_snapshot: None, traders: list[str]
) -> None:
    """Escrow refunds what reached escrow: a deposit to its rotated-out wallet, yes; a donation
    to the faucet's rotated-out wallet, never (escrow would pay it with the traders' money)."""
    keys = {k: "0x" + secrets.token_hex(32) for k in ("faucet", "escrow", "faucet2", "escrow2")}
    env = {"FAUCET_PRIVATE_KEY": keys["faucet"], "ESCROW_PRIVATE_KEY": keys["escrow"]}
    env = rotated_env(rotated_env(env, "faucet", keys["faucet2"]), "escrow", keys["escrow2"])
    rt = runtime_with(**env)
    old_faucet, old_escrow = (Account.from_key(keys[k]).address for k in ("faucet", "escrow"))
    bootstrap.fund_native(w3, Account.from_key(keys["escrow2"]).address, UNIT)

    gift = send(w3, rt, ALICE, "native", UNIT // 10, to=old_faucet)
    with pytest.raises(WrongRecipient):
        refund_deposit(rt, gift.tx, refund_body(rt, gift.tx, ALICE, "ETH"))
    assert deposits.used_for(rt, gift.tx) is None  # nothing written

    late = send(w3, rt, BOB, "native", UNIT // 10, to=old_escrow)
    before = balance(w3, "native", BOB)
    status, view = refund_deposit(rt, late.tx, refund_body(rt, late.tx, BOB, "ETH"))
    assert status == 202
    run_until_settled(rt, w3)
    assert payout_of(rt, view["refund"]["id"])["status"] == "confirmed"
    assert balance(w3, "native", BOB) - before == UNIT // 10
