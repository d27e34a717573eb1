"""`GET /v1/openapi.json`: the OpenAPI 3.1 document, built from the routes' declarations.

Nothing here is written by hand per route: paths, parameters, bodies and answers come from the
`Op` each route registered (api/contract.py), and signed actions' bodies from the EIP-712
registry (core/signing.py), which is what the flows verify against.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib import VERSION
from chalicelib.api.contract import (
    ADMIN,
    APP_KEY,
    ERROR_REF,
    REGISTRY,
    SIGNED_ACTION_MODULES,
    Declared,
    Op,
    Schema,
)
from chalicelib.core.lazy import lazy_module, load

# Statuses every operation may answer; the rest come from the operation's declaration.
COMMON_ERRORS = (400, 404, 429, 503)
REASONS = {
    200: "OK", 201: "Created", 202: "Accepted (a durable intent; the chain work follows)",
    400: "Bad input: the field is named in `details.field` where there is one",
    401: "Missing, wrong or expired credentials or signature",
    403: "Not allowed (a signature by another wallet than the one acting)",
    404: "Unknown id or path", 409: "Lost a race, or the item is in the wrong state",
    410: "Expired or revoked", 413: "The body is too large",
    422: "Well-formed, but the state of the world refuses it",
    429: "Rate limited: see Retry-After", 503: "A dependency is down: see Retry-After",
}
SIGNED_DESCRIPTION = (
    "Signed action (EIP-712). The body carries the action's fields, `deadline` (unix seconds, at "
    "most 600 s ahead) and `signature` (0x + 65 bytes hex, low s). The typed message is the body "
    "minus `signature`, plus the id from the path where the action names one, each optional field "
    "defaulted; `GET /v1/typed-data/{action}` serves the domain and types to sign. A used "
    "signature is refused (409 signature_replayed)."
)
PATH_VAR_RE = re.compile(r"{([^}]+)}")
EIP712_SCHEMAS = {
    "string": {"type": "string"},
    "address": {"type": "string", "pattern": r"^0x[0-9a-fA-F]{40}$"},
    "uint256": {"type": "integer", "minimum": 0, "maximum": 2**256 - 1},
    "string[]": {"type": "array", "items": {"type": "string"}},
}


def _signed_body(action_name: str) -> Schema:
    signing = lazy_module("chalicelib.core.signing")
    action = signing.get_action(action_name)
    props: dict[str, Schema] = {f.name: dict(EIP712_SCHEMAS[f.type]) for f in action.fields}
    props[signing.DEADLINE_FIELD] = {"type": "integer", "minimum": 1, "maximum": 2**40 - 1,
                                     "description": "unix seconds"}
    props[signing.SIGNATURE_FIELD] = {"type": "string", "pattern": r"^0x[0-9a-fA-F]{130}$"}
    required = [f.name for f in action.fields if f.required]
    required += [signing.DEADLINE_FIELD, signing.SIGNATURE_FIELD]
    return {"type": "object", "properties": props, "required": required,
            "additionalProperties": False, "x-eip712-primary-type": action.primary_type}


def _statuses(op: Op) -> list[int]:
    codes = set(op.ok) | set(COMMON_ERRORS) | set(op.errors)
    if op.has_body:
        codes.add(413)
    if op.auth:
        codes.add(401)
    if op.signed:
        codes |= {401, 403, 409}
    return sorted(codes)


def _responses(op: Op) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status in _statuses(op):
        headers = {}
        if status in (429, 503):
            headers["Retry-After"] = {"schema": {"type": "string", "pattern": "^[0-9]+$"},
                                      "description": "seconds"}
        if status in op.ok:
            content = {op.media: {"schema": op.response}}
            content.update({media: {"schema": schema} for media, schema in op.also})
        else:
            content = {"application/json": {"schema": ERROR_REF}}
        out[str(status)] = {"description": REASONS.get(status, "OK"), "content": content,
                            **({"headers": headers} if headers else {})}
    return out


def _operation(entry: Declared) -> dict[str, Any]:
    op = entry.op
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": op.path_schema(name)}
        for name in PATH_VAR_RE.findall(entry.path)
    ]
    params += [
        {"name": p.name, "in": "query", "required": p.required, "schema": p.schema,
         **({"description": p.description} if p.description else {})}
        for p in op.query
    ]
    params += [
        {"name": p.name, "in": "header", "required": p.required, "schema": p.schema,
         **({"description": p.description} if p.description else {})}
        for p in op.headers
    ]
    out: dict[str, Any] = {
        "operationId": _operation_id(entry),
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": params,
        "responses": _responses(op),
    }
    signed = SIGNED_DESCRIPTION if op.signed else ""
    description = " ".join(d for d in (op.description, signed) if d)
    if description:
        out["description"] = description
    if op.signed:
        out["x-signed-action"] = op.signed
    if op.has_body:
        schema = _signed_body(op.signed) if op.signed else op.body
        out["requestBody"] = {"required": not op.body_optional,
                              "content": {"application/json": {"schema": schema}}}
    out["security"] = [{scheme: []} for scheme in op.schemes]
    return out


def _operation_id(entry: Declared) -> str:
    words = re.sub(r"[{}]", "", entry.path.removeprefix("/v1/")).replace(".", "_")
    return entry.method.lower() + "_" + re.sub(r"[^A-Za-z0-9]+", "_", words).strip("_")


def _load_signed_actions() -> None:
    # The flows register their signed actions when their actions modules load.
    for name in SIGNED_ACTION_MODULES:
        load(lazy_module(name))  # loading the module runs its registrations


def document() -> dict[str, Any]:
    _load_signed_actions()
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), entry in sorted(REGISTRY.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        paths.setdefault(path, {})[method.lower()] = _operation(entry)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Settlekit API",
            "version": VERSION,
            "description": "Pays tokens out, verifies payments users make, anchors message "
                           "hashes on chain. Errors are JSON {error, message, details}.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": {"type": "string", "pattern": "^[a-z0-9_]+$"},
                        "message": {"type": "string"},
                        "details": {},
                    },
                    "additionalProperties": False,
                },
            },
            "securitySchemes": {
                ADMIN: {"type": "http", "scheme": "bearer",
                        "description": "The operator's ADMIN_TOKEN"},
                APP_KEY: {"type": "http", "scheme": "bearer", "bearerFormat": "app_<id>.<secret>",
                          "description": "An app's API key (POST /v1/admin/apps)"},
            },
        },
    }
