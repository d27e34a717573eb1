"""Payout routes: public status of one payout, and the admin's listing, manual payout, reconcile."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import jobs
from chalicelib.api.contract import (
    ADDRESS,
    ADMIN,
    AMOUNT,
    CURSOR,
    IDEMPOTENCY_KEY,
    Op,
    Param,
    count,
    enum,
    obj,
    string,
)
from chalicelib.api.http import admin, json_object, json_response, query_params, route
from chalicelib.core.idempotency import HEADER, replayed_headers
from chalicelib.core.lazy import lazy_module
from chalicelib.core.runtime import get_runtime

# Loaded on first use, like every flow (see chalicelib/core/lazy.py).
service = lazy_module("chalicelib.core.outbox.service")

bp = Blueprint(__name__)
# The reconcile route runs inside an API Gateway request, which is cut at 29 s.
RECONCILE_BUDGET_MS = 20_000
PAYOUT_STATUSES = ("requested", "signed", "broadcast", "confirmed", "failed", "needs_attention")
PAGE_MAX = 100


@route(bp, "/v1/payouts/{payout_id}", methods=["GET"], op=Op(
    "A payout's public status", tag="payouts",
))
def get_payout(payout_id: str) -> Response:
    return json_response(200, service.get_payout(get_runtime(), payout_id))


@route(bp, "/v1/admin/payouts", methods=["GET"], op=Op(
    "Payouts, oldest first: of one status, or of every status in turn", tag="admin",
    auth=ADMIN, query=(Param("status", enum(*PAYOUT_STATUSES)),
           Param("limit", count(PAGE_MAX)), Param("next", CURSOR)),
))
def list_payouts() -> Response:
    rt = admin(bp.current_request)
    q = query_params(bp.current_request)
    return json_response(
        200, service.list_payouts(rt, q.get("status"), q.get("limit"), q.get("next"))
    )


@route(bp, "/v1/admin/payouts", methods=["POST"], op=Op(
    "Order a payout by hand (idempotent by key)", tag="admin", auth=ADMIN, ok=(200, 202),
    headers=(IDEMPOTENCY_KEY,), errors=(409,),
    body=obj(("key", "to", "amount"), key=string(200), to=ADDRESS, amount=AMOUNT,
             asset=string(64, description="native, the token's symbol or its address")),
))
def request_payout() -> Response:
    request = bp.current_request
    rt = admin(request)
    status, body = service.request_admin_payout(
        rt, json_object(request), request.headers.get(HEADER)
    )
    return json_response(status, body, replayed_headers(status == 200))


@route(bp, "/v1/admin/payouts/{payout_id}/cancel", methods=["POST"], op=Op(
    "Cancel a payout (unsent: at once; sent: a no-op races it)", tag="admin", auth=ADMIN,
    ok=(202,), errors=(409,),
))
def cancel_payout(payout_id: str) -> Response:
    rt = admin(bp.current_request)
    body = json_object(bp.current_request, allow_empty=True)
    return json_response(202, service.cancel_payout(rt, payout_id, body))


@route(bp, "/v1/admin/reconcile", methods=["POST"], op=Op(
    "Run the payout engine's jobs once", tag="admin", auth=ADMIN,
))
def reconcile() -> Response:
    rt = admin(bp.current_request)
    summary = jobs.run_tick(rt, rt.clock.now_ms() + RECONCILE_BUDGET_MS)
    return json_response(200, {"summary": summary})
