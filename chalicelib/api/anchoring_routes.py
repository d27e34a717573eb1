"""Anchoring routes: apps and batches (admin), messages (app key), proofs, public batches."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.http import admin, json_object, json_response, query_params, route
from chalicelib.core.lazy import lazy_module
from chalicelib.core.runtime import get_runtime

# The flow loads on its first request, not at cold start (see chalicelib/core/lazy.py).
apps = lazy_module("chalicelib.anchoring.apps")
job = lazy_module("chalicelib.anchoring.job")
messages = lazy_module("chalicelib.anchoring.messages")
parked = lazy_module("chalicelib.anchoring.parked")
proofs = lazy_module("chalicelib.anchoring.proofs")

bp = Blueprint(__name__)


@route(bp, "/v1/admin/apps", methods=["POST"])
def create_app() -> Response:
    rt = admin(bp.current_request)
    return json_response(201, apps.create_app(rt, json_object(bp.current_request)))


@route(bp, "/v1/admin/apps", methods=["GET"])
def list_apps() -> Response:
    rt = admin(bp.current_request)
    q = query_params(bp.current_request)
    return json_response(200, apps.list_apps(rt, q.get("limit"), q.get("next")))


@route(bp, "/v1/admin/apps/{app_id}/rotate-key", methods=["POST"])
def rotate_app_key(app_id: str) -> Response:
    rt = admin(bp.current_request)
    return json_response(200, apps.rotate_key(rt, app_id))


@route(bp, "/v1/admin/apps/{app_id}/revoke", methods=["POST"])
def revoke_app(app_id: str) -> Response:
    rt = admin(bp.current_request)
    return json_response(200, apps.revoke_app(rt, app_id))


@route(bp, "/v1/admin/anchors/flush", methods=["POST"])
def flush_anchors() -> Response:
    rt = admin(bp.current_request)
    status, body = job.flush(rt)
    return json_response(status, body)


@route(bp, "/v1/admin/anchors", methods=["GET"])
def list_anchor_batches() -> Response:
    rt = admin(bp.current_request)
    q = query_params(bp.current_request)
    return json_response(
        200, parked.list_batches(rt, q.get("status"), q.get("limit"), q.get("next"))
    )


@route(bp, "/v1/admin/anchors/{batch_seq}/retry", methods=["POST"])
def retry_anchor(batch_seq: str) -> Response:
    rt = admin(bp.current_request)
    return json_response(202, parked.retry_batch(rt, batch_seq))


@route(bp, "/v1/messages", methods=["POST"])
def post_message() -> Response:
    request = bp.current_request
    rt = get_runtime()
    app = apps.authenticate(rt, request.headers)
    body, replayed = messages.record_message(
        rt, app, json_object(request), request.headers.get("Idempotency-Key")
    )
    return json_response(201, body, {"Idempotent-Replayed": "true"} if replayed else None)


@route(bp, "/v1/messages/{message_id}", methods=["GET"])
def get_message(message_id: str) -> Response:
    rt = get_runtime()
    app = apps.authenticate(rt, bp.current_request.headers)
    return json_response(200, messages.get_message(rt, app, message_id))


@route(bp, "/v1/messages/{message_id}", methods=["DELETE"])
def delete_message(message_id: str) -> Response:
    rt = get_runtime()
    app = apps.authenticate(rt, bp.current_request.headers)
    return json_response(200, messages.delete_message(rt, app, message_id))


@route(bp, "/v1/messages/{message_id}/proof", methods=["GET"])
def message_proof(message_id: str) -> Response:
    rt = get_runtime()
    app = apps.authenticate(rt, bp.current_request.headers)
    status, body = proofs.message_proof(rt, app, message_id)
    return json_response(status, body)


@route(bp, "/v1/anchors/{batch_seq}", methods=["GET"])
def get_batch(batch_seq: str) -> Response:
    return json_response(200, proofs.get_batch(get_runtime(), batch_seq))


@route(bp, "/v1/anchors/{batch_seq}/leaves", methods=["GET"])
def batch_leaves(batch_seq: str) -> Response:
    page = query_params(bp.current_request).get("page")
    return json_response(200, proofs.batch_leaves(get_runtime(), batch_seq, page))
