"""HTTP plumbing shared by every blueprint: JSON bodies, the error shape, the middleware.

Only this layer knows Chalice. Domain code raises ServiceError subclasses; `error_middleware`
turns them (and anything unexpected) into `{"error", "message", "details"}` responses, and also
rewrites the few errors Chalice produces itself (405, 415) into the same shape.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.api.boundary import check_body, check_request
from chalicelib.api.contract import Op, declare
from chalicelib.core.auth import require_admin
from chalicelib.core.clientip import client_ip
from chalicelib.core.errors import BadRequest, PayloadTooLarge, ServiceError, SettingsError
from chalicelib.core.log import log, traceback_text
from chalicelib.core.parse import first_malformed_string
from chalicelib.core.runtime import Runtime, get_runtime
from chalicelib.core.settings import SECRET_FIELDS

JSON_HEADERS = {"Content-Type": "application/json"}
View = Callable[..., Any]
# Bodies are always parsed as JSON. Also accepting the types `curl -d` and browsers' simple
# requests send spares clients a 415 for a body that is JSON anyway.
ACCEPTED_CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded", "text/plain"]
# The operation of the request being served, so `json_object` checks the body it declares.
_current_op: ContextVar[Op | None] = ContextVar("current_op", default=None)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(body=body, status_code=status, headers={**JSON_HEADERS, **(headers or {})})


def error_response(exc: ServiceError) -> Response:
    return json_response(exc.status, exc.to_body(), exc.headers)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def json_object(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    """The request body as a JSON object; 400 for malformed JSON or any other JSON type."""
    raw = request.raw_body or b""
    if not raw.strip():
        if allow_empty:
            return {}
        raise BadRequest("a JSON object body is required", code="invalid_json")
    try:
        # NaN and Infinity are not JSON; Python would accept them by default.
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not valid JSON", code="invalid_json") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object", code="body_not_object")
    # Valid JSON may still hold lone UTF-16 surrogates ("\ud800"), which no store or signature
    # can encode: refused here for every body, naming the field.
    bad = first_malformed_string(body)
    if bad is not None:
        field = bad.split(".")[0].split("[")[0]
        raise BadRequest(
            f"{bad} is not well-formed text (it holds a lone UTF-16 surrogate)",
            code=f"invalid_{field}" if field in body else "invalid_json",
            details={"field": bad},
        )
    check_body(_current_op.get(), body)
    return body


def admin(request: Request, rt: Runtime | None = None) -> Runtime:
    """Require the admin token; return the runtime for the route to use."""
    rt = rt or get_runtime()
    require_admin(rt.settings.admin_token, request.headers)
    return rt


def caller_ip(request: Request, rt: Runtime) -> str:
    """The client's address for per-IP limits (forwarded headers only when trusted)."""
    identity = (request.context or {}).get("identity") or {}
    return client_ip(
        identity.get("sourceIp"), request.headers or {}, rt.settings.trust_proxy_headers
    )


def query_params(request: Request) -> dict[str, str]:
    return dict(request.query_params or {})


def _snake(name: str) -> str:
    name = name.removesuffix("Error")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _rewrite_chalice_error(response: Response) -> Response:
    """Chalice's own errors use {"Code", "Message"}: give them the service's shape."""
    body = response.body
    if isinstance(body, dict) and "Code" in body and "Message" in body:
        response.body = {"error": _snake(str(body["Code"])), "message": str(body["Message"])}
        response.headers = {**(response.headers or {}), **JSON_HEADERS}
    return response


def _handle(exc: Exception, path: str) -> Response:
    if isinstance(exc, ServiceError):
        if exc.status >= 500:
            log("request_failed", path=path, error=exc.code)
        return error_response(exc)
    if isinstance(exc, SettingsError):
        # The message names the variable and never its value.
        log("misconfigured", path=path, reason=str(exc))
        return json_response(500, {"error": "misconfigured", "message": str(exc)})
    # The last line of defence: the server log keeps the traceback (frames and code, never
    # local values); the response carries no trace of it.
    log("unhandled_error", level=logging.ERROR, path=path, error=type(exc).__name__,
        traceback=traceback_text(exc, _configured_secrets()))
    return json_response(500, {"error": "internal_error", "message": "an internal error occurred"})


def _configured_secrets() -> list[str]:
    """This deployment's secret values, to mask wherever they would appear in a log."""
    try:
        settings = get_runtime().settings
    except Exception:  # noqa: BLE001 - no settings, nothing configured to mask
        return []
    values = (getattr(settings, name, None) for name in SECRET_FIELDS)
    return [v for v in values if isinstance(v, str) and v]


def route(
    bp: Blueprint,
    path: str,
    methods: list[str],
    *,
    op: Op | None = None,
    documented: bool = True,
    **kwargs: Any,
) -> Callable[[View], View]:
    """Register a view, its contract (`op`, see api/contract.py) and its error translation.

    Every documented route must declare its operation: the boundary checks each request
    against it before the view runs, and `/v1/openapi.json` is built from the declarations.
    Chalice catches view exceptions itself (and logs their stack traces), before any
    middleware could see them, so views are wrapped here instead.
    """
    if documented and op is None:
        raise ValueError(f"{path} must declare its operation (op=Op(...))")
    if op is not None:
        for method in methods:
            declare(method, path, op)

    def register(view: View) -> View:
        @functools.wraps(view)
        def guarded(**params: str) -> Any:
            token = _current_op.set(op)
            try:
                if op is not None:
                    request = bp.current_request
                    check_request(op, params, request.query_params or {}, request.headers or {})
                return view(**params)
            except Exception as exc:  # noqa: BLE001 - translated by _handle
                return _handle(exc, path)
            finally:
                _current_op.reset(token)

        kwargs.setdefault("content_types", ACCEPTED_CONTENT_TYPES)
        bp.route(path, methods=methods, **kwargs)(guarded)
        return view

    return register


def error_middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Body size limit, and the service's error shape for errors Chalice produces itself."""
    try:
        limit = get_runtime().settings.max_body_bytes
        if len(event.raw_body or b"") > limit:
            raise PayloadTooLarge(
                f"the body is larger than {limit} bytes", details={"max_bytes": limit}
            )
        return _rewrite_chalice_error(get_response(event))
    except Exception as exc:  # noqa: BLE001 - translated by _handle
        return _handle(exc, event.path)
