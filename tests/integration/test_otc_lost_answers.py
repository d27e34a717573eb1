"""OTC create, match, confirm and cancel with the store losing answers, on the hardhat node.

As in tests/e2e/test_lost_answers_api.py: the store (the serialized server) is real and
tests/store_faults.py loses the answers of its writes. Each request leaves exactly one order
record and its payouts once; the money is asserted on chain after the engine ran (without
faults: the payout engine's own writes are another issue's).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.core.runtime import Runtime, set_runtime
from chalicelib.otc import signatures  # noqa: F401 - registers the signed OTC actions
from tests.integration.test_otc_flows import (
    ALICE,
    BOB,
    CAROL,
    UNIT,
    balances,
    cancel,
    confirm,
    create,
    engine_clock,
    match,
    order_of,
    run_until_settled,
    send,
    traders,
)
from tests.store_faults import FAULTS, FaultyClient, every

pytestmark = pytest.mark.chain
_fixtures = (engine_clock, traders)  # the OTC tests' chain-time clock and funded traders


@pytest.fixture(params=sorted(FAULTS))
def faulty_rt(
    request: pytest.FixtureRequest, payout_rt: Runtime, traders: list[str]
) -> Iterator[tuple[Runtime, FaultyClient]]:
    kind = str(request.param)
    faulty = FAULTS[kind](payout_rt.store.client, every(2) if kind == "lost_timeout" else every(1))
    rt = Runtime(payout_rt.settings, clock=payout_rt.clock, dynamodb_client=faulty)
    set_runtime(rt)
    try:
        yield rt, faulty
    finally:
        set_runtime(None)


@pytest.fixture
def otc_api(faulty_rt: tuple[Runtime, FaultyClient]) -> Iterator[Any]:
    from chalice.test import Client

    import app

    with Client(app.app) as client:
        yield client


def orders(rt: Runtime) -> list[dict[str, Any]]:
    pages = rt.store.client.get_paginator("scan").paginate(
        TableName=rt.settings.table_name, FilterExpression="begins_with(pk, :p) AND sk = :s",
        ExpressionAttributeValues={":p": {"S": "order#"}, ":s": {"S": "order"}})
    return [i for page in pages for i in page["Items"]]


def payouts(rt: Runtime) -> list[dict[str, Any]]:
    pages = rt.store.client.get_paginator("scan").paginate(
        TableName=rt.settings.table_name, FilterExpression="begins_with(pk, :p)",
        ExpressionAttributeValues={":p": {"S": "payout#"}})
    return [i for page in pages for i in page["Items"]]


def test_otc_requests_with_lost_answers_record_once_and_pay_once(
    otc_api: Any, faulty_rt: tuple[Runtime, FaultyClient], w3: Any, token_address: str
) -> None:
    rt, faulty = faulty_rt
    before = balances(w3, token_address, ALICE, BOB, CAROL)

    # On-chain pair: create and match -> base and quote payouts, once each.
    dep = send(w3, rt, ALICE, token_address, 100 * UNIT)
    created = create(otc_api, rt, ALICE, dep.tx, amount="100", price="0.01")
    assert created.status_code == 201, created.json_body
    oid = created.json_body["id"]
    assert [o["id"]["S"] for o in orders(rt)] == [oid]
    taker = send(w3, rt, BOB, "native", UNIT)
    matched = match(otc_api, rt, oid, BOB, taker.tx)
    assert matched.status_code == 200, matched.json_body
    assert len(payouts(rt)) == 2

    # External pair: create, match, confirm -> one payout to the buyer.
    ext = send(w3, rt, ALICE, token_address, 10 * UNIT)
    made = create(otc_api, rt, ALICE, ext.tx, pair="SKT/BTC", amount="10", price="0.00002")
    assert made.status_code == 201, made.json_body
    ext_id = made.json_body["id"]
    assert match(otc_api, rt, ext_id, BOB).status_code == 200
    done = confirm(otc_api, rt, ext_id, ALICE, "btc:abcd:0")
    assert done.status_code == 202, done.json_body
    assert len(payouts(rt)) == 3

    # Cancel -> one refund payout to the maker.
    own = send(w3, rt, CAROL, token_address, 5 * UNIT)
    mine_id = create(otc_api, rt, CAROL, own.tx, amount="5", price="0.01").json_body["id"]
    cancelled = cancel(otc_api, rt, mine_id, CAROL)
    assert cancelled.status_code in (200, 202), cancelled.json_body
    assert len(orders(rt)) == 3 and len(payouts(rt)) == 4
    assert faulty.faults >= 7

    faulty.active = False
    run_until_settled(rt, w3)
    assert order_of(rt, oid)["status"] == "completed"
    after = balances(w3, token_address, ALICE, BOB, CAROL)
    # Every payout landed once: Bob got 100 + 10 SKT, Carol her 5 SKT back.
    assert after[BOB][1] - before[BOB][1] == 110 * UNIT
    assert after[CAROL][1] == before[CAROL][1]
    assert after[ALICE][1] - before[ALICE][1] == -110 * UNIT


def test_an_admin_refund_with_a_lost_answer_refunds_once(
    otc_api: Any, faulty_rt: tuple[Runtime, FaultyClient], w3: Any, token_address: str
) -> None:
    from local import bootstrap
    from tests.integration.payouts import ADMIN

    rt, faulty = faulty_rt
    faulty.active = False
    before = balances(w3, token_address, ALICE, BOB)
    dep = send(w3, rt, ALICE, token_address, 40 * UNIT)
    oid = create(otc_api, rt, ALICE, dep.tx, pair="SKT/BTC", amount="40",
                 price="0.00001").json_body["id"]
    match(otc_api, rt, oid, BOB)
    pause = bootstrap.token(w3, token_address).functions.set_paused
    w3.eth.wait_for_transaction_receipt(pause(True).transact({"from": w3.eth.accounts[0]}))
    assert confirm(otc_api, rt, oid, ALICE).status_code == 202
    run_until_settled(rt, w3)  # the base payout reverts: the order waits for the admin
    assert order_of(rt, oid)["status"] == "settlement_recovery"
    w3.eth.wait_for_transaction_receipt(pause(False).transact({"from": w3.eth.accounts[0]}))
    paid_before = len(payouts(rt))

    faulty.active = True
    refunded = otc_api.http.post(f"/v1/admin/otc/orders/{oid}/refund", headers=ADMIN)
    assert refunded.status_code == 202, refunded.json_body
    assert list(refunded.json_body["payouts"]) == ["refund_maker"]
    assert len(payouts(rt)) == paid_before + 1
    faulty.active = False
    run_until_settled(rt, w3)
    assert order_of(rt, oid)["status"] == "cancelled"
    after = balances(w3, token_address, ALICE, BOB)
    assert after[ALICE][1] == before[ALICE][1] and after[BOB][1] == before[BOB][1]
