"""Faucet routes for everyone: drips, the faucet's figures, claiming a code and its status."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.contract import ADDRESS, IDEMPOTENCY_KEY, Op, obj, string
from chalicelib.api.http import caller_ip, json_object, json_response, route
from chalicelib.core.idempotency import HEADER, replayed_headers
from chalicelib.core.lazy import lazy_module
from chalicelib.core.runtime import get_runtime

# The flow loads on its first request, not at cold start (see chalicelib/core/lazy.py).
claims = lazy_module("chalicelib.faucet.claims")
drips = lazy_module("chalicelib.faucet.drips")

bp = Blueprint(__name__)
CODE = string(64, description="a claim code, e.g. DENVER-7Q2M",
              **{"x-error-code": "invalid_code_format"})


@route(bp, "/v1/faucet/drip", methods=["POST"], op=Op(
    "Ask for a drip of the faucet", tag="faucet", ok=(202,), errors=(403, 409),
    headers=(IDEMPOTENCY_KEY,),
    body=obj(("wallet",), wallet=ADDRESS),
))
def drip() -> Response:
    rt, request = get_runtime(), bp.current_request
    body = json_object(request)
    view, replayed = drips.record_drip(
        rt, body, caller_ip(request, rt), request.headers.get(HEADER)
    )
    return json_response(202, view, replayed_headers(replayed))


@route(bp, "/v1/faucet/status", methods=["GET"], op=Op("The faucet's figures", tag="faucet"))
def status() -> Response:
    return json_response(200, drips.faucet_status(get_runtime()))


@route(bp, "/v1/claims", methods=["POST"], op=Op(
    "Claim an event code for a wallet", tag="faucet", ok=(200, 202), errors=(403, 409, 410),
    body=obj(("code", "wallet"), code=CODE, wallet=ADDRESS),
))
def claim() -> Response:
    rt, request = get_runtime(), bp.current_request
    body = json_object(request)
    code, view = claims.claim_code(rt, body, caller_ip(request, rt))
    return json_response(code, view)


@route(bp, "/v1/claims/{code}", methods=["GET"], op=Op(
    "A code's latest claim and its payout", tag="faucet", path={"code": CODE},
))
def claim_status(code: str) -> Response:
    rt, request = get_runtime(), bp.current_request
    return json_response(200, claims.claim_status(rt, code, caller_ip(request, rt)))
