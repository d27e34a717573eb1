"""Anchoring routes: apps and batches (admin), messages (app key), proofs, public batches."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.contract import (
    ADMIN,
    APP_KEY,
    CURSOR,
    HASH32,
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
from chalicelib.core.lazy import lazy_module
from chalicelib.core.runtime import get_runtime

# The flow loads on its first request, not at cold start (see chalicelib/core/lazy.py).
apps = lazy_module("chalicelib.anchoring.apps")
job = lazy_module("chalicelib.anchoring.job")
messages = lazy_module("chalicelib.anchoring.messages")
parked = lazy_module("chalicelib.anchoring.parked")
proofs = lazy_module("chalicelib.anchoring.proofs")

bp = Blueprint(__name__)
PAGE_MAX = 100
BATCH_SEQ = {"path": {"batch_seq": string(12, pattern=r"^[1-9][0-9]{0,11}$")}}


@route(bp, "/v1/admin/apps", methods=["POST"], op=Op(
    "Create an app and its API key (shown once)", tag="admin", auth=ADMIN, ok=(201,),
    body=obj(("name",), name=text(100)),
))
def create_app() -> Response:
    rt = admin(bp.current_request)
    return json_response(201, apps.create_app(rt, json_object(bp.current_request)))


@route(bp, "/v1/admin/apps", methods=["GET"], op=Op(
    "Apps, newest first", tag="admin", auth=ADMIN,
    query=(Param("limit", count(PAGE_MAX)), Param("next", CURSOR)),
))
def list_apps() -> Response:
    rt = admin(bp.current_request)
    q = query_params(bp.current_request)
    return json_response(200, apps.list_apps(rt, q.get("limit"), q.get("next")))


@route(bp, "/v1/admin/apps/{app_id}/rotate-key", methods=["POST"], op=Op(
    "Replace an app's key (the new key is shown once)", tag="admin", auth=ADMIN, errors=(409,),
))
def rotate_app_key(app_id: str) -> Response:
    rt = admin(bp.current_request)
    return json_response(200, apps.rotate_key(rt, app_id))


@route(bp, "/v1/admin/apps/{app_id}/revoke", methods=["POST"], op=Op(
    "Revoke an app's key", tag="admin", auth=ADMIN,
))
def revoke_app(app_id: str) -> Response:
    rt = admin(bp.current_request)
    return json_response(200, apps.revoke_app(rt, app_id))


@route(bp, "/v1/admin/anchors/flush", methods=["POST"], op=Op(
    "Seal and anchor the pending messages now", tag="admin", auth=ADMIN, ok=(200, 202),
    errors=(409, 422),
))
def flush_anchors() -> Response:
    rt = admin(bp.current_request)
    status, body = job.flush(rt)
    return json_response(status, body)


@route(bp, "/v1/admin/anchors", methods=["GET"], op=Op(
    "Batches not yet anchored", tag="admin", auth=ADMIN,
    query=(Param("status", enum("pending", "needs_attention")), Param("limit", count(PAGE_MAX)),
           Param("next", CURSOR)),
))
def list_anchor_batches() -> Response:
    rt = admin(bp.current_request)
    q = query_params(bp.current_request)
    return json_response(
        200, parked.list_batches(rt, q.get("status"), q.get("limit"), q.get("next"))
    )


@route(bp, "/v1/admin/anchors/{batch_seq}/retry", methods=["POST"], op=Op(
    "Retry a parked batch", tag="admin", auth=ADMIN, ok=(202,), errors=(409, 422), **BATCH_SEQ,
))
def retry_anchor(batch_seq: str) -> Response:
    rt = admin(bp.current_request)
    return json_response(202, parked.retry_batch(rt, batch_seq))


@route(bp, "/v1/messages", methods=["POST"], op=Op(
    "Record a message hash for anchoring", tag="anchoring", auth=APP_KEY, ok=(201,),
    errors=(409,), headers=(IDEMPOTENCY_KEY,),
    body=obj(("conversation_id", "sender", "sent_at", "content_hash"),
             conversation_id=text(200), sender=text(200), sent_at=ISO_TIME, content_hash=HASH32),
))
def post_message() -> Response:
    request = bp.current_request
    rt = get_runtime()
    app = apps.authenticate(rt, request.headers)
    body, replayed = messages.record_message(
        rt, app, json_object(request), request.headers.get("Idempotency-Key")
    )
    return json_response(201, body, {"Idempotent-Replayed": "true"} if replayed else None)


@route(bp, "/v1/messages/{message_id}", methods=["GET"], op=Op(
    "A message of this app", tag="anchoring", auth=APP_KEY, errors=(410,),
))
def get_message(message_id: str) -> Response:
    rt = get_runtime()
    app = apps.authenticate(rt, bp.current_request.headers)
    return json_response(200, messages.get_message(rt, app, message_id))


@route(bp, "/v1/messages/{message_id}", methods=["DELETE"], op=Op(
    "Forget a message's metadata (its hash stays anchored)", tag="anchoring", auth=APP_KEY,
    errors=(409, 410),
))
def delete_message(message_id: str) -> Response:
    rt = get_runtime()
    app = apps.authenticate(rt, bp.current_request.headers)
    return json_response(200, messages.delete_message(rt, app, message_id))


@route(bp, "/v1/messages/{message_id}/proof", methods=["GET"], op=Op(
    "A message's Merkle proof once anchored (202 while pending)", tag="anchoring",
    auth=APP_KEY, ok=(200, 202), errors=(410,),
))
def message_proof(message_id: str) -> Response:
    rt = get_runtime()
    app = apps.authenticate(rt, bp.current_request.headers)
    status, body = proofs.message_proof(rt, app, message_id)
    return json_response(status, body)


@route(bp, "/v1/anchors/{batch_seq}", methods=["GET"], op=Op(
    "An anchored batch", tag="anchoring", **BATCH_SEQ,
))
def get_batch(batch_seq: str) -> Response:
    return json_response(200, proofs.get_batch(get_runtime(), batch_seq))


@route(bp, "/v1/anchors/{batch_seq}/leaves", methods=["GET"], op=Op(
    "One page of an anchored batch's leaves", tag="anchoring",
    query=(Param("page", count(999_999_999, minimum=0)),), **BATCH_SEQ,
))
def batch_leaves(batch_seq: str) -> Response:
    page = query_params(bp.current_request).get("page")
    return json_response(200, proofs.batch_leaves(get_runtime(), batch_seq, page))
