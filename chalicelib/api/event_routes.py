"""Organizer (admin token) routes: events, their codes, revocation, ambiguous claims."""

from __future__ import annotations

import csv
import io
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.contract import (
    ADMIN,
    AMOUNT,
    CURSOR,
    IDEMPOTENCY_KEY,
    ISO_TIME,
    Op,
    Param,
    count,
    enum,
    obj,
    string,
    text,
)
from chalicelib.api.http import admin, json_object, json_response, query_params, route
from chalicelib.core.errors import BadRequest
from chalicelib.core.idempotency import HEADER, replayed_headers
from chalicelib.core.lazy import lazy_module

# The flow loads on its first request, not at cold start (see chalicelib/core/lazy.py).
batches = lazy_module("chalicelib.faucet.batches")
codes = lazy_module("chalicelib.faucet.codes")
events = lazy_module("chalicelib.faucet.events")
resolve = lazy_module("chalicelib.faucet.resolve")

bp = Blueprint(__name__)
PAGE_MAX = 100
MAX_CODES = 500
MAX_CLAIMS_PER_WALLET = 1_000
CODES_RESPONSE = {"type": "string", "description": "CSV: code,amount,asset,expires_at"}


@route(bp, "/v1/events", methods=["POST"], op=Op(
    "Create an event (its codes pay one amount until it expires)", tag="events", auth=ADMIN,
    ok=(200, 201), headers=(IDEMPOTENCY_KEY,), errors=(409,), body=obj(
        ("name", "amount", "expires_at"), name=text(100), amount=AMOUNT, expires_at=ISO_TIME,
        max_claims_per_wallet=count(MAX_CLAIMS_PER_WALLET), asset=string(64),
    ),
))
def create_event() -> Response:
    request = bp.current_request
    rt = admin(request)
    view, replayed = events.record_event(rt, json_object(request), request.headers.get(HEADER))
    return json_response(201, view, replayed_headers(replayed))


@route(bp, "/v1/events", methods=["GET"], op=Op(
    "Events, newest first", tag="events", auth=ADMIN,
    query=(Param("limit", count(PAGE_MAX)), Param("next", CURSOR)),
))
def list_events() -> Response:
    rt = admin(bp.current_request)
    q = query_params(bp.current_request)
    return json_response(200, events.list_events(rt, q.get("limit"), q.get("next")))


@route(bp, "/v1/events/{event_id}/enable", methods=["POST"], op=Op(
    "Switch a disabled event back on", tag="events", auth=ADMIN, errors=(409, 410),
))
def enable_event(event_id: str) -> Response:
    rt = admin(bp.current_request)
    return json_response(200, events.enable_event(rt, event_id))


@route(bp, "/v1/events/{event_id}", methods=["GET"], op=Op(
    "An event and its counts", tag="events", auth=ADMIN,
))
def get_event(event_id: str) -> Response:
    rt = admin(bp.current_request)
    return json_response(200, events.get_event(rt, event_id))


@route(bp, "/v1/events/{event_id}/disable", methods=["POST"], op=Op(
    "The kill switch: no more claims or codes (idempotent)", tag="events", auth=ADMIN,
    body=obj(by=text(100)), body_optional=True, errors=(409,),
))
def disable_event(event_id: str) -> Response:
    rt = admin(bp.current_request)
    body = json_object(bp.current_request, allow_empty=True)
    return json_response(200, events.disable_event(rt, event_id, body))


@route(bp, "/v1/events/{event_id}/codes", methods=["POST"], op=Op(
    "Create a batch of codes (JSON, or CSV with ?format=csv)", tag="events", auth=ADMIN,
    ok=(200, 201), errors=(409, 410), query=(Param("format", enum("json", "csv")),),
    headers=(IDEMPOTENCY_KEY,),
    also=(("text/csv", CODES_RESPONSE),),
    body=obj(("count",), count=count(MAX_CODES),
             prefix=string(16, pattern=r"^[A-Za-z0-9_-]{1,16}$")),
))
def create_codes(event_id: str) -> Response:
    request = bp.current_request
    rt = admin(request)
    fmt = query_params(request).get("format", "json")
    if fmt not in ("json", "csv"):
        raise BadRequest("format must be json or csv", code="invalid_format")
    created, replayed = batches.create_codes(
        rt, event_id, json_object(request), request.headers.get(HEADER)
    )
    if fmt == "csv":
        return _csv(created, replayed_headers(replayed))
    return json_response(201, created, replayed_headers(replayed))


@route(bp, "/v1/events/{event_id}/code-batches/{batch_id}", methods=["GET"], op=Op(
    "A batch of codes created earlier (its codes again)", tag="events", auth=ADMIN,
))
def get_code_batch(event_id: str, batch_id: str) -> Response:
    rt = admin(bp.current_request)
    return json_response(200, batches.list_batch(rt, event_id, batch_id))


def _csv(created: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["code", "amount", "asset", "expires_at"])
    for code in created["codes"]:
        writer.writerow([code, created["amount"], created["asset"], created["expires_at"]])
    return Response(
        body=out.getvalue(),
        status_code=201,
        headers={
            "Content-Type": "text/csv",
            "Content-Disposition": f'attachment; filename="{created["event_id"]}-codes.csv"',
            "X-Batch-Id": created["batch_id"],
            **(headers or {}),
        },
    )


@route(bp, "/v1/events/{event_id}/codes", methods=["GET"], op=Op(
    "An event's codes and their states", tag="events", auth=ADMIN,
    query=(Param("limit", count(PAGE_MAX)), Param("next", CURSOR)),
))
def list_codes(event_id: str) -> Response:
    rt = admin(bp.current_request)
    q = query_params(bp.current_request)
    return json_response(200, codes.list_codes(rt, event_id, q.get("limit"), q.get("next")))


@route(bp, "/v1/codes/{code}/revoke", methods=["POST"], op=Op(
    "Revoke an unclaimed code", tag="events", auth=ADMIN, errors=(409,),
))
def revoke_code(code: str) -> Response:
    rt = admin(bp.current_request)
    return json_response(200, codes.revoke_code(rt, code))


@route(bp, "/v1/admin/claims", methods=["GET"], op=Op(
    "Claims waiting for a human", tag="admin", auth=ADMIN,
    query=(Param("status", enum("needs_attention"), required=True),
           Param("limit", count(PAGE_MAX)), Param("next", CURSOR)),
))
def list_claims() -> Response:
    rt = admin(bp.current_request)
    q = query_params(bp.current_request)
    return json_response(
        200, resolve.list_claims(rt, q.get("status"), q.get("limit"), q.get("next"))
    )


@route(bp, "/v1/admin/claims/{code}/resolve", methods=["POST"], op=Op(
    "Resolve an ambiguous claim (paid, or release the code)", tag="admin", auth=ADMIN,
    errors=(409,),
    body=obj(("outcome", "by"), outcome=enum("paid", "release"), by=text(100), reason=text(500)),
))
def resolve_claim(code: str) -> Response:
    rt = admin(bp.current_request)
    return json_response(200, resolve.resolve_claim(rt, code, json_object(bp.current_request)))
