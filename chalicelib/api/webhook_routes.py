"""Webhook endpoints (admin token, or an app's API key for its own endpoints) and deliveries."""

from __future__ import annotations

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.api.contract import (
    ADMIN as ADMIN_SCHEME,
)
from chalicelib.api.contract import (
    APP_KEY,
    CURSOR,
    Op,
    Param,
    array,
    count,
    obj,
    string,
)
from chalicelib.api.http import json_object, json_response, query_params, route
from chalicelib.core.auth import bearer_token, require_admin
from chalicelib.core.lazy import lazy_module
from chalicelib.core.runtime import Runtime, get_runtime

apps = lazy_module("chalicelib.anchoring.apps")
endpoints = lazy_module("chalicelib.core.webhooks.endpoints")
deliveries = lazy_module("chalicelib.core.webhooks.deliveries")
jobs = lazy_module("chalicelib.jobs")

bp = Blueprint(__name__)
ADMIN = "admin"
# The admin token manages every endpoint; an app's key manages that app's own.
OWNER = (ADMIN_SCHEME, APP_KEY)
PAGE_MAX = 100
MAX_URL = 2048
MAX_DESCRIPTION = 200


def _caller(request: Request) -> tuple[Runtime, str]:
    """(runtime, owner): `admin` for the admin token, the app id for an app's API key."""
    rt = get_runtime()
    token = bearer_token(request.headers or {})
    if token is not None and apps.API_KEY_RE.match(token):
        return rt, apps.authenticate(rt, request.headers)["app_id"]
    require_admin(rt.settings.admin_token, request.headers or {})
    return rt, ADMIN


@route(bp, "/v1/admin/webhooks", methods=["POST"], op=Op(
    "Register a webhook endpoint (its secret is shown once)", tag="webhooks", auth=OWNER,
    ok=(201,), errors=(409,),
    body=obj(("url", "events"), url=string(MAX_URL), events=array(string(64), 50),
             description=string(MAX_DESCRIPTION, min_len=0)),
))
def register() -> Response:
    rt, owner = _caller(bp.current_request)
    jobs.register_webhook_events()
    return json_response(201, endpoints.register(rt, owner, json_object(bp.current_request)))


@route(bp, "/v1/admin/webhooks", methods=["GET"], op=Op(
    "The caller's webhook endpoints", tag="webhooks", auth=OWNER,
))
def list_endpoints() -> Response:
    rt, owner = _caller(bp.current_request)
    return json_response(200, endpoints.listing(rt, owner))


@route(bp, "/v1/admin/webhooks/{endpoint_id}", methods=["GET"], op=Op(
    "A webhook endpoint", tag="webhooks", auth=OWNER,
))
def get_endpoint(endpoint_id: str) -> Response:
    rt, owner = _caller(bp.current_request)
    return json_response(200, endpoints.endpoint_view(endpoints.owned(rt, owner, endpoint_id)))


@route(bp, "/v1/admin/webhooks/{endpoint_id}", methods=["DELETE"], op=Op(
    "Delete a webhook endpoint", tag="webhooks", auth=OWNER, errors=(409,),
))
def delete_endpoint(endpoint_id: str) -> Response:
    rt, owner = _caller(bp.current_request)
    endpoints.delete(rt, owner, endpoint_id)
    return json_response(200, {"id": endpoint_id, "deleted": True})


@route(bp, "/v1/admin/webhooks/{endpoint_id}/disable", methods=["POST"], op=Op(
    "Pause deliveries to an endpoint", tag="webhooks", auth=OWNER, errors=(409,),
))
def disable(endpoint_id: str) -> Response:
    rt, owner = _caller(bp.current_request)
    return json_response(200, endpoints.set_status(rt, owner, endpoint_id, endpoints.DISABLED))


@route(bp, "/v1/admin/webhooks/{endpoint_id}/enable", methods=["POST"], op=Op(
    "Resume deliveries to an endpoint", tag="webhooks", auth=OWNER, errors=(409,),
))
def enable(endpoint_id: str) -> Response:
    rt, owner = _caller(bp.current_request)
    return json_response(200, endpoints.set_status(rt, owner, endpoint_id, endpoints.ACTIVE))


@route(bp, "/v1/admin/webhooks/{endpoint_id}/rotate-secret", methods=["POST"], op=Op(
    "Replace an endpoint's signing secret (the old one stays valid a while)", tag="webhooks",
    auth=OWNER, errors=(409,),
))
def rotate(endpoint_id: str) -> Response:
    rt, owner = _caller(bp.current_request)
    return json_response(200, endpoints.rotate(rt, owner, endpoint_id))


@route(bp, "/v1/admin/webhooks/{endpoint_id}/deliveries", methods=["GET"], op=Op(
    "An endpoint's deliveries, newest first", tag="webhooks", auth=OWNER,
    query=(Param("limit", count(PAGE_MAX)), Param("next", CURSOR)),
))
def list_deliveries(endpoint_id: str) -> Response:
    rt, owner = _caller(bp.current_request)
    q = query_params(bp.current_request)
    return json_response(
        200, deliveries.deliveries(rt, owner, endpoint_id, q.get("limit"), q.get("next"))
    )


@route(bp, "/v1/admin/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver",
       methods=["POST"], op=Op(
           "Send a delivery again", tag="webhooks", auth=OWNER, ok=(202,), errors=(409,),
       ))
def redeliver(endpoint_id: str, delivery_id: str) -> Response:
    rt, owner = _caller(bp.current_request)
    return json_response(202, deliveries.redeliver(rt, owner, endpoint_id, delivery_id))
