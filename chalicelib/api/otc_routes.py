"""OTC routes: orders (create, read, list, match, confirm, cancel, secret), market data, admin."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.contract import ADMIN, CURSOR, Op, Param, count, enum, string
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
PAGE_MAX = 100
DEPTH_MAX = 200
TRADES_MAX = 100
ORDER_STATUSES = ("open", "matched", "settling", "refund_pending", "settlement_recovery",
                  "completed", "cancelled", "expired")
PAIR = Param("pair", string(25, pattern=r"^[A-Za-z0-9]{1,12}/[A-Za-z0-9]{1,12}$"),
             description="e.g. SKT/ETH (see /v1/info)")


@route(bp, "/v1/orders", methods=["POST"], op=Op(
    "Place an order (its deposit already made)", tag="otc", ok=(201,), signed="create_order",
    errors=(422,),
))
def create_order() -> Response:
    rt, request = get_runtime(), bp.current_request
    ip = caller_ip(request, rt)
    return json_response(201, orders.create_order(rt, json_object(request), ip))


@route(bp, "/v1/orders", methods=["GET"], op=Op(
    "Orders by pair, side and status", tag="otc",
    query=(PAIR, Param("side", enum("buy", "sell")), Param("status", enum(*ORDER_STATUSES)),
           Param("limit", count(PAGE_MAX)), Param("next", CURSOR)),
))
def list_orders() -> Response:
    return json_response(200, orders.list_orders(get_runtime(), query_params(bp.current_request)))


@route(bp, "/v1/otc/reserves", methods=["GET"], op=Op(
    "Proof of reserves: escrow's liabilities against its balance on chain", tag="otc",
))
def get_reserves() -> Response:
    """Proof of reserves: escrow's liabilities against its balance on chain (public)."""
    return json_response(200, reserves.reserves(get_runtime()))


@route(bp, "/v1/orders/{order_id}", methods=["GET"], op=Op("An order", tag="otc"))
def get_order(order_id: str) -> Response:
    return json_response(200, orders.get_order(get_runtime(), order_id))


@route(bp, "/v1/orders/{order_id}/match", methods=["POST"], op=Op(
    "Take an order", tag="otc", signed="match_order", errors=(410, 422),
))
def match_order(order_id: str) -> Response:
    rt, request = get_runtime(), bp.current_request
    ip = caller_ip(request, rt)
    return json_response(200, matching.match_order(rt, order_id, json_object(request), ip))


@route(bp, "/v1/orders/{order_id}/confirm", methods=["POST"], op=Op(
    "The seller confirms the off-chain leg", tag="otc", ok=(200, 202), signed="confirm_order",
    errors=(410, 422),
))
def confirm_order(order_id: str) -> Response:
    rt, request = get_runtime(), bp.current_request
    status, body = settlement.confirm_order(rt, order_id, json_object(request))
    return json_response(status, body)


@route(bp, "/v1/orders/{order_id}/cancel", methods=["POST"], op=Op(
    "Cancel an open order (its deposit is refunded)", tag="otc", ok=(202,),
    signed="cancel_order",
))
def cancel_order(order_id: str) -> Response:
    rt, request = get_runtime(), bp.current_request
    ip = caller_ip(request, rt)
    return json_response(202, cancel.cancel_order(rt, order_id, json_object(request), ip))


@route(bp, "/v1/orders/{order_id}/secret", methods=["POST"], op=Op(
    "The seller reads the hashlock secret once settled", tag="otc", signed="read_secret",
    errors=(410,),
))
def read_secret(order_id: str) -> Response:
    rt, request = get_runtime(), bp.current_request
    return json_response(200, hashlock.read_secret(rt, order_id, json_object(request)))


@route(bp, "/v1/deposits/{deposit_tx}/refund", methods=["POST"], op=Op(
    "Refund a deposit no order holds (signed by its sender)", tag="otc", ok=(200, 202),
    signed="refund_deposit", errors=(410, 422),
))
def refund_deposit(deposit_tx: str) -> Response:
    rt, request = get_runtime(), bp.current_request
    status, body = deposit_refunds.refund_deposit(rt, deposit_tx, json_object(request))
    return json_response(status, body)


@route(bp, "/v1/orderbook", methods=["GET"], op=Op(
    "Open orders of a pair, best price first", tag="otc",
    query=(PAIR, Param("depth", count(DEPTH_MAX))),
))
def orderbook() -> Response:
    return json_response(200, book.orderbook(get_runtime(), query_params(bp.current_request)))


@route(bp, "/v1/trades", methods=["GET"], op=Op(
    "Recent trades of a pair", tag="otc",
    query=(PAIR, Param("limit", count(TRADES_MAX)), Param("next", CURSOR)),
))
def trades() -> Response:
    return json_response(200, book.trades(get_runtime(), query_params(bp.current_request)))


@route(bp, "/v1/stats", methods=["GET"], op=Op(
    "Market figures of a pair", tag="otc", query=(PAIR,),
))
def stats() -> Response:
    return json_response(200, book.stats(get_runtime(), query_params(bp.current_request)))


@route(bp, "/v1/admin/otc/orders/{order_id}/retry", methods=["POST"], op=Op(
    "Retry an order's stuck settlement", tag="admin", auth=ADMIN, ok=(202,), errors=(409,),
))
def admin_retry(order_id: str) -> Response:
    return json_response(202, recovery.retry(admin(bp.current_request), order_id))


@route(bp, "/v1/admin/otc/orders/{order_id}/refund", methods=["POST"], op=Op(
    "Refund an order's deposits", tag="admin", auth=ADMIN, ok=(202,), errors=(409,),
))
def admin_refund(order_id: str) -> Response:
    return json_response(202, recovery.refund(admin(bp.current_request), order_id))


@route(bp, "/v1/admin/otc/reconcile", methods=["POST"], op=Op(
    "Run the OTC jobs once", tag="admin", auth=ADMIN,
))
def admin_reconcile() -> Response:
    rt = admin(bp.current_request)
    summary = jobs.run_once(rt, rt.clock.now_ms() + RECONCILE_BUDGET_MS)
    return json_response(200, {"summary": summary})
