"""OTC routes: orders (create, read, list, match, confirm, cancel, secret), market data, admin."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.http import admin, caller_ip, json_object, json_response, query_params, route
from chalicelib.core.lazy import lazy_module
from chalicelib.core.runtime import get_runtime

# The flow loads on its first request, not at cold start (see chalicelib/core/lazy.py).
book = lazy_module("chalicelib.otc.book")
cancel = lazy_module("chalicelib.otc.cancel")
hashlock = lazy_module("chalicelib.otc.hashlock")
jobs = lazy_module("chalicelib.otc.jobs")
matching = lazy_module("chalicelib.otc.matching")
orders = lazy_module("chalicelib.otc.orders")
deposit_refunds = lazy_module("chalicelib.otc.deposit_refunds")
recovery = lazy_module("chalicelib.otc.recovery")
reserves = lazy_module("chalicelib.otc.reserves")
settlement = lazy_module("chalicelib.otc.settlement")

bp = Blueprint(__name__)
# The admin reconcile runs inside an API Gateway request, which is cut at 29 s.
RECONCILE_BUDGET_MS = 20_000


@route(bp, "/v1/orders", methods=["POST"])
def create_order() -> Response:
    rt, request = get_runtime(), bp.current_request
    ip = caller_ip(request, rt)
    return json_response(201, orders.create_order(rt, json_object(request), ip))


@route(bp, "/v1/orders", methods=["GET"])
def list_orders() -> Response:
    return json_response(200, orders.list_orders(get_runtime(), query_params(bp.current_request)))


@route(bp, "/v1/otc/reserves", methods=["GET"])
def get_reserves() -> Response:
    """Proof of reserves: escrow's liabilities against its balance on chain (public)."""
    return json_response(200, reserves.reserves(get_runtime()))


@route(bp, "/v1/orders/{order_id}", methods=["GET"])
def get_order(order_id: str) -> Response:
    return json_response(200, orders.get_order(get_runtime(), order_id))


@route(bp, "/v1/orders/{order_id}/match", methods=["POST"])
def match_order(order_id: str) -> Response:
    rt, request = get_runtime(), bp.current_request
    ip = caller_ip(request, rt)
    return json_response(200, matching.match_order(rt, order_id, json_object(request), ip))


@route(bp, "/v1/orders/{order_id}/confirm", methods=["POST"])
def confirm_order(order_id: str) -> Response:
    rt, request = get_runtime(), bp.current_request
    status, body = settlement.confirm_order(rt, order_id, json_object(request))
    return json_response(status, body)


@route(bp, "/v1/orders/{order_id}/cancel", methods=["POST"])
def cancel_order(order_id: str) -> Response:
    rt, request = get_runtime(), bp.current_request
    ip = caller_ip(request, rt)
    return json_response(202, cancel.cancel_order(rt, order_id, json_object(request), ip))


@route(bp, "/v1/orders/{order_id}/secret", methods=["POST"])
def read_secret(order_id: str) -> Response:
    rt, request = get_runtime(), bp.current_request
    return json_response(200, hashlock.read_secret(rt, order_id, json_object(request)))


@route(bp, "/v1/deposits/{deposit_tx}/refund", methods=["POST"])
def refund_deposit(deposit_tx: str) -> Response:
    rt, request = get_runtime(), bp.current_request
    status, body = deposit_refunds.refund_deposit(rt, deposit_tx, json_object(request))
    return json_response(status, body)


@route(bp, "/v1/orderbook", methods=["GET"])
def orderbook() -> Response:
    return json_response(200, book.orderbook(get_runtime(), query_params(bp.current_request)))


@route(bp, "/v1/trades", methods=["GET"])
def trades() -> Response:
    return json_response(200, book.trades(get_runtime(), query_params(bp.current_request)))


@route(bp, "/v1/stats", methods=["GET"])
def stats() -> Response:
    return json_response(200, book.stats(get_runtime(), query_params(bp.current_request)))


@route(bp, "/v1/admin/otc/orders/{order_id}/retry", methods=["POST"])
def admin_retry(order_id: str) -> Response:
    return json_response(202, recovery.retry(admin(bp.current_request), order_id))


@route(bp, "/v1/admin/otc/orders/{order_id}/refund", methods=["POST"])
def admin_refund(order_id: str) -> Response:
    return json_response(202, recovery.refund(admin(bp.current_request), order_id))


@route(bp, "/v1/admin/otc/reconcile", methods=["POST"])
def admin_reconcile() -> Response:
    rt = admin(bp.current_request)
    summary = jobs.run_once(rt, rt.clock.now_ms() + RECONCILE_BUDGET_MS)
    return json_response(200, {"summary": summary})
