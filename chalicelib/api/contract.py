"""The API contract as data: each route declares its operation (parameters, body, answers).

One declaration serves three readers: `boundary.check` validates every request against it before
the view runs, `openapi.document` turns all of them into `GET /v1/openapi.json`, and the tests
compare the registry with the routes Chalice serves. A route is declared where it is registered:

    @route(bp, "/v1/orders", methods=["GET"], op=Op(
        "List orders", tag="otc",
        query=(Param("pair", pair()), Param("limit", count(PAGE_MAX)), Param("next", CURSOR)),
    ))

Schemas here are plain JSON Schema (2020-12, as OpenAPI 3.1 uses) built by small helpers, so the
limits the boundary enforces are exactly the limits the document states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.core.parse import TEXT_PATTERN

Schema = dict[str, Any]

ADMIN = "adminBearer"
APP_KEY = "appKey"
# Integers in query/path strings: ASCII digits only, bounded length (see core/parse.py).
MAX_INT_DIGITS = 18


# -- schema helpers ----------------------------------------------------------------------------


def count(maximum: int, minimum: int = 1) -> Schema:
    """An integer in [minimum, maximum] (a query or path parameter's digits)."""
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


def string(max_len: int, *, pattern: str | None = None, min_len: int = 1, **extra: Any) -> Schema:
    out: Schema = {"type": "string", "minLength": min_len, "maxLength": max_len}
    if pattern:
        out["pattern"] = pattern
    return {**out, **extra}


def text(max_len: int, **extra: Any) -> Schema:
    """Human-readable text: well-formed, no control characters (core.parse.clean_text)."""
    return string(max_len, pattern=TEXT_PATTERN, **extra)


def enum(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


def obj(required: tuple[str, ...] = (), **properties: Schema) -> Schema:
    out: Schema = {"type": "object", "properties": properties}
    if required:
        out["required"] = list(required)
    return out


def array(items: Schema, max_items: int) -> Schema:
    return {"type": "array", "items": items, "maxItems": max_items}


INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
# Money: a decimal string of base units and decimals (DESIGN rule 8); core.money.parse_amount.
AMOUNT = string(160, pattern=r"^(0|[1-9][0-9]*)(\.[0-9]+)?$",
                description="decimal string, e.g. \"1.5\"; never a JSON number",
                **{"x-error-code": "invalid_amount"})
# An EVM address; surrounding spaces are ignored (the flows trim them).
ADDRESS = string(64, pattern=r"^\s*0x[0-9a-fA-F]{40}\s*$", min_len=42, description="EVM address",
                 **{"x-error-code": "invalid_address"})
HASH32 = string(66, pattern=r"^0x[0-9a-fA-F]{64}$", min_len=66)
ISO_TIME = string(40, description="ISO-8601 time with a zone, e.g. 2026-10-01T18:00:00Z")
CURSOR = string(
    2048, pattern=r"^[A-Za-z0-9_=~-]+$", description="opaque: the previous page's `next`",
    **{"x-error-code": "invalid_cursor"},
)
# Path ids: bounded, well-formed text; the flow answers 404 for an id of no known shape.
PATH_ID = string(200, pattern=TEXT_PATTERN)
ANY_OBJECT: Schema = {"type": "object"}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
# Each flow with signed actions registers them (core/signing.py) when this module loads.
SIGNED_ACTION_MODULES = ("chalicelib.bounties.actions", "chalicelib.otc.signatures")


# -- declarations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """A query parameter or header; its schema is enforced on the raw string."""

    name: str
    schema: Schema
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class Op:
    """One operation: what it accepts and every status it answers.

    `ok` are its success statuses; `errors` adds statuses beyond the ones every operation has
    (400, 404, 429, 503; 413 with a body; 401 with `auth`; 401/403/409 when `signed`).
    `signed` names the EIP-712 action whose fields form the body (core/signing.py registry).
    """

    summary: str
    tag: str
    ok: tuple[int, ...] = (200,)
    auth: str | tuple[str, ...] | None = None
    query: tuple[Param, ...] = ()
    path: dict[str, Schema] = field(default_factory=dict)
    headers: tuple[Param, ...] = ()
    body: Schema | None = None
    body_optional: bool = False
    signed: str | None = None
    errors: tuple[int, ...] = ()
    response: Schema = field(default_factory=lambda: dict(ANY_OBJECT))
    media: str = "application/json"
    # Other media types a success may come in (e.g. CSV), each with its schema.
    also: tuple[tuple[str, Schema], ...] = ()
    description: str = ""

    @property
    def schemes(self) -> tuple[str, ...]:
        """The security schemes, any one of which is enough."""
        if self.auth is None:
            return ()
        return self.auth if isinstance(self.auth, tuple) else (self.auth,)

    def path_schema(self, name: str) -> Schema:
        return self.path.get(name, PATH_ID)

    @property
    def has_body(self) -> bool:
        return self.body is not None or self.signed is not None


@dataclass(frozen=True)
class Declared:
    method: str
    path: str
    op: Op


# (method, path) -> declaration; filled as the route modules register their routes.
REGISTRY: dict[tuple[str, str], Declared] = {}


def declare(method: str, path: str, op: Op) -> None:
    if (method, path) in REGISTRY:
        raise ValueError(f"{method} {path} is declared twice")
    REGISTRY[(method, path)] = Declared(method, path, op)


def declared(method: str, path: str) -> Op | None:
    entry = REGISTRY.get((method, path))
    return entry.op if entry else None


# `Idempotency-Key` (core/idempotency.py): a retry with the same key gets the first answer.
IDEMPOTENCY_KEY = Param(
    "Idempotency-Key", string(128, pattern=r"^[\x20-\x7e]{1,128}$"),
    description="a retry with the same key gets the first answer",
)
