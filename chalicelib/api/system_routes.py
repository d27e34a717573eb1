"""Routes about the service itself: health, public info, and JSON 404s for unknown paths."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.http import json_response, route
from chalicelib.core import system
from chalicelib.core.errors import NotFound
from chalicelib.core.runtime import get_runtime

bp = Blueprint(__name__)

# Unknown paths must answer with the service's JSON 404. Chalice has no greedy path variable, so
# catch-alls of every depth up to this one are registered; concrete routes always match first.
CATCH_ALL_DEPTH = 8
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@route(bp, "/v1/health", methods=["GET"])
def health() -> Response:
    status, body = system.health(get_runtime())
    # A store outage is a 503 like any other: tell monitors when to look again.
    return json_response(status, body, {"Retry-After": "5"} if status == 503 else None)


@route(bp, "/v1/info", methods=["GET"])
def info() -> Response:
    return json_response(200, system.info(get_runtime()))


def _not_found(**_: str) -> Response:
    raise NotFound("no such route", code="not_found")


for _depth in range(0, CATCH_ALL_DEPTH + 1):
    _path = "".join(f"/{{p{i}}}" for i in range(_depth)) or "/"
    # GET / is the web pages' home (chalicelib/api/web_routes.py).
    _methods = ALL_METHODS if _depth else [m for m in ALL_METHODS if m != "GET"]
    route(bp, _path, methods=_methods, name=f"not_found_{_depth}")(_not_found)
