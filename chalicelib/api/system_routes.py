"""Routes about the service itself: health, public info, and JSON 404s for unknown paths."""

from __future__ import annotations

import threading
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.contract import Op, obj, string
from chalicelib.api.http import json_response, route
from chalicelib.core import system
from chalicelib.core.errors import NotFound
from chalicelib.core.lazy import lazy_module
from chalicelib.core.runtime import get_runtime

# Built on the first request for it, not at cold start (see chalicelib/core/lazy.py).
openapi = lazy_module("chalicelib.api.openapi")

bp = Blueprint(__name__)
_DOCUMENT: dict[str, Any] | None = None
# Building walks every flow's declarations (importing them): one thread builds, the rest wait.
_DOCUMENT_LOCK = threading.Lock()

# Unknown paths must answer with the service's JSON 404. Chalice has no greedy path variable, so
# catch-alls of every depth up to this one are registered; concrete routes always match first.
CATCH_ALL_DEPTH = 8
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@route(bp, "/v1/health", methods=["GET"], op=Op(
    "Health of the service and its dependencies", tag="system",
    response=obj(("status", "store", "chain", "version"), status=string(20), store=string(40),
                 chain=string(40), version=string(40)),
))
def health() -> Response:
    status, body = system.health(get_runtime())
    # A store outage is a 503 like any other: tell monitors when to look again.
    return json_response(status, body, {"Retry-After": "5"} if status == 503 else None)


@route(bp, "/v1/info", methods=["GET"], op=Op("Chain, assets, pairs and addresses", tag="system"))
def info() -> Response:
    return json_response(200, system.info(get_runtime()))


@route(bp, "/v1/openapi.json", methods=["GET"], op=Op(
    "This document (OpenAPI 3.1)", tag="system",
    response={"type": "object", "required": ["openapi", "paths"]},
))
def openapi_document() -> Response:
    # Built once per process, on first request: the declarations do not change at run time.
    global _DOCUMENT
    with _DOCUMENT_LOCK:
        if _DOCUMENT is None:
            _DOCUMENT = openapi.document()
    return json_response(200, _DOCUMENT)


def _not_found(**_: str) -> Response:
    raise NotFound("no such route", code="not_found")


for _depth in range(0, CATCH_ALL_DEPTH + 1):
    _path = "".join(f"/{{p{i}}}" for i in range(_depth)) or "/"
    # GET / is the web pages' home (chalicelib/api/web_routes.py).
    _methods = ALL_METHODS if _depth else [m for m in ALL_METHODS if m != "GET"]
    route(bp, _path, methods=_methods, name=f"not_found_{_depth}", documented=False)(_not_found)
