"""Webhook endpoints (admin token, or an app's API key for its own endpoints) and deliveries."""

from __future__ import annotations

from chalice import Blueprint, Response
from chalice.app import Request

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


def _caller(request: Request) -> tuple[Runtime, str]:
    """(runtime, owner): `admin` for the admin token, the app id for an app's API key."""
    rt = get_runtime()
    token = bearer_token(request.headers or {})
    if token is not None and apps.API_KEY_RE.match(token):
        return rt, apps.authenticate(rt, request.headers)["app_id"]
    require_admin(rt.settings.admin_token, request.headers or {})
    return rt, ADMIN


@route(bp, "/v1/admin/webhooks", methods=["POST"])
def register() -> Response:
    rt, owner = _caller(bp.current_request)
    jobs.register_webhook_events()
    return json_response(201, endpoints.register(rt, owner, json_object(bp.current_request)))


@route(bp, "/v1/admin/webhooks", methods=["GET"])
def list_endpoints() -> Response:
    rt, owner = _caller(bp.current_request)
    return json_response(200, endpoints.listing(rt, owner))


@route(bp, "/v1/admin/webhooks/{endpoint_id}", methods=["GET"])
def get_endpoint(endpoint_id: str) -> Response:
    rt, owner = _caller(bp.current_request)
    return json_response(200, endpoints.endpoint_view(endpoints.owned(rt, owner, endpoint_id)))


@route(bp, "/v1/admin/webhooks/{endpoint_id}", methods=["DELETE"])
def delete_endpoint(endpoint_id: str) -> Response:
    rt, owner = _caller(bp.current_request)
    endpoints.delete(rt, owner, endpoint_id)
    return json_response(200, {"id": endpoint_id, "deleted": True})


@route(bp, "/v1/admin/webhooks/{endpoint_id}/disable", methods=["POST"])
def disable(endpoint_id: str) -> Response:
    rt, owner = _caller(bp.current_request)
    return json_response(200, endpoints.set_status(rt, owner, endpoint_id, endpoints.DISABLED))


@route(bp, "/v1/admin/webhooks/{endpoint_id}/enable", methods=["POST"])
def enable(endpoint_id: str) -> Response:
    rt, owner = _caller(bp.current_request)
    return json_response(200, endpoints.set_status(rt, owner, endpoint_id, endpoints.ACTIVE))


@route(bp, "/v1/admin/webhooks/{endpoint_id}/rotate-secret", methods=["POST"])
def rotate(endpoint_id: str) -> Response:
    rt, owner = _caller(bp.current_request)
    return json_response(200, endpoints.rotate(rt, owner, endpoint_id))


@route(bp, "/v1/admin/webhooks/{endpoint_id}/deliveries", methods=["GET"])
def list_deliveries(endpoint_id: str) -> Response:
    rt, owner = _caller(bp.current_request)
    q = query_params(bp.current_request)
    return json_response(
        200, deliveries.deliveries(rt, owner, endpoint_id, q.get("limit"), q.get("next"))
    )


@route(bp, "/v1/admin/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver",
       methods=["POST"])
def redeliver(endpoint_id: str, delivery_id: str) -> Response:
    rt, owner = _caller(bp.current_request)
    return json_response(202, deliveries.redeliver(rt, owner, endpoint_id, delivery_id))
