"""Faucet routes for everyone: drips, the faucet's figures, claiming a code and its status."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.http import caller_ip, json_object, json_response, route
from chalicelib.core.idempotency import HEADER, replayed_headers
from chalicelib.core.lazy import lazy_module
from chalicelib.core.runtime import get_runtime

# The flow loads on its first request, not at cold start (see chalicelib/core/lazy.py).
claims = lazy_module("chalicelib.faucet.claims")
drips = lazy_module("chalicelib.faucet.drips")

bp = Blueprint(__name__)


@route(bp, "/v1/faucet/drip", methods=["POST"])
def drip() -> Response:
    rt, request = get_runtime(), bp.current_request
    body = json_object(request)
    view, replayed = drips.record_drip(
        rt, body, caller_ip(request, rt), request.headers.get(HEADER)
    )
    return json_response(202, view, replayed_headers(replayed))


@route(bp, "/v1/faucet/status", methods=["GET"])
def status() -> Response:
    return json_response(200, drips.faucet_status(get_runtime()))


@route(bp, "/v1/claims", methods=["POST"])
def claim() -> Response:
    rt, request = get_runtime(), bp.current_request
    body = json_object(request)
    code, view = claims.claim_code(rt, body, caller_ip(request, rt))
    return json_response(code, view)


@route(bp, "/v1/claims/{code}", methods=["GET"])
def claim_status(code: str) -> Response:
    rt, request = get_runtime(), bp.current_request
    return json_response(200, claims.claim_status(rt, code, caller_ip(request, rt)))
