"""Organizer (admin token) routes: events, their codes, revocation, ambiguous claims."""

from __future__ import annotations

import csv
import io
from typing import Any

from chalice import Blueprint, Response

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


@route(bp, "/v1/events", methods=["POST"])
def create_event() -> Response:
    request = bp.current_request
    rt = admin(request)
    view, replayed = events.record_event(rt, json_object(request), request.headers.get(HEADER))
    return json_response(201, view, replayed_headers(replayed))


@route(bp, "/v1/events", methods=["GET"])
def list_events() -> Response:
    rt = admin(bp.current_request)
    q = query_params(bp.current_request)
    return json_response(200, events.list_events(rt, q.get("limit"), q.get("next")))


@route(bp, "/v1/events/{event_id}/enable", methods=["POST"])
def enable_event(event_id: str) -> Response:
    rt = admin(bp.current_request)
    return json_response(200, events.enable_event(rt, event_id))


@route(bp, "/v1/events/{event_id}", methods=["GET"])
def get_event(event_id: str) -> Response:
    rt = admin(bp.current_request)
    return json_response(200, events.get_event(rt, event_id))


@route(bp, "/v1/events/{event_id}/disable", methods=["POST"])
def disable_event(event_id: str) -> Response:
    rt = admin(bp.current_request)
    body = json_object(bp.current_request, allow_empty=True)
    return json_response(200, events.disable_event(rt, event_id, body))


@route(bp, "/v1/events/{event_id}/codes", methods=["POST"])
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


@route(bp, "/v1/events/{event_id}/code-batches/{batch_id}", methods=["GET"])
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


@route(bp, "/v1/events/{event_id}/codes", methods=["GET"])
def list_codes(event_id: str) -> Response:
    rt = admin(bp.current_request)
    q = query_params(bp.current_request)
    return json_response(200, codes.list_codes(rt, event_id, q.get("limit"), q.get("next")))


@route(bp, "/v1/codes/{code}/revoke", methods=["POST"])
def revoke_code(code: str) -> Response:
    rt = admin(bp.current_request)
    return json_response(200, codes.revoke_code(rt, code))


@route(bp, "/v1/admin/claims", methods=["GET"])
def list_claims() -> Response:
    rt = admin(bp.current_request)
    q = query_params(bp.current_request)
    return json_response(
        200, resolve.list_claims(rt, q.get("status"), q.get("limit"), q.get("next"))
    )


@route(bp, "/v1/admin/claims/{code}/resolve", methods=["POST"])
def resolve_claim(code: str) -> Response:
    rt = admin(bp.current_request)
    return json_response(200, resolve.resolve_claim(rt, code, json_object(bp.current_request)))
