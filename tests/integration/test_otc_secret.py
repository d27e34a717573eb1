"""The hash-lock secret: in no response before the BASE payout is final, to nobody but the
seller ever, and in no log line at all.

At every stage of an external trade, every route is called (public, signed and admin ones) and
every response body and every log line is searched for the secret.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.core.outbox.jobs import run_confirmer, run_sender
from chalicelib.core.runtime import Runtime
from chalicelib.otc.model import secret_key
from tests.integration import test_otc_flows as flows
from tests.integration.payouts import ADMIN, mine
from tests.integration.test_otc_flows import (
    ALICE,
    BOB,
    CAROL,
    UNIT,
    confirm,
    create,
    match,
    order_of,
    payout_of,
    post,
    read_secret,
    send,
    signed,
    tick,
)

engine_clock = flows.engine_clock
traders = flows.traders
api = flows.api

STATUSES = ["open", "matched", "settling", "refund_pending", "settlement_recovery",
            "completed", "cancelled", "expired"]
PAYOUT_STATUSES = ["requested", "signed", "broadcast", "confirmed", "failed", "needs_attention"]


@pytest.fixture
def log_text(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Every line the service logs during the test."""
    sink = io.StringIO()
    for handler in logging.getLogger("settlekit").handlers:
        if type(handler) is logging.StreamHandler:
            monkeypatch.setattr(handler, "stream", sink)
    yield sink


def every_route(api: Any, rt: Runtime, oid: str, pid: str | None) -> list[str]:
    """The bodies of every route a client or an admin can call about this order."""
    deadline = rt.clock.now_ms() // 1000 + 200
    calls = [
        api.http.get(f"/v1/orders/{oid}"),
        *(api.http.get(f"/v1/orders?status={s}") for s in STATUSES),
        api.http.get("/v1/orders?pair=SKT/BTC&side=sell&status=completed"),
        api.http.get("/v1/orderbook?pair=SKT/BTC"),
        api.http.get("/v1/trades?pair=SKT/BTC"),
        api.http.get("/v1/stats"),
        api.http.get("/v1/info"),
        api.http.get("/v1/typed-data/read_secret"),
        *(api.http.get(f"/v1/admin/payouts?status={s}", headers=ADMIN) for s in PAYOUT_STATUSES),
        api.http.post("/v1/admin/otc/reconcile", headers=ADMIN),
        api.http.post(f"/v1/admin/otc/orders/{oid}/retry", headers=ADMIN),
        api.http.post(f"/v1/admin/otc/orders/{oid}/refund", headers=ADMIN),
        # Signed calls by everyone involved, and by a stranger.
        confirm(api, rt, oid, ALICE),
        post(api, f"/v1/orders/{oid}/confirm",
             signed(rt, "confirm_order", {"seller": BOB, "quote_reference": "x"}, oid)),
        match(api, rt, oid, CAROL),
        post(api, f"/v1/orders/{oid}/cancel",
             signed(rt, "cancel_order", {"maker": ALICE}, oid, deadline=deadline)),
        read_secret(api, rt, oid, BOB),
        read_secret(api, rt, oid, CAROL),
    ]
    if pid:
        calls.append(api.http.get(f"/v1/payouts/{pid}"))
    return [c.body.decode() for c in calls]


def test_the_secret_reaches_only_the_seller_and_only_once_the_base_payout_is_final(
    api: Any, payout_rt: Runtime, w3: Any, token_address: str, log_text: io.StringIO
) -> None:
    rt = payout_rt
    dep = send(w3, rt, ALICE, token_address, 50 * UNIT)
    oid = create(api, rt, ALICE, dep.tx, pair="SKT/BTC", amount="50",
                 price="0.00001").json_body["id"]
    assert match(api, rt, oid, BOB).status_code == 200
    stored = rt.store.get(**secret_key(oid))
    assert stored is not None
    secret = stored["secret"][2:].lower()
    seen: list[str] = []

    def seller_is_refused() -> None:
        rt.clock.advance(1_000)  # type: ignore[attr-defined]  (a fresh signature each time)
        early = read_secret(api, rt, oid, ALICE)
        assert early.status_code == 409 and early.json_body["error"] == "secret_not_released"
        seen.append(early.body.decode())

    # matched: the buyer locks QUOTE; nobody may learn the secret.
    seen += every_route(api, rt, oid, None)
    seller_is_refused()
    # settling: the seller confirmed; the payout is only requested.
    rt.clock.advance(1_000)  # type: ignore[attr-defined]
    answer = confirm(api, rt, oid, ALICE)
    assert answer.status_code == 202
    pid = answer.json_body["payout_id"]
    seen += every_route(api, rt, oid, pid)
    seller_is_refused()
    # broadcast, then mined at depth and confirmed, but the order not yet told (no finalizer).
    run_sender(rt, rt.clock.now_ms() + 60_000)
    assert payout_of(rt, pid)["status"] == "broadcast"
    seller_is_refused()
    mine(w3, 2)
    run_confirmer(rt, rt.clock.now_ms() + 60_000)
    assert payout_of(rt, pid)["status"] == "confirmed"
    assert order_of(rt, oid)["status"] == "settling"
    seller_is_refused()
    assert all(secret not in body for body in seen)

    tick(rt)  # the finalizer hears "confirmed": the order completes
    assert order_of(rt, oid)["status"] == "completed"
    after = every_route(api, rt, oid, pid)
    assert all(secret not in body for body in after)  # not to the buyer, not to a stranger
    # Confirmed and completed, but a re-org could still undo the payout: not yet.
    assert not payout_of(rt, pid).get("final_at")
    seller_is_refused()
    mine(w3, rt.settings.finality_depth)
    tick(rt)
    assert payout_of(rt, pid).get("final_at")
    rt.clock.advance(1_000)  # type: ignore[attr-defined]
    released = read_secret(api, rt, oid, ALICE)
    assert released.status_code == 200
    assert released.json_body["secret"][2:] == secret
    replayed = post(api, f"/v1/orders/{oid}/secret",
                    signed(rt, "read_secret", {"seller": ALICE}, oid))
    assert replayed.json_body["error"] == "signature_replayed"
    assert secret not in log_text.getvalue()
    assert "otc_secret_released" in log_text.getvalue()  # the release itself is logged
