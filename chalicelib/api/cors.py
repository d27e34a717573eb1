"""CORS for the API: the allowed origins are a setting (none by default), preflights answered.

The pages are served by the app itself and need none of this; it lets a community host its own
front end on another origin.
"""

from __future__ import annotations

from collections.abc import Callable

from chalice import Chalice, Response
from chalice.app import Request

from chalicelib.core.runtime import get_runtime

ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key"
EXPOSED_HEADERS = "Retry-After, Idempotent-Replayed"
# Browsers cap this (Chromium: 2 h); 10 min keeps a changed allowlist effective soon.
PREFLIGHT_MAX_AGE = "600"


def _allowed_origin(request: Request) -> str | None:
    origin = (request.headers or {}).get("origin")
    if origin and origin.rstrip("/") in get_runtime().settings.web_allowed_origins:
        return origin.rstrip("/")
    return None


def cors_headers(request: Request) -> dict[str, str]:
    origin = _allowed_origin(request)
    if origin is None:
        return {"Vary": "Origin"}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
        "Vary": "Origin",
    }


def cors_middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
    response = get_response(event)
    response.headers = {**(response.headers or {}), **cors_headers(event)}
    return response


def _preflight_view(app: Chalice, methods: list[str]) -> Callable[..., Response]:
    def preflight(**_: str) -> Response:
        request = app.current_request
        headers = cors_headers(request)
        if "Access-Control-Allow-Origin" in headers:
            headers.update(
                {
                    "Access-Control-Allow-Methods": ", ".join(methods),
                    "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                    "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
                }
            )
        # A refused origin gets no CORS headers: the browser then blocks the real request.
        return Response(body="", status_code=204, headers=headers)

    return preflight


def add_preflight_routes(app: Chalice) -> None:
    """Answer OPTIONS on every /v1 path (call after every blueprint is registered)."""
    for path, entries in list(app.routes.items()):
        if not path.startswith("/v1/") or "OPTIONS" in entries:
            continue
        methods = sorted(entries)
        name = "preflight_" + "".join(c if c.isalnum() else "_" for c in path)
        app.route(path, methods=["OPTIONS"], name=name)(_preflight_view(app, methods))
