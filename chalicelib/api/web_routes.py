"""The web pages and their assets, and the organizer's QR sheet (no flow rules here)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.api.http import admin, json_response, query_params, route
from chalicelib.core.errors import NotFound
from chalicelib.core.lazy import lazy_module
from chalicelib.core.runtime import get_runtime
from chalicelib.web import assets, headers

codes = lazy_module("chalicelib.faucet.codes")
qr = lazy_module("chalicelib.web.qr")

bp = Blueprint(__name__)

# Each page's path(s) and template; `/claim/{code}` is the URL printed in the QR codes.
PAGE_ROUTES = {
    "/": "index",
    "/claim": "claim",
    "/claim/{code}": "claim",
    "/faucet": "faucet",
    "/organizer": "organizer",
    "/anchors": "anchors",
    "/bounties": "bounties",
    "/otc": "otc",
}


def base_path(request: Request) -> str:
    """The path prefix of the app: API Gateway's stage on its own domain, nothing locally."""
    context = request.context or {}
    stage = context.get("stage")
    if stage and str(context.get("path", "")).startswith(f"/{stage}/"):
        return f"/{stage}"
    return ""


def request_origin(request: Request) -> str:
    h = request.headers or {}
    scheme = h.get("x-forwarded-proto", "http").split(",")[0].strip() or "http"
    return f"{scheme}://{h.get('host', '127.0.0.1')}"


def _page_config(base: str) -> dict[str, Any]:
    s = get_runtime().settings
    return {
        "base": base,
        "rpc_urls": list(s.web_rpc_urls),
        "explorer_tx_url": s.explorer_tx_url,
    }


def _page(template: str) -> Response:
    request = bp.current_request
    base = base_path(request)
    body = assets.render_page(template, base, _page_config(base))
    return Response(
        body=body,
        status_code=200,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": headers.PAGE_CACHE,
            **headers.security_headers(get_runtime().settings.web_rpc_urls),
        },
    )


def _register_page(path: str, template: str) -> None:
    def view(**_: str) -> Response:
        return _page(template)

    name = "page_" + ("".join(c if c.isalnum() else "_" for c in path).strip("_") or "index")
    route(bp, path, methods=["GET"], name=name, documented=False)(view)


for _path, _template in PAGE_ROUTES.items():
    _register_page(_path, _template)


@route(bp, "/assets/{name}", methods=["GET"], documented=False)
def asset(name: str) -> Response:
    found = assets.by_hashed_name().get(name)
    if found is None:
        raise NotFound("no such asset", code="not_found")
    return Response(
        body=found.body,
        status_code=200,
        headers={
            "Content-Type": found.content_type,
            "Cache-Control": headers.ASSET_CACHE,
            **headers.security_headers(()),
        },
    )


@route(bp, "/organizer/events/{event_id}/qr", methods=["GET"], documented=False)
def qr_sheet(event_id: str) -> Response:
    """Admin: one page of the event's codes, each with its claim URL and its QR code."""
    request = bp.current_request
    rt = admin(request)
    q = query_params(request)
    page = codes.list_codes(rt, event_id, q.get("limit"), q.get("next"))
    items = qr.sheet_items(request_origin(request), base_path(request), page["codes"])
    return json_response(200, {"event_id": event_id, "items": items, "next": page.get("next")})
