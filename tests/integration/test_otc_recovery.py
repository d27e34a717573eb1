"""A payout of an order that fails on chain (proven: it reverted) -> settlement_recovery, one alert,
and the admin's ways out: retry under a new key, or refund when no trade leg paid."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.core.runtime import Runtime
from chalicelib.otc.advance import advance
from chalicelib.otc.model import secret_key
from local import bootstrap
from tests.integration import test_otc_flows as flows
from tests.integration.payouts import ADMIN, hot, nonce_of
from tests.integration.test_otc_flows import (
    ALICE,
    BOB,
    UNIT,
    balances,
    confirm,
    create,
    match,
    order_of,
    payout_of,
    read_secret,
    run_until_settled,
    send,
)

engine_clock = flows.engine_clock
traders = flows.traders
api = flows.api


@pytest.fixture
def alerts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], int]]:
    """How many alert lines of one event the service has logged so far in this test."""
    lines: list[str] = []

    class Sink:
        def write(self, text: str) -> int:
            lines.append(text)
            return len(text)

        def flush(self) -> None:
            pass

    for handler in logging.getLogger("settlekit").handlers:
        if type(handler) is logging.StreamHandler:
            monkeypatch.setattr(handler, "stream", Sink())

    def count(event: str) -> int:
        records = [json.loads(x) for x in "".join(lines).splitlines() if x.startswith("{")]
        return sum(1 for r in records if r.get("alert") is True and r.get("event") == event)

    yield count


def paused(w3: Any, token: str, on: bool) -> None:
    fn = bootstrap.token(w3, token).functions.set_paused(on)
    w3.eth.wait_for_transaction_receipt(fn.transact({"from": w3.eth.accounts[0]}))


def test_a_reverted_leg_parks_the_trade_in_recovery_with_one_alert_and_an_admin_retry_settles_it(
    api: Any, payout_rt: Runtime, w3: Any, token_address: str, alerts: Callable[[str], int]
) -> None:
    rt = payout_rt
    before = balances(w3, token_address, ALICE, BOB)
    maker_dep = send(w3, rt, ALICE, token_address, 100 * UNIT)
    oid = create(api, rt, ALICE, maker_dep.tx).json_body["id"]
    taker_dep = send(w3, rt, BOB, "native", UNIT)
    paused(w3, token_address, True)  # the BASE (token) leg will revert; the ETH leg will not
    payouts = match(api, rt, oid, BOB, taker_dep.tx).json_body["payouts"]
    run_until_settled(rt, w3)
    assert payout_of(rt, payouts["base"])["status"] == "failed"
    assert payout_of(rt, payouts["quote"])["status"] == "confirmed"
    view = api.http.get(f"/v1/orders/{oid}").json_body
    assert view["status"] == "settlement_recovery"
    assert view["recovery"] == {"from": "settling", "failed": ["base"], "awaiting": "admin"}
    assert advance(rt, oid) is None  # seen again (finalizer, reconciler): no second alert
    run_until_settled(rt, w3, rounds=2)
    assert alerts("otc_settlement_recovery") == 1

    refused = api.http.post(f"/v1/admin/otc/orders/{oid}/refund", headers=ADMIN)
    assert refused.status_code == 409 and refused.json_body["error"] == "partially_settled"
    assert api.http.post(f"/v1/admin/otc/orders/{oid}/retry").status_code == 401
    paused(w3, token_address, False)
    retried = api.http.post(f"/v1/admin/otc/orders/{oid}/retry", headers=ADMIN)
    assert retried.status_code == 202, retried.json_body
    new_base = retried.json_body["payouts"]["base"]
    assert new_base != payouts["base"]
    assert retried.json_body["order"]["status"] == "settling"
    again = api.http.post(f"/v1/admin/otc/orders/{oid}/retry", headers=ADMIN)
    assert again.status_code == 409 and again.json_body["error"] == "order_not_in_recovery"
    run_until_settled(rt, w3)
    done = order_of(rt, oid)
    assert done["status"] == "completed"
    assert done["payouts"] == {"base": new_base, "quote": payouts["quote"]}
    after = balances(w3, token_address, ALICE, BOB)
    assert after[BOB][1] == before[BOB][1] + 100 * UNIT  # once: the reverted leg moved nothing
    assert after[ALICE][1] == before[ALICE][1] - 100 * UNIT
    assert after[ALICE][0] == before[ALICE][0] + UNIT - maker_dep.gas_cost
    assert nonce_of(w3, hot(rt)) == 3  # base (reverted), quote, base again


def test_an_external_trade_whose_base_payout_failed_is_refunded_by_the_admin_and_never_releases(
    api: Any, payout_rt: Runtime, w3: Any, token_address: str, alerts: Callable[[str], int]
) -> None:
    rt = payout_rt
    before = balances(w3, token_address, ALICE, BOB)
    oid = create(api, rt, ALICE, send(w3, rt, ALICE, token_address, 40 * UNIT).tx,
                 pair="SKT/BTC", amount="40", price="0.00001").json_body["id"]
    match(api, rt, oid, BOB)
    paused(w3, token_address, True)
    assert confirm(api, rt, oid, ALICE).status_code == 202
    run_until_settled(rt, w3)
    assert order_of(rt, oid)["status"] == "settlement_recovery"
    assert alerts("otc_settlement_recovery") == 1
    assert read_secret(api, rt, oid, ALICE).status_code == 409
    paused(w3, token_address, False)
    refunded = api.http.post(f"/v1/admin/otc/orders/{oid}/refund", headers=ADMIN)
    assert refunded.status_code == 202, refunded.json_body
    assert list(refunded.json_body["payouts"]) == ["refund_maker"]
    assert refunded.json_body["order"]["refund_reason"] == "admin"
    summary = api.http.post("/v1/admin/otc/reconcile", headers=ADMIN).json_body["summary"]
    assert set(summary) == {"expiry", "reconcile"}
    run_until_settled(rt, w3)
    assert order_of(rt, oid)["status"] == "cancelled"
    assert rt.store.get(**secret_key(oid)) is None  # it can never be released now
    after = balances(w3, token_address, ALICE, BOB)
    assert after[ALICE][1] == before[ALICE][1] and after[BOB][1] == before[BOB][1]
